// Files and streams for the CLI: input from a file or stdin, and secret output written owner-only,
// never over an existing file.
import { accessSync, closeSync, constants, existsSync, fchmodSync, lstatSync, mkdirSync, openSync, statSync, statfsSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputTooLargeError, readFileBounded, readStreamBounded } from '../bounded-read';
import { UsageError } from './usage';

/** Stdin's bytes, at most `limit` (bounded-read.ts). */
function readStdin(limit: number): Promise<Buffer> {
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

/** Kernel pseudo filesystems (statfs f_type) where no package file can be written: proc, sysfs,
 *  cgroup, cgroup2, debugfs, securityfs, devpts. */
const PSEUDO_FS: Record<number, string> = { 0x9fa0: 'proc', 0x62656572: 'sysfs', 0x27e0eb: 'cgroup', 0x63677270: 'cgroup2', 0x64626720: 'debugfs', 0x73636673: 'securityfs', 0x1cd1: 'devpts' };

const why = (e: unknown): string => (e as NodeJS.ErrnoException)?.code ?? 'error';

/** A usage error unless `dir` is a directory we can write in, on a real filesystem. */
function checkWritableDir(dir: string, what: string, command: string): void {
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    throw new UsageError(`${what}: cannot write in ${dir} (${why(e)})`, command);
  }
  if (!st.isDirectory()) throw new UsageError(`${what}: ${dir} is not a directory`, command);
  const fs = (() => {
    try {
      return PSEUDO_FS[statfsSync(dir).type];
    } catch {
      return undefined;
    }
  })();
  if (fs) throw new UsageError(`${what}: ${dir} is on the kernel's ${fs} filesystem, where no file can be saved; choose a folder on a disk`, command);
  try {
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new UsageError(`${what}: cannot write in ${dir} (${why(e)})`, command);
  }
}

/** Refuse early (before any account is made) to write where a file (or a link, even a dangling
 *  one) already is, or into a folder that is missing, read-only or not on a disk: a package that
 *  cannot be saved would leave an account behind. */
export function assertAbsent(path: string, flag: string, command: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if (why(e) !== 'ENOENT') throw new UsageError(`${flag} ${path} cannot be used (${why(e)})`, command);
  }
  if (st?.isSymbolicLink()) {
    const dangling = !existsSync(path);
    throw new UsageError(`${flag} ${path} is a symbolic link${dangling ? ' to a file that does not exist' : ''}; links are not followed or replaced: name a new file`, command);
  }
  if (st) throw new UsageError(`${flag} ${path} already exists; it is not overwritten`, command);
  checkWritableDir(dirname(path), `${flag} ${path}`, command);
}

/** Create the folder (and missing parents, 0700) for package files, one level at a time: every
 *  failure is a usage error naming the folder, and no path (e.g. under /proc) can make it spin. */
export function makeOutputDir(dir: string, flag: string, command: string): void {
  const missing: string[] = [];
  let cur = resolve(dir);
  for (;;) {
    let st;
    try {
      st = statSync(cur);
    } catch (e) {
      if (why(e) !== 'ENOENT') throw new UsageError(`${flag} ${dir}: ${cur} cannot be used (${why(e)})`, command);
    }
    if (st) break;
    missing.unshift(cur);
    const up = dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  checkWritableDir(cur, `${flag} ${dir}`, command);
  for (const d of missing) {
    try {
      mkdirSync(d, { mode: 0o700 });
    } catch (e) {
      throw new UsageError(`${flag} ${dir}: cannot create ${d} (${why(e)})`, command);
    }
  }
  checkWritableDir(resolve(dir), flag, command);
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
