// Our NetCreateProvisioningPackage: the parameters validated once, the option bits named both ways,
// and the backend that does the work (the LDAP backend; the native one comes with its own issue).
import type { AccountFacts, AccountLocation, ConnectionSettings, IssuedFacts, JoinBackend, LogonFacts, ProvisioningOptions, ProvisioningParams, ProvisionResult } from './backend';
import { withDirectory, type DirectoryConnection } from './directory/connection';
import { guidToBytes, readRootDse } from './directory/discovery';
import { accountFacts, checkedAccount, deleteAccountByGuid, findAccountByGuid, findAccountBySamName, findObjectByDn, moveIntoContainer, readLogonFacts } from './directory/accounts';
import { DnSyntaxError, domainToDn, formatDn, isDnWithin, parseDn } from './directory/escape';
import { Limits } from './limits';
import { openDomain, provisionAccounts, rebuildOne, type AccountRequest, type DomainRequest } from './directory/provision';
import { PackageFormatError, parsePackage } from './odj';
import { ProvisioningError } from './errors';
import { notProofOfAbsence, withAccountDc } from './account-dc';
import type { GuardedAction } from './account-safety';
import { issuedFactsFrom } from './account-lifecycle';
import { validateContentParams } from './content-params';
import { optionBits, ProvisionOptionBits } from './options';
import type { JoinProvider2 } from './odj';

export { ProvisionOptionBits, optionBits, optionsFromBits } from './options';

/**
 * ODJ_WIN7BLOB.Options. Microsoft's IDL page says "must be set to zero"; Samba writes 6 with a
 * comment that Windows Server 2019 "always sets 6"; the Windows Server 2019 package in our test
 * vectors, made with the default-password option alone, carries 4 = NETSETUP_PROVISION_USE_DEFAULT_PASSWORD.
 * So Windows writes the dwProvisionOptions of the call (Samba's 6 is what a reuse + default
 * password call gives). We do what Windows does: the caller's documented option bits. Samba's
 * consumer ignores the field, so joins work either way; this keeps our packages telling the truth.
 */
export function win7Options(options: ProvisioningOptions = {}): number {
  return optionBits(options);
}

const invalid = (field: string, rule: string): ProvisioningError => new ProvisioningError('ERROR_INVALID_PARAMETER', rule, { field });

const DNS_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

function isDnsName(name: string): boolean {
  const n = name.replace(/\.$/, '');
  return n.length > 0 && n.length <= Limits.dnsNameChars && n.split('.').every((l) => DNS_LABEL.test(l));
}

/** A computer name both NetBIOS and DNS accept: 1–15 letters, digits and inner hyphens, not all
 *  digits. Stricter than NetBIOS alone on purpose: the name becomes a DNS host name and SPNs too. */
export function checkMachineName(name: unknown, field = 'machineName'): string {
  if (typeof name !== 'string' || name.length === 0) throw invalid(field, 'is required');
  // NAME$ is the account's sAMAccountName; the computer name is NAME.
  if (/^[A-Za-z0-9-]{1,15}\$$/.test(name)) throw invalid(field, `is the computer's name without the $ of its account name: ${name.slice(0, -1)}, not ${name}`);
  if (name.length > Limits.machineNameChars) throw invalid(field, `must be at most ${Limits.machineNameChars} characters (a NetBIOS computer name)`);
  if (!DNS_LABEL.test(name)) throw invalid(field, 'may hold only ASCII letters, digits and inner hyphens');
  if (/^[0-9]+$/.test(name)) throw invalid(field, 'must not be all digits');
  return name;
}

/** An OU DN holds containers only (OU, CN, DC), one attribute per RDN, bounded (limits.ts), no
 *  control characters: anything else is not where computer accounts go, and may be an injection. */
