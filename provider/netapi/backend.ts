// JoinBackend over the native NetApi: the operating system (or Samba) creates the account and
// builds the package; odj/ decodes the package for the facts the LDAP backend reports too.
//
// What NetApi can and cannot tell: the package gives the domain and DC facts, the account's RID
// and SID; NetUserGetInfo level 23 confirms the account and its SID. No NetUserGetInfo level has
// the distinguished name or the objectGUID, so those come from an AccountDirectory when one is
// given (directory/backend.ts wires the LDAP lookups) and are empty strings otherwise. For the same
// reason readAccount/deleteAccount, which name the account by objectGUID, need the directory;
// readAccountByName/deleteAccountByName work with NetApi alone.
//
// Samba specifics: it takes an existing account over without NETSETUP_PROVISION_REUSE_ACCOUNT,
// so the account search that answers NERR_UserExists is done here, with skipAccountSearch too
// (the LDAP backend refuses an existing name then as well; taking over a machine's account by
// surprise breaks that machine). Every account touched (reused, moved, read, deleted) is first
// checked with NetUserGetInfo's flags (and by the directory when it has one): only a plain
// workstation trust account, never a DC, RODC, trust or user account (account/safety.ts). A
// disabled account is not reused without enableAccount: NetProvisionComputerAccount enables it.
// A wrong password given with a `user@realm` name comes back from Samba 4.17 as ERROR_NOT_FOUND
// (1168), with `DOMAIN\user` or a bare name as ERROR_LOGON_FAILURE (1326). Without dcName, Samba
// finds the DC through DNS.
//
// reuseAccount with machineAccountOU: Microsoft documents lpMachineAccountOU as the OU "where the
// computer account will be created" and NETSETUP_PROVISION_REUSE_ACCOUNT as reusing an existing
// account; nothing says a reused account moves, and Samba's call leaves it where it is, while the
// LDAP backend moves it. So the move is ours: done through the directory (moveAccount) before the
// call when the backend has one; without it, refused with ERROR_NOT_SUPPORTED on machineAccountOU
// whenever an existing account would be reused (or, with skipAccountSearch, might be).
import type {
  AccountFacts,
  ConnectionSettings,
  DomainFacts,
  JoinBackend,
  ProvisionResult,
  ProvisioningParams,
} from '../backend';
import { assertComputerAccount, refuseExisting, UacBits, type GuardedAction, type ObjectKind } from '../account/safety';
import { ProvisioningError } from '../errors';
import { hasUrlCredentials, urlCredentialsRule } from '../credential-text';
import { parsePackage } from '../odj';
import { loadNetapi, type NetapiOptions } from './load';
import type { NativeCredentials, NativeProvisionRequest, NativeUser, NetapiSession } from './native';
import { validateParams } from '../params/validation';
import { provisionResult } from '../result';
import { accountNameOf } from '../odj/ids';

/** Directory lookups the NetApi cannot do itself (by GUID; DN and GUID of an account). */
export interface AccountDirectory {
  findBySamAccountName(samAccountName: string, connection: ConnectionSettings, domain: string): Promise<AccountFacts | null>;
  findByGuid(objectGuid: string, connection: ConnectionSettings): Promise<AccountFacts | null>;
  /** Puts the account directly under containerDn (unless it is there already); its facts after. */
  moveAccount?(account: AccountFacts, containerDn: string, connection: ConnectionSettings, domain: string): Promise<AccountFacts>;
}

export interface NetapiBackendOptions extends NetapiOptions {
  /** Fills distinguishedName/objectGuid and maps GUIDs to accounts; see the file comment. */
  directory?: AccountDirectory;
  /** Server for NetUserGetInfo/NetUserDel when no dcName is given. Default: the host of connection.url. */
  server?: string;
}

/** What NetApi alone says about an account. */
export interface NetapiAccount {
  samAccountName: string;
  objectSid: string;
  rid: number;
  /** UF_* flags (UF_WORKSTATION_TRUST_ACCOUNT = 0x1000) */
  userAccountControl: number;
}

