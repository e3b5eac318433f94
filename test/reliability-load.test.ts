// Load: 50 OfflineJoinPackage resources created at once in ONE provider process, the way a
// `pulumi up` with many resources does it (the SDK's dynamic-provider host, driven over gRPC by
// examples/runner/engine.ts), against the shared test DC. All succeed, all are distinct accounts,
// a sample of 5 packages joins with Samba. Then, in this process, rounds of 50 parallel provisions
// through the library: connections stay within the per-DC bound, and the heap does not grow from
// round to round.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRepoRoot, startHost, type ProviderHost, type Props } from '../examples/runner/engine';
import { buildAndProbe } from './support/provider-probe';
import { connectionSlotUse } from '../provider/directory/slots';
import { closePool, poolUse } from '../provider/directory/pool';
import { Limits } from '../provider/limits';
import { deleteAccount as deleteByGuid, provision } from '../provider/directory/backend';
import { testDc } from './support/dc';
import { adminConnection } from './support/ldap-backend';
import { deleteAccount, guidToString, withLdap } from './support/ldap';
import { requestOdjAndTestJoin } from './support/peers';
import { FaultProxy } from './support/fault-proxy';
import { ownerMarker } from '../provider/directory/ownership';
import { instanceOwnerTag } from '../provider/resource/state';
import { readFileSync } from 'node:fs';

const COUNT = 50;
const root = findRepoRoot();
const outDir = join(root, 'dist', '.test-reliability-load');
const dc = testDc();
const made: string[] = [];
let providerText = '';
let host: ProviderHost | undefined;

const name = (prefix: string): string => {
  const n = `${prefix}${randomBytes(5).toString('hex').toUpperCase()}`.slice(0, 15);
  made.push(n);
  return n;
};

/** How many of these sAMAccountNames the directory holds (one search). */
async function countAccounts(names: string[]): Promise<number> {
  return withLdap(async (c) => {
    const filter = `(|${names.map((n) => `(sAMAccountName=${n}$)`).join('')})`;
    const base = dc.domain.split('.').map((p) => `DC=${p}`).join(',');
    return (await c.search(base, { scope: 'sub', filter, attributes: ['1.1'], sizeLimit: 1000 })).searchEntries.length;
  });
}

function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

beforeAll(async () => {
  ({ providerText } = await buildAndProbe(outDir));
});

afterAll(async () => {
  host?.stop();
  for (const n of made) await deleteAccount(`${n}$`).catch(() => undefined);
  rmSync(outDir, { recursive: true, force: true });
});

describe('50 resources at once in one provider process', () => {
  it('all are created, all distinct; a sample of 5 joins; all are deleted again', async () => {
    host = await startHost({ cwd: join(root, 'examples', 'basic') });
    await host.configure({ 'odj:ldapUrl': dc.ldapUrl, 'odj:caFile': dc.caFile });
    const h = host;
    const names = Array.from({ length: COUNT }, () => name('LD'));
    const t0 = Date.now();
    const created = await Promise.all(
      names.map(async (n) => {
        const news: Props = { __provider: providerText, domain: dc.domain, machineName: n, bindUser: dc.adminUser, bindPassword: dc.adminPassword };
        const checked = await h.check(n, {}, news);
        expect(checked.failures).toEqual([]);
        return h.create(n, checked.inputs);
      }),
    );
    const elapsed = Date.now() - t0;
    const distinct = (f: (c: (typeof created)[number]) => unknown): number => new Set(created.map(f)).size;
    expect(distinct((c) => c.id)).toBe(COUNT);
    expect(distinct((c) => c.props.objectSid)).toBe(COUNT);
    expect(distinct((c) => c.props.packageText)).toBe(COUNT);
    expect(created.map((c) => c.props.samAccountName).sort()).toEqual(names.map((n) => `${n}$`).sort());
    expect(await countAccounts(names)).toBe(COUNT);
    // Generous: 50 creates through one DC on a shared 2-core machine.
    expect(elapsed).toBeLessThan(120_000);

    for (const k of [0, 12, 24, 36, 49]) {
      const j = await requestOdjAndTestJoin(String(created[k].props.packageText), names[k]);
      expect(j.joined, j.output).toBe(true);
    }

    await Promise.all(created.map((c, k) => h.delete(names[k], c.id, c.props)));
    expect(await countAccounts(names)).toBe(0);
  });
});

