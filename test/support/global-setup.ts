// Starts the disposable Samba AD DC (scripts/testdc.sh) unless one is named by ODJ_TESTDC_ENV,
// and stops it afterwards only if this run started it.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const script = resolve(__dirname, '../../scripts/testdc.sh');
let startedHere = false;

export function setup(): void {
  const named = process.env.ODJ_TESTDC_ENV;
  if (named) {
    if (!existsSync(named)) throw new Error(`ODJ_TESTDC_ENV names ${named}, which does not exist`);
    return;
  }
  let running = false;
  try {
    execFileSync('bash', [script, 'status'], { stdio: 'ignore' });
    running = true;
  } catch {
    running = false;
  }
  const envFile = execFileSync('bash', [script, 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  startedHere = !running;
  process.env.ODJ_TESTDC_ENV = envFile;
}

export function teardown(): void {
  if (startedHere && process.env.ODJ_TESTDC_KEEP !== '1') {
    execFileSync('bash', [script, 'stop'], { stdio: 'inherit' });
  }
}
