// The provisioning connection of a library or provider-host call, through the pool (pool.ts): the
// DC and what discovery learned about the domain are kept per request for DISCOVERY_TTL_MS, so that
// the many resources of one `up` neither locate the DC nor discover the domain again; their
// connections are reused by the same identity. Concurrent first calls for a domain wait for one
// discovery instead of each running their own. A DC that no longer answers is found out when its
// connection is reused or reopened, and the full path (locator, failover) runs again.
import type { ConnectionSettings } from '../backend';
import { DEFAULT_TIMEOUT_MS, DirectoryConnection } from './connection';
import type { Discovery } from './discovery';
import { acquire, adopt, identityKey, release, type Pooled } from './pool';
import { openDomain } from './domain';
import type { DomainRequest } from '../params/validation';

/** How long a domain's DC and discovery facts are reused: a DC's role or the domain's containers
 *  change rarely, and a DC that stops answering is noticed at once anyway. */
export const DISCOVERY_TTL_MS = 60_000;

interface KnownDomain {
  discovery: Discovery;
  /** the DC's URL, host (TLS is verified against it) and the address the first connection reached */
  url: string;
  host: string;
  address?: string;
  /** the DC's own name for the Kerberos service principal, when it was reached through the domain's name */
  bindAs?: string;
  expires: number;
}

export interface BorrowedDomain {
  conn: DirectoryConnection;
  discovery: Discovery;
  /** Give the connection back (kept for the next call when still good); always call it once. */
  done(): Promise<void>;
}

type Facts = { dc: string; base: string };

const known = new Map<string, KnownDomain>();
const discovering = new Map<string, Promise<KnownDomain | undefined>>();

/** What makes two requests find the same DC: not the identity (nothing here is secret or depends
 *  on who asks; connections are still kept per identity). */
function requestKey(domain: DomainRequest, s: ConnectionSettings): string {
  return JSON.stringify([domain.domain.toLowerCase(), domain.dcName?.toLowerCase() ?? '', domain.site ?? '', s.url ?? '', s.dnsServers ?? [], s.startTls === true]);
}

/** A bound connection to the domain's DC with its discovery: a pooled one, a new one to the DC
 *  already found, or the whole way (openDomain) for the first call or after a DC stopped answering. */
export async function borrowDomain(domain: DomainRequest, settings: ConnectionSettings): Promise<BorrowedDomain> {
  const rk = requestKey(domain, settings);
  let k = known.get(rk);
  if (k && k.expires <= Date.now()) {
    known.delete(rk);
    k = undefined;
  }
  if (!k && discovering.has(rk)) k = await discovering.get(rk);
  if (k) {
    const at = k;
    const key = identityKey(settings, at.url);
    try {
      const pooled = await acquire<Facts>(key, at.url, () => openKnown(at, settings), settings.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      return lent(key, pooled, at.discovery);
    } catch {
      // Connecting or binding wrote nothing: forget the DC and go the whole way, whose errors are the caller's.
      if (known.get(rk) === at) known.delete(rk);
    }
  }
  // The first call discovers; calls meanwhile wait for its answer instead of discovering too.
  let learned: (k: KnownDomain | undefined) => void = () => undefined;
  const mine = !discovering.has(rk);
  if (mine) discovering.set(rk, new Promise((resolve) => (learned = resolve)));
  try {
    const { conn, discovery } = await openDomain(domain, settings);
    const first: KnownDomain = {
      discovery,
      url: conn.url,
      host: settings.url ? '' : (domain.dcName ?? discovery.domainFacts.dcName),
      ...(settings.url || !conn.remoteAddress ? {} : { address: conn.remoteAddress }),
      ...(conn.host.toLowerCase() === domain.domain.toLowerCase() ? { bindAs: discovery.domainFacts.dcName } : {}),
      expires: Date.now() + DISCOVERY_TTL_MS,
    };
    known.set(rk, first);
    learned(first);
    return lent(identityKey(settings, conn.url), adopt({ conn, facts: factsOf(discovery) }), discovery);
  } catch (e) {
    learned(undefined);
    throw e;
  } finally {
    if (mine) discovering.delete(rk);
  }
}

function lent(key: string, pooled: Pooled<Facts>, discovery: Discovery): BorrowedDomain {
  let given = false;
  return {
    conn: pooled.conn,
    discovery,
    done: async () => {
      if (given) return;
      given = true;
      await release(key, pooled);
    },
  };
}

const factsOf = (d: Discovery): Facts => ({ dc: d.domainFacts.dcName.toLowerCase(), base: d.head.dn });

/** A new connection to the DC found before: connect and bind, without the ping and discovery. */
async function openKnown(k: KnownDomain, settings: ConnectionSettings): Promise<Pooled<Facts>> {
  const conn = new DirectoryConnection(settings, {
    host: k.host,
    unreachableCode: 'ERROR_DS_SERVER_DOWN',
    unreachableField: settings.url ? 'connection.url' : 'dcName',
    ...(k.address ? { address: k.address } : {}),
  });
  try {
    await conn.connect();
    await conn.bind(k.bindAs);
    return { conn, facts: factsOf(k.discovery) };
  } catch (e) {
    await conn.close();
    throw e;
  }
}

/** Forget every domain learned (tests; a library caller that knows the domain changed). */
export function forgetDomains(): void {
  known.clear();
}