describe('an interrupted create, retried by the engine', () => {
  it('the retry adopts the account the first attempt left (the ownerTag the resource class registers), not NERR_UserExists', async () => {
    const proxy = await FaultProxy.start({ upstream: { host: dc.dcIp, port: 636, servername: dc.dcHost, ca: readFileSync(dc.caFile, 'utf8') }, hostname: dc.dcHost });
    const h = await startHost({ cwd: join(root, 'examples', 'basic') });
    try {
      await h.configure({});
      const n = name('LA');
      const ownerTag = `odj/dev/odj:OfflineJoinPackage/${n.toLowerCase()}`;
      const news: Props = {
        __provider: providerText,
        domain: dc.domain,
        machineName: n,
        url: `ldaps://${dc.dcHost}:${proxy.port}`,
        caCerts: [proxy.caPem],
        bindUser: dc.adminUser,
        bindPassword: dc.adminPassword,
        timeoutMs: 1500,
        ownerTag,
      };
      const inputs = (await h.check(n, {}, news)).inputs;
      proxy.setFault({ op: 'add', action: 'hang-after' });
      const failed = await h.create(n, inputs).then(
        () => null,
        (e: unknown) => e as Error,
      );
      proxy.setFault(null);
      expect(failed?.message).toMatch(/ERROR_TIMEOUT/);
      const orphan = await withLdap(async (c) => {
        const base = dc.domain.split('.').map((p) => `DC=${p}`).join(',');
        return (await c.search(base, { scope: 'sub', filter: `(sAMAccountName=${n}$)`, attributes: ['description', 'objectGUID'], explicitBufferAttributes: ['objectGUID'] })).searchEntries;
      });
      // The resource marks the account for this instance: its tag with the domain and machine name.
      expect(orphan.map((e) => String(e.description))).toEqual([ownerMarker(instanceOwnerTag(ownerTag, dc.domain, n))]);
      const created = await h.create(n, inputs);
      expect(await countAccounts([n])).toBe(1);
      expect(created.props.reused).toBe(false);
      expect(created.id).toBe(guidToString(orphan[0].objectGUID as Buffer)); // the same account, adopted
      const j = await requestOdjAndTestJoin(String(created.props.packageText), n);
      expect(j.joined, j.output).toBe(true);
    } finally {
      h.stop();
      await proxy.close();
    }
  });
});

describe('rounds of parallel provisions in one process', () => {
  it(`never more than ${Limits.connectionsPerDc} connections to the DC at once, and no heap growth from round to round`, async () => {
    let peakActive = 0;
    let peakWaiting = 0;
    const sampler = setInterval(() => {
      for (const u of Object.values(connectionSlotUse())) {
        peakActive = Math.max(peakActive, u.active);
        peakWaiting = Math.max(peakWaiting, u.waiting);
      }
      // Callers beyond the bound wait for a pooled connection to be given back (pool.ts), or for a slot.
      for (const u of Object.values(poolUse())) peakWaiting = Math.max(peakWaiting, u.waiting);
    }, 5);
    const round = async (): Promise<void> => {
      const names = Array.from({ length: COUNT }, () => name('LM'));
      const results = await Promise.all(names.map((n) => provision({ domain: dc.domain, machineName: n, ownerTag: `load/${n}` }, adminConnection())));
      expect(new Set(results.map((r) => r.account.objectGuid)).size).toBe(COUNT);
      await Promise.all(results.map((r) => deleteByGuid(r.account.objectGuid, adminConnection())));
    };
    try {
      await round(); // warm-up: module loading, TLS session caches, JIT
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < 3; i++) await round();
      gc();
      const after = process.memoryUsage().heapUsed;
      // 150 more provisions hold nothing: a leak of even one package (~2 KB) plus its connection
      // per provision would show as several MB.
      console.log(`heap after 150 more parallel provisions: ${((after - before) / 1024).toFixed(0)} KiB difference`);
      expect(after - before).toBeLessThan(2 * 1024 * 1024);
    } finally {
      clearInterval(sampler);
    }
    expect(peakActive).toBeLessThanOrEqual(Limits.connectionsPerDc);
    expect(peakActive).toBe(Limits.connectionsPerDc);
    expect(peakWaiting).toBeGreaterThan(0);
    // Idle pooled connections keep their slots until they close (IDLE_MS) or the pool is closed.
    await closePool();
    expect(connectionSlotUse()).toEqual({});
  });
});
