// The session pool (provider/directory/pool.ts, borrow.ts, account-dc.ts) against the test DC,
// through a faithful LDAPS proxy that sees every connection and request: what the provider host and
// library callers reuse, what they never share, and that nothing keeps a process alive.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionSettings } from '../provider/backend';
import { provision, readAccount } from '../provider/directory/backend';
import { acquire, closePool, identityKey, poolUse, release } from '../provider/directory/pool';
import { openDirectory } from '../provider/directory/connection';
import { openSession } from '../provider/directory/session';
import { connectionSlotUse } from '../provider/directory/slots';
import { Limits } from '../provider/limits';
import { findRepoRoot, startHost, type ProviderHost, type Props } from '../examples/runner/engine';
import { testDc } from './support/dc';
import { FaultProxy } from './support/fault-proxy';
import { accountBySam, withLdap } from './support/ldap';
import { machineNames } from './support/ldap-backend';
import { buildAndProbe } from './support/provider-probe';

const root = findRepoRoot();
const outDir = join(root, 'dist', '.test-session-pool');
const dc = testDc();
const names = machineNames('P2S');
const hosts: ProviderHost[] = [];
let proxy: FaultProxy;
let providerText = '';
let main = '';
const domainDn = dc.domain.split('.').map((p) => `DC=${p}`).join(',');

beforeAll(async () => {
  proxy = await FaultProxy.start({
    upstream: { host: dc.dcIp, port: 636, servername: dc.dcHost, ca: readFileSync(dc.caFile, 'utf8') },
    hostname: dc.dcHost,
  });
  ({ providerText, main } = await buildAndProbe(outDir));
});

afterAll(async () => {
  for (const h of hosts) h.stop();
  await closePool();
  await names.cleanup();
  await proxy?.close();
});

const viaProxy = (extra: Partial<ConnectionSettings> = {}): ConnectionSettings => ({
  url: `ldaps://${dc.dcHost}:${proxy.port}`,
  bindUser: dc.adminUser,
  bindPassword: dc.adminPassword,
  caCerts: [proxy.caPem],
  ...extra,
});

/** Connections that carried requests, and binds, seen by the proxy since `from` requests. The
 *  unbind of a connection closing (an idle one of an earlier test, late) is no work. */
function seenSince(from: number): { connections: number; binds: number } {
  const s = proxy.seen.slice(from).filter((r) => r.op !== 'unbind');
  return { connections: new Set(s.map((r) => r.connection)).size, binds: s.filter((r) => r.op === 'bind').length };
}

/** The highest number of connections open through the proxy while `work` runs. */
async function peakOpen<T>(work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, proxy.openConnections)), 2);
  try {
    const result = await work();
    return { result, peak: Math.max(peak, proxy.openConnections) };
  } finally {
    clearInterval(timer);
  }
}

describe('through the dynamic-provider host', () => {
  it(`N resources created, refreshed and destroyed at once share at most ${Limits.connectionsPerDc} connections; a dropped one is replaced without a failed resource`, async () => {
    const h = await startHost({ cwd: join(root, 'examples', 'basic') });
    hosts.push(h);
    await h.configure({ 'odj:ldapUrl': `ldaps://${dc.dcHost}:${proxy.port}`, 'odj:caCerts': proxy.caPem, 'odj:bindUser': dc.adminUser, 'odj:bindPassword': dc.adminPassword });
    const N = 20;
    const machines = Array.from({ length: N }, () => names.next());
    const inputs = (m: string): Props => ({ __provider: providerText, domain: dc.domain, machineName: m, ownerTag: `odj/test/pool/${m}` });

    let mark = proxy.seen.length;
    const created = await peakOpen(() => Promise.all(machines.map(async (m) => h.create(m, (await h.check(m, {}, inputs(m))).inputs))));
    expect(created.result.map((c) => c.props.samAccountName)).toEqual(machines.map((m) => `${m}$`));
    expect(created.peak).toBeLessThanOrEqual(Limits.connectionsPerDc);
    const creates = seenSince(mark);
    // Reused: far fewer connections (and binds) than resources.
    expect(creates.connections).toBeLessThan(N);
    expect(creates.binds).toBeLessThan(N);

    mark = proxy.seen.length;
    const refreshed = await peakOpen(() => Promise.all(created.result.map((c, i) => h.read(machines[i], c.id, c.props))));
    expect(refreshed.result.map((r) => r.id)).toEqual(created.result.map((c) => c.id));
    expect(refreshed.peak).toBeLessThanOrEqual(Limits.connectionsPerDc);
    // The pooled connections are still there: the refresh binds at most a few new ones.
    expect(seenSince(mark).binds).toBeLessThan(N / 2);

    // The network cuts every connection the host keeps: the next operations open new ones and none fails.
    proxy.dropConnections();
    mark = proxy.seen.length;
    const again = await Promise.all(created.result.map((c, i) => h.read(machines[i], c.id, c.props)));
    expect(again.map((r) => r.props.objectGuid)).toEqual(created.result.map((c) => c.props.objectGuid));
    expect(seenSince(mark).binds).toBeGreaterThan(0);

    const destroyed = await peakOpen(() => Promise.all(created.result.map((c, i) => h.delete(machines[i], c.id, c.props))));
    expect(destroyed.peak).toBeLessThanOrEqual(Limits.connectionsPerDc);
    for (const m of machines) expect(await accountBySam(`${m}$`)).toBeNull();
  });
});

