// Starts the disposable Samba AD DC (scripts/testdc.sh) unless one is named by ODJ_TESTDC_ENV,
// and stops it afterwards only if this run started it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stopExtraDcs } from './multi-dc';

const script = resolve(__dirname, '../../scripts/testdc.sh');
let startedHere = false;

function exitCode(e: unknown): string {
  const status = (e as { status?: number | null }).status;
  return status === undefined || status === null ? 'killed' : `exit ${status}`;
}

export function setup(): void {
  // Where this run notes the extra DCs it starts (test/support/multi-dc.ts), for the teardown.
  process.env.ODJ_TEST_RUN_DIR = mkdtempSync(join(tmpdir(), 'odj-test-run-'));
  const named = process.env.ODJ_TESTDC_ENV;
  if (named) {
    if (!existsSync(named)) throw new Error(`ODJ_TESTDC_ENV names ${named}, which does not exist`);
    useDcKerberos(named);
    return;
  }
  let running = false;
  try {
    execFileSync('bash', [script, 'status'], { stdio: 'ignore' });
    running = true;
  } catch {
    running = false;
  }
  let envFile: string;
  try {
    // The script's messages go straight to the terminal; only the env file's path comes back.
    envFile = execFileSync('bash', [script, 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  } catch (e) {
    throw new Error(
      `The test domain controller did not start (scripts/testdc.sh start: ${exitCode(e)}); its messages are above. ` +
        'It needs root (to install Debian\'s samba packages and add the DC to /etc/hosts) and free loopback ports ' +
        '88/389/636; or name a running one with ODJ_TESTDC_ENV=<env file>.',
    );
  }
  if (!envFile || !existsSync(envFile)) throw new Error(`scripts/testdc.sh start printed no env file (got "${envFile}")`);
  startedHere = !running;
  // Test workers are forked after global setup and inherit this environment.
  process.env.ODJ_TESTDC_ENV = envFile;
  useDcKerberos(envFile);
}

/** Every Kerberos client the tests run (kinit, net, samba-tool) uses the DC's krb5.conf, which names
 *  the KDC by its loopback address: the system one would look it up in DNS, off loopback. */
function useDcKerberos(envFile: string): void {
  const m = /^ODJ_TEST_KRB5_CONFIG=(.*)$/m.exec(readFileSync(envFile, 'utf8'));
  if (!m || !existsSync(m[1])) throw new Error(`${envFile} names no krb5.conf (ODJ_TEST_KRB5_CONFIG); restart the DC with scripts/testdc.sh`);
  process.env.KRB5_CONFIG = m[1];
}

export function teardown(): void {
  // The replica and RODC, when a test file of this run started them: before the first DC, whose
  // directory and DNS they leave.
  const runDir = process.env.ODJ_TEST_RUN_DIR;
  if (runDir) {
    if (process.env.ODJ_TESTDC_KEEP !== '1') stopExtraDcs(runDir);
    rmSync(runDir, { recursive: true, force: true });
  }
  if (startedHere && process.env.ODJ_TESTDC_KEEP !== '1') {
    execFileSync('bash', [script, 'stop'], { stdio: 'inherit' });
  }
}
