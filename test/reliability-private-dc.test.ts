// SIGSTOP/SIGCONT and kill/restart of a real `samba` at each step of a create. The shared test DC
// is never touched: this file starts a SECOND, private DC on 127.0.0.2 (scripts/testdc.sh with
// ODJ_TESTDC_IP) and stops it at the end. The fault proxy's hooks pause or kill it exactly when
// the add (or the adoption's password write) reaches it, or right after it answered. Afterwards
// no stray account is left once the create is retried, the retry succeeds, and the password in
// its package is the account's password (a simple bind as the computer account proves it).
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { Client } from 'ldapts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionSettings, ProvisionResult } from '../provider/backend';
import { ownerMarker } from '../provider/directory/ownership';
import { ProvisioningError } from '../provider/errors';
import { parsePackage } from '../provider/odj';
import { provision } from '../provider/directory/backend';
import { closePool } from '../provider/directory/pool';
import { testDc } from './support/dc';
import { FaultProxy } from './support/fault-proxy';
import { findRepoRoot } from '../examples/runner/engine';

const run = promisify(execFile);
const DIR = '/tmp/odj-testdc-private';
const privateEnv = { ODJ_TESTDC_DIR: DIR, ODJ_TESTDC_IP: '127.0.0.2', ODJ_TESTDC_REALM: 'ODJPRIV.TEST', ODJ_TESTDC_DOMAIN: 'ODJPRIV', ODJ_TESTDC_HOST: 'dcp' };
const TIMEOUT = 2000;
const BOUND = TIMEOUT + Math.min(TIMEOUT, 2000) + 2000;

interface PrivateDc {
  domain: string;
  host: string;
  ldapUrl: string;
  ca: string;
  adminUser: string;
  adminPassword: string;
  baseDn: string;
}
let pdc: PrivateDc;
let proxy: FaultProxy;
let stopped = false;