describe('library callers', () => {
  it('a changed bind password never reuses a connection bound with the old one', async () => {
    const user = `odjpool${randomBytes(3).toString('hex')}`;
    const upn = `${user}@${dc.domain}`;
    const first = `Pa-${randomBytes(6).toString('hex')}!A1`;
    const second = `Pb-${randomBytes(6).toString('hex')}!B2`;
    const userDn = `CN=${user},CN=Users,${domainDn}`;
    const utf16 = (p: string): Buffer => Buffer.from(`"${p}"`, 'utf16le');
    await withLdap((c) =>
      c.add(userDn, [
        new Attribute({ type: 'objectClass', values: ['user'] }),
        new Attribute({ type: 'sAMAccountName', values: [user] }),
        new Attribute({ type: 'userPrincipalName', values: [upn] }),
        new Attribute({ type: 'unicodePwd', values: [utf16(first)] }),
        new Attribute({ type: 'userAccountControl', values: ['512'] }),
      ]),
    );
    try {
      const made = await provision({ domain: dc.domain, machineName: names.next() }, viaProxy());
      const guid = made.account.objectGuid;
      expect((await readAccount(guid, viaProxy({ bindUser: upn, bindPassword: first })))?.objectGuid).toBe(guid);
      await withLdap((c) => c.modify(userDn, new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [utf16(second)] }) })));
      const mark = proxy.seen.length;
      expect((await readAccount(guid, viaProxy({ bindUser: upn, bindPassword: second })))?.objectGuid).toBe(guid);
      // The new password was sent in a bind of its own, over a connection of its own.
      const after = seenSince(mark);
      expect(after.binds).toBe(1);
      expect(after.connections).toBe(1);
      // And each identity's connection is kept apart: the admin's, the old password's, the new one's.
      expect(Object.values(poolUse()).reduce((n, u) => n + u.idle, 0)).toBe(3);
    } finally {
      await withLdap((c) => c.del(userDn)).catch(() => undefined);
    }
  });

  it('a line of callers that lasts longer than the step timeout is waited out on the pooled connections, not with new ones', async () => {
    await closePool();
    // 60 provisions through 8 connections take the DC seconds; each caller's timeout is 1.5 s.
    const settings = viaProxy({ timeoutMs: 1_500 });
    const machines = Array.from({ length: 60 }, () => names.next());
    const mark = proxy.seen.length;
    const t = Date.now();
    const made = await Promise.all(machines.map((m) => provision({ domain: dc.domain, machineName: m }, settings)));
    expect(Date.now() - t).toBeGreaterThan(1_500);
    expect(made.map((r) => r.account.samAccountName)).toEqual(machines.map((m) => `${m}$`));
    const seen = seenSince(mark);
    expect(seen.connections).toBeLessThanOrEqual(Limits.connectionsPerDc);
    expect(seen.binds).toBeLessThanOrEqual(Limits.connectionsPerDc);
  });

  it('a line that stops moving is left after the wait: the next caller opens its own connection once a slot frees', async () => {
    await closePool();
    const settings = viaProxy();
    const url = settings.url!;
    const key = identityKey(settings, url);
    let opened = 0;
    const open = async () => {
      opened++;
      return { conn: await openDirectory(settings, { host: '', unreachableCode: 'ERROR_DS_SERVER_DOWN', unreachableField: 'connection.url' }), facts: {} };
    };
    // Every connection the DC may have, lent and not given back (a caller busy elsewhere).
    const held = await Promise.all(Array.from({ length: Limits.connectionsPerDc }, () => acquire(key, url, open, 300)));
    let late: Awaited<ReturnType<typeof acquire>> | undefined;
    const waiting = acquire(key, url, open, 300).then((p) => (late = p));
    try {
      await new Promise((r) => setTimeout(r, 800));
      // Past the wait it stopped waiting for the line and opens its own, which waits for a slot.
      expect(opened).toBe(Limits.connectionsPerDc + 1);
      expect(late).toBeUndefined();
      await release(key, held.pop()!, false);
      await waiting;
      expect(held.map((p) => p.conn)).not.toContain(late!.conn);
      expect(await late!.conn.answers(2_000)).toBe(true);
    } finally {
      for (const p of held) await release(key, p, false);
      await waiting.catch(() => undefined);
      if (late) await release(key, late, false);
    }
    expect(poolUse()[url]).toBeUndefined();
  });

  it('the pool key is an opaque hash: no password, user or URL in it, nor in what the pool shows', async () => {
    const settings = viaProxy({ bindPassword: `Secret-${randomBytes(8).toString('hex')}` });
    const key = identityKey(settings, settings.url!);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(identityKey({ ...settings, bindPassword: `${settings.bindPassword}x` }, settings.url!)).not.toBe(key);
    const shown = JSON.stringify(poolUse()) + inspect(poolUse()) + JSON.stringify(connectionSlotUse());
    expect(shown).not.toContain(settings.bindPassword!);
    expect(shown).not.toContain(dc.adminPassword);
    expect(shown).not.toContain(dc.adminUser);
  });

  it('a session: settings given once, its calls reuse one connection, close() lets its connections go, nothing prints the password', async () => {
    await closePool();
    const password = dc.adminPassword;
    const session = openSession(viaProxy());
    expect(inspect(session) + JSON.stringify(session)).not.toContain(password);
    const mark = proxy.seen.length;
    const made = await session.provision({ domain: dc.domain, machineName: names.next() });
    expect((await session.readAccount(made.account.objectGuid))?.samAccountName).toBe(made.account.samAccountName);
    await session.deleteAccount(made.account.objectGuid);
    expect(await session.readAccount(made.account.objectGuid)).toBeNull();
    // One connection and one bind for the whole session (nothing else ran meanwhile).
    expect(seenSince(mark)).toEqual({ connections: 1, binds: 1 });
    expect(Object.values(poolUse()).reduce((n, u) => n + u.idle, 0)).toBe(1);
    await session.close();
    expect(Object.values(poolUse()).reduce((n, u) => n + u.idle, 0)).toBe(0);
    await expect(session.readAccount(made.account.objectGuid)).rejects.toThrow(/closed/);
  });

  it('a process whose last call is done exits at once, without closing the pool', async () => {
    const script = `
      const { provision, deleteAccount } = require(${JSON.stringify(main)});
      const s = JSON.parse(process.env.ODJ_POOL_TEST);
      (async () => {
        const r = await provision({ domain: s.domain, machineName: s.name }, s.connection);
        await deleteAccount(r.account.objectGuid, s.connection);
        process.stdout.write(String(Date.now()));
      })().catch((e) => { console.error(e.message); process.exit(3); });`;
    const env = { ...process.env, ODJ_POOL_TEST: JSON.stringify({ domain: dc.domain, name: names.next(), connection: viaProxy() }) };
    const t = Date.now();
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { env, timeout: 30_000 });
    const lastCall = Number(stdout);
    // Idle pooled connections do not hold the event loop (their sockets are unref'd).
    expect(Date.now() - lastCall).toBeLessThan(1_000);
    expect(lastCall).toBeGreaterThan(t);
  });
});
