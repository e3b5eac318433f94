// Runs in every test file (vitest setupFiles): whatever the file prints — console.*, and direct
// writes to process.stdout/stderr — is kept, and after the file's own hooks it is searched for
// secrets: the test DC's admin password, and ODJ packages (any long base64 run that parses as a
// package carrying a real machine password, or that password itself), and Kerberos material: the
// bytes a test registers (keys of a keytab, a ticket cache) in hex or base64, and any base64 or
// hex run that holds a keytab, a ticket cache or a Kerberos GSS token (which carries a ticket).
// A secret in test output fails the file, naming the kind of secret, never the secret.
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

const watchedBytes: { kind: string; forms: string[] }[] = [];

/** Key-like: many distinct byte values and not mostly printable text. Runs of zeros, lengths and
 *  names (a ticket cache holds those too) also occur in harmless output and prove nothing. */
function keyLike(b: Buffer): boolean {
  const printable = [...b].filter((x) => x >= 0x20 && x < 0x7f).length;
  return new Set(b).size >= Math.min(12, b.length - 2) && printable < b.length * 0.75;
}

/** The hex and base64 forms of these bytes that a leak of 16 or more of them in a row would show. */
export function secretForms(bytes: Buffer): string[] {
  const forms = new Set<string>();
  for (let i = 0; i < bytes.length; i += 16) {
    const w = bytes.subarray(i, Math.min(i + 16, bytes.length));
    if (w.length >= 8 && keyLike(w)) forms.add(w.toString('hex')).add(w.toString('hex').toUpperCase());
    // base64 depends on where the leak starts modulo 3: one of these three lines up with it.
    for (let o = 0; o < 3; o++) {
      const b = bytes.subarray(i + o, i + o + 18);
      if (b.length === 18 && keyLike(b)) forms.add(b.toString('base64'));
    }
  }
  return [...forms];
}

/** Watch for these bytes (or any 16 of them in a row) printed as hex or base64. */
export function watchSecretBytes(kind: string, bytes: Buffer): void {
  watchedBytes.push({ kind, forms: secretForms(bytes) });
}

// The Kerberos V5 mechanism OID as DER (in every GSS token of the mechanism), and the file headers
// of an MIT keytab (0x0502) and ticket cache (0x0503, 0x0504).
const KRB5_MECH_DER = Buffer.from('06092a864886f712010202', 'hex');
function isKerberosMaterial(b: Buffer): boolean {
  if (b.length < 32) return false;
  const head = b.readUInt16BE(0);
  return head === 0x0502 || head === 0x0503 || head === 0x0504 || b.includes(KRB5_MECH_DER);
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
  for (const w of watchedBytes) if (w.forms.some((f) => text.includes(f))) found.push(w.kind);
  for (const m of text.matchAll(/[A-Za-z0-9+/]{60,}={0,2}|(?:[0-9a-fA-F]{2}){40,}/g)) {
    const hex = /^(?:[0-9a-fA-F]{2})+$/.test(m[0]);
    if (isKerberosMaterial(Buffer.from(m[0], hex ? 'hex' : 'base64'))) found.push('Kerberos credentials (a keytab, a ticket cache or a GSS token)');
  }
  return found;
}

afterAll(() => {
  const text = printed.join('\n');
  printed.length = 0;
  const hits = secretsIn(text);
  if (hits.length > 0) throw new Error(`secret in test output: ${[...new Set(hits)].join(', ')}`);
});
