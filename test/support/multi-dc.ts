// More DCs of the test domain for the suites that need them: a replica (127.0.0.3) and a read-only
// DC (127.0.0.4), joined to the first DC by scripts/testdc.sh. Started lazily, once per test run,
// by the first file that asks (a lock serializes the forked workers); the global teardown stops
// them when this run started them. Suites that do not ask pay nothing.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { dcFromEnvFile, testDc, type TestDc } from './dc';

const script = resolve(__dirname, '../../scripts/testdc.sh');
const LOCK = '/tmp/odj-testdc-extra.lock';

export interface ExtraDc extends TestDc {
  role: 'DC' | 'RODC';
  /** PEM text trusting the first DC's and this DC's LDAPS CAs */
  caBundle: string;
}

interface Spec {
  role: 'DC' | 'RODC';
  ip: string;
  host: string;
  dir: string;
}

const specs: Record<'replica' | 'rodc', Spec> = {
  replica: { role: 'DC', ip: '127.0.0.3', host: 'l11dc2', dir: '/tmp/odj-testdc-l11dc2' },
  rodc: { role: 'RODC', ip: '127.0.0.4', host: 'l11rodc', dir: '/tmp/odj-testdc-l11rodc' },
};

const scriptEnv = (s: Spec): NodeJS.ProcessEnv => ({
  ...process.env,
  ODJ_TESTDC_IP: s.ip,
  ODJ_TESTDC_HOST: s.host,
  ODJ_TESTDC_DIR: s.dir,
  ODJ_TESTDC_FIRST_ENV: process.env.ODJ_TESTDC_ENV,
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A cross-process lock: mkdir is atomic, the folder is the lock; a holder that died leaves its
 *  pid to be seen dead. Returns the release. */
async function lock(path: string, waitMs: number): Promise<() => void> {
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      mkdirSync(path);
      writeFileSync(join(path, 'pid'), String(process.pid));
      return () => rmSync(path, { recursive: true, force: true });
    } catch {
      const holder = Number(existsSync(join(path, 'pid')) ? readFileSync(join(path, 'pid'), 'utf8') : 0);
      if (holder && !alive(holder)) rmSync(path, { recursive: true, force: true });
      if (Date.now() > until) throw new Error(`${path} is held by pid ${holder}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function withLock<T>(fn: () => T): Promise<T> {
  const release = await lock(LOCK, 240_000);
  try {
    return fn();
  } finally {
    release();
  }
}

/** For a test file that stops the replica or needs it answering: one such file at a time (they
 *  run in parallel workers otherwise). Call in beforeAll, release in afterAll. */
export function holdReplica(): Promise<() => void> {
  return lock('/tmp/odj-testdc-l11dc2.hold', 170_000);
}

function samba(s: Spec): number | undefined {
  const f = join(s.dir, 'samba.pid');
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8'));
  return pid && alive(pid) ? pid : undefined;
}

function join1(s: Spec): ExtraDc {
  const running = samba(s) !== undefined;
  const envFile = execFileSync('bash', [script, 'join', s.role], { env: scriptEnv(s), encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 180_000 }).trim();
  // Noted for the global teardown, which stops only what this run started.
  const runDir = process.env.ODJ_TEST_RUN_DIR;
  if (!running && runDir) appendFileSync(join(runDir, 'extra-dcs'), `${s.role} ${s.ip} ${s.host} ${s.dir}\n`);
  const dc = dcFromEnvFile(envFile);
  const caBundle = readFileSync(join(s.dir, 'ca-bundle.pem'), 'utf8');
  return { ...dc, role: s.role, caBundle };
}

let started: Promise<{ replica: ExtraDc; rodc: ExtraDc }> | undefined;

/** The replica and the RODC, joined and running (started by the first caller of this run). */
export function extraDcs(): Promise<{ replica: ExtraDc; rodc: ExtraDc }> {
  testDc(); // the first DC must be known
  return (started ??= withLock(() => ({ replica: join1(specs.replica), rodc: join1(specs.rodc) })));
}

/** The global teardown's part: leave the domain with the DCs this run started. */
export function stopExtraDcs(runDir: string): void {
  const f = join(runDir, 'extra-dcs');
  if (!existsSync(f)) return;
  for (const line of readFileSync(f, 'utf8').split('\n').filter(Boolean).reverse()) {
    const [role, ip, host, dir] = line.split(' ');
    try {
      execFileSync('bash', [script, 'leave'], { env: scriptEnv({ role: role as Spec['role'], ip, host, dir }), stdio: 'inherit', timeout: 120_000 });
    } catch {
      // Reported by the script; the next run's join removes what is left.
    }
  }
}

/** SIGSTOP / SIGCONT a DC's samba (its LDAP, Kerberos and DNS run in that one process with -M single). */
export function pauseDc(dc: TestDc): void {
  process.kill(Number(readFileSync(join(dc.dir, 'samba.pid'), 'utf8')), 'SIGSTOP');
}
export function resumeDc(dc: TestDc): void {
  process.kill(Number(readFileSync(join(dc.dir, 'samba.pid'), 'utf8')), 'SIGCONT');
}

/** Samba's tools as the domain administrator; the password travels in a 0600 file (PASSWD_FILE). */
function adminTool(args: string[], dc: TestDc): string {
  const pwFile = join(dc.dir, '.pw-tests');
  writeFileSync(pwFile, dc.adminPassword, { mode: 0o600 });
  try {
    return execFileSync('samba-tool', [...args, '-U', 'Administrator'], {
      env: { ...process.env, PASSWD_FILE: pwFile, KRB5_CONFIG: dc.krb5Config },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
  } finally {
    rmSync(pwFile, { force: true });
  }
}

/** Pull the domain partition's changes from `source` into `dest` now (replication on demand). */
export function replicate(dest: TestDc, source: TestDc): string {
  const nc = dest.domain.split('.').map((p) => `DC=${p}`).join(',');
  return adminTool(['drs', 'replicate', dest.dcHost, source.dcHost, nc, '--local', '-s', dest.smbConf], dest);
}

/** Add (or delete) a DNS record on the first DC. */
export function dnsRecord(op: 'add' | 'delete', zone: string, name: string, type: string, data: string): void {
  const first = testDc();
  try {
    adminTool(['dns', op, first.dcIp, zone, name, type, data], first);
  } catch (e) {
    const out = String((e as { stderr?: unknown }).stderr ?? '');
    // Idempotent: a record already there (add) or already gone (delete) is fine.
    if (!/already exists|does not exist|not found/i.test(out)) throw new Error(`samba-tool dns ${op} ${name} ${type}: ${out.trim().split('\n').pop()}`);
  }
}
