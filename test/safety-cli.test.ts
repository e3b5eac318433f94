// Issue 18, the `odj` command: the same safety rules as the library (only plain computer accounts
// are deleted or reused), reuse keeps a disabled account disabled and says so, every input is read
// with its bound, SIGINT/SIGTERM never leave an account without its package, credentials in a URL
// and unusable output folders are usage errors, and messages say what to do. Destructive runs go
// through a proxy in this process that refuses (and records) every write to an object this file
// did not create, so a wrong product cannot harm the DC; the tests assert none was attempted.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, dcArgs, scratch, useBuiltCli } from './cli-run';
import { testDc } from './support/dc';
import { FaultProxy } from './support/fault-proxy';
import { accountBySam, deleteTree, ensureOu, guidToString, withLdap } from './support/ldap';

const dc = testDc();
const tmp = scratch('safety');
const cli = useBuiltCli();
const odj = cli.odj;
const made: string[] = [];
const newName = (): string => {
  const n = `S18${randomBytes(5).toString('hex').toUpperCase()}`.slice(0, 15);
  made.push(n);
  return n;
};
let proxy: FaultProxy;
let proxyCa = '';
let ouDn = '';
const domainDn = dc.domain.split('.').map((p) => `DC=${p}`).join(',');
const dcShort = dc.dcHost.split('.')[0].toUpperCase();

const ownDn = (dn: string): boolean => /^(CN|OU)=S18/i.test(dn) || (ouDn !== '' && dn.toLowerCase().endsWith(ouDn.toLowerCase()));

beforeAll(async () => {
  proxy = await FaultProxy.start({ upstream: { host: dc.dcIp, port: 636, servername: dc.dcHost, ca: readFileSync(dc.caFile, 'utf8') }, hostname: dc.dcHost });
  proxy.setGuard((w) => ownDn(w.dn));
  proxyCa = join(tmp.dir, 'proxy-ca.pem');
  writeFileSync(proxyCa, proxy.caPem);
  ouDn = await ensureOu(`S18${randomBytes(4).toString('hex').toUpperCase()}`);
});

afterAll(async () => {
  proxy.setGuard(null);
  for (const n of made) {
    const a = await accountBySam(`${n}$`);
    if (a) await deleteTree(a.dn);
  }
  if (ouDn) await deleteTree(ouDn);
  await proxy?.close();
  tmp.cleanup();
});

/** Connection flags through the guarding proxy. */
function viaProxy(): { args: string[]; env: NodeJS.ProcessEnv } {
  return {
    args: ['--domain', dc.domain, '--url', `ldaps://${dc.dcHost}:${proxy.port}`, '--user', dc.adminUser, '--cafile', proxyCa],
    env: cleanEnv({ ODJ_BIND_PASSWORD: dc.adminPassword }),
  };
}

function expectNoForeignWrite(): void {
  expect(proxy.writes.filter((w) => !ownDn(w.dn)), 'writes attempted on objects the test did not create').toEqual([]);
  expect(proxy.writes.filter((w) => w.controls.includes('1.2.840.113556.1.4.805')), 'tree deletes').toEqual([]);
}

async function guidOf(dn: string): Promise<string> {
  return withLdap(async (c) => guidToString((await c.search(dn, { scope: 'base', attributes: ['objectGUID'], explicitBufferAttributes: ['objectGUID'] })).searchEntries[0].objectGUID as Buffer));
}

async function uacOf(dn: string): Promise<number> {
  return withLdap(async (c) => Number((await c.search(dn, { scope: 'base', attributes: ['userAccountControl'] })).searchEntries[0].userAccountControl));
}

