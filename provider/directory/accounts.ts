// Computer accounts over LDAP: find by sAMAccountName, create, reuse (new password, optional move),
// read and delete by objectGUID. Passwords travel only inside unicodePwd over TLS and never into
// a message.
import { Attribute, Change, EqualityFilter } from 'ldapts';
import type { AccountFacts, LogonFacts } from '../backend';
import { assertComputerAccount, isDeletableChild, UacBits, type GuardedAction } from '../account/safety';
import { ProvisioningError } from '../errors';
import type { DirectoryConnection } from './connection';
import { accountNameOf, guidFromBytes, guidToBytes, isGuid, sidFromBytes } from '../odj/ids';
import { escapeDnValue, parseDn, isDnWithin } from '../params/dn';
import { unicodePwdValue } from './password';
import { Secret } from '../secret';

/** A password as the caller has it; a plain string is wrapped on arrival so no message can carry it. */
export type PasswordInput = Secret | string;
const asSecret = (p: PasswordInput): Secret => (p instanceof Secret ? p : new Secret(p, 'machinePassword'));

/** userAccountControl bits we set or look at (the rest are preserved as the directory has them). */
const Uac = {
  ACCOUNTDISABLE: UacBits.ACCOUNTDISABLE,
  PASSWD_NOTREQD: 0x20,
  WORKSTATION_TRUST_ACCOUNT: UacBits.WORKSTATION_TRUST_ACCOUNT,
} as const;

const ACCOUNT_ATTRIBUTES = ['distinguishedName', 'objectGUID', 'objectSid', 'sAMAccountName', 'userAccountControl', 'objectClass', 'description', 'pwdLastSet', 'lastLogon', 'lastLogonTimestamp', 'logonCount'];
const BINARY = ['objectGUID', 'objectSid'];

/** Any object found by name, GUID or DN: what it is (objectClasses, userAccountControl) comes with
 *  it, so that account/safety.ts can refuse it before anything is done to it. */
export interface FoundAccount extends AccountFacts {
  userAccountControl: number;
  objectClasses: string[];
  isComputer: boolean;
  enabled: boolean;
  /** where our owner marker lives (see ownership.ts) */
  description?: string;
  /** FILETIME of the last password set, as a decimal string ('0' when never set) */
  pwdLastSet?: string;
  /** FILETIME of the latest logon this DC knows of (lastLogon or lastLogonTimestamp), '0' for none */
  lastLogon?: string;
  /** the password and logon facts as this DC has them (read in the same search) */
  logon: Omit<LogonFacts, 'dcName'>;
}

const filetime = (v: unknown): bigint => {
  const s = String(first(v) ?? '0');
  return /^\d+$/.test(s) ? BigInt(s) : 0n;
};

/** True when the account logged on after its password was last set: a machine uses that password. */
export function loggedOnSincePasswordSet(a: Pick<FoundAccount, 'pwdLastSet' | 'lastLogon'>): boolean {
  return filetime(a.lastLogon) > filetime(a.pwdLastSet);
}

const first = (v: unknown): unknown => (Array.isArray(v) ? v[0] : v);
/** A multi-valued attribute's values as strings (none when absent). */
const classesOf = (v: unknown): string[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String);

function toAccount(e: Record<string, unknown>): FoundAccount {
  const guid = first(e.objectGUID);
  const sid = first(e.objectSid);
  // An OU or container has no SID: what it is decides (assertComputerAccount), not a missing SID.
  const objectSid = Buffer.isBuffer(sid) ? sidFromBytes(sid) : '';
  const objectClasses = classesOf(e.objectClass);
  const userAccountControl = Number(first(e.userAccountControl) ?? 0);
  return {
    distinguishedName: String(e.dn),
    objectGuid: Buffer.isBuffer(guid) ? guidFromBytes(guid) : '',
    objectSid,
    rid: objectSid ? Number(objectSid.slice(objectSid.lastIndexOf('-') + 1)) : 0,
    samAccountName: String(first(e.sAMAccountName) ?? ''),
    userAccountControl,
    objectClasses,
    isComputer: objectClasses.some((c) => c.toLowerCase() === 'computer'),
    enabled: (userAccountControl & Uac.ACCOUNTDISABLE) === 0,
    ...(first(e.description) !== undefined ? { description: String(first(e.description)) } : {}),
    ...(first(e.pwdLastSet) !== undefined ? { pwdLastSet: String(first(e.pwdLastSet)) } : {}),
    lastLogon: String(filetime(e.lastLogon) > filetime(e.lastLogonTimestamp) ? filetime(e.lastLogon) : filetime(e.lastLogonTimestamp)),
    logon: logonOf(e),
  };
}

