// The DC locator, as DsGetDcName does it ([MS-ADTS] 6.3.6): DNS SRV records (the site's first,
// then the domain's), ordered by RFC 2782 priority and weight; an LDAP ping to each candidate in
// that order; the first that answers and fits (writable; a global catalog or the PDC when asked)
// wins. Failover is the same walk: a candidate that does not answer in time, fails TLS or does not
// fit is passed over for the next. The ping goes over the TLS connection the caller then binds on,
// verified against the DC's own host name, so choosing a DC costs no extra connection.
import type { ConnectionSettings } from '../backend';
import { ProvisioningError, type WindowsCodeName } from '../errors';
import { Limits } from '../limits';
import { Client } from 'ldapts';
import { DEFAULT_TIMEOUT_MS, DirectoryConnection } from './connection';
import { checkPingAnswer, ldapPing, pingAnswer, pingSearch } from './discovery';
import { DsFlags, type NetlogonSamLogonResponseEx } from './netlogon';
import { LocatorDns, type SrvRecord } from './dns';

export interface LocateOptions {
  /** the DNS domain name */
  domain: string;
  /** a site whose DCs are asked first; without it, the client site the first ping reports */
  site?: string;
  /** a global catalog / the PDC only (writable is always required) */
  needGc?: boolean;
  needPdc?: boolean;
  /** DC host names not to use (e.g. one already found unreachable) */
  exclude?: string[];
  /** TLS, timeouts and dnsServers; url is ignored (the locator is for when there is none) */
  settings: ConnectionSettings;
}

/** One DC to try: an SRV target (with the LDAP port it published), or an address from the
 *  domain's A records when it has no SRV records. */
export interface DcCandidate {
  host: string;
  port: number;
  source: 'site' | 'domain' | 'address';
  priority: number;
  weight: number;
}

/** A DC that was passed over, and why. */
export interface DcAttempt {
  dc: string;
  address?: string;
  code: WindowsCodeName;
  reason: string;
}

export interface LocatedDc {
  /** connected over TLS and pinged, not bound: the caller binds and closes it */
  conn: DirectoryConnection;
  ping: NetlogonSamLogonResponseEx;
  /** the DC's DNS host name (from its ping) and the address it was reached at */
  dcName: string;
  address: string;
  /** candidates tried before it, in order, with the reason each was passed over */
  passedOver: DcAttempt[];
  /** the DNS names asked, in order */
  queries: string[];
}

const lower = (s: string): string => s.replace(/\.$/, '').toLowerCase();

/** RFC 2782: lowest priority first; within a priority, a weighted random order (weight-0 records
 *  have a small chance to come first). `random` is for tests. */
export function orderSrv(records: SrvRecord[], random: () => number = Math.random): SrvRecord[] {
  const byPriority = new Map<number, SrvRecord[]>();
  for (const r of records) byPriority.set(r.priority, [...(byPriority.get(r.priority) ?? []), r]);
  const out: SrvRecord[] = [];
  for (const p of [...byPriority.keys()].sort((a, b) => a - b)) {
    // Zero weights first, as the RFC's selection algorithm arranges them.
    const left = byPriority.get(p)!.slice().sort((a, b) => (a.weight === 0 ? 0 : 1) - (b.weight === 0 ? 0 : 1));
    while (left.length > 0) {
      const total = left.reduce((n, r) => n + r.weight, 0);
      const pick = random() * (total + 1);
      let sum = 0;
      let i = left.findIndex((r) => (sum += r.weight) >= pick);
      if (i < 0) i = left.length - 1;
      out.push(left.splice(i, 1)[0]);
    }
  }
  return out;
}

/** The SRV name for the DCs wanted ([MS-ADTS] 6.3.6.1.x); GC records live under the forest
 *  name, which for a single-domain forest is the domain's. */
export function srvName(domain: string, opts: { site?: string; needGc?: boolean; needPdc?: boolean } = {}): string {
  const d = lower(domain);
  if (opts.needPdc) return `_ldap._tcp.pdc._msdcs.${d}`;
  const kind = opts.needGc ? 'gc' : 'dc';
  return opts.site ? `_ldap._tcp.${opts.site}._sites.${kind}._msdcs.${d}` : `_ldap._tcp.${kind}._msdcs.${d}`;
}

export interface Candidates {
  candidates: DcCandidate[];
  queries: string[];
  /** why the lookups found nothing, when they did not (for the final error) */
  dnsProblems: string[];
}