function checkOuRdns(ou: ReturnType<typeof parseDn>): void {
  if (ou.length > Limits.ouDnRdns) throw invalid('machineAccountOU', `must have at most ${Limits.ouDnRdns} components`);
  for (const rdn of ou) {
    if (rdn.length !== 1) throw invalid('machineAccountOU', "must not use multi-valued RDNs ('+')");
    const [{ type, value }] = rdn;
    if (!/^(OU|CN|DC)$/i.test(type)) throw invalid('machineAccountOU', `may name only OU=, CN= and DC= components, not ${type.slice(0, 20)}=`);
    if (value === '' || value.length > Limits.rdnValueChars) throw invalid('machineAccountOU', `component values must be 1 to ${Limits.rdnValueChars} characters`);
    if (/[\u0000-\u001f\u007f]/.test(value)) throw invalid('machineAccountOU', 'must not contain control characters');
  }
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** ownerTag: any non-empty text up to Limits.ownerTagChars; only its hash reaches the directory. */
function checkOwnerTag(tag: unknown): string | undefined {
  if (tag === undefined || tag === null) return undefined;
  if (typeof tag !== 'string' || tag.length === 0 || tag.length > Limits.ownerTagChars) {
    throw invalid('ownerTag', `must be a string of 1 to ${Limits.ownerTagChars} characters`);
  }
  return tag;
}

/** machineAccountOU checked (a DN inside the domain, containers only, bounded) and re-escaped:
 *  what goes on the wire is the DN as we parsed it, never the caller's text, which a server might
 *  parse differently from us. */
function checkOu(raw: unknown, domain: string, downlevelPrivSupport = false): string {
  if (typeof raw !== 'string') throw invalid('machineAccountOU', 'must be a DN');
  if (raw.length > Limits.ouDnChars) throw invalid('machineAccountOU', `must be at most ${Limits.ouDnChars} characters`);
  // A lone surrogate would silently become U+FFFD on the way to UTF-8: another DN than the one given.
  if (LONE_SURROGATE.test(raw)) throw invalid('machineAccountOU', 'is not well-formed Unicode');
  let ou;
  try {
    ou = parseDn(raw);
  } catch (e) {
    if (e instanceof DnSyntaxError) throw invalid('machineAccountOU', `is not a valid DN (${e.message})`);
    throw e;
  }
  if (domain.includes('.')) {
    const base = parseDn(domainToDn(domain));
    if (ou.length <= base.length || !isDnWithin(ou, base)) throw invalid('machineAccountOU', `must be a full DN inside the domain (ending in ${domainToDn(domain)})`);
  }
  if (downlevelPrivSupport) throw invalid('machineAccountOU', 'is not supported with downlevelPrivSupport');
  checkOuRdns(ou);
  return formatDn(ou);
}

export interface ValidatedParams {
  domain: DomainRequest;
  account: AccountRequest;
  options: ProvisioningOptions;
}

/** Check params as NetCreateProvisioningPackage documents them; each violation is ERROR_INVALID_PARAMETER
 *  (or ERROR_NOT_SUPPORTED for what this backend does not do yet) naming the field. */
export function validateParams(params: ProvisioningParams): ValidatedParams {
  if (params === null || typeof params !== 'object') throw invalid('params', 'is required');
  const domain = typeof params.domain === 'string' ? params.domain.trim().replace(/\.$/, '') : '';
  if (!domain) throw invalid('domain', 'is required');
  const isNetbiosDomain = !domain.includes('.');
  if (isNetbiosDomain ? !/^[A-Za-z0-9][A-Za-z0-9-]{0,14}$/.test(domain) : !isDnsName(domain)) {
    throw invalid('domain', 'must be a DNS domain name or a NetBIOS domain name');
  }
  const machineName = checkMachineName(params.machineName);
  const options = params.options ?? {};
  for (const [k, v] of Object.entries(options)) {
    if (!(k in ProvisionOptionBits)) throw invalid(`options.${k}`, 'is not a provisioning option');
    if (v !== undefined && typeof v !== 'boolean') throw invalid(`options.${k}`, 'must be true or false');
  }
  let dcName: string | undefined;
  if (params.dcName !== undefined && params.dcName !== null && params.dcName !== '') {
    dcName = String(params.dcName).replace(/^\\\\/, '');
    if (!isDnsName(dcName) && !/^\d{1,3}(\.\d{1,3}){3}$/.test(dcName)) throw invalid('dcName', 'must be a DC host name or IPv4 address');
  }
  if (options.skipAccountSearch && !dcName) throw invalid('options.skipAccountSearch', 'is only valid with dcName');
  const ouGiven = params.machineAccountOU !== undefined && params.machineAccountOU !== null && params.machineAccountOU !== '';
  const machineAccountOU = ouGiven ? checkOu(params.machineAccountOU, domain, options.downlevelPrivSupport) : undefined;
  const ownerTag = checkOwnerTag(params.ownerTag);
  if (params.enableAccount !== undefined && params.enableAccount !== null && typeof params.enableAccount !== 'boolean') throw invalid('enableAccount', 'must be true or false');
  const enableAccount = params.enableAccount === true;
  // Certificates and policies: checked here, fetched after discovery (directory/package-content.ts).
  const content = validateContentParams(params, options);
  let joinProvider2: JoinProvider2 | undefined;
  const { netbiosName, siteName, primaryDnsDomain } = params;
  if (netbiosName !== undefined && netbiosName !== null) checkMachineName(netbiosName, 'netbiosName');
  if (siteName !== undefined && siteName !== null) {
    // Site names are RDN values under CN=Sites; keep them to what AD's site dialog accepts.
    if (typeof siteName !== 'string' || !/^[A-Za-z0-9-]{1,63}$/.test(siteName)) throw invalid('siteName', 'must be 1–63 letters, digits or hyphens');
  }
  if (primaryDnsDomain !== undefined && primaryDnsDomain !== null && (typeof primaryDnsDomain !== 'string' || !isDnsName(primaryDnsDomain))) {
    throw invalid('primaryDnsDomain', 'must be a DNS domain name');
  }
  if (options.persistentSite && !siteName) throw invalid('options.persistentSite', 'needs siteName');
  if (netbiosName || siteName || primaryDnsDomain || options.persistentSite) {
    joinProvider2 = {
      flags: options.persistentSite ? 1 : 0, // OP_JP2_FLAG_PERSISTENTSITE
      netbiosName: netbiosName ?? null,
      siteName: siteName ?? null,
      primaryDnsDomain: primaryDnsDomain ?? null,
    };
  }
  return {
    domain: { domain, dcName, ...(typeof siteName === 'string' ? { site: siteName } : {}) },
    options,
    account: {
      machineName,
      machineAccountOU,
      reuseAccount: !!options.reuseAccount,
      enableAccount,
      useDefaultPassword: !!options.useDefaultPassword,
      skipAccountSearch: !!options.skipAccountSearch,
      win7Options: win7Options(options),
      ...(joinProvider2 ? { joinProvider2 } : {}),
      ...(ownerTag !== undefined ? { ownerTag } : {}),
      ...(content ? { content } : {}),
    },
  };
}

export type BatchOutcome = { ok: true; result: ProvisionResult } | { ok: false; error: ProvisioningError };

/** Provision many machines of one domain over ONE connection. Validation errors come back per
 *  machine (field prefixed with its index); all must name the same domain and DC. */
export async function provisionMany(list: ProvisioningParams[], connection: ConnectionSettings): Promise<BatchOutcome[]> {
  if (!Array.isArray(list) || list.length === 0) throw invalid('params', 'must be a non-empty list');
  const outcomes: (BatchOutcome | undefined)[] = new Array(list.length).fill(undefined);
  const valid: { index: number; v: ValidatedParams }[] = [];
  list.forEach((p, index) => {
    try {
      valid.push({ index, v: validateParams(p) });
    } catch (e) {
      if (!(e instanceof ProvisioningError)) throw e;
      outcomes[index] = { ok: false, error: new ProvisioningError(e.errno, e.message.replace(/^[^:]+: /, '').replace(/^[^:]+: /, ''), { field: `[${index}].${e.field ?? 'params'}` }) };
    }
  });
  if (valid.length > 0) {
    const d = valid[0].v.domain;
    const key = (x: DomainRequest): string => `${x.domain.toLowerCase()}|${(x.dcName ?? '').toLowerCase()}`;
    const stray = valid.find(({ v }) => key(v.domain) !== key(d));
    if (stray) throw invalid(`[${stray.index}].domain`, 'a batch goes to one domain and DC: every item needs the same domain and dcName');
    const results = await provisionAccounts(d, valid.map(({ v }) => v.account), connection);
    valid.forEach(({ index }, k) => (outcomes[index] = results[k]));
  }
  return outcomes as BatchOutcome[];
}

/** NetCreateProvisioningPackage over LDAP: the account, the domain facts and both package forms. */
export async function provision(params: ProvisioningParams, connection: ConnectionSettings): Promise<ProvisionResult> {
  const v = validateParams(params);
  const [outcome] = await provisionAccounts(v.domain, [v.account], connection);
  if (!outcome.ok) throw outcome.error;
  return outcome.result;
}

function targetOf(connection: ConnectionSettings, host?: string): { host: string; unreachableCode: 'ERROR_DS_SERVER_DOWN'; unreachableField: string } {
  if (!connection.url && !host) throw invalid('connection.url', 'is required to find an account by GUID');
  return { host: host ?? '', unreachableCode: 'ERROR_DS_SERVER_DOWN', unreachableField: connection.url ? 'connection.url' : 'domain' };
}

/** The computer account with that sAMAccountName anywhere in the domain, or null (for the native
 *  backend, which cannot see DNs and GUIDs). Anything but a plain computer account is refused
 *  (account-safety.ts). */
export async function findAccountByName(samAccountName: string, connection: ConnectionSettings, domain: string): Promise<AccountFacts | null> {
  // 256: AD's rangeUpper for sAMAccountName; the value is escaped into the filter, never syntax.
  if (typeof samAccountName !== 'string' || samAccountName.length === 0 || samAccountName.length > 256) throw invalid('samAccountName', 'must be 1 to 256 characters');
  return withDirectory(connection, targetOf(connection, domain), async (conn) => {
    const root = await readRootDse(conn);
    const found = await findAccountBySamName(conn, root.defaultNamingContext, samAccountName);
    return found ? accountFacts(checkedAccount(found, 'read', 'machineName')) : null;
  });
}

/** The computer account with that objectGUID, or null. Anything else with that GUID (a user, a
 *  group, an OU, a DC, a trust account) is refused, ERROR_NO_TRUST_SAM_ACCOUNT naming what it is.
 *  With `where`, its home DC is asked first, and a "no such object" from another DC is an error,
 *  not null (account-dc.ts). */
export async function readAccount(objectGuid: string, connection: ConnectionSettings, where?: AccountLocation): Promise<AccountFacts | null> {
  guidToBytes(objectGuid); // refuse a malformed GUID before connecting
  return withAccountDc(connection, where, async (at) => {
    const found = await findAccountByGuid(at.conn, at.base, objectGuid);
    if (!found && !at.authoritative) throw notProofOfAbsence(objectGuid, at, where?.homeDc, 'dropped from the state or deleted');
    if (!found) return null;
    const facts = accountFacts(checkedAccount(found, 'read', 'objectGuid'));
    where?.onDc?.(at.dc);
    return facts;
  });
}

/** An account as the lifecycle judges it: its facts, its description (where owner markers live),
 *  and its password and logon facts from the DC asked. */
export interface LiveAccount extends AccountFacts {
  description?: string;
  logon: LogonFacts;
}

/** The account with that objectGUID and its logon facts, or null. Searches only: nothing written.
 *  `purpose` is what the caller means to do with it, named when the object is refused. With
 *  `where`, its home DC is asked first, and a "no such object" from another DC is an error, not
 *  null (account-dc.ts). */
export async function inspectAccount(objectGuid: string, connection: ConnectionSettings, purpose: GuardedAction = 'read', where?: AccountLocation): Promise<LiveAccount | null> {
  guidToBytes(objectGuid);
  return withAccountDc(connection, where, async (at) => {
    const found = await findAccountByGuid(at.conn, at.base, objectGuid);
    if (!found && !at.authoritative) throw notProofOfAbsence(objectGuid, at, where?.homeDc, 'dropped from the state or deleted');
    if (!found) return null;
    const logon = await readLogonFacts(at.conn, found.distinguishedName, at.dc);
    const live = { ...accountFacts(checkedAccount(found, purpose, 'objectGuid')), ...(found.description !== undefined ? { description: found.description } : {}), logon };
    where?.onDc?.(at.dc);
    return live;
  });
}

/** The issue facts of an account's current password, read now: for a package a backend made
 *  without them (the native one). Logons already there count as the producer's own. */
export async function readIssuedFacts(objectGuid: string, connection: ConnectionSettings, where?: AccountLocation): Promise<IssuedFacts | null> {
  const live = await inspectAccount(objectGuid, connection, 'read', where);
  return live ? issuedFactsFrom(live.logon) : null;
}

/**
 * A package for the same account around the password an earlier package carries: new content
 * (certificates, policies, netbiosName/siteName/primaryDnsDomain, options, DC) without a password
 * write. The earlier package is decoded with our codec; its machine name and RID must be the
 * account's. Whether that password is still the account's is the caller's judgement (the core's
 * guard, from the facts recorded when it was issued); nothing here writes to the directory.
 */
export async function rebuildPackage(params: ProvisioningParams, previousPackage: string, account: AccountFacts, connection: ConnectionSettings): Promise<ProvisionResult> {
  const v = validateParams(params);
  let password: string;
  try {
    const old = parsePackage(previousPackage).facts;
    if (old.machineName.toUpperCase() !== v.account.machineName.toUpperCase() || old.rid !== account.rid) {
      throw new ProvisioningError('ERROR_INVALID_DATA', `the previous package is for ${old.machineName} (RID ${old.rid}), not ${account.samAccountName} (RID ${account.rid})`, { field: 'packageText' });
    }
    password = old.machinePassword;
  } catch (e) {
    // PackageFormatError messages carry offsets and structure names, never the password.
    if (e instanceof PackageFormatError) throw new ProvisioningError('ERROR_INVALID_DATA', `the previous package cannot be read (${e.message})`, { field: 'packageText' });
    throw e;
  }
  const { conn, discovery } = await openDomain(v.domain, connection);
  try {
    return await rebuildOne(conn, discovery, v.account, password, account);
  } finally {
    await conn.close();
  }
}

/** Delete the computer account with that objectGUID and the children computers carry (no tree
 *  delete); anything else is refused before any write; already gone (on its home DC, with
 *  `where`: account-dc.ts) is done. */
export async function deleteAccount(objectGuid: string, connection: ConnectionSettings, where?: AccountLocation): Promise<void> {
  guidToBytes(objectGuid); // refuse a malformed GUID before connecting
  await withAccountDc(connection, where, async (at) => {
    const deleted = await deleteAccountByGuid(at.conn, at.base, objectGuid);
    if (!deleted && !at.authoritative) throw notProofOfAbsence(objectGuid, at, where?.homeDc, 'deleted');
    if (deleted) where?.onDc?.(at.dc);
  });
}

/** The LDAP backend: works from any OS, needs only a route to a writable DC over LDAPS/StartTLS. */
export class LdapBackend implements JoinBackend {
  provision(params: ProvisioningParams, connection: ConnectionSettings): Promise<ProvisionResult> {
    return provision(params, connection);
  }
  readAccount(objectGuid: string, connection: ConnectionSettings, where?: AccountLocation): Promise<AccountFacts | null> {
    return readAccount(objectGuid, connection, where);
  }
  deleteAccount(objectGuid: string, connection: ConnectionSettings, where?: AccountLocation): Promise<void> {
    return deleteAccount(objectGuid, connection, where);
  }
}

/** Moves the account directly under containerDn unless it is there already: the native backend's
 *  reuseAccount with machineAccountOU (NetProvisionComputerAccount creates accounts in the OU but
 *  leaves a reused one where it is). The OU is checked as validateParams checks it. */
export async function moveAccountInto(account: AccountFacts, containerDn: string, connection: ConnectionSettings, domain: string, where?: AccountLocation): Promise<AccountFacts> {
  const ou = checkOu(containerDn, domain.trim().replace(/\.$/, ''));
  const move = async (conn: DirectoryConnection, base: string): Promise<AccountFacts> => {
    // What the directory says now, not what the caller was told: only a computer account moves.
    const found = account.objectGuid ? await findAccountByGuid(conn, base, account.objectGuid) : await findObjectByDn(conn, account.distinguishedName, 'machineAccountOU');
    if (!found) throw new ProvisioningError('NERR_UserNotFound', `${account.distinguishedName || account.samAccountName} does not exist`, { field: 'machineName' });
    return { ...account, distinguishedName: await moveIntoContainer(conn, found, ou) };
  };
  // With `where` (the resource's update), the DC that holds the account first (account-dc.ts).
  if (where) return withAccountDc(connection, where, (at) => move(at.conn, at.base));
  return withDirectory(connection, targetOf(connection, domain), async (conn) => move(conn, (await readRootDse(conn)).defaultNamingContext));
}

/** The LDAP lookups (and the move) the native backend asks for (netapi/backend.ts AccountDirectory). */
export const ldapAccountDirectory = {
  findBySamAccountName: findAccountByName,
  findByGuid: readAccount,
  moveAccount: moveAccountInto,
};
