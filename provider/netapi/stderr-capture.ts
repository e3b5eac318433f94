// Samba's libraries print diagnostics straight to file descriptors 1 and 2 (printf for some, the
// debug system for others; libnetapi_set_logfile only takes effect after a log reopen that
// libnetapi never does). Around each native call the Samba flavour points both at a private file:
// the caller's stdout/stderr stay clean (a CLI's output, a Pulumi plugin's protocol), and the
// NTSTATUS that libnetapi prints but does not return (why it could not open IPC$) can be read.
// POSIX only; the calls are synchronous, so no JavaScript output interleaves.
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openLibrary } from './library';
import type { KoffiModule } from './koffi';
import { WindowsCodes } from '../errors';

/** Runs fn with fds 1 and 2 going to the session's private file; returns fn's result and what was
 *  written there since the previous call. */
export type StderrCapture = <T>(fn: () => T) => { value: T; text: string };

/** One file per session, read from where the previous call stopped. */
export function stderrCapture(koffi: KoffiModule, dir: string): StderrCapture {
  const libc = openLibrary(koffi, 'libc.so.6', 'the C library');
  const dup = libc.func('int dup(int fd)');
  const dup2 = libc.func('int dup2(int oldfd, int newfd)');
  const close = libc.func('int close(int fd)');
  const file = join(dir, 'stderr.log');
  closeSync(openSync(file, 'w', 0o600));
  let seen = 0;

  return <T>(fn: () => T): { value: T; text: string } => {
    const fd = openSync(file, 'a');
    const saved = [1, 2].map((target) => ({ target, copy: dup(target) as number }));
    let value: T;
    try {
      for (const s of saved) if (s.copy >= 0) dup2(fd, s.target);
      value = fn();
    } finally {
      for (const s of saved) {
        if (s.copy >= 0) {
          dup2(s.copy, s.target);
          close(s.copy);
        }
      }
      closeSync(fd);
    }
    const all = readFileSync(file);
    const text = all.subarray(seen).toString('utf8');
    seen = all.length;
    return { value, text };
  };
}

/** NTSTATUS names libnetapi prints for a failed connection, to the Windows results they stand for. */
const ntStatusToWin32: Record<string, number> = {
  NT_STATUS_LOGON_FAILURE: WindowsCodes.ERROR_LOGON_FAILURE,
  NT_STATUS_WRONG_PASSWORD: WindowsCodes.ERROR_LOGON_FAILURE,
  NT_STATUS_NO_SUCH_USER: WindowsCodes.ERROR_LOGON_FAILURE,
  NT_STATUS_ACCESS_DENIED: WindowsCodes.ERROR_ACCESS_DENIED,
  NT_STATUS_ACCOUNT_DISABLED: WindowsCodes.ERROR_ACCOUNT_DISABLED,
  NT_STATUS_ACCOUNT_LOCKED_OUT: WindowsCodes.ERROR_ACCOUNT_LOCKED_OUT,
  NT_STATUS_PASSWORD_EXPIRED: WindowsCodes.ERROR_PASSWORD_EXPIRED,
  NT_STATUS_PASSWORD_MUST_CHANGE: WindowsCodes.ERROR_PASSWORD_MUST_CHANGE,
};

/** The last known NTSTATUS in the captured text, as a Windows result; null when none is known. */
export function win32FromCaptured(text: string): number | null {
  const names = text.match(/NT_STATUS_[A-Z_]+/g) ?? [];
  for (const name of names.reverse()) if (ntStatusToWin32[name] !== undefined) return ntStatusToWin32[name];
  return null;
}
