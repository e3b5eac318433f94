// The examples doing their job against the test DC: examples/unattend run as a Pulumi program
// (SDK mock monitor as the engine's front, the real dynamic-provider host behind it) writes an
// unattend.xml whose AccountData joins; `npm run example`'s runner prints facts, never a secret.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInto, findRepoRoot, runProgram, startHost, type ProviderHost } from '../examples/runner/engine';
import { testDc } from './support/dc';
import { accountBySam, deleteAccount } from './support/ldap';
import { requestOdjAndTestJoin } from './support/peers';

const root = findRepoRoot();
const outDir = join(root, 'dist', '.test-resource-examples');
const dc = testDc();
const names: string[] = [];
/** Folders holding an unattend.xml (a package): removed in afterAll whatever the tests did. */
const dirs: string[] = [];
let main = '';
let host: ProviderHost | undefined;

beforeAll(() => {
  rmSync(outDir, { recursive: true, force: true });
  main = buildInto(outDir);
});

afterAll(async () => {
  host?.stop();
  for (const n of names) await deleteAccount(`${n}$`).catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** AccountData and the component's architecture, read by Python's XML parser. */
function accountData(xml: string): { arch: string[]; data: string[] } {
  const script = `
import json, sys, xml.etree.ElementTree as ET
N = '{urn:schemas-microsoft-com:unattend}'
root = ET.fromstring(sys.stdin.buffer.read())
cs = root.findall(N + "settings[@pass='offlineServicing']/" + N + "component[@name='Microsoft-Windows-UnattendedJoin']")
print(json.dumps({'arch': [c.get('processorArchitecture') for c in cs],
  'data': [c.find(N + 'OfflineIdentification/' + N + 'Provisioning/' + N + 'AccountData').text for c in cs]}))
`;
  return JSON.parse(execFileSync('python3', ['-c', script], { input: xml, encoding: 'utf8' })) as { arch: string[]; data: string[] };
}

describe('examples against the test DC', () => {
  it('examples/unattend writes an unattend.xml whose AccountData joins', async () => {
    const name = `UX${process.pid.toString(36).toUpperCase().slice(-5)}`;
    names.push(name);
    const file = join(mkdtempSync(join(tmpdir(), 'odj-unattend-')), 'unattend.xml');
    dirs.push(dirname(file));
    const config = {
      'odj-unattend:domain': dc.domain,
      'odj-unattend:machineName': name,
      'odj-unattend:unattendFile': file,
      'odj-unattend:architectures': '["amd64","arm64"]',
      'odj:ldapUrl': dc.ldapUrl,
      'odj:bindUser': dc.adminUser,
      'odj:bindPassword': dc.adminPassword,
      'odj:caFile': dc.caFile,
    };
    host = await startHost({ cwd: join(root, 'examples', 'unattend') });
    await host.configure(config);
    const run = await runProgram(join(root, 'examples', 'unattend', 'index.ts'), { config, secretKeys: ['odj:bindPassword'], project: 'odj-unattend', preview: false, host, packageMain: main });
    const res = run.resources[0];
    expect(res.outputs?.samAccountName).toBe(`${name}$`);
    expect((await accountBySam(`${name}$`))?.guid).toBe(res.id);
    expect(run.exports.unattendFile.value).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const parsed = accountData(readFileSync(file, 'utf8'));
    expect(parsed.arch).toEqual(['amd64', 'arm64']);
    expect(parsed.data).toEqual([res.outputs?.packageText, res.outputs?.packageText]);
    const joined = await requestOdjAndTestJoin(parsed.data[0], name);
    expect(joined.joined, joined.output).toBe(true);
    expect(host.stderr).not.toContain(dc.adminPassword);
    rmSync(dirname(file), { recursive: true, force: true });
  });

  it('the npm run example runner provisions, prints facts and no secret, writes unattend.xml and cleans up', async () => {
    const name = `RX${process.pid.toString(36).toUpperCase().slice(-5)}`;
    names.push(name);
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(outDir, 'examples', 'runner', 'run-example.js')], {
      env: { ...process.env, ODJ_EXAMPLE_MACHINE: name },
      encoding: 'utf8',
    });
    const all = stdout + stderr;
    const xmlPath = /unattend\.xml .*: (\S+unattend\.xml)$/m.exec(stdout)?.[1];
    if (xmlPath) dirs.push(dirname(xmlPath)); // before any expectation can fail
    expect(stdout).toContain(`samAccountName: ${name}$`);
    expect(stdout).toContain('password <redacted>');
    expect(stdout).toContain('stack outputs marked secret: packageText');
    expect(xmlPath).toBeDefined();
    const pkg = accountData(readFileSync(xmlPath!, 'utf8')).data[0];
    rmSync(dirname(xmlPath!), { recursive: true, force: true }); // it holds a (now dead) package
    expect(pkg.length).toBeGreaterThan(1000);
    expect(all).not.toContain(pkg.slice(0, 64));
    expect(all).not.toContain(dc.adminPassword);
    // The runner destroys what it created.
    expect(await accountBySam(`${name}$`)).toBeNull();
  });
});
