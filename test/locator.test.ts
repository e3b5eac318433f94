// The DC locator against real DCs of one domain on loopback (the first DC, a replica, a read-only
// DC; test/support/multi-dc.ts) with real DNS answers from the first DC's own DNS server: SRV
// order, site records first, read-only DCs passed over by their ping flags, failover past a DC
// that does not answer, the A-record fallback, and an error naming every DC tried.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCandidates, locateDc, orderSrv, srvName } from '../provider/directory/locator';
import { LocatorDns } from '../provider/directory/dns';
import { DsFlags } from '../provider/directory/netlogon';
import { provision } from '../provider/directory/backend';
import { ProvisioningError } from '../provider/errors';
import { connectionFields, connectionFromConfig, connectionFromEnv, mergeConnection } from '../provider/resource/state';
import { checkSettings } from '../provider/directory/connection';
import { parsePackage } from '../provider/odj';
import { testDc } from './support/dc';
import { deleteAccount } from './support/ldap';
import { dnsRecord, extraDcs, holdReplica, pauseDc, resumeDc, type ExtraDc } from './support/multi-dc';
import { requestOdjAndTestJoin } from './support/peers';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

const dc = testDc();
const DNS = [dc.dcIp];
const SITE = 'L11-Branch';
let replica: ExtraDc;
let release: (() => void) | undefined;
let rodc: ExtraDc;
let bundle: string[];
const names: string[] = [];

// Records this file adds on the first DC (and removes afterwards): a site of its own whose SRV
// lists the RODC before the replica (DNS only: no AD site, so nobody else's client site changes),
// and three test names under the domain for order, A-record fallback and "every DC down".
const records: [string, string, string, string][] = [];
const zone = dc.domain;
const msdcs = `_msdcs.${dc.domain}`;

function machine(): string {
  const n = `L11${randomBytes(4).toString('hex').toUpperCase()}`;
  names.push(n);
  return n;
}

beforeAll(async () => {
  ({ replica, rodc } = await extraDcs());
  // This file stops the replica (and needs it answering otherwise): one such file at a time.
  release = await holdReplica();
  bundle = [readFileSync(dc.caFile, 'utf8'), readFileSync(replica.caFile, 'utf8'), readFileSync(rodc.caFile, 'utf8')];
  records.push(
    [msdcs, `_ldap._tcp.${SITE}._sites.dc`, 'SRV', `${rodc.dcHost} 389 0 100`],
    [msdcs, `_ldap._tcp.${SITE}._sites.dc`, 'SRV', `${replica.dcHost} 389 10 100`],
    [zone, '_ldap._tcp.dc._msdcs.l11order', 'SRV', `l11o-zero.${zone} 389 0 0`],
    [zone, '_ldap._tcp.dc._msdcs.l11order', 'SRV', `l11o-heavy.${zone} 389 0 100`],
    [zone, '_ldap._tcp.dc._msdcs.l11order', 'SRV', `l11o-five.${zone} 389 5 50`],
    [zone, '_ldap._tcp.dc._msdcs.l11order', 'SRV', `l11o-one.${zone} 389 1 10`],
    [zone, 'l11nosrv', 'A', replica.dcIp],
    [zone, 'l11nosrv', 'A', rodc.dcIp],
    [zone, '_ldap._tcp.dc._msdcs.l11down', 'SRV', `${replica.dcHost} 389 0 100`],
    [zone, '_ldap._tcp.dc._msdcs.l11down', 'SRV', `l11gone.${zone} 389 0 100`],
  );
  for (const r of records) dnsRecord('add', ...r);
});

afterAll(async () => {
  if (replica) resumeDc(replica);
  for (const r of records) dnsRecord('delete', ...r);
  for (const n of names) await deleteAccount(`${n}$`).catch(() => undefined);
  release?.();
});

const settings = (extra: Record<string, unknown> = {}) => ({ dnsServers: DNS, caCerts: bundle, timeoutMs: 3000, ...extra });

