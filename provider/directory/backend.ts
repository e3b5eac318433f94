// The LDAP backend: NetCreateProvisioningPackage and the account operations over LDAP, from any OS,
// with a route to a writable DC over LDAPS/StartTLS. The native backend is netapi/backend.ts.
import type { AccountFacts, AccountLocation, ConnectionSettings, IssuedFacts, JoinBackend, LogonFacts, ProvisioningParams, ProvisionResult } from '../backend';
import { withDirectory, type DirectoryConnection } from './connection';
import { readRootDse } from './discovery';
import { objectGuidBytes, accountFacts, checkedAccount, deleteAccountByGuid, findAccountByGuid, findAccountBySamName, findObjectByDn, moveIntoContainer, type FoundAccount } from './accounts';
import { provisionAccounts, rebuildOne } from './provision';
import type { DomainRequest } from '../params/validation';
import { borrowDomain } from './borrow';
import { PackageFormatError, parsePackage } from '../odj';
import { ProvisioningError } from '../errors';
import { notProofOfAbsence, withAccountDc } from './account-dc';
import type { GuardedAction } from '../account/safety';
import { issuedFactsFrom } from '../account/lifecycle';
import { checkOu, invalid, validateParams, type ValidatedParams } from '../params/validation';

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
      outcomes[index] = { ok: false, error: new ProvisioningError(e.errno, e.detail, { field: `[${index}].${e.field ?? 'params'}` }) };
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
 *  (account/safety.ts). */
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
  objectGuidBytes(objectGuid); // refuse a malformed GUID before connecting
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
  objectGuidBytes(objectGuid);
  return withAccountDc(connection, where, async (at) => {
    const found = await findAccountByGuid(at.conn, at.base, objectGuid);
    if (!found && !at.authoritative) throw notProofOfAbsence(objectGuid, at, where?.homeDc, 'dropped from the state or deleted');
    if (!found) return null;
    const live = liveAccount(checkedAccount(found, purpose, 'objectGuid'), at.dc);
    where?.onDc?.(at.dc);
    return live;
  });
}

/** The logon facts came in the same search, from the same DC. */
function liveAccount(found: FoundAccount, dc: string): LiveAccount {
  return { ...accountFacts(found), ...(found.description !== undefined ? { description: found.description } : {}), logon: { ...found.logon, dcName: dc } };
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
  const { conn, discovery, done } = await borrowDomain(v.domain, connection);
  try {
    return await rebuildOne(conn, discovery, v.account, password, account);
  } finally {
    await done();
  }
}

/** Delete the computer account with that objectGUID and the children computers carry (no tree
 *  delete); anything else is refused before any write; already gone (on its home DC, with
 *  `where`: account-dc.ts) is done. `spare` sees the account as found, in the same visit, and
 *  keeps it by returning true (the resource's owner check). */
export async function deleteAccount(objectGuid: string, connection: ConnectionSettings, where?: AccountLocation, spare?: (live: LiveAccount) => boolean): Promise<void> {
  objectGuidBytes(objectGuid); // refuse a malformed GUID before connecting
  await withAccountDc(connection, where, async (at) => {
    const deleted = await deleteAccountByGuid(at.conn, at.base, objectGuid, spare && ((found) => spare(liveAccount(found, at.dc))));
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