function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  if (hasUrlCredentials(url)) throw new ProvisioningError('ERROR_INVALID_PARAMETER', urlCredentialsRule('the URL'), { field: 'connection.url' });
  try {
    return new URL(url).hostname || undefined;
  } catch {
    return undefined;
  }
}

function credentialsOf(c: ConnectionSettings, domain?: string): NativeCredentials {
  // NetApi has no way to take a ticket cache or keytab: the OS signs in (the logged-on user on
  // Windows when bindUser is left out). Refused by name rather than silently using another identity.
  if (c.auth === 'kerberos') {
    throw new ProvisioningError(
      'ERROR_NOT_SUPPORTED',
      "auth 'kerberos' (a ticket cache or keytab) is for the ldap backend; the native backend signs in as the operating system does (on Windows leave bindUser out to use the logged-on user)",
      { field: 'connection.auth' },
    );
  }
  return { user: c.bindUser, password: c.bindPassword, defaultDomain: domain };
}

function ridOf(sid: string): number {
  return Number(sid.slice(sid.lastIndexOf('-') + 1));
}

const stripUnc = (s: string): string => s.replace(/^\\\\/, '');

/** The DN of the container holding `dn` (after its first unescaped comma). */
function parentDn(dn: string): string {
  for (let i = 0; i < dn.length; i++) {
    if (dn[i] === '\\') i++;
    else if (dn[i] === ',') return dn.slice(i + 1);
  }
  return '';
}

/** The safety rule on what NetUserGetInfo says (UF_* flags are userAccountControl's bits). */
const kindOf = (user: NativeUser, sam: string): ObjectKind => ({ distinguishedName: '', samAccountName: user.name || sam, userAccountControl: user.flags });

function checkNative(user: NativeUser, sam: string, action: GuardedAction, field: string): void {
  assertComputerAccount(kindOf(user, sam), action, field);
}

function reusedAccountStays(): ProvisioningError {
  return new ProvisioningError(
    'ERROR_NOT_SUPPORTED',
    'NetProvisionComputerAccount leaves a reused account where it is; give the netapi backend a directory that can move it (backendFor does), or leave machineAccountOU out',
    { field: 'machineAccountOU' },
  );
}

/** A provisioning that failed after the account was moved for it: put it back, or say where it now is. */
async function movedBack(e: ProvisioningError, moved: { from: string; to: AccountFacts }, mover: AccountDirectory, connection: ConnectionSettings, domain: string): Promise<ProvisioningError> {
  const { from, to } = moved;
  const back = await mover.moveAccount!(to, parentDn(from), connection, domain).then(
    () => `the account was moved back to ${from}`,
    () => `the account could not be moved back and is now at ${to.distinguishedName} (it was at ${from})`,
  );
  return new ProvisioningError(e.errno, `${e.detail}; ${back}`, { field: e.field, cause: e });
}

/** The result from the package NetApi made: its facts, checked against the account NetUserGetInfo
 *  reads after the call, plus the DN and GUID when a directory found them. */
function resultOf(binary: Buffer, sam: string, after: NativeUser | null, found: AccountFacts | null, reused: boolean): ProvisionResult {
  const parsed = parsePackage(binary);
  const facts = parsed.facts;
  const domainSid = facts.domainInfo.sid ?? '';
  const objectSid = parsed.accountSid ?? (domainSid && facts.rid ? `${domainSid}-${facts.rid}` : after?.sid ?? '');
  if (after && objectSid && after.sid !== objectSid) {
    throw new ProvisioningError('ERROR_INVALID_PARAMETER', `the package names SID ${objectSid} but the account has ${after.sid}`, {
      field: 'machineName',
    });
  }
  const account: AccountFacts = {
    distinguishedName: found?.distinguishedName ?? '',
    objectGuid: found?.objectGuid ?? '',
    objectSid,
    rid: facts.rid || ridOf(objectSid),
    samAccountName: found?.samAccountName ?? sam,
    ...(after ? { enabled: (after.flags & UacBits.ACCOUNTDISABLE) === 0 } : {}),
  };
  const domain: DomainFacts = {
    dnsDomainName: facts.domainInfo.dnsDomainName,
    netbiosDomainName: facts.domainInfo.name,
    forestName: facts.domainInfo.dnsForestName,
    domainGuid: facts.domainInfo.domainGuid,
    domainSid,
    dcName: stripUnc(facts.dc.name),
    dcAddress: stripUnc(facts.dc.address),
    dcSiteName: facts.dc.dcSiteName,
    clientSiteName: facts.dc.clientSiteName,
  };
  return provisionResult(account, domain, new Uint8Array(binary), reused);
}

