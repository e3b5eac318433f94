// `npm run example`: the basic example's main job on a machine without the Pulumi CLI.
// Starts (or reuses) the disposable local DC, runs examples/basic/index.ts as a Pulumi program
// whose resource is checked and created by @pulumi/pulumi's real dynamic-provider host (the code
// the engine would call), prints the account facts and a redacted package summary, writes
// unattend.xml, then deletes the account again (`--keep` keeps it). The package text and the
// bind password are never printed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { findRepoRoot, installedProject, packageMainPath, runProgram, startHost } from './engine';

const repoRoot = findRepoRoot();

function dcEnv(): Record<string, string> {
  let file = process.env.ODJ_TESTDC_ENV;
  if (!file) {
    // Starts the DC when none answers (installs Samba on first use); prints its env file's path.
    file = execFileSync('bash', [path.join(repoRoot, 'scripts', 'testdc.sh'), 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  }
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return env;
}

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');
  const dc = dcEnv();
  const machineName = process.env.ODJ_EXAMPLE_MACHINE ?? `EX${process.pid.toString(36).toUpperCase().slice(-6)}`;
  // A project that installed the package holds its own copy of examples/basic (the pack-and-install test).
  const programDir = installedProject ?? path.join(repoRoot, 'examples', 'basic');
  // Stack config as `pulumi config set` would hold it; the bind password is a secret key.
  const config: Record<string, string> = {
    'odj-basic:domain': dc.ODJ_TEST_DOMAIN,
    'odj-basic:machineName': machineName,
    'odj:ldapUrl': dc.ODJ_TEST_LDAP_URL,
    'odj:bindUser': dc.ODJ_TEST_ADMIN_USER,
    'odj:bindPassword': dc.ODJ_TEST_ADMIN_PASSWORD,
    'odj:caFile': dc.ODJ_TEST_CA_FILE,
  };
  const host = await startHost({ cwd: programDir });
  try {
    await host.configure(config);
    console.log(`examples/basic through the dynamic-provider host (an engine stand-in, not the Pulumi CLI): creating OfflineJoinPackage "web01" as ${machineName} in ${dc.ODJ_TEST_DOMAIN}`);
    const run = await runProgram(path.join(programDir, 'index.ts'), { config, secretKeys: ['odj:bindPassword'], project: 'odj-basic', preview: false, host });
    const res = run.resources.find((r) => r.type.endsWith(':OfflineJoinPackage'));
    if (!res?.id || !res.outputs) throw new Error('the example registered no OfflineJoinPackage');
    const out = res.outputs;
    console.log('account:');
    for (const k of ['distinguishedName', 'objectGuid', 'objectSid', 'rid', 'samAccountName']) console.log(`  ${k}: ${String(out[k])}`);
    const secrets = Object.entries(run.exports).filter(([, v]) => v.secret).map(([k]) => k);
    console.log(`stack outputs marked secret: ${secrets.join(', ') || '(none)'}`);

    // The built package API (what `odj inspect` shows): the package decoded, its password redacted.
    const api = require(packageMainPath()) as typeof import('../../provider/index');
    const packageText = String(out.packageText);
    const view = api.redactPackage(api.parsePackage(packageText));
    console.log('package (redacted):');
    console.log(`  ${packageText.length} characters of base64; domain ${view.domain}, machine ${view.machineName}, password ${view.machinePassword}`);
    console.log(`  account SID ${view.accountSid}, RID ${view.rid}, options 0x${view.options.toString(16)}, DC ${view.dc.name} (${view.dc.address})`);
    console.log(`  domain ${view.domainInfo.name} / ${view.domainInfo.dnsDomainName}, forest ${view.domainInfo.dnsForestName}, SID ${view.domainInfo.sid}`);

    const dir = mkdtempSync(path.join(tmpdir(), 'odj-example-'));
    const file = path.join(dir, 'unattend.xml');
    writeFileSync(file, api.renderUnattendXml(packageText, { architecture: 'amd64' }), { mode: 0o600 });
    console.log(`unattend.xml (offlineServicing, amd64; holds the package, mode 0600): ${file}`);

    if (keep) {
      console.log(`kept ${out.samAccountName as string} in the directory (--keep)`);
    } else {
      await host.delete(res.name, res.id, out);
      console.log(`delete through the provider: deleted ${out.samAccountName as string} again (pass --keep to keep it; the unattend.xml then stays usable)`);
    }
  } finally {
    host.stop();
  }
}

main().catch((e: unknown) => {
  // Provider errors carry Windows codes and never a secret.
  console.error(`example failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
