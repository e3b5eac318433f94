// The `odj` binary without a DC write: help for every command, usage errors (exit 2) for bad
// flags and missing values, and `inspect`/`unattend` on packages made by Samba and by odj.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackage, parsePackage } from '../provider/odj';
import { cleanEnv, dcArgs, scratch, useBuiltCli, type Run, type RunOptions } from './cli-run';
import { testDc } from './support/dc';
import { accountBySam, domainTruth } from './support/ldap';
import { machineNames } from './support/ldap-backend';
import { sambaProvision, type SambaPackage } from './support/peers';

const tmp = scratch('inspect');
const names = machineNames('CI');
const cli = useBuiltCli();
const odj = cli.odj;

afterAll(async () => {
  tmp.cleanup();
  await names.cleanup();
});

describe('help', () => {
  it('odj help, --help and -h print the command list and exit 0; no command is exit 2', async () => {
    for (const args of [['help'], ['--help'], ['-h']]) {
      const r = await odj(args);
      expect(r.code, args.join(' ')).toBe(0);
      for (const c of ['provision', 'inspect', 'unattend', 'delete']) expect(r.stdout).toContain(`  ${c} `);
    }
    const none = await odj([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: odj <command>');
  });

  it('every command has its help, as `odj help CMD` and `odj CMD --help`', async () => {
    for (const c of ['provision', 'inspect', 'unattend', 'delete']) {
      const a = await odj(['help', c]);
      const b = await odj([c, '--help']);
      expect(a.code).toBe(0);
      expect(b.code).toBe(0);
      expect(a.stdout).toBe(b.stdout);
      expect(a.stdout).toContain(`Usage: odj ${c}`);
    }
    const p = (await odj(['provision', '-h'])).stdout;
    for (const flag of ['--domain', '--machine', '--machineou', '--dcname', '--reuse', '--defpwd', '--nosearch', '--rootcacerts', '--certtemplate', '--policynames',
      '--policypaths', '--netbios', '--psite', '--dsite', '--primarydns', '--savefile', '--printblob', '--batch', '--savedir', '--url', '--user', '--password-file',
      '--cafile', '--insecure-skip-tls-verify', 'ODJ_BIND_PASSWORD']) {
      expect(p).toContain(flag);
    }
  });

  it('--version prints the package version; the built file runs by itself (shebang, executable)', async () => {
    const version = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version as string;
    const r = await odj(['--version'], { direct: true });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`odj ${version}\n`);
    expect(statSync(cli.bin()).mode & 0o111).not.toBe(0);
    expect(readFileSync(cli.bin(), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});

describe('usage errors exit 2 and say what is wrong', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown command', ['provison'], /no such command: provison/],
    ['unknown help topic', ['help', 'nope'], /no such command: nope/],
    ['unknown flag', ['provision', '--domain', 'x.test', '--bogus'], /Unknown option '--bogus'/],
    ['missing value at the end', ['provision', '--domain', 'x.test', '--machine'], /'--machine <value>' argument missing/],
    ['missing value before a flag', ['provision', '--domain', 'x.test', '--machine', '--reuse', '--printblob'], /'--machine' argument is ambiguous/],
    ['a value for a switch', ['provision', '--reuse=yes'], /--reuse/],
    ['a password as an argument', ['provision', '--password', 'hunter2'], /passwords are not taken as arguments/],
    ['a password as -p', ['delete', '-psecret'], /passwords are not taken as arguments/],
    ['no domain', ['provision', '--machine', 'WS1', '--printblob', '--user', 'a@b'], /--domain is required/],
    ['no machine', ['provision', '--domain', 'x.test', '--printblob', '--user', 'a@b'], /--machine is required/],
    ['no output', ['provision', '--domain', 'x.test', '--machine', 'WS1', '--user', 'a@b'], /--savefile FILE and\/or --printblob/],
    ['empty value', ['provision', '--domain', '', '--machine', 'WS1'], /--domain needs a non-empty value/],
    ['both sites', ['provision', '--domain', 'x.test', '--machine', 'WS1', '--printblob', '--psite', 'A', '--dsite', 'B'], /--psite and --dsite/],
    ['json with printblob', ['provision', '--domain', 'x.test', '--machine', 'WS1', '--printblob', '--json'], /--json and --printblob/],
    ['batch without savedir', ['provision', '--domain', 'x.test', '--batch', '/dev/null', '--user', 'a@b'], /--batch needs --savedir/],
    ['batch with machine', ['provision', '--domain', 'x.test', '--batch', '/dev/null', '--machine', 'WS1'], /--machine does not go with --batch/],
    ['a batch that names no machine', ['provision', '--domain', 'x.test', '--batch', '-', '--savedir', '/tmp', '--user', 'a@b'], /- names no machine/],
    ['stdin twice', ['provision', '--domain', 'x.test', '--batch', '-', '--savedir', '/tmp', '--password-file', '-', '--user', 'a@b'], /cannot both read stdin/],
    ['savedir without batch', ['provision', '--domain', 'x.test', '--machine', 'WS1', '--printblob', '--savedir', '/tmp', '--user', 'a@b'], /--savedir goes with --batch/],
    ['bad timeout', ['provision', '--domain', 'x.test', '--machine', 'WS1', '--printblob', '--user', 'a@b', '--timeout', 'soon'], /--timeout takes seconds/],
    ['no bind user', ['provision', '--domain', 'x.test', '--machine', 'WS1', '--printblob'], /a bind user is required/],
    ['no bind password and no terminal', ['provision', '--domain', 'x.test', '--machine', 'WS1', '--printblob', '--user', 'a@b'], /no bind password/],
    ['missing CA file', ['provision', '--domain', 'x.test', '--machine', 'WS1', '--printblob', '--user', 'a@b', '--cafile', '/nonexistent/ca.pem'], /cannot read the CA file/],
    ['missing password file', ['provision', '--domain', 'x.test', '--machine', 'WS1', '--printblob', '--user', 'a@b', '--password-file', '/nonexistent/pw'], /cannot read the password file/],
    ['inspect without a file', ['inspect'], /give one package/],
    ['inspect of a missing file', ['inspect', '/nonexistent/package.txt'], /cannot read \/nonexistent\/package.txt \(ENOENT\)/],
    ['inspect with a stray flag', ['inspect', '--savefile', 'x', 'f'], /Unknown option '--savefile'/],
    ['unattend with an unknown arch', ['unattend', '--arch', 'x86', '-'], /--arch x86: use amd64 or arm64/],
    ['delete without an account', ['delete', '--domain', 'x.test'], /--machine NAME or --guid GUID/],
    ['delete with a bad GUID', ['delete', '--domain', 'x.test', '--guid', 'not-a-guid'], /not a GUID/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await odj(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/Try 'odj( \w+)? --help'\./);
      expect(r.stdout).toBe('');
    });
  }

  it('a --savefile in a missing folder is refused before the DC is contacted (no account made)', async () => {
    const name = names.next();
    const { args, env } = dcArgs();
    const r = await odj(['provision', ...args, '--machine', name, '--savefile', join(tmp.dir, 'no-such-dir', 'p.txt')], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot write in .*no-such-dir \(ENOENT\)/);
    expect(await accountBySam(`${name}$`)).toBeNull();
  });

  it('an existing --savefile is refused before the DC is contacted (no account made)', async () => {
    const existing = join(tmp.dir, 'exists.txt');
    writeFileSync(existing, 'keep me');
    const name = names.next();
    const { args, env } = dcArgs();
    const r = await odj(['provision', ...args, '--machine', name, '--savefile', existing], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--savefile ${existing} already exists`);
    expect(readFileSync(existing, 'utf8')).toBe('keep me');
    expect(await accountBySam(`${name}$`)).toBeNull();
  });
});

describe('inspect', () => {
  let samba: SambaPackage;
  let sambaName = '';
  beforeAll(async () => {
    sambaName = names.next();
    samba = await sambaProvision({ machineName: sambaName });
  });

  it("prints every field of Samba's package from its file form, the password redacted", async () => {
    const file = join(tmp.dir, 'samba.txt');
    writeFileSync(file, samba.fileForm, { mode: 0o600 });
    const r = await odj(['inspect', file]);
    expect(r.code, r.stderr).toBe(0);
    const dc = testDc();
    const truth = (await accountBySam(`${sambaName}$`))!;
    const dom = await domainTruth();
    const password = parsePackage(samba.binary).facts.machinePassword;
    expect(r.stdout).not.toContain(password);
    expect(r.stdout).toMatch(/machine password +<redacted>/);
    expect(r.stdout).toMatch(new RegExp(`machine name +${sambaName}\n`));
    expect(r.stdout).toMatch(new RegExp(`account SID +${truth.sid}\n`));
    expect(r.stdout).toMatch(new RegExp(`RID +${truth.rid}\n`));
    expect(r.stdout).toMatch(new RegExp(`NetBIOS name +${dom.netbiosName}\n`));
    expect(r.stdout).toMatch(new RegExp(`GUID +${dom.guid}\n`));
    expect(r.stdout).toMatch(new RegExp(`SID +${dom.sid}\n`));
    expect(r.stdout).toContain(`\\\\${dc.dcHost}`);
    expect(r.stdout).toMatch(/options +0x00000006 \(REUSE_ACCOUNT, USE_DEFAULT_PASSWORD\)/); // Samba's fixed 6
    expect(r.stdout).toMatch(/blobs +1 \(ODJ_WIN7_FORMAT\), 2 \(ODJ_WIN8_FORMAT\)/);
    expect(r.stdout).toMatch(/JOIN_PROVIDER 631c7621-5289-4321-bc9e-80f843f868c3 flags 0x00000001 \(essential\)/);
    expect(r.stdout).toMatch(/JOIN_PROVIDER3 fc0ccf25-7ffa-474a-8611-69ffe269645f/);
    expect(r.stdout).toMatch(/flags +0x[0-9a-f]{8} \(PDC, GC, LDAP, DS, KDC/);
  });

  it('reads the text form from stdin and the binary form from a file, the same view; --json for machines', async () => {
    const fromText = await odj(['inspect', '-', '--json'], { input: samba.text });
    const bin = join(tmp.dir, 'samba.bin');
    writeFileSync(bin, samba.binary, { mode: 0o600 });
    const fromBinary = await odj(['inspect', '--json', bin]);
    expect(fromText.code, fromText.stderr).toBe(0);
    expect(fromBinary.stdout).toBe(fromText.stdout);
    const view = JSON.parse(fromText.stdout);
    const truth = (await accountBySam(`${sambaName}$`))!;
    expect(view).toMatchObject({ machineName: sambaName, machinePassword: '<redacted>', accountSid: truth.sid, rid: truth.rid, blobFormats: [1, 2] });
    expect(view.parts.map((p: { name: string }) => p.name)).toEqual(['JOIN_PROVIDER', 'JOIN_PROVIDER3']);
    expect(fromText.stdout).not.toContain(parsePackage(samba.binary).facts.machinePassword);
  });

  it('--show-secrets shows the machine password, and only then', async () => {
    const r = await odj(['inspect', '-', '--show-secrets', '--json'], { input: samba.fileForm });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).machinePassword).toBe(parsePackage(samba.binary).facts.machinePassword);
    const text = await odj(['inspect', '-', '--show-secrets'], { input: samba.fileForm });
    expect(text.stdout).toContain(parsePackage(samba.binary).facts.machinePassword);
  });

  it('a damaged package is exit 1 with the codec error, and no package bytes in the message', async () => {
    const damaged = Buffer.from(samba.binary);
    damaged.writeUInt32LE(0xffffff, 8); // the private header's body length
    const r = await odj(['inspect', '-'], { input: damaged });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^odj: not a valid offline join package: /);
    expect(r.stderr).not.toContain(samba.text.slice(0, 16));
    const garbage = await odj(['inspect', '-'], { input: 'this is not a package\n' });
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toMatch(/not a valid offline join package/);
    expect(garbage.stdout).toBe('');
  });
});

describe('inspect of certificate and policy parts', () => {
  it('prints the CERT and POLICY parts; PFX bytes stay redacted unless --show-secrets', async () => {
    const samba = await sambaProvision({ machineName: names.next() });
    const facts = parsePackage(samba.binary).facts;
    const pfx = Buffer.from('pretend-pkcs12-private-key-bytes');
    const sst = Buffer.from('root-ca-store');
    const pkg = buildPackage({
      ...facts,
      certificates: {
        pfxStores: [{ templateName: 'Machine', privateKeyExportPolicy: 1, policyServerUrl: 'https://ca.odjtest.test/policy', policyServerUrlFlags: 0, policyServerId: 'id-1', pfx }],
        sstStores: [{ storeLocation: 0x20000, storeName: 'Root', sst }],
      },
      policies: [{ source: 'Default Domain Policy', rootKeyId: 0x80000002, elements: [{ keyPath: 'Software\\Policies\\Odj', valueName: 'Enabled', valueType: 4, data: Buffer.from([1, 0, 0, 0]) }] }],
    });
    const r = await odj(['inspect', '-'], { input: Buffer.from(pkg) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/CERT_PROVIDER 9c0971e9-832f-4873-8e87-ef1419d4781e/);
    expect(r.stdout).toMatch(/POLICY_PROVIDER 68fb602a-0c09-48ce-b75f-07b7bd58f7ec/);
    expect(r.stdout).toMatch(/pfx 1 template +Machine/);
    expect(r.stdout).toMatch(/pfx 1 pfx +<redacted> \(32 bytes\)/);
    expect(r.stdout).not.toContain(pfx.toString('base64'));
    expect(r.stdout).toMatch(/sst 1 store +Root \(location 0x00020000\)/);
    expect(r.stdout).toMatch(/sst 1 sst +13 bytes/);
    expect(r.stdout).toMatch(/list 1 source +Default Domain Policy \(root HKLM\)/);
    expect(r.stdout).toMatch(/list 1 value 1 +Software\\Policies\\Odj\\Enabled = REG_DWORD 1\n/);
    const secret = await odj(['inspect', '-', '--show-secrets', '--json'], { input: Buffer.from(pkg) });
    expect(JSON.parse(secret.stdout).certificates.pfxStores[0].pfx).toBe(pfx.toString('base64'));
  });
});

describe('start-up loads only what a command needs', () => {
  /** The project files and packages a run of odj loaded, from a --require hook. */
  async function loaded(args: string[], opts: RunOptions = {}): Promise<{ r: Run; modules: string[] }> {
    const hook = join(tmp.dir, 'hook.js');
    const log = join(tmp.dir, `loaded-${Math.random().toString(36).slice(2)}.txt`);
    writeFileSync(hook, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(log)}, Object.keys(require.cache).join('\\n')));\n`);
    const env = { ...(opts.env ?? cleanEnv()), NODE_OPTIONS: `--require ${hook}` };
    const r = await odj(args, { ...opts, env });
    return { r, modules: readFileSync(log, 'utf8').split('\n') };
  }
  const uses = (modules: string[], part: string): boolean => modules.some((m) => m.includes(part));

  it('help and inspect never load the LDAP client or the directory layer', async () => {
    const help = await loaded(['--help']);
    expect(help.r.code).toBe(0);
    expect(help.modules.filter((m) => m.includes('/provider/'))).toEqual([expect.stringMatching(/provider\/cli\.js$/), expect.stringMatching(/provider\/cli\/usage\.js$/)]);
    const samba = await sambaProvision({ machineName: names.next() });
    const inspect = await loaded(['inspect', '-'], { input: samba.text });
    expect(inspect.r.code).toBe(0);
    expect(uses(inspect.modules, '/node_modules/ldapts/')).toBe(false);
    expect(uses(inspect.modules, '/provider/directory/connection')).toBe(false);
    expect(uses(inspect.modules, '/provider/cli/provision')).toBe(false);
    expect(uses(inspect.modules, '/@pulumi/')).toBe(false);
    const unattend = await loaded(['unattend', '-'], { input: samba.text });
    expect(unattend.r.code).toBe(0);
    expect(uses(unattend.modules, '/node_modules/ldapts/')).toBe(false);
    expect(uses(unattend.modules, '/@pulumi/')).toBe(false);
  });

  it('provision loads ldapts, and no Pulumi', async () => {
    const { args, env } = dcArgs();
    const p = await loaded(['provision', ...args, '--machine', names.next(), '--printblob', '-q'], { env });
    expect(p.r.code, p.r.stderr).toBe(0);
    expect(uses(p.modules, '/node_modules/ldapts/')).toBe(true);
    expect(uses(p.modules, '/@pulumi/')).toBe(false);
  });
});

describe('unattend', () => {
  let samba: SambaPackage;
  beforeAll(async () => {
    samba = await sambaProvision({ machineName: names.next() });
  });

  it('renders the offlineServicing section carrying the package text, amd64 by default', async () => {
    const r = await odj(['unattend', '-'], { input: samba.fileForm });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('<settings pass="offlineServicing">');
    expect(r.stdout.match(/processorArchitecture="(\w+)"/g)).toEqual(['processorArchitecture="amd64"']);
    expect(/<AccountData>([^<]+)<\/AccountData>/.exec(r.stdout)?.[1]).toBe(samba.text);
  });

  it('--arch twice gives both components; --out writes a 0600 file and refuses to overwrite it', async () => {
    const out = join(tmp.dir, 'unattend.xml');
    const r = await odj(['unattend', '-', '--arch', 'amd64', '--arch', 'arm64', '--out', out], { input: samba.text });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const xml = readFileSync(out, 'utf8');
    expect(xml.match(/processorArchitecture="(\w+)"/g)).toEqual(['processorArchitecture="amd64"', 'processorArchitecture="arm64"']);
    expect(xml.match(/<AccountData>([^<]+)<\/AccountData>/g)).toHaveLength(2);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const again = await odj(['unattend', '-', '--out', out], { input: samba.text });
    expect(again.code).toBe(2);
    expect(readFileSync(out, 'utf8')).toBe(xml);
  });

  it('a damaged package gives no XML and exit 1', async () => {
    const r = await odj(['unattend', '-'], { input: samba.text.slice(0, 200) });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
  });
});

// Keep the helper honest: the environment a run gets is the one we give, never the runner's ODJ_*.
it('runs see no ODJ_* variable of the test runner', () => {
  process.env.ODJ_BIND_PASSWORD_PROBE = 'x';
  try {
    expect(Object.keys(cleanEnv()).filter((k) => k.startsWith('ODJ_'))).toEqual([]);
  } finally {
    delete process.env.ODJ_BIND_PASSWORD_PROBE;
  }
});
