// The LDAP provisioning flow, on validated input: one connection to one DC, discovery once, then
// per machine: find, create or reuse, build the package. Fewest round trips: TLS + LDAP ping,
// bind, root DSE with domain head (together), then per machine a search, a write and a read.
import type { AccountFacts, ConnectionSettings, IssuedFacts, ProvisionResult } from '../backend';
import { ProvisioningError } from '../errors';
import { buildPackage, type PackageFacts } from '../odj';
import { createAccount, deleteByDn, findAccountBySamName, loggedOnSincePasswordSet, readLogonFacts, reuseAccount, type FoundAccount, type ReuseOptions } from './accounts';
import { filetimeToIso } from '../account/lifecycle';
import { refuseExisting } from '../account/safety';
import type { DirectoryConnection } from './connection';
import type { Discovery } from './discovery';
import type { AccountRequest, DomainRequest } from '../params/validation';
import { isDnWithin, parseDn } from '../params/dn';
import { defaultMachinePassword, generateMachinePassword } from './password';
import { boundTokenSids, hasOwnerMarker, isOurs, ownerMarker, readOwnership } from './ownership';
import { secret, type Secret } from '../secret';
import { provisionResult } from '../result';
import { resolvePackageContent } from './package-content';
import { accountNameOf } from '../odj/ids';
import { borrowDomain } from './borrow';

export type ProvisionOutcome = { ok: true; result: ProvisionResult } | { ok: false; error: ProvisioningError };

/** Provision one machine over an open, discovered connection: check the OU, fetch the package's
 *  content, find or create the account, then issue the package (or remove an account just made). */
export async function provisionOne(conn: DirectoryConnection, d: Discovery, req: AccountRequest): Promise<ProvisionResult> {
  checkOuInDomain(req.machineAccountOU, d.head.dn);
  // Fetched before the account is touched: a missing GPO or a bad CA value must not leave an account.
  const content = req.content ? await resolvePackageContent(conn, d, req.content) : {};
  const password: Secret = secret(req.useDefaultPassword ? defaultMachinePassword(req.machineName) : generateMachinePassword(), 'machinePassword');
  const taken = await takeAccount(conn, d, req, password);
  const { account, created } = taken;
  try {
    // When the password was set, read where it was set: the "is the package still current?" fact.
    const issued: IssuedFacts = {
      pwdLastSet: taken.readBack && account.pwdLastSet ? account.pwdLastSet : (await readLogonFacts(conn, account.distinguishedName, d.domainFacts.dcName)).pwdLastSet,
      dcName: d.domainFacts.dcName,
    };
    const result = packageFor(d, req, password.reveal(), account, content, !created);
    result.issued = issued; // set on the object: a spread would drop its redacted view
    if (taken.warnings.length > 0) result.warnings = taken.warnings;
    return result;
  } catch (e) {
    // Never leave a half-made account: the one we just created goes again.
    if (created) await deleteByDn(conn, account.distinguishedName).catch(() => undefined);
    if (e instanceof ProvisioningError) throw e;
    throw new ProvisioningError('ERROR_INVALID_PARAMETER', `the package could not be built (${(e as Error).name})`);
  }
}

function checkOuInDomain(machineAccountOU: string | undefined, domainDn: string): void {
  if (!machineAccountOU) return;
  const domainRdns = parseDn(domainDn);
  const ou = parseDn(machineAccountOU);
  if (ou.length <= domainRdns.length || !isDnWithin(ou, domainRdns)) {
    throw new ProvisioningError('ERROR_INVALID_PARAMETER', `the OU must be a full DN inside ${domainDn}`, { field: 'machineAccountOU' });
  }
}

interface TakenAccount {
  account: FoundAccount;
  /** this call (or an earlier failed call for the same owner) made it: a later failure removes it */
  created: boolean;
  /** read back after the add, so its pwdLastSet is the new password's */
  readBack: boolean;
  warnings: string[];
}

/** The account with the new password: an existing one reused (or refused), else a new one. */
async function takeAccount(conn: DirectoryConnection, d: Discovery, req: AccountRequest, password: Secret): Promise<TakenAccount> {
  const sam = accountNameOf(req.machineName);
  const existing = req.skipAccountSearch ? null : await findAccountBySamName(conn, d.head.dn, sam);
  const reuse = { password, containerDn: req.machineAccountOU, enableAccount: req.enableAccount === true, ...markerOf(req) };
  if (existing && (await isOwnOrphan(conn, existing, req))) {
    return { account: await reuseAccount(conn, existing, reuse), created: true, readBack: false, warnings: [] };
  }
  if (existing) {
    refuseExisting(existing, sam, req.reuseAccount);
    const account = await reuseAccount(conn, existing, reuse);
    // djoin's reuse resets, and so does ours; but say so when a machine was using the password.
    return { account, created: false, readBack: false, warnings: loggedOnSincePasswordSet(existing) ? [resetAfterLogonWarning(existing)] : [] };
  }
  try {
    const account = await createAccount(conn, {
      machineName: req.machineName,
      dnsDomainName: d.domainFacts.dnsDomainName,
      containerDn: req.machineAccountOU ?? d.head.computersContainer,
      password,
      ...markerOf(req),
    });
    return { account, created: true, readBack: true, warnings: [] };
  } catch (e) {
    return { account: await recoverFromClash(conn, d, req, sam, reuse, e), created: true, readBack: false, warnings: [] };
  }
}