function logonOf(e: Record<string, unknown>): Omit<LogonFacts, 'dcName'> {
  return {
    pwdLastSet: String(filetime(e.pwdLastSet)),
    lastLogon: String(filetime(e.lastLogon)),
    lastLogonTimestamp: String(filetime(e.lastLogonTimestamp)),
    logonCount: Number(first(e.logonCount) ?? 0) || 0,
    enabled: (Number(first(e.userAccountControl) ?? 0) & Uac.ACCOUNTDISABLE) === 0,
  };
}

const LOGON_ATTRIBUTES = ['pwdLastSet', 'lastLogon', 'lastLogonTimestamp', 'logonCount', 'userAccountControl'];

/** The password and logon facts of the object at dn, as the connected DC (dcName) has them. A
 *  search only: reading them never changes the account. */
export async function readLogonFacts(conn: DirectoryConnection, dn: string, dcName: string): Promise<LogonFacts> {
  const r = await conn.run({ action: `reading the logon facts of ${dn}` }, () => conn.client.search(dn, { scope: 'base', attributes: LOGON_ATTRIBUTES }));
  const e = r.searchEntries[0];
  if (!e) throw new ProvisioningError('ERROR_DS_NO_SUCH_OBJECT', `${dn} is not there`);
  return { ...logonOf(e), dcName };
}

/** The object, refused unless it is a plain computer account (account/safety.ts) whose GUID and SID
 *  we can read. */
export function checkedAccount(found: FoundAccount, action: GuardedAction, field: string): FoundAccount {
  assertComputerAccount(found, action, field);
  if (!found.objectGuid || !found.objectSid) {
    throw new ProvisioningError('ERROR_ACCESS_DENIED', `cannot read objectGUID/objectSid of the computer account ${found.distinguishedName}`, { field });
  }
  return found;
}

/** The public facts of an account (no description, no classes). */
export function accountFacts(f: FoundAccount): AccountFacts {
  return { distinguishedName: f.distinguishedName, objectGuid: f.objectGuid, objectSid: f.objectSid, rid: f.rid, samAccountName: f.samAccountName, enabled: f.enabled };
}

/** The account with that sAMAccountName anywhere under `baseDn`, or null. */
export async function findAccountBySamName(conn: DirectoryConnection, baseDn: string, samAccountName: string): Promise<FoundAccount | null> {
  const r = await conn.run({ action: `searching for ${samAccountName}`, field: 'machineName' }, () =>
    conn.client.search(baseDn, {
      scope: 'sub',
      filter: new EqualityFilter({ attribute: 'sAMAccountName', value: samAccountName }),
      attributes: ACCOUNT_ATTRIBUTES,
      explicitBufferAttributes: BINARY,
      sizeLimit: 2,
    }),
  );
  const e = r.searchEntries[0];
  return e ? toAccount(e) : null;
}

/** A caller's objectGUID as the 16 bytes a filter carries; anything else is refused on objectGuid. */
export function objectGuidBytes(objectGuid: unknown): Buffer {
  const text = typeof objectGuid === 'string' ? objectGuid.trim() : '';
  if (!isGuid(text)) throw new ProvisioningError('ERROR_INVALID_PARAMETER', 'not a GUID', { field: 'objectGuid' });
  return guidToBytes(text);
}

/** The object with that objectGUID under `baseDn`, or null. One base search on the DN form
 *  `<GUID=…>` AD and Samba take as a search base ([MS-ADTS] 3.1.1.3.1.2.4): cheaper than a subtree
 *  search for the attribute. */
export async function findAccountByGuid(conn: DirectoryConnection, baseDn: string, objectGuid: string): Promise<FoundAccount | null> {
  const e = await searchGuid(conn, objectGuid, 'base', ACCOUNT_ATTRIBUTES);
  const found = e[0] ? toAccount(e[0]) : null;
  return found && isDnWithin(parseDn(found.distinguishedName), parseDn(baseDn)) ? found : null;
}

