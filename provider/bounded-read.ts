// The one way files and streams are read: never more than limit + 1 bytes, so an endless input
// (/dev/zero, a pipe that never ends) or a huge one (a disk image given by mistake) fails after
// a few MB and milliseconds instead of filling memory before any size check can run.
import { closeSync, constants, openSync, readSync } from 'node:fs';

/** More than `limit` bytes were there; nothing beyond limit + 1 was read. */
export class InputTooLargeError extends Error {
  override readonly name = 'InputTooLargeError';
  constructor(
    readonly limit: number,
    readonly path?: string,
  ) {
    super(`${path ?? 'the input'} holds more than ${limit} bytes, more than such a file may have`);
  }
}

const CHUNK = 1024 * 1024;

/** The file's bytes, at most `limit` of them; InputTooLargeError when there are more. Errors of
 *  open/read (ENOENT, EISDIR, …) are thrown as Node gives them. */
export function readFileBounded(path: string, limit: number): Buffer {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const want = Math.min(CHUNK, limit + 1 - total);
      const buf = Buffer.allocUnsafe(want);
      const n = readSync(fd, buf, 0, want, null);
      if (n === 0) break;
      chunks.push(n === want ? buf : buf.subarray(0, n));
      total += n;
      if (total > limit) throw new InputTooLargeError(limit, path);
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/** A stream's bytes (e.g. stdin), at most `limit`; on more, the stream is destroyed and the
 *  promise rejects with InputTooLargeError. */
export function readStreamBounded(stream: NodeJS.ReadableStream & { destroy?: () => void }, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const cleanup = (): void => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
    };
    const onData = (c: Buffer | string): void => {
      const b = typeof c === 'string' ? Buffer.from(c) : c;
      total += b.length;
      if (total > limit) {
        cleanup();
        stream.pause();
        stream.destroy?.();
        reject(new InputTooLargeError(limit));
        return;
      }
      chunks.push(b);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, total));
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(e);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
}
