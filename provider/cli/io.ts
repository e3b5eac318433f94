// Files and streams for the CLI: input from a file or stdin, and secret output written owner-only,
// never over an existing file.
import { accessSync, closeSync, constants, existsSync, fchmodSync, openSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputTooLargeError, readFileBounded, readStreamBounded } from '../bounded-read';
import { UsageError } from './usage';

/** Stdin's bytes, at most `limit` (bounded-read.ts). */
export function readStdin(limit: number): Promise<Buffer> {
  return readStreamBounded(process.stdin, limit);
}

/** A file's bytes, or stdin's for `-`, at most `limit` of them: more is a usage error that says
 *  what the file should be (`what`: "a package file", "the password file", …). */
export async function readInput(path: string, command: string, limit: number, what = 'the input'): Promise<Buffer> {
  if (path !== '-') return readFileInput(path, command, limit, what);
  return readStdin(limit).catch((e: unknown) => {
    throw inputError(e, path, command, limit, what);
  });
}

/** readInput for a file (not stdin), synchronously. */
export function readFileInput(path: string, command: string, limit: number, what = 'the input'): Buffer {
  try {
    return readFileBounded(path, limit);
  } catch (e) {
    throw inputError(e, path, command, limit, what);
  }
}

function inputError(e: unknown, path: string, command: string, limit: number, what: string): UsageError {
  if (e instanceof InputTooLargeError) {
    return new UsageError(`${path === '-' ? 'stdin' : path} holds more than ${limit} bytes, more than ${what} can be; is it the right file?`, command);
  }
  const code = (e as NodeJS.ErrnoException).code ?? 'error';
  // "cannot read the CA file X" names the flag's file; a positional FILE needs no label.
  return new UsageError(`cannot read ${what.startsWith('the ') ? `${what} ` : ''}${path} (${code}${code === 'EISDIR' ? ': it is a directory' : ''})`, command);
}

/** Refuse early (before any account is made) to write where a file already is, or into a folder
 *  that is missing or read-only: a package that cannot be saved would leave an account behind. */
export function assertAbsent(path: string, flag: string, command: string): void {
  if (existsSync(path)) throw new UsageError(`${flag} ${path} already exists; it is not overwritten`, command);
  const dir = dirname(path);
  try {
    if (!statSync(dir).isDirectory()) throw new UsageError(`${flag} ${path}: ${dir} is not a directory`, command);
    accessSync(dir, constants.W_OK);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${flag} ${path}: cannot write in ${dir} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, command);
  }
}

/** Create `path` with mode 0600 (exclusive: an existing file is an error) and write `data`. */
export function writeSecretFile(path: string, data: Uint8Array | string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    fchmodSync(fd, 0o600); // whatever the umask
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
  } finally {
    closeSync(fd);
  }
}