export class NetapiBackend implements JoinBackend {
  // Plain data only: the library is opened inside each call, so the object serializes.
  constructor(private readonly options: NetapiBackendOptions = {}) {}

  private serverFor(connection: ConnectionSettings, dcName?: string): string {
    const server = dcName ?? this.options.server ?? hostOf(connection.url);
    if (!server) {
      throw new ProvisioningError('ERROR_INVALID_PARAMETER', 'the netapi backend needs a domain controller: give dcName, server or url', {
        field: 'dcName',
      });
    }
    return server;
  }

  /** The core's checks (validation.ts, as the LDAP backend), after what only this backend refuses. */
  private request(params: ProvisioningParams, dcName: string | undefined): NativeProvisionRequest {
    // Inputs for the LDAP backend only, refused by name rather than dropped: NetApi has no parameter
    // for a PFX obtained elsewhere (Windows enrolls from certTemplateNames itself) nor for a SYSVOL
    // copy (Windows reads machinePolicyNames' files from the share itself).
    if (params.certificates !== undefined && params.certificates !== null && params.certificates.length > 0) {
      throw new ProvisioningError('ERROR_NOT_SUPPORTED', 'NetApi cannot put a given PFX into a package; use certTemplateNames (Windows enrolls) or the ldap backend', {
        field: 'certificates',
      });
    }
    if (params.sysvolRoot !== undefined && params.sysvolRoot !== null && params.sysvolRoot !== '') {
      throw new ProvisioningError('ERROR_NOT_SUPPORTED', 'NetApi reads policies from the SYSVOL share itself, not from a sysvolRoot; leave it out or use the ldap backend', {
        field: 'sysvolRoot',
      });
    }
    const v = validateParams(params, { enrolls: true });
    return {
      domain: v.domain.domain,
      machineName: v.account.machineName,
      machineAccountOU: v.account.machineAccountOU,
      dcName,
      options: v.account.win7Options,
      certTemplateNames: params.certTemplateNames ?? [],
      machinePolicyNames: params.machinePolicyNames ?? [],
      machinePolicyPaths: params.machinePolicyPaths ?? [],
      netbiosName: params.netbiosName,
      siteName: params.siteName,
      primaryDnsDomain: params.primaryDnsDomain,
    };
  }