/** The candidates in the order they are to be tried: the site's SRV records (when a site is
 *  given), then the domain's; only when neither exists, the domain's addresses. */
export async function findCandidates(dns: LocatorDns, opts: Omit<LocateOptions, 'settings'>): Promise<Candidates> {
  const names = [...(opts.site && !opts.needPdc ? [srvName(opts.domain, { ...opts })] : []), srvName(opts.domain, { ...opts, site: undefined })];
  const answers = await Promise.all(names.map((n) => dns.srv(n)));
  const excluded = new Set((opts.exclude ?? []).map(lower));
  const seen = new Set<string>();
  const candidates: DcCandidate[] = [];
  const dnsProblems: string[] = [];
  answers.forEach((a, i) => {
    if (!a.ok) {
      if (!a.absent) dnsProblems.push(`${names[i]}: ${a.code} from ${dns.describe()}`);
      return;
    }
    for (const r of orderSrv(a.records)) {
      const host = lower(r.name);
      // Target "." means "no such service here" (RFC 2782).
      if (host === '' || seen.has(host) || excluded.has(host)) continue;
      seen.add(host);
      candidates.push({ host, port: r.port, source: i === 0 && names.length > 1 ? 'site' : 'domain', priority: r.priority, weight: r.weight });
    }
  });
  const queries = [...names];
  const anySrv = answers.some((a) => a.ok && a.records.length > 0);
  if (!anySrv) {
    // No SRV records at all: the domain name's own addresses ([MS-ADTS] 6.3.6: the A-record fallback).
    queries.push(lower(opts.domain));
    const a = await dns.addresses(lower(opts.domain));
    if (a.ok) {
      for (const addr of a.records) if (!excluded.has(addr)) candidates.push({ host: addr, port: 389, source: 'address', priority: 0, weight: 0 });
    } else if (!a.absent) dnsProblems.push(`${lower(opts.domain)}: ${a.code} from ${dns.describe()}`);
  }
  return { candidates: candidates.slice(0, Limits.locatorCandidates), queries, dnsProblems };
}

type Probe = { ok: true; found: Omit<LocatedDc, 'passedOver' | 'queries'> } | { ok: false; attempt: DcAttempt };

const failed = (dc: string, address: string | undefined, code: WindowsCodeName, reason: string): Probe => ({ ok: false, attempt: { dc, ...(address ? { address } : {}), code, reason } });

/** Rejects after ms, unless cleared. */
function deadline(ms: number): { promise: Promise<never>; clear: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProvisioningError('ERROR_TIMEOUT', `no answer within ${ms} ms`)), ms);
  });
  promise.catch(() => undefined);
  return { promise, clear: () => clearTimeout(timer) };
}

/** An anonymous ping over plain LDAP, for an address-only candidate: it tells the DC's host name,
 *  which TLS is then verified against. Nothing but the ping is sent. */