/** The entries a search based on `<GUID=…>` finds; none when there is no such object. */
async function searchGuid(conn: DirectoryConnection, objectGuid: string, scope: 'base' | 'one', attributes: string[]): Promise<Record<string, unknown>[]> {
  const base = `<GUID=${objectGuidBytes(objectGuid).toString('hex')}>`;
  try {
    const r = await conn.run({ action: `searching for object ${objectGuid}`, field: 'objectGuid', overrides: { 32: 'ERROR_DS_NO_SUCH_OBJECT' } }, () =>
      conn.client.search(base, { scope, attributes, explicitBufferAttributes: BINARY, sizeLimit: 1000 }),
    );
    return r.searchEntries;
  } catch (e) {
    if (e instanceof ProvisioningError && e.code === 'ERROR_DS_NO_SUCH_OBJECT') return [];
    throw e;
  }
}

/** One object by DN, or null when there is none. */
export async function findObjectByDn(conn: DirectoryConnection, dn: string, field?: string): Promise<FoundAccount | null> {
  try {
    const r = await conn.run({ action: `reading ${dn}`, ...(field ? { field } : {}), overrides: { 32: 'ERROR_DS_NO_SUCH_OBJECT' } }, () =>
      conn.client.search(dn, { scope: 'base', attributes: ACCOUNT_ATTRIBUTES, explicitBufferAttributes: BINARY }),
    );
    const e = r.searchEntries[0];
    return e ? toAccount(e) : null;
  } catch (e) {
    if (e instanceof ProvisioningError && e.code === 'ERROR_DS_NO_SUCH_OBJECT') return null;
    throw e;
  }
}

/** Read one object by DN (for the facts of an account just created). */
async function readByDn(conn: DirectoryConnection, dn: string): Promise<FoundAccount> {
  const found = await findObjectByDn(conn, dn);
  if (!found) throw new ProvisioningError('ERROR_DS_NO_SUCH_OBJECT', `${dn} vanished right after it was written`);
  return found;
}

export interface NewAccount {
  machineName: string;
  dnsDomainName: string;
  /** the OU or container DN the account goes in */
  containerDn: string;
  password: PasswordInput;
  /** the owner marker for `description` (ownership.ts), when the caller gave an ownerTag */
  ownerMarker?: string;
}

/** The attributes of a new workstation account: only those creation under ms-DS-MachineAccountQuota
 *  allows ([MS-SAMR] 3.1.1.8.1 / the AD quota rules), so a non-admin can do it too. */
function newAccountAttributes(a: NewAccount): Attribute[] {
  const name = a.machineName;
  const fqdn = `${name.toLowerCase()}.${a.dnsDomainName.toLowerCase()}`;
  return [
    new Attribute({ type: 'objectClass', values: ['computer'] }),
    new Attribute({ type: 'sAMAccountName', values: [accountNameOf(name)] }),
    new Attribute({ type: 'userAccountControl', values: [String(Uac.WORKSTATION_TRUST_ACCOUNT)] }),
    new Attribute({ type: 'dNSHostName', values: [fqdn] }),
    new Attribute({
      type: 'servicePrincipalName',
      values: [`HOST/${name}`, `HOST/${fqdn}`, `RestrictedKrbHost/${name}`, `RestrictedKrbHost/${fqdn}`],
    }),
    new Attribute({ type: 'unicodePwd', values: [unicodePwdValue(asSecret(a.password).reveal())] }),
    ...(a.ownerMarker ? [new Attribute({ type: 'description', values: [a.ownerMarker] })] : []),
  ];
}

function accountDn(machineName: string, containerDn: string): string {
  return `CN=${escapeDnValue(machineName.toUpperCase())},${containerDn}`;
}

/** Create the account with its password in one add, then read back its GUID and SID. If the read
 *  fails, the account just made is deleted again before the error goes up. */
