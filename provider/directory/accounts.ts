// Computer accounts over LDAP: find by sAMAccountName, create, reuse (new password, optional move),
// read and delete by objectGUID. Passwords travel only inside unicodePwd over TLS and never into
// a message.
import { Attribute, Change, Control, EqualityFilter } from 'ldapts';
import type { AccountFacts, LogonFacts } from '../backend';
import { ProvisioningError } from '../errors';
import type { DirectoryConnection } from './connection';
import { guidFromBytes, guidToBytes, sidFromBytes } from './discovery';
import { escapeDnValue, escapeFilterValue, parseDn, isDnWithin } from './escape';
import { unicodePwdValue } from './password';
import { Secret } from '../secret';

/** A password as the caller has it; a plain string is wrapped on arrival so no message can carry it. */
export type PasswordInput = Secret | string;
const asSecret = (p: PasswordInput): Secret => (p instanceof Secret ? p : new Secret(p, 'machinePassword'));

/** userAccountControl bits we set or look at. */
export const Uac = {
  ACCOUNTDISABLE: 0x2,
  PASSWD_NOTREQD: 0x20,
  WORKSTATION_TRUST_ACCOUNT: 0x1000,
} as const;

const TREE_DELETE_OID = '1.2.840.113556.1.4.805';
const ACCOUNT_ATTRIBUTES = ['distinguishedName', 'objectGUID', 'objectSid', 'sAMAccountName', 'userAccountControl', 'objectClass', 'description', 'pwdLastSet', 'lastLogon', 'lastLogonTimestamp'];
const BINARY = ['objectGUID', 'objectSid'];

export interface FoundAccount extends AccountFacts {
  userAccountControl: number;
  isComputer: boolean;
  /** where our owner marker lives (see ownership.ts) */
  description?: string;
  /** FILETIME of the last password set, as a decimal string ('0' when never set) */
  pwdLastSet?: string;
  /** FILETIME of the latest logon this DC knows of (lastLogon or lastLogonTimestamp), '0' for none */
  lastLogon?: string;
}

const filetime = (v: unknown): bigint => {
  const s = String(first(v) ?? '0');
  return /^\d+$/.test(s) ? BigInt(s) : 0n;
};

/** An AD FILETIME (100 ns since 1601, UTC; decimal string) as an ISO time, or 'never'. */
export function filetimeToIso(ft: string | undefined): string {
  const t = ft !== undefined && /^\d+$/.test(ft) ? BigInt(ft) : 0n;
  if (t === 0n || t >= 0x7fffffffffffffffn) return 'never';
  return new Date(Number((t - 116444736000000000n) / 10000n)).toISOString();
}

/** True when the account logged on after its password was last set: a machine uses that password. */
export function loggedOnSincePasswordSet(a: Pick<FoundAccount, 'pwdLastSet' | 'lastLogon'>): boolean {
  return filetime(a.lastLogon) > filetime(a.pwdLastSet);
}

const first = (v: unknown): unknown => (Array.isArray(v) ? v[0] : v);

function toAccount(e: Record<string, unknown>): FoundAccount {
  const guid = first(e.objectGUID);
  const sid = first(e.objectSid);
  if (!Buffer.isBuffer(guid) || !Buffer.isBuffer(sid)) {
    throw new ProvisioningError('ERROR_ACCESS_DENIED', `cannot read objectGUID/objectSid of ${String(e.dn)}`);
  }
  const objectSid = sidFromBytes(sid);
  const classes = (Array.isArray(e.objectClass) ? e.objectClass : [e.objectClass]).map((c) => String(c).toLowerCase());
  return {
    distinguishedName: String(e.dn),
    objectGuid: guidFromBytes(guid),
    objectSid,
    rid: Number(objectSid.slice(objectSid.lastIndexOf('-') + 1)),
    samAccountName: String(first(e.sAMAccountName) ?? ''),
    userAccountControl: Number(first(e.userAccountControl) ?? 0),
    isComputer: classes.includes('computer'),
    ...(first(e.description) !== undefined ? { description: String(first(e.description)) } : {}),
    ...(first(e.pwdLastSet) !== undefined ? { pwdLastSet: String(first(e.pwdLastSet)) } : {}),
    lastLogon: String(filetime(e.lastLogon) > filetime(e.lastLogonTimestamp) ? filetime(e.lastLogon) : filetime(e.lastLogonTimestamp)),
  };
}

const LOGON_ATTRIBUTES = ['pwdLastSet', 'lastLogon', 'lastLogonTimestamp', 'logonCount', 'userAccountControl'];

/** The password and logon facts of the object at dn, as the connected DC (dcName) has them. A
 *  search only: reading them never changes the account. */
export async function readLogonFacts(conn: DirectoryConnection, dn: string, dcName: string): Promise<LogonFacts> {
  const r = await conn.run({ action: `reading the logon facts of ${dn}` }, () => conn.client.search(dn, { scope: 'base', attributes: LOGON_ATTRIBUTES }));
  const e = r.searchEntries[0];
  if (!e) throw new ProvisioningError('ERROR_DS_NO_SUCH_OBJECT', `${dn} is not there`);
  return {
    pwdLastSet: String(filetime(e.pwdLastSet)),
    lastLogon: String(filetime(e.lastLogon)),
    lastLogonTimestamp: String(filetime(e.lastLogonTimestamp)),
    logonCount: Number(first(e.logonCount) ?? 0) || 0,
    enabled: (Number(first(e.userAccountControl) ?? 0) & Uac.ACCOUNTDISABLE) === 0,
    dcName,
  };
}