describe('SRV order (RFC 2782)', () => {
  it('orders by priority, then by weight with the chance the weight gives', () => {
    const rec = (name: string, priority: number, weight: number) => ({ name, port: 389, priority, weight });
    const rs = [rec('c', 5, 1), rec('a0', 0, 0), rec('a9', 0, 90), rec('b', 1, 0), rec('a1', 0, 10)];
    // A random draw at the very bottom picks the zero-weight record; near the top the heaviest.
    expect(orderSrv(rs, () => 0).map((r) => r.name)).toEqual(['a0', 'a9', 'a1', 'b', 'c']);
    expect(orderSrv(rs, () => 0.99).map((r) => r.name)).toEqual(['a1', 'a9', 'a0', 'b', 'c']);
    const firsts: Record<string, number> = {};
    for (let i = 0; i < 2000; i++) {
      const f = orderSrv(rs)[0].name;
      firsts[f] = (firsts[f] ?? 0) + 1;
    }
    expect(firsts.a9).toBeGreaterThan(1600); // 90 of 101
    expect(firsts.a1).toBeGreaterThan(100); // 10 of 101
    expect(firsts.b ?? 0).toBe(0);
  });

  it("reads the records from the DC's own DNS and tries them in that order", async () => {
    const dns = new LocatorDns(DNS, 3000);
    let heavyFirst = 0;
    for (let i = 0; i < 40; i++) {
      const { candidates, queries } = await findCandidates(dns, { domain: `l11order.${zone}` });
      expect(queries).toEqual([`_ldap._tcp.dc._msdcs.l11order.${zone}`]);
      const hosts = candidates.map((c) => c.host);
      expect(hosts.slice(2)).toEqual([`l11o-one.${zone}`, `l11o-five.${zone}`]);
      expect(new Set(hosts.slice(0, 2))).toEqual(new Set([`l11o-zero.${zone}`, `l11o-heavy.${zone}`]));
      if (hosts[0] === `l11o-heavy.${zone}`) heavyFirst++;
    }
    expect(heavyFirst).toBeGreaterThanOrEqual(36);
  });
});

