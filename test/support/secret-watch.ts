// Runs in every test file (vitest setupFiles): whatever the file prints — console.*, and direct
// writes to process.stdout/stderr — is kept, and after the file's own hooks it is searched for
// secrets: the test DC's admin password, and ODJ packages (any long base64 run that parses as a
// package carrying a real machine password, or that password itself). A secret in test output
// fails the file, naming the kind of secret, never the secret.
import { readFileSync } from 'node:fs';
import { format } from 'node:util';
import { afterAll } from 'vitest';
import { parsePackage } from '../../provider/odj';

const printed: string[] = [];
const consoleMethods = ['log', 'info', 'warn', 'error', 'debug', 'trace', 'dir'] as const;
const originals = new Map<string, unknown>();

for (const m of consoleMethods) {
  const orig = console[m] as (...args: unknown[]) => void;
  originals.set(m, orig);
  console[m] = ((...args: unknown[]) => {
    printed.push(format(...args));
    orig.apply(console, args);
  }) as (typeof console)[typeof m];
}
for (const stream of [process.stdout, process.stderr]) {
  const orig = stream.write.bind(stream);
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    printed.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return (orig as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof stream.write;
}

function adminPassword(): string | undefined {
  const file = process.env.ODJ_TESTDC_ENV;
  if (!file) return undefined;
  try {
    return /^ODJ_TEST_ADMIN_PASSWORD=(.+)$/m.exec(readFileSync(file, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** The kinds of secret found in a text (for the failure message). */
export function secretsIn(text: string, password = adminPassword()): string[] {
  const found: string[] = [];
  if (password && password.length >= 8 && text.includes(password)) found.push('the test DC admin password');
  for (const m of text.matchAll(/[A-Za-z0-9+/]{300,}={0,2}/g)) {
    try {
      const { machinePassword, machineName } = parsePackage(m[0]).facts;
      // NETSETUP_PROVISION_USE_DEFAULT_PASSWORD packages carry the machine name: not a secret.
      if (machinePassword !== machineName.toLowerCase()) found.push(`an ODJ package for ${machineName}`);
    } catch {
      // not a package
    }
  }
  return found;
}

afterAll(() => {
  const text = printed.join('\n');
  printed.length = 0;
  const hits = secretsIn(text);
  if (hits.length > 0) throw new Error(`secret in test output: ${[...new Set(hits)].join(', ')}`);
});