async function startPrivateDc(): Promise<void> {
  await run('bash', [`${findRepoRoot()}/scripts/testdc.sh`, 'start'], { env: { ...process.env, ...privateEnv }, timeout: 240_000 });
}
const pid = (): number => Number(readFileSync(`${DIR}/samba.pid`, 'utf8').trim());
/** Signal the private samba's process group (samba forks its workers into it). */
function signal(sig: NodeJS.Signals): void {
  process.kill(-pid(), sig);
  stopped = sig === 'SIGSTOP';
}
async function waitGone(p: number): Promise<void> {
  for (let i = 0; i < 80; i++) {
    try {
      process.kill(p, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`samba ${p} did not exit`);
}

beforeAll(async () => {
  await startPrivateDc();
  const env: Record<string, string> = {};
  for (const line of readFileSync(`${DIR}/env`, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  pdc = {
    domain: env.ODJ_TEST_DOMAIN,
    host: env.ODJ_TEST_DC_HOST,
    ldapUrl: env.ODJ_TEST_LDAP_URL,
    ca: readFileSync(env.ODJ_TEST_CA_FILE, 'utf8'),
    adminUser: env.ODJ_TEST_ADMIN_USER,
    adminPassword: env.ODJ_TEST_ADMIN_PASSWORD,
    baseDn: env.ODJ_TEST_DOMAIN.split('.').map((p) => `DC=${p}`).join(','),
  };
  expect(env.ODJ_TEST_DC_IP).toBe('127.0.0.2');
  proxy = await FaultProxy.start({ upstream: { host: '127.0.0.2', port: 636, servername: pdc.host, ca: pdc.ca }, hostname: pdc.host, listenHost: '127.0.0.2' });
}, 300_000);

afterEach(() => {
  // Never leave the private DC frozen, whatever failed.
  if (stopped) signal('SIGCONT');
  proxy?.setFault(null);
});

afterAll(async () => {
  await proxy?.close();
  try {
    const p = pid();
    process.kill(-p, 'SIGTERM');
    await waitGone(p).catch(() => process.kill(-p, 'SIGKILL'));
  } catch {
    // not running
  }
  rmSync(DIR, { recursive: true, force: true });
});

function viaProxy(): ConnectionSettings {
  return { url: `ldaps://${pdc.host}:${proxy.port}`, bindUser: pdc.adminUser, bindPassword: pdc.adminPassword, caCerts: [proxy.caPem], timeoutMs: TIMEOUT };
}

async function withPrivateLdap<T>(fn: (c: Client) => Promise<T>, user = pdc.adminUser, password = pdc.adminPassword): Promise<T> {
  const c = new Client({ url: pdc.ldapUrl, tlsOptions: { ca: [pdc.ca] }, timeout: 10_000, connectTimeout: 10_000 });
  try {
    await c.bind(user, password);
    return await fn(c);
  } finally {
    await c.unbind().catch(() => undefined);
  }
}

async function accounts(name: string): Promise<{ dn: string; guid: string; description?: string }[]> {
  return withPrivateLdap(async (c) => {
    const r = await c.search(pdc.baseDn, { scope: 'sub', filter: `(sAMAccountName=${name}$)`, attributes: ['objectGUID', 'description'], explicitBufferAttributes: ['objectGUID'] });
    return r.searchEntries.map((e) => ({ dn: e.dn, guid: (e.objectGUID as Buffer).toString('hex'), ...(e.description ? { description: String(e.description) } : {}) }));
  });
}

/** The package's password is the account's: the DC accepts a simple bind as the computer with it. */
async function passwordWorks(r: ProvisionResult): Promise<boolean> {
  const pw = parsePackage(r.packageText).facts.machinePassword;
  return withPrivateLdap(async () => true, `${r.account.samAccountName}@${pdc.domain}`, pw).catch(() => false);
}

let counter = 0;
const newName = (): string => `PDC${Date.now().toString(36).toUpperCase().slice(-6)}${counter++}`;
const tagOf = (n: string): string => `urn:pulumi:private::odj::odj:index:OfflineJoinPackage::${n}`;

async function attempt(name: string): Promise<{ ok?: ProvisionResult; error?: ProvisioningError; ms: number }> {
  // The proxy's fault applies to connections made from now on: no pooled one from an earlier attempt.
  await closePool();
  const t0 = Date.now();
  try {
    return { ok: await provision({ domain: pdc.domain, machineName: name, ownerTag: tagOf(name) }, viaProxy()), ms: Date.now() - t0 };
  } catch (e) {
    if (!(e instanceof ProvisioningError)) throw e;
    return { error: e, ms: Date.now() - t0 };
  }
}

async function retrySucceedsWithOneAccount(name: string, orphanGuid?: string): Promise<void> {
  const r = await attempt(name);
  expect(r.error).toBeUndefined();
  const list = await accounts(name);
  expect(list.length).toBe(1);
  if (orphanGuid) expect(list[0].guid).toBe(orphanGuid);
  expect(await passwordWorks(r.ok!)).toBe(true);
}

describe('a private DC beside the shared one', () => {
  it('both answer at the same time, as different domains', async () => {
    const shared = testDc();
    const sharedClient = new Client({ url: shared.ldapUrl, tlsOptions: { ca: [readFileSync(shared.caFile)] } });
    try {
      const [a, b] = await Promise.all([
        sharedClient.search('', { scope: 'base', attributes: ['defaultNamingContext'] }),
        withPrivateLdap((c) => c.search('', { scope: 'base', attributes: ['defaultNamingContext'] })),
      ]);
      expect(String(a.searchEntries[0].defaultNamingContext).toLowerCase()).toBe(shared.domain.split('.').map((p) => `dc=${p}`).join(','));
      expect(String(b.searchEntries[0].defaultNamingContext)).toBe(pdc.baseDn);
    } finally {
      await sharedClient.unbind().catch(() => undefined);
    }
  });
});

describe('samba paused (SIGSTOP) or killed at each step', () => {
  it('paused as the bind reaches it: ERROR_TIMEOUT naming the bind user, within the bound; nothing made', async () => {
    const name = newName();
    proxy.setFault({ op: 'bind', action: 'hook', beforeRequest: async () => signal('SIGSTOP') });
    const failed = await attempt(name);
    expect([failed.error?.code, failed.error?.field]).toEqual(['ERROR_TIMEOUT', 'connection.bindUser']);
    expect(failed.ms).toBeLessThan(BOUND);
    signal('SIGCONT');
    proxy.setFault(null);
    expect(await accounts(name)).toEqual([]);
  });

  it('paused as the add reaches it: bounded failure; resumed, the retry leaves exactly one account', async () => {
    const name = newName();
    proxy.setFault({ op: 'add', action: 'hook', beforeRequest: async () => signal('SIGSTOP') });
    const failed = await attempt(name);
    expect(failed.error?.code).toBe('ERROR_TIMEOUT');
    expect(failed.ms).toBeLessThan(BOUND);
    signal('SIGCONT');
    proxy.setFault(null);
    // The DC may still carry out the add it had received; either way the retry ends with one account.
    await retrySucceedsWithOneAccount(name);
  });

  it('paused right after the add (it made the account): bounded failure; resumed, the retry adopts that account', async () => {
    const name = newName();
    proxy.setFault({ op: 'add', action: 'hook', beforeReply: async () => signal('SIGSTOP') });
    const failed = await attempt(name);
    expect(failed.error?.code).toBe('ERROR_TIMEOUT');
    expect(failed.ms).toBeLessThan(BOUND);
    signal('SIGCONT');
    proxy.setFault(null);
    const orphan = await accounts(name);
    expect(orphan.map((o) => o.description)).toEqual([ownerMarker(tagOf(name))]);
    await retrySucceedsWithOneAccount(name, orphan[0].guid);
  });

  it('paused after the adoption set the password, before the package came back: the next retry adopts again', async () => {
    const name = newName();
    proxy.setFault({ op: 'add', action: 'hang-after' });
    expect((await attempt(name)).error?.code).toBe('ERROR_TIMEOUT');
    // The DC writes the password, then stops before its answer leaves (the answer is held back).
    proxy.setFault({
      op: 'modify',
      action: 'hook',
      beforeReply: async () => {
        signal('SIGSTOP');
        return false;
      },
    });
    const failed = await attempt(name);
    expect(failed.error?.code).toBe('ERROR_TIMEOUT');
    expect(failed.ms).toBeLessThan(BOUND);
    signal('SIGCONT');
    proxy.setFault(null);
    const orphan = await accounts(name);
    expect(orphan.length).toBe(1);
    await retrySucceedsWithOneAccount(name, orphan[0].guid);
  });

  it('killed (SIGKILL) right after the add, then restarted: the retry adopts the account it had made', async () => {
    const name = newName();
    const before = pid();
    proxy.setFault({ op: 'add', action: 'hook', beforeReply: async () => signal('SIGKILL') });
    const failed = await attempt(name);
    expect(['ERROR_DS_SERVER_DOWN', 'ERROR_TIMEOUT']).toContain(failed.error?.code);
    expect(failed.ms).toBeLessThan(BOUND);
    proxy.setFault(null);
    await waitGone(before);
    // Down: a create fails at once with a clear error, never hangs.
    const down = await attempt(newName());
    // (the proxy accepts TLS, then cannot reach samba: the session drops at the first request)
    expect(['ERROR_NO_SUCH_DOMAIN', 'ERROR_DS_SERVER_DOWN']).toContain(down.error?.code);
    expect(down.error?.field).toBe('connection.url');
    expect(down.ms).toBeLessThan(BOUND);
    await startPrivateDc();
    expect(pid()).not.toBe(before);
    const orphan = await accounts(name);
    expect(orphan.map((o) => o.description)).toEqual([ownerMarker(tagOf(name))]);
    await retrySucceedsWithOneAccount(name, orphan[0].guid);
  }, 120_000);
});