const markerOf = (req: AccountRequest): { ownerMarker?: string } => (req.ownerTag !== undefined ? { ownerMarker: ownerMarker(req.ownerTag) } : {});

/** An add that failed on a clash. Without the search up front, the DC may object to a duplicate
 *  SPN before the duplicate sAMAccountName; one search tells which it was, and whether it is our
 *  own orphan (then it is reused); anything else is rethrown as what it is. */
async function recoverFromClash(conn: DirectoryConnection, d: Discovery, req: AccountRequest, sam: string, reuse: ReuseOptions, e: unknown): Promise<FoundAccount> {
  const clashCodes = ['ERROR_ALREADY_EXISTS', 'NERR_UserExists', 'ERROR_DS_CONSTRAINT_VIOLATION'];
  if (!(e instanceof ProvisioningError) || !clashCodes.includes(e.code) || !conn.client.isConnected) throw e;
  const clash = req.skipAccountSearch ? await findAccountBySamName(conn, d.head.dn, sam).catch(() => null) : null;
  if (clash && (await isOwnOrphan(conn, clash, req))) return reuseAccount(conn, clash, reuse);
  if (clash) {
    refuseExisting(clash, sam, false);
    throw new ProvisioningError('NERR_UserExists', `the account ${sam} already exists (${clash.distinguishedName})`, { field: 'machineName' });
  }
  if (e.code !== 'ERROR_DS_CONSTRAINT_VIOLATION') throw new ProvisioningError('NERR_UserExists', `an object named ${sam} already exists`, { field: 'machineName' });
  throw e;
}

/** The package for an account whose password is `machinePassword`; no directory access. */
function packageFor(
  d: Discovery,
  req: AccountRequest,
  machinePassword: string,
  account: AccountFacts,
  content: Pick<PackageFacts, 'certificates' | 'policies'>,
  reused: boolean,
): ProvisionResult {
  const facts: PackageFacts = {
    domain: d.domainFacts.dnsDomainName,
    machineName: req.machineName,
    machinePassword,
    domainInfo: d.domainInfo,
    dc: d.dcInfo,
    options: req.win7Options,
    rid: account.rid,
    ...(req.joinProvider2 ? { joinProvider2: req.joinProvider2 } : {}),
    ...content,
  };
  return provisionResult(account, d.domainFacts, buildPackage(facts), reused);
}

/** A new package around the password an earlier package carries, for the same account: new
 *  certificates, policies, join-provider facts or options without writing anything to the
 *  directory. The caller has made sure that password is still the account's (the core's guard). */
export async function rebuildOne(conn: DirectoryConnection, d: Discovery, req: AccountRequest, machinePassword: string, account: AccountFacts): Promise<ProvisionResult> {
  const content = req.content ? await resolvePackageContent(conn, d, req.content) : {};
  try {
    return packageFor(d, req, machinePassword, account, content, true);
  } catch (e) {
    if (e instanceof ProvisioningError) throw e;
    throw new ProvisioningError('ERROR_INVALID_PARAMETER', `the package could not be built (${(e as Error).name})`);
  }
}

function resetAfterLogonWarning(a: FoundAccount): string {
  return (
    `${a.samAccountName} had logged on since its password was last set (last logon ${filetimeToIso(a.lastLogon)}, password set ${filetimeToIso(a.pwdLastSet)}): ` +
    'reusing it reset the password, so a machine joined with the previous one loses its trust relationship with the domain until it joins with this package'
  );
}

/** An existing account is our own orphan when it carries the caller's marker and was created by
 *  the identity we are bound as (ownership.ts explains why both). */
async function isOwnOrphan(conn: DirectoryConnection, existing: FoundAccount, req: AccountRequest): Promise<boolean> {
  if (req.ownerTag === undefined || !existing.isComputer || !hasOwnerMarker(existing.description, req.ownerTag)) return false;
  const [ownership, token] = await Promise.all([readOwnership(conn, existing.distinguishedName), boundTokenSids(conn)]);
  if (isOurs(ownership, token)) return true;
  // Someone else made it: only an explicit reuseAccount may take it over (refuseExisting decides).
  if (req.reuseAccount) return false;
  throw new ProvisioningError(
    'NERR_UserExists',
    `the account ${existing.samAccountName} carries this owner's marker but was not created by the account we bind as; refusing to adopt it (${existing.distinguishedName})`,
    { field: 'machineName' },
  );
}

/** Many machines of one domain over one connection; each outcome on its own. */
export async function provisionAccounts(domain: DomainRequest, requests: AccountRequest[], settings: ConnectionSettings): Promise<ProvisionOutcome[]> {
  const { conn, discovery, done } = await borrowDomain(domain, settings);
  try {
    const out: ProvisionOutcome[] = [];
    for (const req of requests) {
      if (!conn.client.isConnected) {
        // The one socket is gone (and is never silently replaced): the rest cannot be tried.
        out.push({ ok: false, error: new ProvisioningError('ERROR_DS_SERVER_DOWN', 'the connection to the DC was lost earlier in this batch', { field: 'machineName' }) });
        continue;
      }
      try {
        out.push({ ok: true, result: await provisionOne(conn, discovery, req) });
      } catch (e) {
        if (!(e instanceof ProvisioningError)) throw e;
        out.push({ ok: false, error: e });
      }
    }
    return out;
  } finally {
    await done();
  }
}