/** The account with that sAMAccountName anywhere under `baseDn`, or null. */
export async function findAccountBySamName(conn: DirectoryConnection, baseDn: string, samAccountName: string): Promise<FoundAccount | null> {
  const r = await conn.run({ action: `searching for ${samAccountName}`, field: 'machineName' }, () =>
    conn.client.search(baseDn, {
      scope: 'sub',
      filter: `(sAMAccountName=${escapeFilterValue(samAccountName)})`,
      attributes: ACCOUNT_ATTRIBUTES,
      explicitBufferAttributes: BINARY,
      sizeLimit: 2,
    }),
  );
  const e = r.searchEntries[0];
  return e ? toAccount(e) : null;
}

/** The object with that objectGUID under `baseDn`, or null. */
export async function findAccountByGuid(conn: DirectoryConnection, baseDn: string, objectGuid: string): Promise<FoundAccount | null> {
  // The filter carries raw GUID bytes; a string filter would re-encode bytes above 0x7f as UTF-8.
  const filter = new EqualityFilter({ attribute: 'objectGUID', value: guidToBytes(objectGuid) });
  const r = await conn.run({ action: `searching for object ${objectGuid}`, field: 'objectGuid' }, () =>
    conn.client.search(baseDn, { scope: 'sub', filter, attributes: ACCOUNT_ATTRIBUTES, explicitBufferAttributes: BINARY, sizeLimit: 2 }),
  );
  const e = r.searchEntries[0];
  return e ? toAccount(e) : null;
}

/** Read one object by DN (for the facts of an account just created). */
async function readByDn(conn: DirectoryConnection, dn: string): Promise<FoundAccount> {
  const r = await conn.run({ action: `reading ${dn}` }, () =>
    conn.client.search(dn, { scope: 'base', attributes: ACCOUNT_ATTRIBUTES, explicitBufferAttributes: BINARY }),
  );
  const e = r.searchEntries[0];
  if (!e) throw new ProvisioningError('ERROR_DS_NO_SUCH_OBJECT', `${dn} vanished right after it was written`);
  return toAccount(e);
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
export function newAccountAttributes(a: NewAccount): Attribute[] {
  const name = a.machineName;
  const fqdn = `${name.toLowerCase()}.${a.dnsDomainName.toLowerCase()}`;
  return [
    new Attribute({ type: 'objectClass', values: ['computer'] }),
    new Attribute({ type: 'sAMAccountName', values: [`${name.toUpperCase()}$`] }),
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

export function accountDn(machineName: string, containerDn: string): string {
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
}

/** Moves the object at dn directly under containerDn unless it is there already; returns its DN. */
export async function moveIntoContainer(conn: DirectoryConnection, dn: string, containerDn: string): Promise<string> {
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

/** NETSETUP_PROVISION_REUSE_ACCOUNT: same object, same SID, a new password; moved into the OU when asked. */
export async function reuseAccount(conn: DirectoryConnection, existing: FoundAccount, opts: ReuseOptions): Promise<FoundAccount> {
  if (!conn.encrypted) throw new ProvisioningError('ERROR_DS_STRONG_AUTH_REQUIRED', 'refusing to send a password over an unencrypted connection', { field: 'connection.url' });
  let dn = existing.distinguishedName;
  if (opts.containerDn) dn = await moveIntoContainer(conn, dn, opts.containerDn);
  const password = asSecret(opts.password);
  const changes = [new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwdValue(password.reveal())] }) })];
  if (opts.ownerMarker !== undefined && existing.description !== opts.ownerMarker) {
    changes.push(new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values: [opts.ownerMarker] }) }));
  }
  if (existing.userAccountControl & Uac.ACCOUNTDISABLE) {
    // A disabled account cannot log on; re-provisioning means it should.
    changes.push(
      new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [String(existing.userAccountControl & ~Uac.ACCOUNTDISABLE)] }) }),
    );
  }
  await conn.run({ action: `setting the password of ${dn}`, field: 'machineName', secrets: [password] }, () => conn.client.modify(dn, changes));
  return { ...existing, distinguishedName: dn, userAccountControl: existing.userAccountControl & ~Uac.ACCOUNTDISABLE };
}

/** Delete by DN, with the tree-delete control so children (BitLocker keys, …) go too. */
export async function deleteByDn(conn: DirectoryConnection, dn: string): Promise<void> {
  await conn.run({ action: `deleting ${dn}`, overrides: { 32: 'ERROR_DS_NO_SUCH_OBJECT' } }, () =>
    conn.client.del(dn, new Control(TREE_DELETE_OID, { critical: true })),
  );
}

/** Delete the object with that GUID; one already gone counts as done. */
export async function deleteAccountByGuid(conn: DirectoryConnection, baseDn: string, objectGuid: string): Promise<boolean> {
  const found = await findAccountByGuid(conn, baseDn, objectGuid);
  if (!found) return false;
  try {
    await deleteByDn(conn, found.distinguishedName);
  } catch (e) {
    if (e instanceof ProvisioningError && e.code === 'ERROR_DS_NO_SUCH_OBJECT') return false;
    throw e;
  }
  return true;
}