export async function createAccount(conn: DirectoryConnection, a: NewAccount): Promise<FoundAccount> {
  if (!conn.encrypted) throw new ProvisioningError('ERROR_DS_STRONG_AUTH_REQUIRED', 'refusing to send a password over an unencrypted connection', { field: 'connection.url' });
  const dn = accountDn(a.machineName, a.containerDn);
  await conn.run(
    {
      action: `creating ${dn}`,
      field: 'machineName',
      secrets: [asSecret(a.password)],
      overrides: { 68: 'NERR_UserExists', 32: 'ERROR_DS_NO_SUCH_OBJECT' },
    },
    () => conn.client.add(dn, newAccountAttributes(a)),
  ).catch((e: unknown) => {
    // A missing parent is the OU's fault, not the name's.
    if (e instanceof ProvisioningError && e.code === 'ERROR_DS_NO_SUCH_OBJECT') {
      throw new ProvisioningError('ERROR_DS_NO_SUCH_OBJECT', `the container ${a.containerDn} does not exist`, { field: 'machineAccountOU' });
    }
    throw e;
  });
  try {
    return await readByDn(conn, dn);
  } catch (e) {
    await deleteByDn(conn, dn).catch(() => undefined);
    throw e;
  }
}

export interface ReuseOptions {
  password: PasswordInput;
  /** move the account here when it is elsewhere */
  containerDn?: string;
  /** the taker's owner marker (ownership.ts), written in the same modify as the password so that
   *  the resource the account came from sees it is no longer its own */
  ownerMarker?: string;
  /** clear ACCOUNTDISABLE; otherwise a disabled account stays disabled (an admin's decision) */
  enableAccount?: boolean;
}

/** Moves the computer account directly under containerDn unless it is there already (anything but
 *  a plain computer account is refused first); returns its DN. */
export async function moveIntoContainer(conn: DirectoryConnection, account: FoundAccount, containerDn: string): Promise<string> {
  checkedAccount(account, 'move', 'machineName');
  const dn = account.distinguishedName;
  const here = parseDn(dn);
  const target = parseDn(containerDn);
  if (here.length === target.length + 1 && isDnWithin(here, target)) return dn;
  const rdn = dn.slice(0, dn.search(/(?<!\\),/));
  const newDn = `${rdn},${containerDn}`;
  await conn.run({ action: `moving ${dn} to ${containerDn}`, field: 'machineAccountOU', overrides: { 32: 'ERROR_DS_NO_SUCH_OBJECT' } }, () =>
    conn.client.modifyDN(dn, newDn),
  );
  return newDn;
}

/** NETSETUP_PROVISION_REUSE_ACCOUNT: same object, same SID, a new password; moved into the OU when
 *  asked. Refused unless it is a plain computer account. userAccountControl is left as it is (a
 *  disabled account stays disabled) unless enableAccount asks to clear ACCOUNTDISABLE. When the
 *  password cannot be set after a move, the account is moved back, or the error says where it is. */
export async function reuseAccount(conn: DirectoryConnection, existing: FoundAccount, opts: ReuseOptions): Promise<FoundAccount> {
  checkedAccount(existing, 'reuse', 'machineName');
  if (!conn.encrypted) throw new ProvisioningError('ERROR_DS_STRONG_AUTH_REQUIRED', 'refusing to send a password over an unencrypted connection', { field: 'connection.url' });
  const from = existing.distinguishedName;
  let dn = from;
  if (opts.containerDn) dn = await moveIntoContainer(conn, existing, opts.containerDn);
  const password = asSecret(opts.password);
  const changes = [new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwdValue(password.reveal())] }) })];
  if (opts.ownerMarker !== undefined && existing.description !== opts.ownerMarker) {
    changes.push(new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values: [opts.ownerMarker] }) }));
  }
  let uac = existing.userAccountControl;
  if (opts.enableAccount && uac & Uac.ACCOUNTDISABLE) {
    uac &= ~Uac.ACCOUNTDISABLE;
    changes.push(new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [String(uac)] }) }));
  }
  try {
    await conn.run({ action: `setting the password of ${dn}`, field: 'machineName', secrets: [password] }, () => conn.client.modify(dn, changes));
  } catch (e) {
    if (dn === from || !(e instanceof ProvisioningError)) throw e;
    // The move happened, the password set did not: put the account back where it was.
    const back = await conn
      .run({ action: `moving ${dn} back to where it was`, field: 'machineAccountOU' }, () => conn.client.modifyDN(dn, from))
      .then(() => `it was moved back to ${from}`, () => `it could not be moved back and is now at ${dn} (it was at ${from})`);
    throw new ProvisioningError(e.errno, `${e.detail}; ${back}`, { field: e.field, cause: e });
  }
  return { ...existing, distinguishedName: dn, userAccountControl: uac, enabled: (uac & Uac.ACCOUNTDISABLE) === 0 };
}

