// The replication rule, in one place: the DC that holds an account (made it, or last wrote it) is
// the first one asked about it afterwards. Replication between DCs takes seconds to minutes, so a
// "no such object" from any other DC is not proof that the account is gone: a read or delete that
// could only ask another DC, and did not find the account there, fails instead of reporting
// "gone" (a Pulumi refresh would otherwise drop from state an account that still exists).
import type { AccountLocation, ConnectionSettings } from '../backend';
import { ProvisioningError } from '../errors';
import { DEFAULT_TIMEOUT_MS, DirectoryConnection, openDirectory, resolveUrl } from './connection';
import { acquire, identityKey, release } from './pool';
import { readRootDse } from './discovery';
import { locateDc, reachDc } from './locator';

export interface AccountDc {
  conn: DirectoryConnection;
  /** the DC's DNS host name */
  dc: string;
  /** the directory's base DN on it */
  base: string;
  /** true when this DC's "no such object" proves the account gone: it is the account's home DC
   *  (or no home is known) */
  authoritative: boolean;
  /** why the home DC was not used, when it was not */
  homeProblem?: string;
}

const sameHost = (a: string, b: string): boolean => a.replace(/\.$/, '').toLowerCase() === b.replace(/\.$/, '').toLowerCase();

/** Bind (unless done) and learn where we are; the connection is closed on failure. */
async function bound(conn: DirectoryConnection, bind = true): Promise<{ dc: string; base: string }> {
  try {
    if (bind) await conn.bind();
    const root = await readRootDse(conn);
    return { dc: root.dnsHostName.toLowerCase(), base: root.defaultNamingContext };
  } catch (e) {
    await conn.close();
    throw e;
  }
}

type Facts = { dc: string; base: string; homeProblem?: string };

/** Run fn on the DC to ask about an account: the URL's when one is given; else the home DC, and
 *  when it cannot be reached another writable DC of the domain (found by the locator). The
 *  connection comes from the pool (pool.ts) and goes back to it; one to another DC than the home
 *  DC is not kept, so that the home DC is asked again next time. */
export async function withAccountDc<T>(connection: ConnectionSettings, where: AccountLocation | undefined, fn: (at: AccountDc) => Promise<T>): Promise<T> {
  const home = where?.homeDc;
  if (!connection.url && !where) throw new ProvisioningError('ERROR_INVALID_PARAMETER', 'is required to find an account by GUID', { field: 'connection.url' });
  const url = resolveUrl(connection, connection.url ? '' : (home ?? where!.domain)).url;
  const open = connection.url ? () => openUrl(connection) : home ? () => openHome(home, where!.domain, connection) : undefined;
  const key = identityKey(connection, url);
  const pooled = open
    ? await acquire<Facts>(key, url, open, connection.timeoutMs ?? DEFAULT_TIMEOUT_MS)
    : await (async (): Promise<{ conn: DirectoryConnection; facts: Facts }> => {
        const conn = (await locateDc({ domain: where!.domain, settings: connection })).conn;
        return { conn, facts: await bound(conn) };
      })();
  const { dc, base, homeProblem } = pooled.facts;
  const authoritative = !home || sameHost(dc, home);
  try {
    return await fn({ conn: pooled.conn, dc, base, authoritative, ...(homeProblem ? { homeProblem } : home && !authoritative ? { homeProblem: `the URL names ${dc}` } : {}) });
  } finally {
    if (open) await release(key, pooled, authoritative);
    else await pooled.conn.close();
  }
}

async function openUrl(connection: ConnectionSettings): Promise<{ conn: DirectoryConnection; facts: Facts }> {
  const conn = await openDirectory(connection, { host: '', unreachableCode: 'ERROR_DS_SERVER_DOWN', unreachableField: 'connection.url' });
  return { conn, facts: await bound(conn, false) };
}

/** The home DC, pinged and bound; when it cannot be reached, another writable DC of the domain. */
async function openHome(home: string, domain: string, connection: ConnectionSettings): Promise<{ conn: DirectoryConnection; facts: Facts }> {
  const reached = await reachDc(home, { domain, settings: connection });
  if (reached.ok) return { conn: reached.found.conn, facts: await bound(reached.found.conn) };
  if (reached.attempt.code.startsWith('SEC_E_')) {
    // A certificate problem is the settings' fault, not the DC's absence: say so, do not go elsewhere.
    throw new ProvisioningError(reached.attempt.code, `${home}: ${reached.attempt.reason}`, { field: 'connection.caCerts' });
  }
  const homeProblem = `${reached.attempt.reason} [${reached.attempt.code}]`;
  const conn = (await locateDc({ domain, settings: connection, exclude: [home] })).conn;
  return { conn, facts: { ...(await bound(conn)), homeProblem } };
}

/** What a non-authoritative "no such object" becomes. */
export function notProofOfAbsence(objectGuid: string, at: AccountDc, home: string | undefined, doing: string): ProvisioningError {
  return new ProvisioningError(
    'ERROR_DS_SERVER_DOWN',
    `the computer account ${objectGuid} is not on ${at.dc}, but it was made on ${home ?? 'another DC'}, which could not be asked (${at.homeProblem ?? 'unknown'}); ` +
      `a DC that has not yet received the account by replication answers the same, so it is not taken as gone and nothing was ${doing}: retry when ${home ?? 'that DC'} answers or after replication`,
    { field: 'objectGuid' },
  );
}
