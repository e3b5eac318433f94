// The one place that decides what is secret and how a secret looks when something prints it.
// A machine password, a package (bytes or text), a bind password and a PFX (bytes or password)
// are as good as a credential: Microsoft documents the ODJ package as sensitive as a password.
// Wrapped in Secret they print as a redaction through String(), template literals, JSON.stringify
// and util.inspect (console.log, vitest diffs, Pulumi's logs); only reveal() gives the value.
import { mkdtempSync, openSync, closeSync, writeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { REDACTED, withRedactedFace } from './odj/redaction';

/** The kinds of secret this project handles, by the names fields carry in params, results and state. */
export const SECRET_KINDS = ['machinePassword', 'packageText', 'packageBinary', 'bindPassword', 'pfx', 'pfxPassword'] as const;
export type SecretKind = (typeof SECRET_KINDS)[number];

const secretFieldNames = new Set<string>(SECRET_KINDS);

/** True for an object key that holds a secret (`bindPassword`, `packageText`, …). */
export function isSecretField(name: string): boolean {
  return secretFieldNames.has(name);
}

export { REDACTED };

const values = new WeakMap<Secret<SecretValue>, SecretValue>();
type SecretValue = string | Uint8Array;

/** A secret value that never prints itself. The value lives outside the object (a WeakMap), so
 *  even a structured clone, Object.assign or a deep inspect of the wrapper carries no copy of it. */
export class Secret<T extends SecretValue = string> {
  constructor(
    value: T,
    readonly kind: SecretKind,
  ) {
    values.set(this, value);
    Object.freeze(this);
  }

  /** The value itself: call it only where the value must go (the wire, the package encoder). */
  reveal(): T {
    return values.get(this) as T;
  }

  toString(): string {
    return `<redacted ${this.kind}>`;
  }

  toJSON(): string {
    return this.toString();
  }

  [Symbol.toPrimitive](): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return `Secret(${this.kind}) ${REDACTED}`;
  }
}

export function secret<T extends SecretValue>(value: T, kind: SecretKind): Secret<T> {
  return new Secret(value, kind);
}

/** The text of a secret as it may appear in a message (strings as is, bytes as base64 and hex). */
function forms(s: Secret<SecretValue> | SecretValue | undefined | null): string[] {
  const v = s instanceof Secret ? s.reveal() : s;
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return [v];
  const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return [b.toString('base64'), b.toString('hex')];
}

/** Remove every occurrence of each secret from a text. Values shorter than 4 characters are not
 *  searched for (they would blank out ordinary words); no secret of ours is that short. */
export function redactText(text: string, secrets: readonly (Secret<SecretValue> | SecretValue | undefined | null)[]): string {
  let out = text;
  for (const s of secrets) {
    for (const f of forms(s)) if (f.length >= 4) out = out.split(f).join(REDACTED);
  }
  return out;
}

/** A copy of a plain object/array tree with every secret field (see SECRET_KINDS) and every Secret
 *  replaced by a redaction: for logs, error details and snapshots of params, results or state. */
export function redactObject<T>(value: T, depth = 0): T {
  if (depth > 32) return REDACTED as T;
  if (value instanceof Secret) return value.toString() as T;
  if (Array.isArray(value)) return value.map((v) => redactObject(v, depth + 1)) as T;
  if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = isSecretField(k) && v !== undefined && v !== null ? REDACTED : redactObject(v, depth + 1);
    return out as T;
  }
  return value;
}

/** Give a result object holding secrets in plain fields (ProvisionResult.packageText must stay a
 *  string for Pulumi) a redacted face: util.inspect, console.log, JSON.stringify and test-runner
 *  diffs show redactObject's copy. Reading the fields directly still gives the values. */
export function withRedactedView<T extends object>(obj: T): T {
  return withRedactedFace(obj, () => redactObject({ ...obj }));
}

/**
 * Write a secret to a fresh file only this user can read (directory 0700, file 0600, created
 * exclusively), run `fn` with its path, and remove both on every path. For tools that take a
 * package or PFX only as a file.
 */
export async function withSecretFile<R>(content: Secret<SecretValue>, name: string, fn: (path: string) => Promise<R>): Promise<R> {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new Error('withSecretFile: the file name must be 1-64 letters, digits, dots, dashes or underscores');
  const dir = mkdtempSync(join(tmpdir(), 'odj-secret-'));
  const path = join(dir, name);
  try {
    const fd = openSync(path, 'wx', 0o600);
    try {
      const v = content.reveal();
      writeSync(fd, typeof v === 'string' ? Buffer.from(v, 'utf8') : v);
    } finally {
      closeSync(fd);
    }
    return await fn(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
