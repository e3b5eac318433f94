// Secrets: the wrapper (provider/secret.ts) prints a redaction every way Node prints things, temp
// files holding secrets are 0600 and gone afterwards; and a scan over a run of this file — library
// calls that succeed, reuse, adopt and fail (bad bind password, faults, hostile input), plus one
// dynamic-provider host driven over gRPC — finds no generated machine password, package text or
// bind password in any captured console/stdout/stderr output, error (message, stack, inspect, JSON),
// printed result, the host's stderr, the serialized `__provider`, check failures, or any output
// property other than the fields named secret (packageText, bindPassword: Pulumi stores those as
// secrets through additionalSecretOutputs).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { format, inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRepoRoot, startHost, type ProviderHost, type Props } from '../examples/runner/engine';
import { buildAndProbe } from './support/provider-probe';
import type { ConnectionSettings, ProvisionResult } from '../provider/backend';
import { DirectoryConnection } from '../provider/directory/connection';
import { ProvisioningError } from '../provider/errors';
import { parsePackage } from '../provider/odj';
import { provision } from '../provider/directory/backend';
import { isSecretField, REDACTED, redactObject, Secret, secret, withSecretFile } from '../provider/secret';
import { testDc } from './support/dc';
import { FaultProxy } from './support/fault-proxy';
import { secretForms, secretsIn } from './support/secret-watch';
import { adminConnection, machineNames } from './support/ldap-backend';
import { deleteAccount } from './support/ldap';
import { keytabKeys, useServiceAccount } from './support/kerberos';

const dc = testDc();
const root = findRepoRoot();
const outDir = join(root, 'dist', '.test-reliability-secrets');

/** Everything secret this run produced or used. */
const secrets = new Set<string>();
/** Everything that could be shown to a person or stored: the haystack. */
const captured: string[] = [];

function addSecret(v: string): void {
  if (v.length >= 8) secrets.add(v);
}
function addPackage(text: string): void {
  addSecret(text);
  const { machinePassword: pw, machineName } = parsePackage(text).facts;
  // NETSETUP_PROVISION_USE_DEFAULT_PASSWORD: the password is the machine name, public by design.
  if (pw === machineName.toLowerCase()) return;
  addSecret(pw);
  // A truncated leak counts too: every 16-character slice of the password.
  for (let i = 0; i + 16 <= pw.length; i += 16) addSecret(pw.slice(i, i + 16));
}
const SECRET_SIG = '4dabf18193072939515e22adb298388d';
const SECRET_VALUE = '1b47061264138c4ac30d75fd1eb44270';
function isPulumiSecret(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as Record<string, unknown>)[SECRET_SIG] === SECRET_VALUE;
}
function captureError(e: unknown): void {
  for (let x: unknown = e; x; x = (x as { cause?: unknown }).cause) {
    captured.push(String(x), (x as Error).stack ?? '', inspect(x, { depth: 8 }), JSON.stringify(x) ?? '', format('%o', x));
  }
}
function captureResult(r: ProvisionResult): void {
  addPackage(r.packageText);
  captured.push(inspect(r, { depth: 8 }), JSON.stringify(r), format('%o', r), String(r), JSON.stringify(r.account), JSON.stringify(r.domain));
}

// Capture this process's console and stdout/stderr while the scenarios run.
const writes: string[] = [];
const origOut = process.stdout.write.bind(process.stdout);
const origErr = process.stderr.write.bind(process.stderr);
function startCapture(): void {
  const hook =
    (orig: typeof process.stdout.write) =>
    (chunk: unknown, ...rest: unknown[]): boolean => {
      writes.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      return (orig as (...a: unknown[]) => boolean)(chunk, ...rest);
    };
  process.stdout.write = hook(origOut) as typeof process.stdout.write;
  process.stderr.write = hook(origErr) as typeof process.stderr.write;
}
function stopCapture(): void {
  process.stdout.write = origOut;
  process.stderr.write = origErr;
}

