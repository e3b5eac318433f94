// `odj provision` and `odj delete` against the test DC, driven as a user runs them: packages that
// Samba joins with, every provisioning and connection flag, DC errors with their Windows names
// (exit 1), batches over one connection. No run may print the admin or a machine password.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePackage } from '../provider/odj';
import { cleanEnv, dcArgs, scratch, useBuiltCli, type Run } from './cli-run';
import { testDc } from './support/dc';
import { accountBySam, deleteTree, ensureOu } from './support/ldap';
import { machineNames } from './support/ldap-backend';
import { kinitWithPassword, requestOdjAndTestJoin } from './support/peers';

const tmp = scratch('provision');
const names = machineNames('CP');
const cli = useBuiltCli();
const odj = cli.odj;

afterAll(async () => {
  tmp.cleanup();
  await names.cleanup();
});

/** The package's machine password must not appear in what odj printed (besides the blob itself). */
function expectNoPassword(r: Run, pkg: Buffer | string): string {
  const password = parsePackage(typeof pkg === 'string' ? pkg : new Uint8Array(pkg)).facts.machinePassword;
  expect(r.stdout.includes(password) || r.stderr.includes(password), 'machine password in output').toBe(false);
  return password;
}

async function provision(extra: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<{ r: Run; name: string; file: string }> {
  const name = names.next();
  const file = join(tmp.dir, `${name}.txt`);
  const { args, env } = dcArgs();
  const r = await odj(['provision', ...args, '--machine', name, '--savefile', file, ...extra], { env: opts.env ?? env, input: opts.input });
  return { r, name, file };
}

describe('odj provision', () => {
  it('writes djoin\'s file form (0600), Samba joins with it, and the summary tells the DC\'s facts', async () => {
    const { r, name, file } = await provision([]);
    expect(r.code, r.stderr).toBe(0);
    const bytes = readFileSync(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect([...bytes.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    expect([...bytes.subarray(-2)]).toEqual([0, 0]);
    const text = bytes.subarray(2, -2).toString('utf16le');
    expect(text).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const truth = (await accountBySam(`${name}$`))!;
    expect(r.stdout).toBe(
      `Created ${name}$ in ${testDc().domain}\n  account  ${truth.dn}\n  guid     ${truth.guid}\n  sid      ${truth.sid}\n` +
        `  dc       ${testDc().dcHost} (${testDc().dcIp})\n  package  ${file}\n`,
    );
    expect(r.stderr).toBe('');
    expectNoPassword(r, text);
    const joined = await requestOdjAndTestJoin(bytes, name);
    expect(joined.joined, joined.output).toBe(true);
    const inspected = await odj(['inspect', '--json', file]);
    expect(JSON.parse(inspected.stdout)).toMatchObject({ machineName: name, accountSid: truth.sid, rid: truth.rid, machinePassword: '<redacted>', options: 0 });
  });

  it('--printblob puts only the package text on stdout, the summary on stderr; -q silences it', async () => {
    const name = names.next();
    const { args, env } = dcArgs();
    const r = await odj(['provision', ...args, '--machine', name, '--printblob'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^[A-Za-z0-9+/]+=*\n$/);
    expect(r.stderr).toContain(`Created ${name}$`);
    expect(r.stderr).not.toContain(expectNoPasswordIn(r.stdout));
    const joined = await requestOdjAndTestJoin(r.stdout.trim(), name);
    expect(joined.joined, joined.output).toBe(true);
    const quiet = await odj(['provision', ...args, '--machine', names.next(), '--printblob', '-q'], { env });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toMatch(/^[A-Za-z0-9+/]+=*\n$/);
  });

  it('an existing account without --reuse is NERR_UserExists (2224), exit 1; with --reuse the new package joins', async () => {
    const { name, file } = await provision([]);
    const { args, env } = dcArgs();
    const again = await odj(['provision', ...args, '--machine', name, '--printblob'], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`^odj: NERR_UserExists \\(2224\\): machineName: .*${name}\\$ already exists.*\\[--machine\\]\n$`));
    expect(again.stdout).toBe('');
    const reuseFile = join(tmp.dir, `${name}-reuse.txt`);
    const reused = await odj(['provision', ...args, '--machine', name, '--reuse', '--savefile', reuseFile, '--json'], { env });
    expect(reused.code, reused.stderr).toBe(0);
    const facts = JSON.parse(reused.stdout);
    const truth = (await accountBySam(`${name}$`))!;
    expect(facts).toMatchObject({ reused: true, account: { distinguishedName: truth.dn, objectGuid: truth.guid, objectSid: truth.sid, rid: truth.rid, samAccountName: `${name}$` }, savefile: reuseFile });
    expect(JSON.stringify(facts)).not.toMatch(/password/i);
    const newPassword = expectNoPassword(reused, readFileSync(reuseFile));
    expect(newPassword).not.toBe(parsePackage(new Uint8Array(readFileSync(file))).facts.machinePassword);
    expect(parsePackage(new Uint8Array(readFileSync(reuseFile))).facts.options).toBe(2); // REUSE_ACCOUNT
    const joined = await requestOdjAndTestJoin(readFileSync(reuseFile), name);
    expect(joined.joined, joined.output).toBe(true);
    expect(reused.stderr).toBe(''); // nothing had logged on with the password it replaced
    // A machine has logged on with that password now: --reuse still resets (djoin's meaning) and says so.
    const reuse2 = join(tmp.dir, `${name}-reuse2.txt`);
    const again2 = await odj(['provision', ...args, '--machine', name, '--reuse', '--savefile', reuse2, '--json'], { env });
    expect(again2.code, again2.stderr).toBe(0);
    expect(again2.stderr).toMatch(new RegExp(`^odj: warning: ${name}\\$ had logged on since its password was last set \\(last logon 20.*reset the password.*trust relationship.*\n$`));
    expect(JSON.parse(again2.stdout).warnings).toEqual([expect.stringMatching(/had logged on since/)]);
    expectNoPassword(again2, readFileSync(reuse2));
  });

  it('inspect --live tells whether a package is still current, from the pwdLastSet recorded at issue', async () => {
    const { r, name, file } = await provision(['--json']);
    expect(r.code, r.stderr).toBe(0);
    const issued = JSON.parse(r.stdout).issued as { pwdLastSet: string; dcName: string };
    expect(issued.pwdLastSet).toMatch(/^\d{15,}$/);
    const dc = testDc();
    const conn = ['--user', dc.adminUser, '--cafile', dc.caFile];
    const { env } = dcArgs();
    const live = async (f: string, extra: string[] = []) => {
      const out = await odj(['inspect', '--json', '--live', ...conn, ...extra, f], { env });
      expect(out.code, out.stderr).toBe(0);
      expectNoPassword(out, readFileSync(f));
      return JSON.parse(out.stdout).live;
    };
    expect(await live(file, ['--issued', issued.pwdLastSet])).toMatchObject({ account: 'present', sameAccount: true, current: true, loggedOnSincePasswordSet: false });
    expect(await live(file)).toMatchObject({ sameAccount: true, current: null, reason: expect.stringMatching(/takes --issued/) });
    // Re-issued with --reuse: the first package is no longer current.
    const again = await odj(['provision', ...dcArgs().args, '--machine', name, '--reuse', '--savefile', join(tmp.dir, `${name}-2.txt`)], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(await live(file, ['--issued', issued.pwdLastSet])).toMatchObject({ current: false, reason: expect.stringMatching(/set again .* no longer joins/) });
    const text = await odj(['inspect', '--live', ...conn, '--issued', issued.pwdLastSet, file], { env });
    expect(text.stdout).toMatch(/Live \(directory\)\n {2}account +CN=.*\n.*\n.*\n {2}current +no: /);
    // Gone: absent, not current. Without --live, the connection flags are a usage error.
    await odj(['delete', ...dcArgs().args, '--machine', name], { env });
    expect(await live(file)).toMatchObject({ account: 'absent', current: false });
    expect((await odj(['inspect', '--issued', issued.pwdLastSet, file])).code).toBe(2);
  });

  it('--machineou creates the account in that OU; a missing OU is a DC error, exit 1', async () => {
    const ou = await ensureOu(`OdjCli${randomBytes(3).toString('hex')}`);
    try {
      const { r, name, file } = await provision(['--machineou', ou]);
      expect(r.code, r.stderr).toBe(0);
      expect((await accountBySam(`${name}$`))!.dn).toBe(`CN=${name},${ou}`);
      const joined = await requestOdjAndTestJoin(readFileSync(file), name);
      expect(joined.joined, joined.output).toBe(true);
      const missing = await provision(['--machineou', `OU=NoSuchOu,${ou}`]);
      expect(missing.r.code).toBe(1);
      expect(missing.r.stderr).toMatch(/^odj: ERROR_DS_NO_SUCH_OBJECT \(8240\)|^odj: \w+ \(\d+\): machineAccountOU/);
      expect(existsSync(missing.file)).toBe(false);
      expect(await accountBySam(`${missing.name}$`)).toBeNull();
    } finally {
      await names.cleanup();
      await deleteTree(ou);
    }
  });

  it('--defpwd gives the lower-case machine name as password (USE_DEFAULT_PASSWORD); kinit takes it', async () => {
    const { r, name, file } = await provision(['--defpwd']);
    expect(r.code, r.stderr).toBe(0);
    const shown = await odj(['inspect', '--json', '--show-secrets', file]);
    const view = JSON.parse(shown.stdout);
    expect(view.machinePassword).toBe(name.toLowerCase());
    expect(view.options).toBe(4);
    expect(await kinitWithPassword(`${name}$@${testDc().realm}`, name.toLowerCase())).toBe(true);
  });

  it('--nosearch needs --dcname (ERROR_INVALID_PARAMETER 87); with it, a clash is still NERR_UserExists', async () => {
    const dc = testDc();
    const name = names.next();
    const env = dcArgs().env;
    const base = ['--domain', dc.domain, '--user', dc.adminUser, '--cafile', dc.caFile, '--url', dc.ldapUrl, '--machine', name, '--printblob'];
    const noDc = await odj(['provision', ...base, '--nosearch'], { env });
    expect(noDc.code).toBe(1);
    expect(noDc.stderr).toMatch(/^odj: ERROR_INVALID_PARAMETER \(87\): options\.skipAccountSearch: .*\[--nosearch\]/);
    const ok = await odj(['provision', ...base, '--nosearch', '--dcname', dc.dcHost], { env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(parsePackage(ok.stdout.trim()).facts.options).toBe(8);
    const clash = await odj(['provision', ...base, '--nosearch', '--dcname', dc.dcHost], { env });
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain('NERR_UserExists (2224)');
  });

  it('--netbios, --psite and --primarydns make a JOIN_PROVIDER2 part (persistent site); --dsite a dynamic one', async () => {
    const p = await provision(['--netbios', 'NBNAME1', '--psite', 'Default-First-Site-Name', '--primarydns', 'corp.odjtest.test']);
    expect(p.r.code, p.r.stderr).toBe(0);
    const view = JSON.parse((await odj(['inspect', '--json', p.file])).stdout);
    expect(view.joinProvider2).toEqual({ flags: 1, netbiosName: 'NBNAME1', siteName: 'Default-First-Site-Name', primaryDnsDomain: 'corp.odjtest.test' });
    expect(view.options & 0x20).toBe(0x20); // PERSISTENTSITE
    expect(view.parts.map((x: { name: string }) => x.name)).toEqual(['JOIN_PROVIDER', 'JOIN_PROVIDER2', 'JOIN_PROVIDER3']);
    const text = (await odj(['inspect', p.file])).stdout;
    expect(text).toMatch(/Join provider 2\n +flags +0x00000001 \(PERSISTENTSITE\)/);
    const d = await provision(['--dsite', 'Default-First-Site-Name']);
    expect(d.r.code, d.r.stderr).toBe(0);
    expect(JSON.parse((await odj(['inspect', '--json', d.file])).stdout).joinProvider2).toEqual({ flags: 0, netbiosName: null, siteName: 'Default-First-Site-Name', primaryDnsDomain: null });
    const joined = await requestOdjAndTestJoin(readFileSync(d.file), d.name);
    expect(joined.joined, joined.output).toBe(true);
  });

  it('--downlevel sets DOWNLEVEL_PRIV_SUPPORT in the package', async () => {
    const { r, file } = await provision(['--downlevel']);
    expect(r.code, r.stderr).toBe(0);
    expect(parsePackage(new Uint8Array(readFileSync(file))).facts.options).toBe(1);
  });

  // What the LDAP backend cannot do (enroll from a template without a PFX; read a GPO's SYSVOL off
  // Windows without sysvolRoot) the CLI must say (djoin's ERROR_NOT_SUPPORTED) rather than drop the
  // flag, and must not leave an account behind.
  for (const [flag, extra] of [['--certtemplate', ['Machine']], ['--policynames', ['Default Domain Policy']]] as const) {
    it(`${flag} is ERROR_NOT_SUPPORTED (50), exit 1, and no account is made`, async () => {
      const { r, name, file } = await provision([flag, ...extra]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^odj: ERROR_NOT_SUPPORTED \\(50\\): .*\\[${flag}\\]\n$`));
      expect(existsSync(file)).toBe(false);
      expect(await accountBySam(`${name}$`)).toBeNull();
    });
  }

  it('an invalid machine name is ERROR_INVALID_PARAMETER (87) naming --machine', async () => {
    const { args, env } = dcArgs();
    const r = await odj(['provision', ...args, '--machine', 'BAD_NAME!', '--printblob'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^odj: ERROR_INVALID_PARAMETER \(87\): machineName: .*\[--machine\]\n$/);
  });
});

describe('connection flags', () => {
  const dc = (): ReturnType<typeof testDc> => testDc();
  const common = (): string[] => ['provision', '--domain', dc().domain, '--user', dc().adminUser, '--printblob', '-q'];

  it('--url ldaps:// and --url ldap:// with --starttls both work; ldap:// alone is refused (87, --starttls)', async () => {
    const env = dcArgs().env;
    const ldaps = await odj([...common(), '--url', dc().ldapUrl, '--cafile', dc().caFile, '--machine', names.next()], { env });
    expect(ldaps.code, ldaps.stderr).toBe(0);
    const plainUrl = `ldap://${dc().dcHost}:389`;
    const starttls = await odj([...common(), '--url', plainUrl, '--starttls', '--cafile', dc().caFile, '--machine', names.next()], { env });
    expect(starttls.code, starttls.stderr).toBe(0);
    expect(parsePackage(starttls.stdout.trim()).facts.machineName).toMatch(/^CP/);
    const plain = await odj([...common(), '--url', plainUrl, '--cafile', dc().caFile, '--machine', names.next()], { env });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/^odj: ERROR_INVALID_PARAMETER \(87\): connection\.startTls: .*\[--starttls\]/);
  });

  it('without the CA the DC is not trusted (SEC_E_UNTRUSTED_ROOT, exit 1); --insecure-skip-tls-verify connects anyway', async () => {
    const env = dcArgs().env;
    const name = names.next();
    const untrusted = await odj([...common(), '--dcname', dc().dcHost, '--machine', name], { env });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/^odj: SEC_E_UNTRUSTED_ROOT \(2148074277\): connection\.caCerts: .*\[--cafile\]/);
    expect(await accountBySam(`${name}$`)).toBeNull();
    const insecure = await odj([...common(), '--dcname', dc().dcHost, '--insecure-skip-tls-verify', '--machine', name], { env });
    expect(insecure.code, insecure.stderr).toBe(0);
    expect(insecure.stderr).toBe("odj: warning: the DC's TLS certificate is not verified (--insecure-skip-tls-verify)\n");
    const both = await odj([...common(), '--dcname', dc().dcHost, '--insecure-skip-tls-verify', '--cafile', dc().caFile, '--machine', name], { env });
    expect(both.code).toBe(2);
  });

  it('the password comes from --password-file, from stdin with --password-file -, or the environment; a wrong one is ERROR_LOGON_FAILURE (1326)', async () => {
    const args = [...common(), '--dcname', dc().dcHost, '--cafile', dc().caFile];
    const pwFile = join(tmp.dir, 'bind-password');
    writeFileSync(pwFile, `${dc().adminPassword}\n`, { mode: 0o600 });
    const fromFile = await odj([...args, '--machine', names.next(), '--password-file', pwFile], { env: cleanEnv() });
    expect(fromFile.code, fromFile.stderr).toBe(0);
    const fromStdin = await odj([...args, '--machine', names.next(), '--password-file', '-'], { env: cleanEnv(), input: `${dc().adminPassword}\n` });
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    // The file wins over the environment.
    const wrong = `Wrong-${randomBytes(6).toString('hex')}`;
    writeFileSync(pwFile, wrong, { mode: 0o600 });
    const name = names.next();
    const bad = await odj([...args, '--machine', name, '--password-file', pwFile], { env: dcArgs().env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^odj: ERROR_LOGON_FAILURE \(1326\): connection\.bindUser: .*\[--user\]/);
    expect(bad.stderr).not.toContain(wrong);
    expect(await accountBySam(`${name}$`)).toBeNull();
  });

  it('ODJ_LDAP_URL, ODJ_BIND_USER, ODJ_CA_FILE and ODJ_BIND_PASSWORD stand in for the flags', async () => {
    const env = cleanEnv({ ODJ_LDAP_URL: dc().ldapUrl, ODJ_BIND_USER: dc().adminUser, ODJ_CA_FILE: dc().caFile, ODJ_BIND_PASSWORD: dc().adminPassword });
    const r = await odj(['provision', '--domain', dc().domain, '--machine', names.next(), '--printblob', '--timeout', '30'], { env });
    expect(r.code, r.stderr).toBe(0);
  });

  it('on a terminal the password is asked for without echo', async () => {
    const name = names.next();
    const file = join(tmp.dir, `${name}.txt`);
    const argv = [process.execPath, cli.bin(), 'provision', '--domain', dc().domain, '--user', dc().adminUser, '--dcname', dc().dcHost, '--cafile', dc().caFile, '--machine', name, '--savefile', file];
    const cmd = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    // util-linux `script` runs odj on a pseudo-terminal; the password is typed once the prompt shows.
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let typed = false;
    const done = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (!typed && out.includes(`Password for ${dc().adminUser}: `)) {
        typed = true;
        child.stdin.write(`${dc().adminPassword}\r`);
      }
    });
    const code = await done;
    // Asserted as booleans: a failure message must not print what the terminal showed.
    expect(out.includes(dc().adminPassword), 'the password was echoed').toBe(false);
    expect(typed).toBe(true);
    expect(code).toBe(0);
    expect(out).toContain(`Created ${name}$`);
    expect(await accountBySam(`${name}$`)).not.toBeNull();
  });
});

describe('odj provision --batch', () => {
  it('provisions every line over one connection, one 0600 package file each, with progress on stderr', async () => {
    const ou = await ensureOu(`OdjCliB${randomBytes(3).toString('hex')}`);
    try {
      const [a, b, c] = [names.next(), names.next(), names.next()];
      const list = join(tmp.dir, `batch-${a}.txt`);
      writeFileSync(list, `# machines for the lab\n${a}\n\n${b}   ${ou}\n  ${c}\n`);
      const dir = join(tmp.dir, `out-${a}`);
      const { args, env } = dcArgs();
      const r = await odj(['provision', ...args, '--batch', list, '--savedir', dir], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(readdirSync(dir).sort()).toEqual([a, b, c].map((n) => `${n}.txt`).sort());
      const lines = r.stderr.trim().split('\n');
      expect(lines).toEqual([
        `odj: using DC ${testDc().dcHost} (${testDc().dcIp})`,
        `[1/3] ${a}: created CN=${a},CN=Computers,DC=odjtest,DC=test`,
        `[2/3] ${b}: created CN=${b},${ou}`,
        `[3/3] ${c}: created CN=${c},CN=Computers,DC=odjtest,DC=test`,
      ]);
      expect(r.stdout).toBe(`3 of 3 provisioned; packages in ${dir}\n`);
      for (const n of [a, b, c]) {
        const f = join(dir, `${n}.txt`);
        expect(statSync(f).mode & 0o777).toBe(0o600);
        const pkg = parsePackage(new Uint8Array(readFileSync(f)));
        expect(pkg.facts.machineName).toBe(n);
        expect(pkg.accountSid).toBe((await accountBySam(`${n}$`))!.sid);
        expectNoPassword(r, readFileSync(f));
      }
      const join1 = await requestOdjAndTestJoin(readFileSync(join(dir, `${b}.txt`)), b);
      expect(join1.joined, join1.output).toBe(true);
    } finally {
      await names.cleanup();
      await deleteTree(ou);
    }
  });

  it('an invalid line stops the whole batch before the DC is touched (exit 1, every bad line named)', async () => {
    const [a, b] = [names.next(), names.next()];
    const { args, env } = dcArgs();
    const dir = join(tmp.dir, `bad-${a}`);
    const r = await odj(['provision', ...args, '--batch', '-', '--savedir', dir], { env, input: `${a}\nNOT_VALID!\n${b}\n${a.toLowerCase()}\n` });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERROR_INVALID_PARAMETER (87)');
    expect(r.stderr).toMatch(/line 2: ERROR_INVALID_PARAMETER \(87\): machineName: .*\[--machine\]/);
    expect(r.stderr).toContain(`line 4: ${a.toLowerCase()} is already on line 1`);
    expect(await accountBySam(`${a}$`)).toBeNull();
    expect(await accountBySam(`${b}$`)).toBeNull();
    expect(existsSync(dir)).toBe(false);
  });

  it('a machine that fails (existing account) is reported; the others are provisioned; exit 1; --json lists all', async () => {
    const existing = (await provision([])).name;
    const [a, b] = [names.next(), names.next()];
    const { args, env } = dcArgs();
    const dir = join(tmp.dir, `mixed-${a}`);
    const r = await odj(['provision', ...args, '--batch', '-', '--savedir', dir, '--json'], { env, input: `${a}\n${existing}\n${b}\n` });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`[2/3] ${existing}: odj: NERR_UserExists (2224)`);
    expect(r.stderr).toContain('odj: 1 of 3 failed');
    expect(readdirSync(dir).sort()).toEqual([`${a}.txt`, `${b}.txt`].sort());
    const out = JSON.parse(r.stdout) as { machineName: string; error?: { code: string; errno: number } }[];
    expect(out.map((x) => x.machineName)).toEqual([a, existing, b]);
    expect(out[1].error).toMatchObject({ code: 'NERR_UserExists', errno: 2224 });
    expect(out[0].error).toBeUndefined();
  });
});

describe('odj provision --batch, interrupted', () => {
  it('Ctrl-C stops after the machine in hand: exit 130, every account made has its package file', async () => {
    const list = Array.from({ length: 40 }, () => names.next());
    const { args, env } = dcArgs();
    const dir = join(tmp.dir, `int-${list[0]}`);
    const child = spawn(process.execPath, [cli.bin(), 'provision', ...args, '--batch', '-', '--savedir', dir], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    let sent = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (!sent && stderr.includes('[2/40]')) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.stdin.end(list.join('\n') + '\n');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(sent).toBe(true);
    expect(stderr.includes(testDc().adminPassword) || stdout.includes(testDc().adminPassword)).toBe(false);
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('odj: interrupted; stopping after the current machine');
    const done = readdirSync(dir).map((f) => f.replace(/\.txt$/, ''));
    expect(done.length).toBeGreaterThanOrEqual(2);
    expect(done.length).toBeLessThan(40);
    expect(stderr).toContain(`odj: interrupted: ${40 - done.length} not tried, from ${list[done.length]} (line ${done.length + 1})`);
    expect(stdout).toBe(`${done.length} of 40 provisioned; packages in ${dir}\n`);
    // No account without its package: exactly the machines with a file exist.
    for (const [i, n] of list.entries()) {
      const exists = (await accountBySam(`${n}$`)) !== null;
      expect(exists, n).toBe(i < done.length);
      if (exists) expect(done).toContain(n);
    }
  });
});

describe('odj delete', () => {
  it('deletes by name and by objectGUID, several in one run', async () => {
    const one = await provision([]);
    const two = await provision([]);
    const three = await provision([]);
    const guid = (await accountBySam(`${three.name}$`))!.guid;
    const { args, env } = dcArgs();
    const r = await odj(['delete', ...args, '--machine', one.name, '--machine', two.name, '--guid', guid], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
    expect(r.stdout).toContain(`Deleted CN=${one.name},CN=Computers,DC=odjtest,DC=test`);
    expect(r.stdout).toContain(`(${guid})`);
    for (const x of [one, two, three]) expect(await accountBySam(`${x.name}$`)).toBeNull();
  });

  it('a missing account is NERR_UserNotFound (2221), exit 1, unless --ignore-missing', async () => {
    const { args, env } = dcArgs();
    const name = names.next();
    const r = await odj(['delete', ...args, '--machine', name], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^odj: NERR_UserNotFound \\(2221\\): machineName: ${name}\\$ does not exist`));
    const ok = await odj(['delete', ...args, '--machine', name, '--ignore-missing'], { env });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('not found');
  });

  it("refuses a domain controller's account (ERROR_NO_TRUST_SAM_ACCOUNT, the one safety rule) and leaves it", async () => {
    const { args, env } = dcArgs();
    const dcName = testDc().dcHost.split('.')[0].toUpperCase();
    const r = await odj(['delete', ...args, '--machine', dcName], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^odj: ERROR_NO_TRUST_SAM_ACCOUNT \(1787\): .* is a domain controller; refusing to delete it/);
    expect(await accountBySam(`${dcName}$`)).not.toBeNull();
  });
});

/** For --printblob: the package's password must not be in the summary. */
function expectNoPasswordIn(blob: string): string {
  return parsePackage(blob.trim()).facts.machinePassword;
}
