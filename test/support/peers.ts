// Runners for the real peers the tests compare against, all from Debian's samba packages:
// Samba's offline join producer (`net offlinejoin provision`), its consumer (`requestodj`) with
// `net ads testjoin` as the proof that a join is real, MIT `kinit`, and `ndrdump` as an
// independent NDR decoder. Secrets (admin password, package text) never reach a command line,
// an error message or a returned output: credentials go through 0600 files or stdin, and
// everything a tool prints is scrubbed before it leaves this module.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDc, type TestDc } from './dc';
import { guidToString } from './ldap';

const TOOL_TIMEOUT_MS = 60_000;

/** A peer tool failed in a way the caller did not ask to observe. Its message holds no secret. */
export class PeerError extends Error {
  constructor(
    readonly tool: string,
    readonly exitCode: number | null,
    readonly output: string,
  ) {
    super(`${tool} failed (exit ${exitCode ?? 'signal'}): ${output.trim().split('\n').slice(-8).join('\n')}`);
    this.name = 'PeerError';
  }
}

interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runTool(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      timeout: TOOL_TIMEOUT_MS,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // Only the tool name: arguments may name files whose content is secret, never the secret itself.
    child.on('error', (e) => reject(new Error(`cannot run ${cmd}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (child.stdin) {
      // A tool may exit before reading its input (e.g. kinit on an unknown principal): not an error.
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
  });
}

/** Replaces every secret with a marker and drops hex dump lines (they show raw package bytes). */
function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('<redacted>');
  return out
    .split('\n')
    .filter((line) => !/^[ +-]\[[0-9A-Fa-f]{4,}\]/.test(line))
    .join('\n');
}

async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  // mkdtemp makes the folder 0700: packages written inside are readable by root only.
  const dir = mkdtempSync(join(tmpdir(), `odj-peer-${prefix}-`));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function writeSecretFile(path: string, content: string | Buffer): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/**
 * A Samba client configuration of its own in `dir`: smb.conf with private directories (so no
 * state is shared with the host or other tests), and a krb5.conf that names the KDC by address
 * so no DNS lookup leaves loopback. Returns the smb.conf path and the environment to run with.
 */
function clientConfig(dc: TestDc, dir: string, netbiosName?: string): { conf: string; env: NodeJS.ProcessEnv } {
  const dirs: Record<string, string> = {
    'private dir': join(dir, 'private'),
    'state directory': join(dir, 'state'),
    'cache directory': join(dir, 'cache'),
    'lock directory': join(dir, 'lock'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true, mode: 0o700 });
  const lines = [
    '[global]',
    ...(netbiosName ? [`netbios name = ${netbiosName}`] : []),
    `workgroup = ${dc.netbiosDomain}`,
    `realm = ${dc.realm}`,
    'security = ads',
    ...Object.entries(dirs).map(([k, v]) => `${k} = ${v}`),
    `log file = ${join(dir, 'log.%m')}`,
  ];
  const conf = join(dir, 'smb.conf');
  writeFileSync(conf, lines.join('\n') + '\n');
  const krb5 = join(dir, 'krb5.conf');
  writeFileSync(
    krb5,
    [
      '[libdefaults]',
      ` default_realm = ${dc.realm}`,
      ' dns_lookup_realm = false',
      ' dns_lookup_kdc = false',
      ' rdns = false',
      '[realms]',
      ` ${dc.realm} = {`,
      `  kdc = ${dc.dcIp}`,
      ' }',
      '',
    ].join('\n'),
  );
  return { conf, env: { KRB5_CONFIG: krb5, KRB5CCNAME: `FILE:${join(dir, 'ccache')}` } };
}

/** Samba's `-A` authentication file for the DC's administrator (0600). */
function adminAuthFile(dc: TestDc, dir: string): string {
  const user = dc.adminUser.split('@')[0];
  const path = join(dir, 'admin.auth');
  writeSecretFile(path, `username = ${user}\npassword = ${dc.adminPassword}\ndomain = ${dc.netbiosDomain}\n`);
  return path;
}

/** The file form (`djoin /savefile`: UTF-16LE, BOM, trailing NUL) to the base64 text. */
export function fileFormToText(fileForm: Buffer): string {
  if (fileForm.length < 2 || fileForm[0] !== 0xff || fileForm[1] !== 0xfe) {
    throw new Error('not a package file: no UTF-16LE byte order mark');
  }
  return fileForm.subarray(2).toString('utf16le').replace(/\0+$/, '');
}

export interface SambaProvisionOptions {
  machineName: string;
  /** `reuse`: take over an existing account and reset its password */
  reuse?: boolean;
  /** `defpwd`: the account gets the default password (the lower-case machine name) */
  defpwd?: boolean;
  /** `machine_account_ou=`: DN of the OU to create the account in */
  machineAccountOU?: string;
  /** `dcname=`: defaults to the test DC's FQDN */
  dcName?: string;
}

export interface SambaPackage {
  /** The NDR bytes (ODJ_PROVISION_DATA with its serialization header). Secret. */
  binary: Buffer;
  /** What `savefile=` wrote: UTF-16LE with BOM and NUL. Secret. */
  fileForm: Buffer;
  /** The base64 text. Secret. */
  text: string;
}

/** A package made by Samba's `net offlinejoin provision` against the test DC. */
export async function sambaProvision(opts: SambaProvisionOptions): Promise<SambaPackage> {
  const dc = testDc();
  return withTempDir('provision', async (dir) => {
    const { conf, env } = clientConfig(dc, join(dir, 'client'));
    const auth = adminAuthFile(dc, dir);
    const savefile = join(dir, 'package.txt');
    const args = [
      'offlinejoin',
      'provision',
      '-A',
      auth,
      `--configfile=${conf}`,
      `domain=${dc.domain}`,
      `machine_name=${opts.machineName}`,
      `dcname=${opts.dcName ?? dc.dcHost}`,
      `savefile=${savefile}`,
    ];
    if (opts.reuse) args.push('reuse');
    if (opts.defpwd) args.push('defpwd');
    if (opts.machineAccountOU) args.push(`machine_account_ou=${opts.machineAccountOU}`);
    const r = await runTool('net', args, { env });
    if (r.code !== 0) throw new PeerError('net offlinejoin provision', r.code, scrub(r.stdout + r.stderr, [dc.adminPassword]));
    const fileForm = readFileSync(savefile);
    const text = fileFormToText(fileForm);
    return { binary: Buffer.from(text, 'base64'), fileForm, text };
  });
}

export interface JoinResult {
  /** true only when `net ads testjoin` said `Join is OK` */
  joined: boolean;
  /** What both tools printed, secrets scrubbed. */
  output: string;
  /**
   * The domain facts the joined machine kept from the package (its secrets.tdb), null when
   * requestodj failed. testjoin only proves the password, realm and NetBIOS domain: a package
   * with a wrong domain SID, domain GUID, RID or DC name still passes it. Compare these instead.
   */
  stored: { domainSid: string | null; domainGuid: string | null } | null;
}

/** tdbdump's escaping: `\XX` is a byte in hex, any other character is itself. */
function tdbUnescape(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(s.charCodeAt(i) & 0xff);
  }
  return Buffer.from(out);
}

/** What Samba's requestodj stored: `net getdomainsid` and the SECRETS/DOMGUID record. */
async function storedDomainFacts(dc: TestDc, conf: string, privateDir: string, env: NodeJS.ProcessEnv) {
  const sid = await runTool('net', ['getdomainsid', `--configfile=${conf}`], { env });
  const sidMatch = /SID for domain \S+ is: (S-[0-9-]+)/.exec(sid.stdout);
  const guid = await runTool('tdbdump', ['-k', `SECRETS/DOMGUID/${dc.netbiosDomain.toUpperCase()}`, join(privateDir, 'secrets.tdb')]);
  const guidBytes = guid.code === 0 ? tdbUnescape(guid.stdout.replace(/\n$/, '')) : null;
  return {
    domainSid: sidMatch ? sidMatch[1] : null,
    domainGuid: guidBytes && guidBytes.length === 16 ? guidToString(guidBytes) : null,
  };
}

/**
 * Samba as the joining machine: `net offlinejoin requestodj` with the package, then
 * `net ads testjoin` against the DC, which authenticates with the password the package carried.
 * The package may be the file form (Buffer with BOM), the text (string) or the NDR bytes (Buffer).
 */
export async function requestOdjAndTestJoin(pkg: Buffer | string, machineName: string, via?: TestDc): Promise<JoinResult> {
  // `via`: another DC of the domain (one that holds an account the first DC has not replicated yet).
  const dc = via ?? testDc();
  const isFileForm = typeof pkg !== 'string' && pkg[0] === 0xff && pkg[1] === 0xfe;
  // Samba's loadfile takes the file form or the plain base64 text; NDR bytes go in as text.
  const content: string | Buffer = typeof pkg === 'string' || isFileForm ? pkg : pkg.toString('base64');
  const text = isFileForm ? fileFormToText(pkg as Buffer) : content.toString();
  const secrets = [dc.adminPassword, text.trim()];
  return withTempDir('join', async (dir) => {
    const { conf, env } = clientConfig(dc, join(dir, 'ws'), machineName);
    const loadfile = join(dir, 'package.txt');
    writeSecretFile(loadfile, content);
    const req = await runTool('net', ['offlinejoin', 'requestodj', `--configfile=${conf}`, `loadfile=${loadfile}`], { env });
    let output = `requestodj (exit ${req.code}):\n${req.stdout}${req.stderr}`;
    if (req.code !== 0) return { joined: false, output: scrub(output, secrets), stored: null };
    const stored = await storedDomainFacts(dc, conf, join(dir, 'ws', 'private'), env);
    const test = await runTool('net', ['ads', 'testjoin', `--configfile=${conf}`, '-S', dc.dcHost], { env });
    output += `testjoin (exit ${test.code}):\n${test.stdout}${test.stderr}`;
    return { joined: test.code === 0 && /Join is OK/.test(test.stdout), output: scrub(output, secrets), stored };
  });
}

/** MIT kinit with the password on stdin, a private ccache and krb5.conf; true when a TGT came back. */
export async function kinitWithPassword(principal: string, password: string): Promise<boolean> {
  const dc = testDc();
  return withTempDir('kinit', async (dir) => {
    const { env } = clientConfig(dc, dir);
    const r = await runTool('kinit', [principal], { env, input: `${password}\n` });
    return r.code === 0;
  });
}

export interface NdrdumpResult {
  /** Decoded without error, no unread bytes, and (with validate) ndrdump's re-encoding equals the input. */
  ok: boolean;
  /** ndrdump's print-out (it redacts the machine password itself); hex dumps removed. */
  output: string;
}

/** `ndrdump ODJ <structName> struct <file> [--validate]`: Samba's own decoder for the ODJ IDL. */
export async function ndrdump(structName: string, bytes: Uint8Array, opts: { validate?: boolean } = {}): Promise<NdrdumpResult> {
  return withTempDir('ndrdump', async (dir) => {
    const file = join(dir, 'input.bin');
    writeSecretFile(file, Buffer.from(bytes));
    const args = ['ODJ', structName, 'struct', file];
    if (opts.validate) args.push('--validate');
    const r = await runTool('ndrdump', args);
    const output = scrub(r.stdout + r.stderr, []);
    const ok = r.code === 0 && /dump OK/.test(output) && !/WARNING!/.test(output);
    return { ok, output };
  });
}