describe('the Secret wrapper', () => {
  it('prints a redaction through String, templates, JSON, inspect, console formatting and concatenation', () => {
    const value = 'S3cr3t-value-that-must-not-print';
    const s = secret(value, 'machinePassword');
    const shown = [String(s), `${s}`, '' + s, JSON.stringify({ s }), JSON.stringify([s]), inspect(s), inspect({ deep: { s } }, { depth: 10 }), format('%s %o %O %j', s, s, s, s)];
    for (const x of shown) {
      expect(x).not.toContain(value);
      expect(x).toContain('redacted');
    }
    expect(s.reveal()).toBe(value);
    // The value is not a property of the wrapper: copies and clones carry nothing.
    expect(Object.values(s)).not.toContain(value);
    expect(JSON.stringify(Object.assign({}, s))).not.toContain(value);
    expect(inspect(structuredClone({ ...s }), { showHidden: true })).not.toContain(value);
  });

  it('bytes are secrets too; redactObject blanks every field SECRET_KINDS names, at any depth', () => {
    const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(inspect(new Secret(bytes, 'pfx'))).not.toMatch(/1, 2, 3/);
    const o = redactObject({ a: 1, bindPassword: 'pw-pw-pw-pw', nested: [{ packageText: 'AAAA', pfx: bytes, ok: 'x' }], s: secret('zzzzzzzz', 'pfxPassword') });
    expect(o).toEqual({ a: 1, bindPassword: REDACTED, nested: [{ packageText: REDACTED, pfx: REDACTED, ok: 'x' }], s: '<redacted pfxPassword>' });
    for (const f of ['machinePassword', 'packageText', 'packageBinary', 'bindPassword', 'pfx', 'pfxPassword']) expect(isSecretField(f)).toBe(true);
    expect(isSecretField('machineName')).toBe(false);
  });

  it('a secret file is 0600 in a 0700 directory while in use, and gone afterwards, also when the user throws', async () => {
    let seen = '';
    const value = secret('package-text-for-a-tool', 'packageText');
    await withSecretFile(value, 'odj.txt', async (p) => {
      seen = p;
      expect(statSync(p).mode & 0o777).toBe(0o600);
      expect(statSync(join(p, '..')).mode & 0o777).toBe(0o700);
      expect(readFileSync(p, 'utf8')).toBe('package-text-for-a-tool');
    });
    expect(existsSync(join(seen, '..'))).toBe(false);
    await expect(
      withSecretFile(value, 'odj.txt', async (p) => {
        seen = p;
        throw new Error('tool failed');
      }),
    ).rejects.toThrow('tool failed');
    expect(existsSync(join(seen, '..'))).toBe(false);
    await expect(withSecretFile(value, '../escape', async () => 1)).rejects.toThrow(/file name/);
  });

  it('a connection object shows no bind password however it is printed', () => {
    const c = new DirectoryConnection(adminConnection(), { host: dc.dcHost, unreachableCode: 'ERROR_NO_SUCH_DOMAIN', unreachableField: 'domain' });
    expect(inspect(c, { depth: 6, showHidden: true })).not.toContain(dc.adminPassword);
    expect(format('%o', c)).not.toContain(dc.adminPassword);
  });
});