describe('locating a writable DC', () => {
  it('the domain name alone finds the first DC (SRV priority 0), its ping proving it writable', async () => {
    const found = await locateDc({ domain: dc.domain, settings: settings() });
    try {
      expect(found.queries).toEqual([srvName(dc.domain)]);
      expect(found.dcName).toBe(dc.dcHost);
      expect(found.address).toBe(dc.dcIp);
      expect(found.passedOver).toEqual([]);
      expect(found.ping.flags & DsFlags.WRITABLE).toBeTruthy();
      expect(found.conn.encrypted).toBe(true);
      // The client's site, from the ping: the DC is in it, so no second, site-specific query.
      expect(found.ping.clientSiteName).toBe(found.ping.dcSiteName);
    } finally {
      await found.conn.close();
    }
  });

  it("asks the site's DCs first and passes over the read-only DC listed first there", async () => {
    const found = await locateDc({ domain: dc.domain, site: SITE, settings: settings() });
    try {
      expect(found.queries).toEqual([srvName(dc.domain, { site: SITE }), srvName(dc.domain)]);
      expect(found.passedOver).toEqual([{ dc: rodc.dcHost, address: rodc.dcIp, code: 'ERROR_INVALID_DOMAIN_ROLE', reason: expect.stringMatching(/read-only/) }]);
      expect(found.dcName).toBe(replica.dcHost);
      expect(found.address).toBe(replica.dcIp);
    } finally {
      await found.conn.close();
    }
  });

  it("verifies TLS against each DC's own name: a DC whose CA is not trusted is passed over", async () => {
    // Only the replica's CA: the first DC (priority 0) fails verification, the replica is used.
    const found = await locateDc({ domain: dc.domain, settings: settings({ caCerts: [readFileSync(replica.caFile, 'utf8')] }) });
    try {
      expect(found.passedOver).toEqual([{ dc: dc.dcHost, address: dc.dcIp, code: 'SEC_E_UNTRUSTED_ROOT', reason: expect.stringContaining(dc.dcHost) }]);
      expect(found.dcName).toBe(replica.dcHost);
    } finally {
      await found.conn.close();
    }
    // With no CA that fits any DC, the error says so with the TLS code and field.
    const err = await locateDc({ domain: dc.domain, settings: settings({ caCerts: undefined }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvisioningError);
    expect(err).toMatchObject({ code: 'SEC_E_UNTRUSTED_ROOT', field: 'connection.caCerts' });
    expect((err as Error).message).toContain(dc.dcHost);
    expect((err as Error).message).toContain(replica.dcHost);
  });

  it('without SRV records, tries the domain name\'s A records (and names each when none serves the domain)', async () => {
    const dns = new LocatorDns(DNS, 3000);
    const { candidates, queries } = await findCandidates(dns, { domain: `l11nosrv.${zone}` });
    expect(queries).toEqual([`_ldap._tcp.dc._msdcs.l11nosrv.${zone}`, `l11nosrv.${zone}`]);
    expect(candidates.map((c) => [c.source, c.host]).sort()).toEqual([
      ['address', replica.dcIp],
      ['address', rodc.dcIp],
    ]);
    // Both are DCs, but of odjtest.test: the ping for l11nosrv gets no answer from either.
    const err = await locateDc({ domain: `l11nosrv.${zone}`, settings: settings() }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERROR_INVALID_DOMAIN_ROLE', field: 'domain' });
    expect((err as Error).message).toContain(`${replica.dcIp}: answers no LDAP ping for l11nosrv.${zone}`);
    expect((err as Error).message).toContain(`${rodc.dcIp}: answers no LDAP ping for l11nosrv.${zone}`);
  });

  it('with every DC down, fails within the bound and names every DC tried and why', async () => {
    pauseDc(replica);
    const t0 = Date.now();
    try {
      const err = await locateDc({ domain: `l11down.${zone}`, settings: settings({ timeoutMs: 1500 }) }).catch((e: unknown) => e);
      const took = Date.now() - t0;
      expect(err).toMatchObject({ code: 'ERROR_NO_SUCH_DOMAIN', field: 'domain' });
      const msg = (err as Error).message;
      expect(msg).toContain(`${replica.dcHost} (${replica.dcIp}): no answer within 1500 ms [ERROR_TIMEOUT]`);
      expect(msg).toContain(`l11gone.${zone}: its name does not resolve`);
      // Both tried at once (in parallel), each bounded by the 1.5 s step.
      expect(took).toBeLessThan(1500 + 1500);
    } finally {
      resumeDc(replica);
    }
  });

  it('finds the PDC or a global catalog when asked, through their own SRV names', async () => {
    for (const want of [{ needPdc: true }, { needGc: true }]) {
      const found = await locateDc({ domain: dc.domain, ...want, settings: settings() });
      try {
        expect(found.queries).toEqual([srvName(dc.domain, want)]);
        expect(found.dcName).toBe(dc.dcHost);
        expect(found.ping.flags & (want.needPdc ? DsFlags.PDC : DsFlags.GC)).toBeTruthy();
      } finally {
        await found.conn.close();
      }
    }
    // The replica is neither PDC nor (without its GC records) listed: nothing else qualifies.
    const err = await locateDc({ domain: dc.domain, needPdc: true, exclude: [dc.dcHost], settings: settings() }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERROR_NO_SUCH_DOMAIN', field: 'domain' });
  });

  it('an address-only candidate that does not answer its plain ping is passed over, not thrown', async () => {
    pauseDc(replica);
    try {
      const err = await locateDc({ domain: `l11nosrv.${zone}`, settings: settings({ timeoutMs: 1500 }) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProvisioningError);
      expect((err as Error).message).toMatch(new RegExp(`tried (.*; )?${replica.dcIp.replace(/\./g, '\\.')}: `));
      expect((err as Error).message).toContain(`${rodc.dcIp}: answers no LDAP ping for l11nosrv.${zone}`);
    } finally {
      resumeDc(replica);
    }
  });

  it('with no record at all, says which DNS was asked for what', async () => {
    const err = await locateDc({ domain: `l11none.${zone}`, settings: settings() }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERROR_NO_SUCH_DOMAIN', field: 'domain' });
    expect((err as Error).message).toContain(`DNS server ${dc.dcIp} knows no _ldap._tcp.dc._msdcs.l11none.${zone}, l11none.${zone}`);
  });
});

describe('provisioning through the locator', () => {
  const admin = () => ({ bindUser: dc.adminUser, bindPassword: dc.adminPassword, ...settings() });

  it('domain + dnsServers only: provisions on the first DC and the package joins', async () => {
    const name = machine();
    const r = await provision({ domain: dc.domain, machineName: name }, admin());
    expect(r.domain.dcName).toBe(dc.dcHost);
    expect(r.domain.dcAddress).toBe(dc.dcIp);
    const join = await requestOdjAndTestJoin(r.packageText, name);
    expect(join.joined, join.output).toBe(true);
  });

  it("with the machine's site, lands on that site's writable DC; the package names it and joins through it", async () => {
    const name = machine();
    const r = await provision({ domain: dc.domain, machineName: name, siteName: SITE }, admin());
    expect(r.domain.dcName).toBe(replica.dcHost);
    expect(r.domain.dcAddress).toBe(replica.dcIp);
    const { dc: dcInfo } = parsePackage(r.packageBinary).facts;
    expect(dcInfo.name).toBe(`\\\\${replica.dcHost}`);
    expect(dcInfo.address).toBe(`\\\\${replica.dcIp}`);
    // The first DC has not replicated it: the join works only through the replica.
    const join = await requestOdjAndTestJoin(r.packageText, name, replica);
    expect(join.joined, join.output).toBe(true);
  });

  it('with that DC stopped, fails over within a bounded time to the first DC; the package names it and joins', async () => {
    const name = machine();
    pauseDc(replica);
    const t0 = Date.now();
    let r;
    try {
      r = await provision({ domain: dc.domain, machineName: name, siteName: SITE }, { ...admin(), timeoutMs: 2000 });
    } finally {
      resumeDc(replica);
    }
    // The RODC (read-only) and the stopped replica (one 2 s step) are passed over.
    expect(Date.now() - t0).toBeLessThan(2000 + 4000);
    expect(r.domain.dcName).toBe(dc.dcHost);
    const join = await requestOdjAndTestJoin(r.packageText, name);
    expect(join.joined, join.output).toBe(true);
  });
});

describe('the dnsServers setting', () => {
  it('comes from the input, then odj:dnsServers, then ODJ_DNS_SERVERS (lists, JSON or commas), and is checked', () => {
    expect(connectionFields).toContain('dnsServers');
    const config = (v: unknown) => connectionFromConfig((k: string) => (k === 'odj:dnsServers' ? v : undefined));
    expect(config('127.0.0.1, 127.0.0.3')).toEqual({ dnsServers: ['127.0.0.1', '127.0.0.3'] });
    expect(config('["127.0.0.1","[::1]:53"]')).toEqual({ dnsServers: ['127.0.0.1', '[::1]:53'] });
    expect(config(['127.0.0.1'])).toEqual({ dnsServers: ['127.0.0.1'] });
    expect(connectionFromEnv({ ODJ_DNS_SERVERS: '127.0.0.1,127.0.0.3:5353' })).toEqual({ dnsServers: ['127.0.0.1', '127.0.0.3:5353'] });
    const merged = mergeConnection({ dnsServers: ['127.0.0.9'] }, config('127.0.0.1'), connectionFromEnv({ ODJ_DNS_SERVERS: '127.0.0.3' }));
    expect(merged.dnsServers).toEqual(['127.0.0.9']);
    expect(mergeConnection({}, {}, connectionFromEnv({ ODJ_DNS_SERVERS: '127.0.0.3' })).dnsServers).toEqual(['127.0.0.3']);
    for (const bad of [['dns.example'], ['127.0.0.1:99999'], '127.0.0.1', Array(9).fill('127.0.0.1')]) {
      expect(() => checkSettings({ dnsServers: bad as string[] })).toThrow(/ERROR_INVALID_PARAMETER \(87\): connection\.dnsServers: must be a list of at most 8 IP addresses/);
    }
    expect(() => checkSettings({ dnsServers: ['127.0.0.1', '::1', '[2001:db8::1]:53', '192.0.2.1:5353'] })).not.toThrow();
  });
});
