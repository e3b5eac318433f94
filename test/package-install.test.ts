// The package as a user gets it: `npm pack` from a copy of this checkout without dist/ (prepack
// builds), the tarball installed with @pulumi/pulumi into a Pulumi project outside the repository,
// examples/basic run from that project through its own dynamic-provider host against the test DC,
// the installed `odj` binary, the codec entry (`pulumi-offline-join/odj`) without ldapts or koffi,
// and the published types under both TypeScript module resolutions.
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInto, findRepoRoot } from '../examples/runner/engine';
import { testDc } from './support/dc';
import { accountBySam, deleteAccount } from './support/ldap';

const root = findRepoRoot();
const dc = testDc();
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
const installed = (name: string): string => (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

const work = mkdtempSync(join(tmpdir(), 'odj-p13-pack-'));
const source = join(work, 'checkout');
const project = join(work, 'project');
const runnerOut = join(root, 'dist', '.test-package-install');
const machine = `P13${process.pid.toString(36).toUpperCase().slice(-6)}`;
let tarball = '';
let packedFiles: string[] = [];

/** The environment of a user's shell: this Node first on PATH, no npm_* of the npm running us. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && !k.startsWith('ODJ_')));
  return { ...env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`, ...extra };
}

function run(cmd: string, args: string[], cwd: string, env = userEnv()): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 240_000 });
  if (r.error) throw r.error;
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return r.stdout;
}

beforeAll(() => {
  // A checkout as `git clone` leaves it (plus files not yet committed, nothing ignored): no dist/,
  // so the tarball holds only what prepack builds; node_modules borrowed, for the build's TypeScript.
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8' });
  for (const f of listed.split('\0').filter(Boolean)) {
    if (!existsSync(join(root, f))) continue; // deleted in the work tree, not yet committed
    mkdirSync(dirname(join(source, f)), { recursive: true });
    cpSync(join(root, f), join(source, f));
  }
  symlinkSync(join(root, 'node_modules'), join(source, 'node_modules'));
  const packDir = join(work, 'packed');
  mkdirSync(packDir);
  const packed = JSON.parse(ok(run('npm', ['pack', '--json', '--pack-destination', packDir], source), 'npm pack')) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(packDir, packed[0].filename);
  packedFiles = packed[0].files.map((f) => f.path).sort();

  // The user's project: examples/basic with the package from the tarball. The other dependencies
  // are pinned to what this checkout installed, so npm finds them in its cache.
  mkdirSync(project);
  for (const f of ['Pulumi.yaml', 'index.ts']) cpSync(join(root, 'examples', 'basic', f), join(project, f));
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'odj-p13-user-project',
      private: true,
      main: 'index.ts',
      dependencies: { '@pulumi/pulumi': installed('@pulumi/pulumi'), 'pulumi-offline-join': `file:${tarball}` },
      devDependencies: { '@types/node': installed('@types/node'), typescript: installed('typescript') },
    }),
  );
  ok(run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], project), 'npm install');
  rmSync(source, { recursive: true, force: true }); // nothing below may reach back into the copy
  rmSync(runnerOut, { recursive: true, force: true });
  buildInto(runnerOut);
}, 600_000);

afterAll(async () => {
  await deleteAccount(`${machine}$`).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
  rmSync(runnerOut, { recursive: true, force: true });
});

describe('the packed package installed into a Pulumi project', () => {
  it('ships the build, its types, the error reference and the changelog, and nothing of the tests', () => {
    for (const f of ['package.json', 'README.md', 'CHANGELOG.md', 'docs/errors.md', 'dist/provider/index.js', 'dist/provider/index.d.ts', 'dist/provider/cli.js', 'dist/provider/odj/index.js', 'dist/provider/odj/index.d.ts', 'dist/provider/resource-provider.js']) {
      expect(packedFiles).toContain(f);
    }
    const stray = packedFiles.filter((f) => !/^(package\.json|README\.md|CHANGELOG\.md|LICENSE|docs\/errors\.md|dist\/provider\/.+\.(js|d\.ts))$/.test(f));
    expect(stray).toEqual([]);
    expect(packedFiles.filter((f) => /test|\.map$|\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('the program, the dynamic-provider host and the lifecycle module all resolve inside the project', () => {
    const fromProject = createRequire(join(project, 'index.ts'));
    const pkgDir = join(project, 'node_modules', 'pulumi-offline-join');
    expect(fromProject.resolve('pulumi-offline-join')).toBe(join(pkgDir, 'dist', 'provider', 'index.js'));
    // resource.ts's fallback id, as the host (the project's @pulumi/pulumi) resolves it for a
    // state whose absolute path is gone; `exports` must keep it reachable.
    const fromHost = createRequire(fromProject.resolve('@pulumi/pulumi/cmd/dynamic-provider/index.js'));
    expect(fromHost.resolve('pulumi-offline-join/dist/provider/resource-provider.js')).toBe(join(pkgDir, 'dist', 'provider', 'resource-provider.js'));
    expect(fromProject.resolve('@pulumi/pulumi/cmd/dynamic-provider/index.js').startsWith(join(project, 'node_modules'))).toBe(true);
  });

  it('examples/basic runs from the project against the DC: account created, package issued, account deleted', async () => {
    const r = run(process.execPath, [join(runnerOut, 'examples', 'runner', 'run-example.js')], project, {
      ...userEnv(),
      ODJ_RUNNER_PROJECT: project,
      ODJ_TESTDC_ENV: process.env.ODJ_TESTDC_ENV!,
      ODJ_EXAMPLE_MACHINE: machine,
    });
    const unattend = /unattend\.xml \(.*\): (\S+)/.exec(r.stdout)?.[1];
    try {
      ok(r, 'run-example');
      expect(r.stdout).toContain(`samAccountName: ${machine}$`);
      expect(r.stdout).toMatch(/distinguishedName: CN=P13\w+,CN=Computers,DC=/);
      expect(r.stdout).toContain('stack outputs marked secret: packageText');
      expect(r.stdout).toContain(`deleted ${machine}$ again`);
      expect(r.stdout).not.toContain(dc.adminPassword);

      // The package the installed provider issued, read back by the installed CLI and codec.
      const xml = readFileSync(unattend!, 'utf8');
      const packageText = /<AccountData>([^<]+)<\/AccountData>/.exec(xml)![1];
      const file = join(work, 'web01.txt');
      writeFileSync(file, packageText, { mode: 0o600 });
      const odj = join(project, 'node_modules', '.bin', 'odj');
      expect(ok(run(odj, ['--version'], project), 'odj --version').trim()).toBe(`odj ${version}`);
      const view = JSON.parse(ok(run(odj, ['inspect', '--json', file], project), 'odj inspect')) as Record<string, unknown>;
      expect(view.machineName).toBe(machine);
      expect(String(view.domain).toLowerCase()).toBe(dc.domain.toLowerCase());
      expect(JSON.stringify(view)).not.toContain(packageText.slice(0, 40));

      const probe = `
        const odj = require('pulumi-offline-join/odj');
        const loaded = () => Object.keys(require.cache).filter((f) => /[\\\\/]node_modules[\\\\/](ldapts|koffi)[\\\\/]/.test(f)).length;
        const view = odj.redactPackage(odj.parsePackage(require('node:fs').readFileSync(process.argv[1], 'utf8')));
        const codecOnly = loaded();
        require('pulumi-offline-join');
        console.log(JSON.stringify({ from: require.resolve('pulumi-offline-join/odj'), machineName: view.machineName, codecOnly, withRoot: loaded() }));`;
      const seen = JSON.parse(ok(run(process.execPath, ['-e', probe, file], project), 'require odj')) as Record<string, unknown>;
      expect(seen).toMatchObject({ from: join(project, 'node_modules', 'pulumi-offline-join', 'dist', 'provider', 'odj', 'index.js'), machineName: machine, codecOnly: 0 });
      // The check can see them: the package root loads ldapts.
      expect(seen.withRoot).toBeGreaterThan(0);

      expect(await accountBySam(`${machine}$`)).toBeNull();
    } finally {
      if (unattend) rmSync(dirname(unattend), { recursive: true, force: true });
    }
  });

  it('the published types check in the project under node10 and nodenext resolution', () => {
    // What the user's editor and ts-node see: the program and the codec entry, typed from the tarball.
    writeFileSync(join(project, 'codec.ts'), "import { parsePackage, type PackageView } from 'pulumi-offline-join/odj';\nexport const read: (t: string) => unknown = parsePackage;\nexport type V = PackageView;\n");
    const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
    const common = ['--noEmit', '--strict', '--esModuleInterop', '--skipLibCheck', '--types', 'node', 'index.ts', 'codec.ts'];
    ok(run(process.execPath, [tsc, ...common, '--module', 'commonjs', '--moduleResolution', 'node10'], project), 'tsc (node10)');
    ok(run(process.execPath, [tsc, ...common, '--module', 'nodenext', '--moduleResolution', 'nodenext'], project), 'tsc (nodenext)');
  });
});
