// Files and streams for the CLI: input from a file or stdin, and secret output written owner-only,
// never over an existing file.
import { accessSync, closeSync, constants, existsSync, fchmodSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from './usage';

/** All of stdin, as bytes. */
export function readStdin(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks)));
    process.stdin.on('error', reject);
  });
}

/** A file's bytes, or stdin's for `-`. */
export async function readInput(path: string, command: string): Promise<Buffer> {
  if (path === '-') return readStdin();
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, command);
  }
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
