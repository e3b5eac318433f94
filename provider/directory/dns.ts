// DNS for the DC locator: SRV and address lookups through the system resolver or the servers the
// caller names (dnsServers: CI runners often cannot resolve the AD domain, its own DNS can). Only
// the lookups, each bounded in time; which records to ask for and their order live in locator.ts.
import { promises as dnsPromises, type SrvRecord } from 'node:dns';
import { isIP } from 'node:net';

export type { SrvRecord } from 'node:dns';

/** `192.0.2.1`, `192.0.2.1:5353`, `2001:db8::1` or `[2001:db8::1]:5353`: what Resolver.setServers takes. */
export function isDnsServerAddress(a: unknown): boolean {
  if (typeof a !== 'string' || a.length === 0 || a.length > 64) return false;
  const m = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(a) ?? /^([\d.]+)(?::(\d{1,5}))?$/.exec(a) ?? /^([0-9A-Fa-f:.]+)()$/.exec(a);
  if (!m || isIP(m[1]) === 0) return false;
  return !m[2] || (Number(m[2]) >= 1 && Number(m[2]) <= 65535);
}

/** A lookup's answer: the records, or why there are none. `absent`: the DNS answered that the
 *  name has no such records; otherwise it did not answer usefully (timeout, refused, …). */
export type DnsAnswer<T> = { ok: true; records: T } | { ok: false; absent: boolean; code: string };

const ABSENT = new Set(['ENOTFOUND', 'ENODATA', 'NOTFOUND', 'NODATA']);

/** Bounded lookups against one set of DNS servers (or the system's). */
export class LocatorDns {
  private readonly resolver: dnsPromises.Resolver;
  readonly servers?: string[];

  constructor(
    servers: string[] | undefined,
    private readonly timeoutMs: number,
  ) {
    // c-ares doubles its per-try timeout; two tries of a third each stay within the bound.
    this.resolver = new dnsPromises.Resolver({ timeout: Math.max(50, Math.floor(timeoutMs / 3)), tries: 2 });
    if (servers && servers.length > 0) {
      this.resolver.setServers(servers);
      this.servers = [...servers];
    }
  }

  /** For messages: who was asked. */
  describe(): string {
    return this.servers ? `DNS server${this.servers.length > 1 ? 's' : ''} ${this.servers.join(', ')}` : 'the system resolver';
  }

  private async bounded<T>(what: () => Promise<T>): Promise<DnsAnswer<T>> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const records = await Promise.race([
        what(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'ETIMEOUT' })), this.timeoutMs);
        }),
      ]);
      return { ok: true, records };
    } catch (e) {
      const code = String((e as { code?: unknown }).code ?? 'EFAIL');
      return { ok: false, absent: ABSENT.has(code), code };
    } finally {
      clearTimeout(timer);
    }
  }

  srv(name: string): Promise<DnsAnswer<SrvRecord[]>> {
    return this.bounded(() => this.resolver.resolveSrv(name));
  }

  a(name: string): Promise<DnsAnswer<string[]>> {
    return this.bounded(() => this.resolver.resolve4(name));
  }

  /** A host's addresses: with dnsServers, their A records only (every lookup goes where the
   *  caller said); without, the system's own lookup (hosts file, then its DNS), as any client does. */
  async addresses(host: string): Promise<DnsAnswer<string[]>> {
    if (isIP(host)) return { ok: true, records: [host] };
    if (this.servers) return this.a(host);
    return this.bounded(async () => (await dnsPromises.lookup(host, { all: true })).map((r) => r.address));
  }
}