describe('odj delete and odj provision --reuse touch plain computer accounts only', () => {
  it('delete refuses a user, a group, krbtgt, the DC and an OU, saying what each is; nothing is written', async () => {
    const { args, env } = viaProxy();
    const cases: [string[], RegExp][] = [
      [['--guid', await guidOf(`CN=Administrator,CN=Users,${domainDn}`)], /is a user account; refusing to delete it.*\[--guid\]/],
      [['--guid', await guidOf(`CN=Domain Admins,CN=Users,${domainDn}`)], /is a group; refusing to delete it/],
      [['--guid', await guidOf(`CN=krbtgt,CN=Users,${domainDn}`)], /is a user account; refusing/],
      [['--guid', await guidOf(ouDn)], /is an organizational unit; refusing to delete it/],
      [['--machine', dcShort], new RegExp(`\\(${dcShort}\\$\\) is a domain controller; refusing to delete it.*\\[--machine\\]`)],
    ];
    for (const [flags, message] of cases) {
      const r = await odj(['delete', ...args, ...flags], { env });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^odj: ERROR_NO_TRUST_SAM_ACCOUNT \(1787\): /);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/cannot read objectGUID/);
    }
    expect(await accountBySam('Administrator')).not.toBeNull();
    expect(await accountBySam(`${dcShort}$`)).not.toBeNull();
    expectNoForeignWrite();
  });

  it("provision --reuse of the DC's own name is refused before anything is written, with --machineou too; no package file", async () => {
    const { args, env } = viaProxy();
    const before = (await accountBySam(`${dcShort}$`))!;
    for (const extra of [[], ['--machineou', ouDn]]) {
      const file = join(tmp.dir, `dc-${extra.length}.txt`);
      const r = await odj(['provision', ...args, '--machine', dcShort, '--reuse', '--savefile', file, ...extra], { env });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/ERROR_NO_TRUST_SAM_ACCOUNT \(1787\): .*is a domain controller; refusing to reuse it/);
      expect(existsSync(file)).toBe(false);
    }
    expect((await accountBySam(`${dcShort}$`))!.dn).toBe(before.dn);
    expectNoForeignWrite();
  });

  it('provision --reuse of a disabled account keeps it disabled and says so; --enable re-enables it', async () => {
    const { args, env } = viaProxy();
    const name = newName();
    const first = await odj(['provision', ...args, '--machine', name, '--savefile', join(tmp.dir, `${name}-1.txt`)], { env });
    expect(first.code, first.stderr).toBe(0);
    const dn = (await accountBySam(`${name}$`))!.dn;
    await withLdap((c) => c.modify(dn, [new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: ['4098'] }) })]));
    const kept = await odj(['provision', ...args, '--machine', name, '--reuse', '--savefile', join(tmp.dir, `${name}-2.txt`)], { env });
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout).toMatch(/^Reused /);
    expect(kept.stdout).toMatch(/state\s+disabled: kept disabled/);
    expect(await uacOf(dn)).toBe(4098);
    const json = await odj(['provision', ...args, '--machine', name, '--reuse', '--json', '--savefile', join(tmp.dir, `${name}-3.txt`)], { env });
    expect(JSON.parse(json.stdout)).toMatchObject({ reused: true, account: { enabled: false } });
    const enabled = await odj(['provision', ...args, '--machine', name, '--reuse', '--enable', '--savefile', join(tmp.dir, `${name}-4.txt`)], { env });
    expect(enabled.code, enabled.stderr).toBe(0);
    expect(enabled.stdout).not.toMatch(/disabled/);
    expect(await uacOf(dn)).toBe(4096);
    const alone = await odj(['provision', ...args, '--machine', name, '--enable', '--printblob'], { env });
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/--enable goes with --reuse/);
    expectNoForeignWrite();
  });
});

/** Runs odj with stdin from `stdinFile` (or closed), measuring its peak RSS (KiB) from inside. */
function runMeasured(args: string[], stdinFile?: string): Promise<{ code: number | null; stderr: string; ms: number; maxRssKb: number }> {
  const rssFile = join(tmp.dir, `rss-${randomBytes(4).toString('hex')}`);
  const preload = join(tmp.dir, 'rss-preload.cjs');
  writeFileSync(preload, `process.on('exit', () => require('fs').writeFileSync(process.env.ODJ_TEST_RSS_FILE, String(process.resourceUsage().maxRSS)));\n`);
  const stdin = stdinFile ? openSync(stdinFile, 'r') : 'ignore';
  const started = Date.now();
  const child = spawn(process.execPath, ['--require', preload, cli.bin(), ...args], {
    env: cleanEnv({ ODJ_TEST_RSS_FILE: rssFile, ODJ_BIND_PASSWORD: 'not-used-x' }),
    stdio: [stdin, 'ignore', 'pipe'],
    timeout: 30_000,
  });
  if (typeof stdin === 'number') closeSync(stdin);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) =>
    child.on('close', (code) => resolve({ code, stderr, ms: Date.now() - started, maxRssKb: Number(existsSync(rssFile) ? readFileSync(rssFile, 'utf8') : 'NaN') })),
  );
}