describe('secret scan over a run', () => {
  const names = machineNames('SEC');
  let proxy: FaultProxy;
  let host: ProviderHost | undefined;
  let providerText = '';
  let secretOutputs: string[] = [];
  const wrongPassword = `Wrong-${Math.random().toString(36).slice(2)}-Pw!1`;
  const svc = useServiceAccount();

  beforeAll(async () => {
    addSecret(dc.adminPassword);
    addSecret(wrongPassword);
    proxy = await FaultProxy.start({ upstream: { host: dc.dcIp, port: 636, servername: dc.dcHost, ca: readFileSync(dc.caFile, 'utf8') }, hostname: dc.dcHost });
    const probe = await buildAndProbe(outDir);
    const run = probe.run;
    providerText = probe.providerText;
    // Registered inputs as the engine stores them: a value Pulumi holds as a secret (the SDK's
    // secret signature) is encrypted in state, so only what is outside one counts.
    captured.push(providerText, JSON.stringify(run.resources.map((r) => r.rawInputs), (_k, v: unknown) => (isPulumiSecret(v) ? '<pulumi secret>' : v)));
    secretOutputs = run.resources[0].additionalSecretOutputs;
  });
  afterAll(async () => {
    stopCapture();
    host?.stop();
    await names.cleanup();
    await proxy?.close();
  });

  it('library: create, reuse, adoption after a fault, bad bind password, timeouts, hostile input', async () => {
    startCapture();
    const via = (extra: Partial<ConnectionSettings> = {}): ConnectionSettings => ({ ...adminConnection(), url: `ldaps://${dc.dcHost}:${proxy.port}`, caCerts: [proxy.caPem], timeoutMs: 1500, ...extra });
    const attempt = async (p: Parameters<typeof provision>[0], c: ConnectionSettings): Promise<void> => {
      try {
        const r = await provision(p, c);
        captureResult(r);
        console.log('provisioned', r); // what a careless caller would do
      } catch (e) {
        captureError(e);
        console.error('failed', e);
      }
    };
    const a = names.next();
    await attempt({ domain: dc.domain, machineName: a }, via());
    await attempt({ domain: dc.domain, machineName: a, options: { reuseAccount: true } }, via());
    await attempt({ domain: dc.domain, machineName: a }, via()); // NERR_UserExists
    const b = names.next();
    proxy.setFault({ op: 'add', action: 'hang-after' });
    await attempt({ domain: dc.domain, machineName: b, ownerTag: `secrets/${b}` }, via()); // timeout after the add
    proxy.setFault({ op: 'modify', action: 'drop-after' });
    await attempt({ domain: dc.domain, machineName: b, ownerTag: `secrets/${b}` }, via()); // adoption cut after the password
    proxy.setFault({ op: 'add', action: 'busy', times: 50 });
    await attempt({ domain: dc.domain, machineName: names.next() }, via());
    proxy.setFault(null);
    await attempt({ domain: dc.domain, machineName: b, ownerTag: `secrets/${b}` }, via()); // adopted
    await attempt({ domain: dc.domain, machineName: names.next() }, via({ bindPassword: wrongPassword })); // logon failure
    await attempt({ domain: dc.domain, machineName: names.next(), options: { useDefaultPassword: true } }, via());
    await attempt({ domain: dc.domain, machineName: 'bad name*)(' }, via());
    await attempt({ domain: dc.domain, machineName: names.next(), machineAccountOU: 'OU=nope\\2c,DC=odjtest,DC=test' }, via());
    stopCapture();
    expect(captured.length).toBeGreaterThan(40);
  });

  it('engine level: the dynamic-provider host creates, fails and checks without printing a secret', async () => {
    host = await startHost({ cwd: join(root, 'examples', 'basic') });
    await host.configure({ 'odj:ldapUrl': dc.ldapUrl, 'odj:caFile': dc.caFile });
    const n = names.next();
    const news: Props = { __provider: providerText, domain: dc.domain, machineName: n, bindUser: dc.adminUser, bindPassword: dc.adminPassword };
    const created = await host.create(n, (await host.check(n, {}, news)).inputs);
    addPackage(String(created.props.packageText));
    // Every output property except those named secret is shown by `pulumi up` and stored in clear.
    for (const [k, v] of Object.entries(created.props)) if (!isSecretField(k)) captured.push(`${k}=${JSON.stringify(v)}`);
    // ...and each output field that secret.ts names secret is one the resource asks Pulumi to keep secret.
    const secretFields = Object.keys(created.props).filter(isSecretField);
    expect(secretFields.length).toBeGreaterThan(0);
    for (const f of secretFields) expect(secretOutputs).toContain(f);
    captured.push(created.id);
    // A create that fails at bind, and one the DC refuses (the account exists): the engine shows these messages.
    for (const props of [{ ...news, machineName: names.next(), bindPassword: wrongPassword }, news]) {
      const e = await host.create(String(props.machineName), (await host.check(String(props.machineName), {}, props)).inputs).then(
        () => null,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(Error);
      captureError(e);
    }
    const failures = (await host.check('hostile', {}, { ...news, machineName: 'x*)(y', machineAccountOU: 'OU=\0' })).failures;
    expect(failures.length).toBeGreaterThan(0);
    captured.push(JSON.stringify(failures));
    await host.delete(n, created.id, created.props);
    await deleteAccount(`${n}$`);
    captured.push(host.stderr);
  });

  it('Kerberos: keytab and ticket-cache sign-in and their failures show no key, ticket or cache bytes', async () => {
    // The keys, and the key-like bytes of the ticket cache (tickets, session keys), as hex and base64.
    for (const k of keytabKeys(svc().keytab)) for (const f of secretForms(k)) addSecret(f);
    const cache = await svc().kinit();
    for (const f of secretForms(readFileSync(cache.slice('FILE:'.length)))) addSecret(f);
    startCapture();
    const kerberos = (extra: Partial<ConnectionSettings> = {}): ConnectionSettings => ({ auth: 'kerberos', keytab: svc().keytab, bindUser: svc().principal, timeoutMs: 5000, ...extra });
    const attempt = async (p: Parameters<typeof provision>[0], c: ConnectionSettings): Promise<void> => {
      try {
        const r = await provision(p, c);
        captureResult(r);
        console.log('provisioned', r, c);
      } catch (e) {
        captureError(e);
        console.error('failed', e);
      }
    };
    const at = { domain: dc.domain, dcName: dc.dcHost };
    await attempt({ ...at, machineName: names.next() }, kerberos());
    const old = process.env.KRB5CCNAME;
    process.env.KRB5CCNAME = cache;
    try {
      await attempt({ ...at, machineName: names.next() }, { auth: 'kerberos', timeoutMs: 5000 });
    } finally {
      if (old === undefined) delete process.env.KRB5CCNAME;
      else process.env.KRB5CCNAME = old;
    }
    await attempt({ domain: dc.domain, machineName: names.next() }, kerberos({ url: `ldap://${dc.dcIp}` })); // no principal for an address
    await attempt({ ...at, machineName: names.next() }, kerberos({ bindUser: `nobody@${dc.realm}` })); // not in the keytab
    const conn = new DirectoryConnection(kerberos(), { host: dc.dcHost, unreachableCode: 'ERROR_DS_SERVER_DOWN', unreachableField: 'dcName' });
    try {
      await conn.connect();
      await conn.bind();
      captured.push(inspect(conn, { depth: 6 }), format('%o', conn));
    } finally {
      await conn.close();
    }
    stopCapture();
    expect(captured.join('\n')).toContain('SEC_E_TARGET_UNKNOWN');
  });

  it('zero hits: no secret in anything captured, and no secret temp file left behind', () => {
    const haystack = [...captured, ...writes].join('\n');
    expect(haystack.length).toBeGreaterThan(10_000);
    expect(secrets.size).toBeGreaterThan(20);
    const hits = [...secrets].filter((s) => haystack.includes(s));
    // Name the kind of leak, never the secret itself.
    expect(hits.map((h) => `${h.length} characters`)).toEqual([]);
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('odj-secret-'))).toEqual([]);
  });
});

