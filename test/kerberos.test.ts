// Kerberos sign-in (issue 15) against the test DC's own KDC on loopback: a service account with a
// keytab from `samba-tool domain exportkeytab` and caches from `kinit`, no bind password anywhere.
// Through the library, the `odj` CLI and the real dynamic-provider host; the packages join
// (`net offlinejoin requestodj` + `net ads testjoin`); what goes over the wire after the bind is
// sealed (seen by a relay in between); failures carry the SSPI codes and name the setting at fault.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRepoRoot, startHost, type ProviderHost } from '../examples/runner/engine';
import type { ConnectionSettings } from '../provider/backend';
import { DirectoryConnection } from '../provider/directory/connection';
import { startGssClient } from '../provider/directory/gssapi';
import { SaslSocket, saslGssapiBind } from '../provider/directory/sasl-gssapi';
import { ProvisioningError } from '../provider/errors';
import { backendFor } from '../provider/backend-choice';
import { provision } from '../provider/directory/backend';
import { cleanEnv, scratch, useBuiltCli, type Run } from './cli-run';
import { testDc } from './support/dc';
import { keytabKeys, makeServiceAccount, useServiceAccount } from './support/kerberos';
import { accountBySam } from './support/ldap';
import { machineNames } from './support/ldap-backend';
import { requestOdjAndTestJoin } from './support/peers';
import { buildAndProbe } from './support/provider-probe';
import { secretsIn } from './support/secret-watch';
import { useSilentServer } from './support/silent-server';

const dc = testDc();
const dn0 = (): string => dc.domain.split('.').map((p) => `DC=${p}`).join(',');
const svc = useServiceAccount();
const names = machineNames('K15');
const cli = useBuiltCli();
const tmp = scratch('k15');
const silent = useSilentServer();

afterAll(async () => {
  tmp.cleanup();
  await names.cleanup();
});

const keytabConnection = (extra: Partial<ConnectionSettings> = {}): ConnectionSettings => ({
  auth: 'kerberos',
  keytab: svc().keytab,
  bindUser: svc().principal,
  timeoutMs: 10_000,
  ...extra,
});

/** Runs `fn` with KRB5CCNAME set as a user's shell would have it, in this process. */
async function withCache<T>(cache: string, fn: () => Promise<T>): Promise<T> {
  const old = process.env.KRB5CCNAME;
  process.env.KRB5CCNAME = cache;
  try {
    return await fn();
  } finally {
    if (old === undefined) delete process.env.KRB5CCNAME;
    else process.env.KRB5CCNAME = old;
  }
}

async function failure(p: Promise<unknown>): Promise<ProvisioningError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ProvisioningError);
  return e as ProvisioningError;
}