describe('bounded inputs: endless or huge files and streams fail at once, in little memory', () => {
  let big = '';
  beforeAll(() => {
    big = join(tmp.dir, 'big.txt');
    writeFileSync(big, '');
    truncateSync(big, 80 * 1024 * 1024); // 80 MB (sparse: costs no disk)
  });
  // A URL on loopback (nothing listens on port 1): the early TLS connection resolves no name.
  const conn = ['--domain', 'x.test', '--user', 'admin@x.test', '--url', 'ldaps://127.0.0.1:1'];
  const cases: [string, () => string[], string?][] = [
    ['inspect /dev/zero', () => ['inspect', '/dev/zero']],
    ['inspect of an 80 MB file', () => ['inspect', big]],
    ['inspect - with endless stdin', () => ['inspect', '-'], '/dev/zero'],
    ['unattend /dev/zero', () => ['unattend', '/dev/zero']],
    ['--batch /dev/zero', () => ['provision', ...conn, '--batch', '/dev/zero', '--savedir', join(tmp.dir, 'never')]],
    ['--batch - with endless stdin', () => ['provision', ...conn, '--batch', '-', '--savedir', join(tmp.dir, 'never')], '/dev/zero'],
    ['--password-file /dev/zero', () => ['provision', ...conn, '--machine', 'WS1', '--printblob', '--password-file', '/dev/zero']],
    ['--password-file - with endless stdin', () => ['provision', ...conn, '--machine', 'WS1', '--printblob', '--password-file', '-'], '/dev/zero'],
    ['--cafile /dev/zero', () => ['provision', ...conn, '--machine', 'WS1', '--printblob', '--cafile', '/dev/zero']],
    ['--certpfx with /dev/zero', () => ['provision', ...conn, '--machine', 'WS1', '--printblob', '--certtemplate', 'T', '--certpfx', 'T=/dev/zero']],
  ];
  for (const [what, args, stdin] of cases) {
    it(`${what}: a usage error within 2 s, under 200 MB`, async () => {
      const r = await runMeasured(args(), stdin);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/holds more than \d+ bytes/);
      expect(r.ms).toBeLessThan(2000);
      expect(r.maxRssKb).toBeLessThan(200 * 1024);
    });
  }
});