it('the run-wide watch (support/secret-watch.ts, in every file) recognises a printed package and the admin password', async () => {
  const r = await provision({ domain: dc.domain, machineName: machineNames('SEW').next() }, adminConnection());
  try {
    expect(secretsIn(`log line ${r.packageText} more`)).toEqual([`an ODJ package for ${r.account.samAccountName.slice(0, -1)}`]);
    expect(secretsIn(`bind ${dc.adminPassword}`)).toEqual(['the test DC admin password']);
    expect(secretsIn(inspect(r) + JSON.stringify(r) + String(new ProvisioningError('NERR_UserExists', 'x')))).toEqual([]);
  } finally {
    await deleteAccount(r.account.samAccountName);
  }
});

// A result holds its package in plain fields on purpose; only printing it is redacted.
it('ProvisionResult fields stay usable for Pulumi and the CLI', async () => {
  const r = await provision({ domain: dc.domain, machineName: machineNames('SEP').next() }, adminConnection());
  try {
    expect(typeof r.packageText).toBe('string');
    expect(r.packageText.length).toBeGreaterThan(100);
    expect({ ...r }.packageText).toBe(r.packageText);
    expect(inspect(r)).not.toContain(r.packageText);
    expect(JSON.stringify(r)).not.toContain(r.packageText);
  } finally {
    await deleteAccount(r.account.samAccountName);
  }
});