describe('library', () => {
  it('keytab: provisions over a sealed ldap:// with no password, and Samba joins with the package', async () => {
    const name = names.next();
    const r = await provision({ domain: dc.domain, dcName: dc.dcHost, machineName: name }, keytabConnection());
    const truth = await accountBySam(`${name}$`);
    expect(truth).not.toBeNull();
    expect(r.account).toMatchObject({ objectGuid: truth!.guid, objectSid: truth!.sid, distinguishedName: truth!.dn });
    expect(r.domain.dcName.toLowerCase()).toContain(dc.dcHost.split('.')[0].toLowerCase());
    const joined = await requestOdjAndTestJoin(r.packageText, name);
    expect(joined.joined, joined.output).toBe(true);
  });

  it('connections in parallel (as many resources of one update open them) each sign in and seal on their own', async () => {
    const batch = Array.from({ length: 6 }, () => names.next());
    const results = await Promise.all(batch.map((machineName) => provision({ domain: dc.domain, dcName: dc.dcHost, machineName }, keytabConnection())));
    for (const [i, r] of results.entries()) {
      const truth = await accountBySam(`${batch[i]}$`);
      expect(r.account.objectSid).toBe(truth!.sid);
    }
    const joined = await requestOdjAndTestJoin(results[5].packageText, batch[5]);
    expect(joined.joined, joined.output).toBe(true);
  });

  it('a ticket cache from kinit (KRB5CCNAME) works the same, without a principal or keytab', async () => {
    const cache = await svc().kinit();
    const name = names.next();
    const r = await withCache(cache, () => provision({ domain: dc.domain, dcName: dc.dcHost, machineName: name }, { auth: 'kerberos', timeoutMs: 10_000 }));
    const joined = await requestOdjAndTestJoin(r.packageText, name);
    expect(joined.joined, joined.output).toBe(true);
  });

  it('after the bind every LDAP message is sealed: a relay in between sees neither the DNs searched nor the password set', async () => {
    const seen: Buffer[] = [];
    const relay = net.createServer((client) => {
      const up = net.connect(389, dc.dcIp);
      client.on('data', (d) => {
        seen.push(Buffer.from(d));
        up.write(d);
      });
      up.on('data', (d) => {
        seen.push(Buffer.from(d));
        client.write(d);
      });
      client.on('close', () => up.destroy());
      up.on('close', () => client.destroy());
      client.on('error', () => up.destroy());
      up.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const port = (relay.address() as net.AddressInfo).port;
    try {
      const name = names.next();
      // The relay is reached by the DC's name, so the service principal is the DC's own.
      const r = await provision({ domain: dc.domain, dcName: dc.dcHost, machineName: name }, keytabConnection({ url: `ldap://${dc.dcHost}:${port}` }));
      const wire = Buffer.concat(seen);
      expect(wire.length).toBeGreaterThan(2000);
      // Before the bind: the LDAP ping in clear (a search for Netlogon). After it: nothing readable.
      expect(wire.includes(Buffer.from('Netlogon'))).toBe(true);
      expect(wire.includes(Buffer.from(name))).toBe(false);
      expect(wire.includes(Buffer.from('unicodePwd'))).toBe(false);
      expect(wire.includes(Buffer.from('CN=Computers'))).toBe(false);
      expect(wire.includes(Buffer.from(r.account.objectSid))).toBe(false);
      const joined = await requestOdjAndTestJoin(r.packageText, name);
      expect(joined.joined, joined.output).toBe(true);
    } finally {
      await new Promise((r) => relay.close(r));
    }
  });

  it('a sealed connection counts as encrypted (not before the bind), and carries requests larger than one token', async () => {
    const conn = new DirectoryConnection(keytabConnection(), { host: dc.dcHost, unreachableCode: 'ERROR_DS_SERVER_DOWN', unreachableField: 'dcName' });
    try {
      expect(conn.url).toBe(`ldap://${dc.dcHost}`);
      await conn.connect();
      await conn.client.search('', { scope: 'base', attributes: ['1.1'] });
      expect(conn.encrypted).toBe(false);
      await conn.bind();
      expect(conn.encrypted).toBe(true);
      const e = (await conn.client.search('', { scope: 'base', attributes: ['dnsHostName'] })).searchEntries[0];
      expect(String(e.dnsHostName).toLowerCase()).toBe(dc.dcHost.toLowerCase());
      // The DC takes sealed tokens of at most 64 KiB (its offer): a 200 KiB request goes as several
      // tokens, and the DC reads it back as one message and answers it.
      const big = 'x'.repeat(200 * 1024);
      const none = await conn.client.search(`CN=Users,${dn0()}`, { scope: 'one', filter: `(description=${big})`, attributes: ['1.1'] });
      expect(none.searchEntries).toEqual([]);
      const users = await conn.client.search(`CN=Users,${dn0()}`, { scope: 'one', filter: '(objectClass=user)', attributes: ['cn', 'objectSid', 'description'] });
      expect(users.searchEntries.length).toBeGreaterThan(3);
    } finally {
      await conn.close();
    }
  });

  it('a missing ticket cache is SEC_E_NO_CREDENTIALS on KRB5CCNAME, within the step timeout, and leaves nothing behind', async () => {
    const name = names.next();
    const started = Date.now();
    const e = await withCache(`FILE:${join(svc().dir, 'no-such-cache')}`, () =>
      failure(provision({ domain: dc.domain, dcName: dc.dcHost, machineName: name }, { auth: 'kerberos', timeoutMs: 3000 })),
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(e.code).toBe('SEC_E_NO_CREDENTIALS');
    expect(e.errno).toBe(0x8009030e);
    expect(e.field).toBe('KRB5CCNAME');
    expect(e.message).toMatch(/kinit/);
    expect(await accountBySam(`${name}$`)).toBeNull();
  });

  it('an expired ticket is SEC_E_CONTEXT_EXPIRED on KRB5CCNAME, within the step timeout', async () => {
    const cache = await svc().kinit({ lifetime: '3s' });
    await new Promise((r) => setTimeout(r, 4500));
    const started = Date.now();
    const e = await withCache(cache, () => failure(provision({ domain: dc.domain, dcName: dc.dcHost, machineName: names.next() }, { auth: 'kerberos', timeoutMs: 3000 })));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(e.code).toBe('SEC_E_CONTEXT_EXPIRED');
    expect(e.field).toBe('KRB5CCNAME');
    expect(e.message).toMatch(/expired/i);
  });

  it('a KDC that never answers: the Kerberos step gives up after timeoutMs (ERROR_TIMEOUT on connection.auth); none listening: SEC_E_NO_AUTHENTICATING_AUTHORITY on KRB5_CONFIG; nothing is made', async () => {
    const confFor = (kdc: string): string => {
      const conf = join(svc().dir, `kdc-${kdc.replace(/\W/g, '_')}.conf`);
      // udp_preference_limit = 1: TCP only, where the silent server holds the connection open.
      writeFileSync(conf, `[libdefaults]\n default_realm = ${dc.realm}\n udp_preference_limit = 1\n dns_lookup_kdc = false\n[realms]\n ${dc.realm} = {\n  kdc = ${kdc}\n }\n`);
      return conf;
    };
    const old = process.env.KRB5_CONFIG;
    const name = names.next();
    try {
      process.env.KRB5_CONFIG = confFor(`127.0.0.1:${silent.port()}`);
      const started = Date.now();
      const e1 = await failure(provision({ domain: dc.domain, dcName: dc.dcHost, machineName: name }, keytabConnection({ timeoutMs: 1000 })));
      expect(Date.now() - started).toBeLessThan(1000 * 3);
      expect(e1.code).toBe('ERROR_TIMEOUT');
      expect(e1.field).toBe('connection.auth');
      expect(e1.message).toContain(`ldap/${dc.dcHost}`);
      // Nothing listens on port 1: MIT gives up at once.
      process.env.KRB5_CONFIG = confFor('127.0.0.1:1');
      const e2 = await failure(provision({ domain: dc.domain, dcName: dc.dcHost, machineName: name }, keytabConnection()));
      expect(e2.code).toBe('SEC_E_NO_AUTHENTICATING_AUTHORITY');
      expect(e2.field).toBe('KRB5_CONFIG');
      expect(e2.message).toMatch(/Cannot contact any KDC/);
    } finally {
      process.env.KRB5_CONFIG = old;
      // MIT, still waiting on its worker thread, gets its connection closed and gives up.
      silent.dropConnections();
    }
    expect(await accountBySam(`${name}$`)).toBeNull();
  });

  it('a DC named by its address has no service principal: SEC_E_TARGET_UNKNOWN naming ldap/<address> and the URL', async () => {
    const e = await failure(provision({ domain: dc.domain, machineName: names.next() }, keytabConnection({ url: `ldap://${dc.dcIp}` })));
    expect(e.code).toBe('SEC_E_TARGET_UNKNOWN');
    expect(e.field).toBe('connection.url');
    expect(e.message).toContain(`ldap/${dc.dcIp}`);
    expect(e.message).toMatch(/DNS host name/);
  });

  it('a keytab that does not exist, or does not hold the principal, is SEC_E_NO_CREDENTIALS on connection.keytab', async () => {
    const missing = join(svc().dir, 'missing.keytab');
    const e1 = await failure(provision({ domain: dc.domain, dcName: dc.dcHost, machineName: names.next() }, keytabConnection({ keytab: missing })));
    expect(e1.code).toBe('SEC_E_NO_CREDENTIALS');
    expect(e1.field).toBe('connection.keytab');
    expect(e1.message).toContain(missing);
    const e2 = await failure(provision({ domain: dc.domain, dcName: dc.dcHost, machineName: names.next() }, keytabConnection({ bindUser: `someoneelse@${dc.realm}` })));
    expect(e2.code).toBe('SEC_E_NO_CREDENTIALS');
    expect(e2.field).toBe('connection.keytab');
  });

  it('the native backend keeps its own sign-in: auth kerberos is ERROR_NOT_SUPPORTED on connection.auth, and nothing is made', async () => {
    const name = names.next();
    const e = await failure(backendFor('netapi').provision({ domain: dc.domain, dcName: dc.dcHost, machineName: name }, keytabConnection()));
    expect(e.code).toBe('ERROR_NOT_SUPPORTED');
    expect(e.field).toBe('connection.auth');
    expect(e.message).toMatch(/ldap backend/);
    expect(await accountBySam(`${name}$`)).toBeNull();
  });

  it('a keytab gone stale (password reset) is SEC_E_LOGON_DENIED, a deleted principal SEC_E_NO_CREDENTIALS on bindUser', async () => {
    const other = await makeServiceAccount();
    try {
      const conn = { auth: 'kerberos' as const, keytab: other.keytab, bindUser: other.principal, timeoutMs: 10_000 };
      const name = names.next();
      await other.resetPassword();
      const e1 = await failure(provision({ domain: dc.domain, dcName: dc.dcHost, machineName: name }, conn));
      expect(e1.code).toBe('SEC_E_LOGON_DENIED');
      expect(e1.field).toBe('connection.keytab');
      expect(e1.message).toMatch(/Preauthentication failed/);
      expect(e1.message).toContain(other.keytab);
      await other.deleteUser();
      const e2 = await failure(provision({ domain: dc.domain, dcName: dc.dcHost, machineName: name }, conn));
      expect(e2.code).toBe('SEC_E_NO_CREDENTIALS');
      expect(e2.field).toBe('connection.bindUser');
      expect(e2.message).toMatch(/Client not found/);
      expect(await accountBySam(`${name}$`)).toBeNull();
    } finally {
      await other.remove();
    }
  }, 60_000);

  it("a keytab's tickets live in an in-memory cache of the context, destroyed when it is disposed", async () => {
    const ctx = await startGssClient('ldap', dc.dcHost, { keytab: svc().keytab, principal: svc().principal });
    const first = await ctx.step();
    expect(first.complete).toBe(false);
    expect(first.token.includes(Buffer.from('06092a864886f712010202', 'hex'))).toBe(true);
    const name = ctx.cacheName!;
    expect(name).toMatch(/^MEMORY:/);
    // MIT's own view of that cache, through libkrb5 directly.
    const koffi = require('koffi') as typeof import('koffi');
    const krb5 = koffi.load('libkrb5.so.3');
    const init = krb5.func('int krb5_init_context(_Out_ void **ctx)');
    const free = krb5.func('void krb5_free_context(void *ctx)');
    const resolve = krb5.func('int krb5_cc_resolve(void *ctx, const char *name, _Out_ void **cache)');
    const principalOf = krb5.func('int krb5_cc_get_principal(void *ctx, void *cache, _Out_ void **principal)');
    const close = krb5.func('int krb5_cc_close(void *ctx, void *cache)');
    const holdsTickets = (): boolean => {
      const k: unknown[] = [null];
      init(k);
      try {
        const cache: unknown[] = [null];
        expect(resolve(k[0], name, cache)).toBe(0);
        const found = principalOf(k[0], cache[0], [null]) === 0;
        close(k[0], cache[0]);
        return found;
      } finally {
        free(k[0]);
      }
    };
    expect(holdsTickets()).toBe(true);
    ctx.dispose();
    expect(holdsTickets()).toBe(false);
    ctx.dispose();
  });

  it('why Kerberos runs on ldap://: this DC refuses a sealed GSSAPI bind over LDAPS ("not allowed if TLS is used")', async () => {
    const raw = tls.connect(636, dc.dcHost, { ca: readFileSync(dc.caFile, 'utf8'), servername: dc.dcHost });
    await new Promise<void>((resolve, reject) => {
      raw.once('secureConnect', resolve);
      raw.once('error', reject);
    });
    const socket = new SaslSocket(raw);
    try {
      const e = await failure(saslGssapiBind(socket, { host: dc.dcHost, credentials: { keytab: svc().keytab, principal: svc().principal } }));
      expect(e.message).toMatch(/Sign or Seal are not allowed if TLS is used/);
      expect(socket.sealed).toBe(false);
    } finally {
      socket.destroy();
    }
  });

  it('settings that cannot go together are refused before anything is sent, naming the field', async () => {
    const p = { domain: dc.domain, dcName: dc.dcHost, machineName: names.next() };
    const cases: [Partial<ConnectionSettings>, string, RegExp][] = [
      [{ bindPassword: 'not-used-1' }, 'connection.bindPassword', /not used with auth 'kerberos'/],
      [{ url: `ldaps://${dc.dcHost}` }, 'connection.url', /not over TLS/],
      [{ url: `ldap://${dc.dcHost}`, startTls: true }, 'connection.startTls', /not over TLS/],
      [{ bindUser: undefined }, 'connection.bindUser', /principal/],
      [{ auth: 'simple' }, 'connection.keytab', /auth 'kerberos' only/],
      [{ auth: 'ntlm' as 'simple' }, 'connection.auth', /'simple' or 'kerberos'/],
    ];
    for (const [extra, field, rule] of cases) {
      const e = await failure(provision(p, keytabConnection(extra)));
      expect(e.code, field).toBe('ERROR_INVALID_PARAMETER');
      expect(e.field).toBe(field);
      expect(e.message).toMatch(rule);
    }
  });
});

describe('odj CLI', () => {
  const env = () => cleanEnv({ KRB5_CONFIG: dc.krb5Config });
  const noSecrets = (r: Run): void => expect(secretsIn(r.stdout + r.stderr)).toEqual([]);

  it('--keytab FILE --user PRINCIPAL provisions without a password, the package joins, and odj delete signs in the same way', async () => {
    const name = names.next();
    const file = join(tmp.dir, `${name}.txt`);
    const r = await cli.odj(['provision', '--domain', dc.domain, '--dcname', dc.dcHost, '--keytab', svc().keytab, '--user', svc().principal, '--machine', name, '--savefile', file], {
      env: env(),
    });
    expect(r.code, r.stderr).toBe(0);
    noSecrets(r);
    const joined = await requestOdjAndTestJoin(readFileSync(file), name);
    expect(joined.joined, joined.output).toBe(true);
    // odj delete signs in the same way
    const d = await cli.odj(['delete', '--domain', dc.domain, '--dcname', dc.dcHost, '--keytab', svc().keytab, '--user', svc().principal, '--machine', name], { env: env() });
    expect(d.code, d.stderr).toBe(0);
    noSecrets(d);
    expect(await accountBySam(`${name}$`)).toBeNull();
  });

  it('--kerberos with a ticket cache (KRB5CCNAME from kinit), and ODJ_AUTH/ODJ_KEYTAB from the environment', async () => {
    const cache = await svc().kinit();
    const a = names.next();
    const r1 = await cli.odj(['provision', '--domain', dc.domain, '--dcname', dc.dcHost, '--kerberos', '--machine', a, '--printblob'], { env: cleanEnv({ KRB5_CONFIG: dc.krb5Config, KRB5CCNAME: cache }) });
    expect(r1.code, r1.stderr).toBe(0);
    expect((await requestOdjAndTestJoin(r1.stdout.trim(), a)).joined).toBe(true);
    const b = names.next();
    const r2 = await cli.odj(['provision', '--domain', dc.domain, '--dcname', dc.dcHost, '--machine', b, '--savefile', join(tmp.dir, `${b}.txt`)], {
      env: cleanEnv({ KRB5_CONFIG: dc.krb5Config, ODJ_AUTH: 'kerberos', ODJ_KEYTAB: svc().keytab, ODJ_BIND_USER: svc().principal }),
    });
    expect(r2.code, r2.stderr).toBe(0);
    noSecrets(r2);
    expect(await accountBySam(`${b}$`)).not.toBeNull();
  });

  it('a missing cache exits 1 with SEC_E_NO_CREDENTIALS; --keytab without --user and --password-file with Kerberos are usage errors', async () => {
    const r1 = await cli.odj(['provision', '--domain', dc.domain, '--dcname', dc.dcHost, '--kerberos', '--machine', names.next(), '--printblob', '--timeout', '5'], {
      env: cleanEnv({ KRB5_CONFIG: dc.krb5Config, KRB5CCNAME: `FILE:${join(svc().dir, 'none')}` }),
    });
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/SEC_E_NO_CREDENTIALS \(2148074254\): KRB5CCNAME: .*kinit/);
    const r2 = await cli.odj(['provision', '--domain', dc.domain, '--dcname', dc.dcHost, '--keytab', svc().keytab, '--machine', names.next(), '--printblob'], { env: env() });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/--keytab needs the principal/);
    const r3 = await cli.odj(['provision', '--domain', dc.domain, '--kerberos', '--password-file', '/dev/null', '--machine', names.next(), '--printblob'], { env: env() });
    expect(r3.code).toBe(2);
    expect(r3.stderr).toMatch(/--password-file does not go with Kerberos/);
  });

  it("a clock an hour ahead of the KDC's: MIT's kdc_timesync makes up for it; with kdc_timesync = 0, SEC_E_TIME_SKEW and nothing made", async () => {
    // libfaketime (Debian's faketime, installed with the DC's packages) moves this process's clock
    // only; the DC and its KDC keep the real time. Timers keep the real monotonic clock.
    const lib = readdirSync('/usr/lib').map((d) => join('/usr/lib', d, 'faketime', 'libfaketime.so.1')).find((f) => existsSync(f));
    expect(lib, 'libfaketime.so.1 under /usr/lib/<arch>/faketime: run scripts/testdc.sh install').toBeDefined();
    const ahead = (krb5: string) =>
      cleanEnv({ KRB5_CONFIG: krb5, LD_PRELOAD: lib!, FAKETIME: '+1h', FAKETIME_DONT_FAKE_MONOTONIC: '1', FAKETIME_NO_CACHE: '1' });
    const run = (name: string, krb5: string) =>
      cli.odj(['provision', '--domain', dc.domain, '--dcname', dc.dcHost, '--keytab', svc().keytab, '--user', svc().principal, '--machine', name, '--printblob', '--timeout', '10'], { env: ahead(krb5) });

    const clock = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(Date.now()))'], { env: ahead(dc.krb5Config), encoding: 'utf8' });
    expect(Number(clock) - Date.now()).toBeGreaterThan(59 * 60_000);

    const a = names.next();
    const ok = await run(a, dc.krb5Config);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await accountBySam(`${a}$`)).not.toBeNull();

    const strict = join(tmp.dir, 'krb5-no-timesync.conf');
    writeFileSync(strict, readFileSync(dc.krb5Config, 'utf8').replace('[libdefaults]', '[libdefaults]\n\tkdc_timesync = 0'));
    const b = names.next();
    const skewed = await run(b, strict);
    expect(skewed.code).toBe(1);
    expect(skewed.stderr).toMatch(/SEC_E_TIME_SKEW \(2148074276\): .*Clock skew too great/);
    noSecrets(skewed);
    expect(await accountBySam(`${b}$`)).toBeNull();
  });
});