describe('interruptions leave no account without its package', () => {
  it('SIGINT after the add in single-machine mode: the machine is finished (package written), exit 130, and stderr says so', async () => {
    const { args, env } = viaProxy();
    const name = newName();
    const file = join(tmp.dir, `${name}-int.txt`);
    const child = spawn(process.execPath, [cli.bin(), 'provision', ...args, '--machine', name, '--savefile', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    proxy.setFault({ op: 'add', action: 'hook', beforeReply: async () => void child.kill('SIGINT') });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    proxy.setFault(null);
    expect(code, stderr).toBe(130);
    expect(stderr).toContain(`odj: interrupted; stopping after the current machine (SIGINT): ${name} is finished first`);
    expect(stderr).toContain(`odj: ${name} was finished before stopping: its package is in ${file}`);
    expect(existsSync(file)).toBe(true);
    expect(await accountBySam(`${name}$`)).not.toBeNull();
    expect(stderr).not.toContain(dc.adminPassword);
  });

  it('SIGTERM during a batch stops after the machine in hand: exit 143, every account made has its package file', async () => {
    const { args, env } = dcArgs();
    const list = Array.from({ length: 30 }, () => newName());
    const dir = join(tmp.dir, `term-${list[0]}`);
    const child = spawn(process.execPath, [cli.bin(), 'provision', ...args, '--batch', '-', '--savedir', dir], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let sent = false;
    child.stdout.resume();
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (!sent && stderr.includes('[2/30]')) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    child.stdin.end(list.join('\n') + '\n');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(143);
    expect(stderr).toContain('odj: interrupted; stopping after the current machine (SIGTERM)');
    for (const n of list) {
      const hasFile = existsSync(join(dir, `${n}.txt`));
      expect((await accountBySam(`${n}$`)) !== null, n).toBe(hasFile);
    }
    expect(stderr).toMatch(/odj: interrupted: \d+ not tried, from /);
  });
});

describe('usage errors with clear messages', () => {
  it('credentials in --url or ODJ_LDAP_URL are a usage error that does not repeat them', async () => {
    const { args, env } = dcArgs();
    const r = await odj(['provision', ...args, '--machine', 'WS1', '--printblob', '--url', `ldaps://someone:S3cret-in-url@${dc.dcHost}`], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--url must not carry a user name or password/);
    const e = await odj(['delete', ...args, '--machine', 'WS1'], { env: { ...env, ODJ_LDAP_URL: `ldaps://someone:S3cret-in-url@${dc.dcHost}` } });
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/ODJ_LDAP_URL must not carry a user name or password/);
    for (const x of [r, e]) expect(`${x.stdout}${x.stderr}`).not.toMatch(/S3cret-in-url|someone/);
  });

  it('--savedir under /proc or /sys and a dangling --out/--savefile link are usage errors, at once', async () => {
    const { args, env } = dcArgs();
    const name = newName();
    for (const [dir, fs] of [['/proc/odj-x', 'proc'], ['/sys/odj-x', 'sysfs']]) {
      const t = Date.now();
      const r = await odj(['provision', ...args, '--batch', '-', '--savedir', dir], { env, input: `${name}\n` });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`--savedir ${dir}: .*${fs}`));
      expect(Date.now() - t).toBeLessThan(10_000);
    }
    const link = join(tmp.dir, 'dangling.xml');
    symlinkSync(join(tmp.dir, 'nowhere', 'x'), link);
    const u = await odj(['unattend', '--out', link, '/dev/null']);
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/--out .* is a symbolic link to a file that does not exist/);
    const s = await odj(['provision', ...args, '--machine', name, '--savefile', link], { env });
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/--savefile .* is a symbolic link/);
    expect(await accountBySam(`${name}$`)).toBeNull();
  });

  it('--machine NAME$ hints to drop the $; a UTF-16 batch file works with its BOM and gets a hint without it', async () => {
    const { args, env } = dcArgs();
    const r = await odj(['provision', ...args, '--machine', 'WS01$', '--printblob'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/WS01, not WS01\$ \[--machine\]/);
    const name = newName();
    const withBom = join(tmp.dir, 'utf16-bom.txt');
    writeFileSync(withBom, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${name}\r\n`, 'utf16le')]));
    const ok = await odj(['provision', ...args, '--batch', withBom, '--savedir', join(tmp.dir, 'utf16')], { env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(join(tmp.dir, 'utf16', `${name}.txt`))).toBe(true);
    const noBom = join(tmp.dir, 'utf16-nobom.txt');
    writeFileSync(noBom, Buffer.from('WS1\r\n', 'utf16le'));
    const hint = await odj(['provision', ...args, '--batch', noBom, '--savedir', join(tmp.dir, 'utf16b')], { env });
    expect(hint.code).toBe(2);
    expect(hint.stderr).toMatch(/looks like UTF-16/);
  });

  it('a package file that cannot be written: one prefix, the right flag, and the new account removed again', async () => {
    const { args, env } = viaProxy();
    const name = newName();
    const file = join(tmp.dir, `${name}-taken.txt`);
    // Someone creates the file while the DC makes the account.
    proxy.setFault({ op: 'add', action: 'hook', beforeReply: async () => writeFileSync(file, 'not yours') });
    try {
      const r = await odj(['provision', ...args, '--machine', name, '--savefile', file], { env });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^odj: ERROR_ACCESS_DENIED \\(5\\): savefile: cannot write ${file} \\(EEXIST\\); the account was deleted again \\[--savefile\\]`));
      expect(r.stderr).not.toMatch(/savefile: --machine:/);
    } finally {
      proxy.setFault(null);
    }
    expect(readFileSync(file, 'utf8')).toBe('not yours');
    expect(await accountBySam(`${name}$`)).toBeNull();
    expectNoForeignWrite();
  });

  it('a failure of the host --url names is labelled [--url], not [--dcname]', async () => {
    const { args, env } = dcArgs();
    const r = await odj(['provision', ...args, '--url', 'ldaps://127.0.0.1:1', '--machine', 'WS1', '--printblob'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ldaps:\/\/127\.0\.0\.1:1.*\[--url\]/);
    expect(r.stderr).not.toMatch(/\[--dcname\]/);
  });

  it('a password typed into --user is not echoed back when the bind fails', async () => {
    const { env } = dcArgs();
    const typed = 'Tr0ub4dor&3!x';
    const r = await odj(['provision', '--domain', dc.domain, '--dcname', dc.dcHost, '--cafile', dc.caFile, '--user', typed, '--machine', 'WS1', '--printblob'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ERROR_LOGON_FAILURE/);
    expect(r.stderr).toMatch(/not shown: it does not look like a user name/);
    expect(r.stderr).not.toContain(typed);
  });
});