async function plainPing(address: string, port: number, domain: string, ms: number): Promise<NetlogonSamLogonResponseEx | null> {
  const client = new Client({ url: `ldap://${address.includes(':') ? `[${address}]` : address}:${port}`, timeout: ms, connectTimeout: ms });
  try {
    const { filter, ...rest } = pingSearch(domain);
    const r = await client.search('', { scope: 'base', filter, ...rest });
    return pingAnswer(r.searchEntries[0], domain);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** Connect to one candidate, ping it over TLS and judge the answer, within ms. */
async function probe(c: DcCandidate, dns: LocatorDns, opts: LocateOptions, ms: number): Promise<Probe> {
  const limit = deadline(ms);
  let over = false;
  let won = false;
  // The candidate's connection while it is being probed: closed at once when the deadline wins,
  // not only when its own (longer) step timeout ends, so it holds no socket or slot meanwhile.
  let live: DirectoryConnection | undefined;
  const where = { host: c.host, address: c.source === 'address' ? c.host : undefined };
  const attempt = async (): Promise<Probe> => {
    if (c.source === 'address') {
      const plain = await plainPing(c.host, c.port, opts.domain, ms);
      if (!plain) return failed(c.host, c.host, 'ERROR_INVALID_DOMAIN_ROLE', `answers no LDAP ping for ${opts.domain}`);
      where.host = lower(plain.dnsHostName);
    } else {
      const a = await dns.addresses(c.host);
      if (!a.ok || a.records.length === 0) return failed(c.host, undefined, 'ERROR_DS_SERVER_DOWN', `its name does not resolve (${a.ok ? 'no address' : a.code} from ${dns.describe()})`);
      where.address = a.records[0];
    }
    const { host, address } = where;
    const s = opts.settings;
    // StartTLS, or Kerberos with its own sealing (endpoint.ts defaultUrl), on the LDAP port the SRV
    // record published (a GC record's port is the GC's, not it); else LDAPS.
    const url = s.startTls || s.auth === 'kerberos' ? `ldap://${host}:${opts.needGc ? 389 : c.port}` : `ldaps://${host}`;
    const conn = new DirectoryConnection({ ...s, url }, { host, address, unreachableCode: 'ERROR_DS_SERVER_DOWN', unreachableField: 'domain' });
    live = conn;
    try {
      await conn.connect();
      const ping = checkPingAnswer(await ldapPing(conn, opts.domain), { domain: opts.domain }, url);
      // TLS was verified against the name the SRV record gave (RFC 2782: never an alias); a DC
      // answering under another name is not the one whose certificate was checked.
      if (c.source !== 'address' && lower(ping.dnsHostName) !== host) throw new ProvisioningError('ERROR_INVALID_DOMAIN_ROLE', `answers as ${ping.dnsHostName}, not ${host}`);
      if (opts.needGc && !(ping.flags & DsFlags.GC)) throw new ProvisioningError('ERROR_INVALID_DOMAIN_ROLE', 'is not a global catalog');
      if (opts.needPdc && !(ping.flags & DsFlags.PDC)) throw new ProvisioningError('ERROR_INVALID_DOMAIN_ROLE', 'is not the PDC');
      // The deadline gave up on this candidate meanwhile: nobody will take the connection.
      if (over) throw new ProvisioningError('ERROR_TIMEOUT', `no answer within ${ms} ms`);
      return { ok: true, found: { conn, ping, dcName: lower(ping.dnsHostName), address: conn.remoteAddress ?? address! } };
    } catch (e) {
      await conn.close();
      throw e;
    }
  };
  try {
    const attempted = attempt();
    attempted.catch(() => undefined); // settles after the deadline won: already reported as a timeout
    const r = await Promise.race([limit.promise, attempted]);
    won = r.ok;
    return r;
  } catch (e) {
    // A probe never rejects: whatever went wrong (a socket error of the plain ping too) passes this
    // candidate over, and probes still running after a winner settle quietly.
    if (!(e instanceof ProvisioningError)) {
      const code = String((e as { code?: unknown })?.code ?? (e as Error)?.message ?? e);
      return failed(where.host, where.address, 'ERROR_DS_SERVER_DOWN', `could not be reached (${code.slice(0, 200)})`);
    }
    const timedOut = e.code === 'ERROR_TIMEOUT' || / within \d+ ms/.test(e.message);
    const reason = timedOut ? `no answer within ${ms} ms` : e.message.replace(/^\w+ \(\d+\): (?:[\w.[\]]+: )?/, '');
    return failed(where.host, where.address, timedOut ? 'ERROR_TIMEOUT' : (e.code as WindowsCodeName), reason);
  } finally {
    over = true;
    limit.clear();
    if (live && !won) void live.close();
  }
}

/** One named DC (e.g. the one that holds an account), pinged within the locator's bound: its
 *  pinged TLS connection, or why it cannot be used. */
export async function reachDc(host: string, opts: Omit<LocateOptions, 'site' | 'exclude'>): Promise<{ ok: true; found: LocatedDc } | { ok: false; attempt: DcAttempt }> {
  const timeoutMs = opts.settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pingMs = Math.min(timeoutMs, Limits.locatorPingMs);
  const dns = new LocatorDns(opts.settings.dnsServers, pingMs);
  const r = await probe({ host: lower(host), port: 389, source: 'domain', priority: 0, weight: 0 }, dns, opts, pingMs);
  return r.ok ? { ok: true, found: { ...r.found, passedOver: [], queries: [] } } : r;
}

/** Try candidates in order, up to Limits.locatorParallel at once; the first in order that fits
 *  wins (a later one answering sooner waits for those before it: priority is the admin's word). */
async function walk(cands: DcCandidate[], dns: LocatorDns, opts: LocateOptions, pingMs: number, endAt: number, passedOver: DcAttempt[]): Promise<Omit<LocatedDc, 'passedOver' | 'queries'> | null> {
  const started: (Promise<Probe> | undefined)[] = [];
  const start = (i: number): void => {
    if (i >= cands.length || started[i]) return;
    const left = endAt - Date.now();
    started[i] = left <= 0 ? Promise.resolve(failed(cands[i].host, undefined, 'ERROR_TIMEOUT', 'not tried: the search ran out of time')) : probe(cands[i], dns, opts, Math.min(pingMs, left));
  };
  for (let i = 0; i < cands.length; i++) {
    for (let k = i; k < i + Limits.locatorParallel; k++) start(k);
    const r = (await started[i])!;
    if (r.ok) {
      // Those started after the winner close their connections once they settle.
      for (const p of started.slice(i + 1)) void p?.then((o) => (o.ok ? o.found.conn.close() : undefined));
      return r.found;
    }
    passedOver.push(r.attempt);
  }
  return null;
}

/** Find a writable DC of the domain and return its pinged TLS connection; an error naming every
 *  DC tried and why when none fits (ERROR_NO_SUCH_DOMAIN when none answered). */
export async function locateDc(opts: LocateOptions): Promise<LocatedDc> {
  const timeoutMs = opts.settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pingMs = Math.min(timeoutMs, Limits.locatorPingMs);
  const endAt = Date.now() + Math.min(Limits.locatorSearchMs, Math.max(timeoutMs, pingMs * 2));
  const dns = new LocatorDns(opts.settings.dnsServers, pingMs);
  const { candidates, queries, dnsProblems } = await findCandidates(dns, opts);
  const passedOver: DcAttempt[] = [];
  let found = await walk(candidates, dns, opts, pingMs, endAt, passedOver);
  // The client's site, as the DC saw it: when the DC found is not in it, that site's DCs are
  // asked before settling (DsGetDcName's second, site-specific query).
  const client = found?.ping.clientSiteName;
  if (found && !opts.site && !opts.needPdc && client && !(found.ping.flags & DsFlags.CLOSEST) && lower(client) !== lower(found.ping.dcSiteName)) {
    const tried = [found.dcName, ...passedOver.map((p) => p.dc), ...(opts.exclude ?? [])];
    const site = await findCandidates(dns, { ...opts, site: client, exclude: tried });
    queries.push(site.queries[0]);
    const closer = await walk(
      site.candidates.filter((c) => c.source === 'site'),
      dns,
      opts,
      pingMs,
      endAt,
      passedOver,
    );
    if (closer) {
      await found.conn.close();
      found = closer;
    }
  }
  if (found) return { ...found, passedOver, queries };
  throw noDcError(opts, candidates.length, passedOver, dnsProblems, dns, queries);
}

function noDcError(opts: LocateOptions, count: number, passedOver: DcAttempt[], dnsProblems: string[], dns: LocatorDns, queries: string[]): ProvisioningError {
  const wanted = opts.needPdc ? 'the PDC' : opts.needGc ? 'a writable global catalog' : 'a writable domain controller';
  if (count === 0) {
    const why = dnsProblems.length > 0 ? `DNS did not answer (${dnsProblems.join('; ')})` : `${dns.describe()} knows no ${queries.join(', ')}`;
    return new ProvisioningError('ERROR_NO_SUCH_DOMAIN', `no domain controller of ${lower(opts.domain)} found: ${why}; set dnsServers to the domain's DNS, or url or dcName`, { field: 'domain' });
  }
  const list = passedOver.map((a) => `${a.dc}${a.address && a.address !== a.dc ? ` (${a.address})` : ''}: ${a.reason} [${a.code}]`).join('; ');
  // One cause for all (e.g. every DC's certificate untrusted) is reported with its own code and field.
  const codes = new Set<string>(passedOver.map((a) => a.code));
  const only = codes.size === 1 ? passedOver[0].code : undefined;
  const unanswered: WindowsCodeName[] = ['ERROR_TIMEOUT', 'ERROR_DS_SERVER_DOWN'];
  if (only && only.startsWith('SEC_E_')) return new ProvisioningError(only, `no DC of ${lower(opts.domain)} passed TLS verification; tried ${list}`, { field: 'connection.caCerts' });
  const code: WindowsCodeName = only && !unanswered.includes(only) ? only : 'ERROR_NO_SUCH_DOMAIN';
  return new ProvisioningError(code, `no ${wanted.replace(/^(a|the) /, '')} of ${lower(opts.domain)} could be used; tried ${list}`, { field: 'domain' });
}