describe('OfflineJoinPackage through the dynamic-provider host', () => {
  const root = findRepoRoot();
  const outDir = join(root, 'dist', '.test-kerberos');
  let providerText = '';
  let host: ProviderHost | undefined;

  beforeAll(async () => {
    ({ providerText } = await buildAndProbe(outDir));
  }, 180_000);
  afterAll(() => host?.stop());

  it('odj:auth=kerberos with odj:keytab: create, join, delete, and no password in config, inputs or state', async () => {
    // The host's environment: no ODJ_* and no password; only where the KDC is.
    const env = { ...cleanEnv(), KRB5_CONFIG: dc.krb5Config };
    host = await startHost({ cwd: join(root, 'examples', 'basic'), env });
    const config = { 'odj:auth': 'kerberos', 'odj:keytab': svc().keytab, 'odj:bindUser': svc().principal };
    await host.configure(config);
    const name = names.next();
    const news = { __provider: providerText, domain: dc.domain, dcName: dc.dcHost, machineName: name };
    const checked = await host.check(name, {}, news);
    expect(checked.failures).toEqual([]);
    const created = await host.create(name, checked.inputs);
    const truth = await accountBySam(`${name}$`);
    expect(created.id).toBe(truth!.guid);
    expect(created.props.bindPassword ?? undefined).toBeUndefined();
    const joined = await requestOdjAndTestJoin(String(created.props.packageText), name);
    expect(joined.joined, joined.output).toBe(true);
    // read (refresh) and delete sign in the same way, from config alone
    const read = await host.read(name, created.id, created.props);
    expect(read.props.objectSid).toBe(truth!.sid);
    await host.delete(name, created.id, created.props);
    expect(await accountBySam(`${name}$`)).toBeNull();
    expect(secretsIn(host.stderr)).toEqual([]);
  }, 120_000);
});

it('the run-wide secret watch recognises a printed keytab, one of its keys in hex, and a ticket cache', async () => {
  const keytab = readFileSync(svc().keytab);
  const key = keytabKeys(svc().keytab)[0];
  const cache = readFileSync((await svc().kinit()).slice('FILE:'.length));
  expect(secretsIn(`keytab ${keytab.toString('base64')}`)).toContain('Kerberos credentials (a keytab, a ticket cache or a GSS token)');
  expect(secretsIn(`key=${key.toString('hex')}`)).toEqual(['a Kerberos key of the test service account']);
  expect(secretsIn(`cache ${cache.subarray(0, 200).toString('base64')}`).length).toBeGreaterThan(0);
  expect(secretsIn(`principal ${svc().principal} keytab ${svc().keytab}`)).toEqual([]);
});
