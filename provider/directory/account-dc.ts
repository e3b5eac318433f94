// The replication rule, in one place: the DC that holds an account (made it, or last wrote it) is
// the first one asked about it afterwards. Replication between DCs takes seconds to minutes, so a
// "no such object" from any other DC is not proof that the account is gone: a read or delete that
// could only ask another DC, and did not find the account there, fails instead of reporting
// "gone" (a Pulumi refresh would otherwise drop from state an account that still exists).
import type { AccountLocation, ConnectionSettings } from '../backend';
import { ProvisioningError } from '../errors';
import { DirectoryConnection, withDirectory } from './connection';
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

/** Bind and learn where we are; the connection is closed on failure. */
async function bound(conn: DirectoryConnection): Promise<{ dc: string; base: string }> {
  try {
    await conn.bind();
    const root = await readRootDse(conn);
    return { dc: root.dnsHostName.toLowerCase(), base: root.defaultNamingContext };
  } catch (e) {
    await conn.close();
    throw e;
  }
}

/** Run fn on the DC to ask about an account: the URL's when one is given; else the home DC, and
 *  when it cannot be reached another writable DC of the domain (found by the locator). */
export async function withAccountDc<T>(connection: ConnectionSettings, where: AccountLocation | undefined, fn: (at: AccountDc) => Promise<T>): Promise<T> {
  const home = where?.homeDc;
  if (connection.url || !where) {
    if (!connection.url) throw new ProvisioningError('ERROR_INVALID_PARAMETER', 'is required to find an account by GUID', { field: 'connection.url' });
    return withDirectory(connection, { host: '', unreachableCode: 'ERROR_DS_SERVER_DOWN', unreachableField: 'connection.url' }, async (conn) => {
      const root = await readRootDse(conn);
      const dc = root.dnsHostName.toLowerCase();
      return fn({ conn, dc, base: root.defaultNamingContext, authoritative: !home || sameHost(dc, home), ...(home && !sameHost(dc, home) ? { homeProblem: `the URL names ${dc}` } : {}) });
    });
  }
  let conn: DirectoryConnection;
  let homeProblem: string | undefined;
  const reached = home ? await reachDc(home, { domain: where.domain, settings: connection }) : undefined;
  if (reached?.ok) {
    conn = reached.found.conn;
  } else {
    if (reached && reached.attempt.code.startsWith('SEC_E_')) {
      // A certificate problem is the settings' fault, not the DC's absence: say so, do not go elsewhere.
      throw new ProvisioningError(reached.attempt.code, `${home}: ${reached.attempt.reason}`, { field: 'connection.caCerts' });
    }
    homeProblem = reached ? `${reached.attempt.reason} [${reached.attempt.code}]` : undefined;
    conn = (await locateDc({ domain: where.domain, settings: connection, ...(home ? { exclude: [home] } : {}) })).conn;
  }
  const { dc, base } = await bound(conn);
  try {
    return await fn({ conn, dc, base, authoritative: !home || sameHost(dc, home), ...(homeProblem ? { homeProblem } : {}) });
  } finally {
    await conn.close();
  }
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