interface Below {
  dn: string;
  depth: number;
  classes: string[];
}

/** Delete a computer account without the tree-delete control. One subtree search reads the
 *  object itself (refused unless it is a plain computer account, account/safety.ts) and its
 *  children; only children a computer normally carries (DELETABLE_CHILD_CLASSES) are deleted, one
 *  by one, deepest first; any other child stops the delete before anything is removed. */
export async function deleteByDn(conn: DirectoryConnection, dn: string): Promise<void> {
  const r = await conn.run({ action: `listing the objects under ${dn}`, overrides: { 32: 'ERROR_DS_NO_SUCH_OBJECT' } }, () =>
    conn.client.search(dn, { scope: 'sub', filter: '(objectClass=*)', attributes: ['objectClass', 'userAccountControl', 'sAMAccountName'], sizeLimit: 1000 }),
  );
  const here = parseDn(dn).length;
  const self = r.searchEntries.find((e) => parseDn(String(e.dn)).length === here);
  if (!self) throw new ProvisioningError('ERROR_DS_NO_SUCH_OBJECT', `${dn} does not exist`);
  assertComputerAccount(
    { distinguishedName: dn, samAccountName: String(first(self.sAMAccountName) ?? ''), objectClasses: classesOf(self.objectClass), userAccountControl: Number(first(self.userAccountControl) ?? 0) },
    'delete',
    'machineName',
  );
  const below = r.searchEntries.map((e) => ({ dn: String(e.dn), depth: parseDn(String(e.dn)).length, classes: classesOf(e.objectClass) })).filter((c) => c.depth > here);
  await deleteWithChildren(conn, dn, below);
}

/** Delete what is below dn (deepest first; every one a child a computer carries, or nothing is
 *  deleted), then dn itself. */
async function deleteWithChildren(conn: DirectoryConnection, dn: string, below: Below[]): Promise<void> {
  const children = [...below].sort((a, b) => b.depth - a.depth);
  const other = children.find((c) => !isDeletableChild(c.classes));
  if (other) {
    throw new ProvisioningError(
      'ERROR_DS_CANT_ON_NON_LEAF',
      `${dn} holds ${other.dn} (${other.classes[other.classes.length - 1]}), which is not something a computer account normally carries; nothing was deleted`,
    );
  }
  for (const c of children) {
    await conn.run({ action: `deleting ${c.dn}`, overrides: { 32: 'ERROR_DS_NO_SUCH_OBJECT' } }, () => conn.client.del(c.dn)).catch((e: unknown) => {
      if (!(e instanceof ProvisioningError && e.code === 'ERROR_DS_NO_SUCH_OBJECT')) throw e;
    });
  }
  await conn.run({ action: `deleting ${dn}`, overrides: { 32: 'ERROR_DS_NO_SUCH_OBJECT', 66: 'ERROR_DS_CANT_ON_NON_LEAF' } }, () => conn.client.del(dn)).catch((e: unknown) => {
    if (e instanceof ProvisioningError && e.code === 'ERROR_DS_CANT_ON_NON_LEAF') {
      throw new ProvisioningError('ERROR_DS_CANT_ON_NON_LEAF', `${dn} still holds objects this identity cannot see or delete; it was not deleted`, { cause: e });
    }
    throw e;
  });
}

/**
 * Delete the computer account with that GUID (refused for anything else); one already gone counts
 * as done (false). `spare` sees the account as found and may keep it (true: nothing deleted). The
 * account and its children are read with two cheap searches (base, then one level); a subtree
 * search, the costly kind, only when it has children.
 */
export async function deleteAccountByGuid(conn: DirectoryConnection, baseDn: string, objectGuid: string, spare?: (found: FoundAccount) => boolean): Promise<boolean> {
  const found = await findAccountByGuid(conn, baseDn, objectGuid);
  if (!found) return false;
  checkedAccount(found, 'delete', 'objectGuid');
  if (spare?.(found)) return true;
  try {
    const children = await searchGuid(conn, objectGuid, 'one', ['objectClass']);
    if (children.length === 0) await deleteWithChildren(conn, found.distinguishedName, []);
    else await deleteByDn(conn, found.distinguishedName);
  } catch (e) {
    if (e instanceof ProvisioningError && e.code === 'ERROR_DS_NO_SUCH_OBJECT') return false;
    throw e;
  }
  return true;
}