  async provision(params: ProvisioningParams, connection: ConnectionSettings): Promise<ProvisionResult> {
    const credentials = credentialsOf(connection, params.domain);
    const dcName = params.dcName ?? hostOf(connection.url);
    const request = this.request(params, dcName);
    const server = this.serverFor(connection, dcName);
    const sam = accountNameOf(params.machineName);
    const skipSearch = params.options?.skipAccountSearch === true;
    const reuseIntoOu = params.options?.reuseAccount === true && typeof params.machineAccountOU === 'string' && params.machineAccountOU !== '';
    const directory = this.options.directory;
    const mover = directory?.moveAccount ? directory : undefined;
    const reuse = params.options?.reuseAccount === true;
    const native = loadNetapi(this.options);
    // Windows answers NERR_UserExists itself; Samba silently takes the account over, so the check
    // is ours, and runs with skipAccountSearch too (one NetUserGetInfo): see the file comment.
    const checkExisting = (s: NetapiSession): NativeUser | null => {
      const existing = s.getUser(server, sam);
      if (existing) refuseExisting(kindOf(existing, sam), sam, reuse);
      if (existing) checkNative(existing, sam, 'reuse', 'machineName');
      if (existing && existing.flags & UacBits.ACCOUNTDISABLE && params.enableAccount !== true) {
        // NetProvisionComputerAccount enables a reused account (Samba 4.17 seen: 4098 → 4096);
        // someone disabled it on purpose, so it is not ours to undo without being asked.
        throw new ProvisioningError(
          'ERROR_ACCOUNT_DISABLED',
          `${sam} is disabled, and NetProvisionComputerAccount would enable it; set enableAccount to re-enable it, or use the ldap backend, which reuses it and keeps it disabled`,
          { field: 'enableAccount' },
        );
      }
      if (existing && reuseIntoOu && !mover) throw reusedAccountStays();
      return existing;
    };
    if (reuseIntoOu && !mover && skipSearch) throw reusedAccountStays();
    let moved: { from: string; to: AccountFacts } | undefined;
    if (reuseIntoOu && mover) {
      // Checked, then moved, before the call: a failed move leaves everything as it was.
      const before = native.withSession(credentials, checkExisting);
      const current = before ? await mover.findBySamAccountName(sam, connection, params.domain) : null;
      if (current) {
        const to = await mover.moveAccount!(current, params.machineAccountOU!, connection, params.domain);
        if (to.distinguishedName !== current.distinguishedName) moved = { from: current.distinguishedName, to };
      }
    }

    let done: { binary: Buffer; existing: NativeUser | null; after: NativeUser | null };
    try {
      done = native.withSession(credentials, (s) => {
        const existing = checkExisting(s);
        const binary = s.provision(request);
        return { binary, existing, after: s.getUser(server, sam) };
      });
    } catch (e) {
      if (!moved || !(e instanceof ProvisioningError)) throw e;
      throw await movedBack(e, moved, mover!, connection, params.domain);
    }
    const { binary, existing, after } = done;
    const found = directory ? await directory.findBySamAccountName(sam, connection, params.domain) : null;
    return resultOf(binary, sam, after, found, existing !== null);
  }

  /** NetUserGetInfo level 23 for `NAME$`; null when there is no such account. Anything but a plain
   *  workstation account (a DC, a user, a trust) is refused, ERROR_NO_TRUST_SAM_ACCOUNT. */
  async readAccountByName(samAccountName: string, connection: ConnectionSettings, dcName?: string): Promise<NetapiAccount | null> {
    const server = this.serverFor(connection, dcName);
    const user: NativeUser | null = loadNetapi(this.options).withSession(credentialsOf(connection), (s) => s.getUser(server, samAccountName));
    if (!user) return null;
    checkNative(user, samAccountName, 'read', 'machineName');
    return { samAccountName: user.name || samAccountName, objectSid: user.sid, rid: ridOf(user.sid), userAccountControl: user.flags };
  }

  /** NetUserDel of a plain workstation account (checked with NetUserGetInfo first, in the same
   *  session; anything else is refused before NetUserDel); false when it was already gone. */
  async deleteAccountByName(samAccountName: string, connection: ConnectionSettings, dcName?: string): Promise<boolean> {
    const server = this.serverFor(connection, dcName);
    return loadNetapi(this.options).withSession(credentialsOf(connection), (s) => {
      const user = s.getUser(server, samAccountName);
      if (!user) return false;
      checkNative(user, samAccountName, 'delete', 'machineName');
      return s.deleteUser(server, samAccountName);
    });
  }

  private directoryFor(field: string): AccountDirectory {
    if (!this.options.directory) {
      throw new ProvisioningError(
        'ERROR_NOT_SUPPORTED',
        'NetApi cannot find an account by objectGUID; give the backend a directory, or use readAccountByName/deleteAccountByName',
        { field },
      );
    }
    return this.options.directory;
  }

  async readAccount(objectGuid: string, connection: ConnectionSettings): Promise<AccountFacts | null> {
    const found = await this.directoryFor('objectGuid').findByGuid(objectGuid, connection);
    if (!found) return null;
    const native = await this.readAccountByName(found.samAccountName, connection);
    // The directory found it; NetApi has the last word on whether the account is there.
    if (!native) return null;
    return { ...found, objectSid: native.objectSid, rid: native.rid, enabled: (native.userAccountControl & UacBits.ACCOUNTDISABLE) === 0 };
  }

  async deleteAccount(objectGuid: string, connection: ConnectionSettings): Promise<void> {
    const found = await this.directoryFor('objectGuid').findByGuid(objectGuid, connection);
    if (found) await this.deleteAccountByName(found.samAccountName, connection);
  }
}
