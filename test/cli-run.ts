// Runs the real `odj` binary the way a user does: compiled by tsc from provider/cli.ts into a
// private folder (so a teammate's build of dist/ cannot race with ours), started as a process.
// Every run is checked for the admin password in its output: no test can forget to.
import { execFile, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect } from 'vitest';
import { testDc } from './support/dc';

const ROOT = resolve(__dirname, '..');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Compiles the CLI (the entry and every command, which it loads lazily) and returns cli.js. */
export async function buildCli(): Promise<{ bin: string; dir: string; cleanup(): void }> {
  // Under node_modules/ so that the compiled files resolve ldapts from the project's node_modules.
  mkdirSync(join(ROOT, 'node_modules', '.cache'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'node_modules', '.cache', 'odj-cli-test-'));
  const commands = readdirSync(join(ROOT, 'provider', 'cli')).filter((f) => f.endsWith('.ts')).map((f) => join('provider', 'cli', f));
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(process.execPath, [
    tsc, 'provider/cli.ts', ...commands,
    '--outDir', join(dir, 'dist'), '--rootDir', '.', '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--target', 'ES2023', '--strict', '--esModuleInterop', '--skipLibCheck', '--types', 'node',
  ], { cwd: ROOT });
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json')); // for --version
  const bin = join(dir, 'dist', 'provider', 'cli.js');
  chmodSync(bin, 0o755); // what `npm run build` does in postbuild
  return { bin, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** For a test file: builds the CLI before its tests, removes the build after them, and runs it. */
export function useBuiltCli(): { odj(args: string[], opts?: RunOptions): Promise<Run>; bin(): string } {
  let build: { bin: string; cleanup(): void } | undefined;
  beforeAll(async () => {
    build = await buildCli();
  });
  afterAll(() => build?.cleanup());
  const bin = (): string => {
    if (!build) throw new Error('the CLI is built in beforeAll: call odj() from a test');
    return build.bin;
  };
  return { odj: (args, opts) => runOdj(bin(), args, opts), bin };
}

/** The environment of a user's shell without any ODJ_* setting of ours, plus `extra`. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ODJ_')) env[k] = v;
  return { ...env, ...extra };
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  /** run the file itself (shebang + executable bit) instead of `node file` */
  direct?: boolean;
}

/** Runs `odj args…`; stdin is closed (or carries `input`), so it is never a terminal. */
export function runOdj(bin: string, args: string[], opts: RunOptions = {}): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const [cmd, argv] = opts.direct ? [bin, args] : [process.execPath, [bin, ...args]];
    const env = opts.env ?? cleanEnv();
    if (opts.direct) env.PATH = `${resolve(process.execPath, '..')}:${env.PATH ?? ''}`;
    const child = spawn(cmd, argv, { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: 90_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const r = { code, stdout, stderr };
      // The bind password reaches odj through a file or the environment; it must never come back out.
      expect(stdout.includes(testDc().adminPassword) || stderr.includes(testDc().adminPassword), 'admin password in output').toBe(false);
      resolvePromise(r);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input);
  });
}

/** Flags and environment that reach the test DC as its administrator (password via env only). */
export function dcArgs(): { args: string[]; env: NodeJS.ProcessEnv } {
  const dc = testDc();
  return {
    args: ['--domain', dc.domain, '--dcname', dc.dcHost, '--user', dc.adminUser, '--cafile', dc.caFile],
    env: cleanEnv({ ODJ_BIND_PASSWORD: dc.adminPassword }),
  };
}

/** A scratch folder (0700) for package files. */
export function scratch(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `odj-cli-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
