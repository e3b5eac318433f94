// The codec's one error type. Every malformed input (and every value that cannot be encoded)
// ends here, so callers can catch one class. Messages carry offsets, counts and field names only,
// never the content of strings or blobs: a package holds a machine password.

export class PackageFormatError extends Error {
  override readonly name = 'PackageFormatError';
  /** Byte offset in the outermost input where the problem was found; -1 when encoding. */
  readonly offset: number;
  /** What the codec expected to find there, in words. */
  readonly expected: string;

  constructor(offset: number, expected: string, detail?: string) {
    const where = offset >= 0 ? `at byte ${offset}` : 'while encoding';
    super(`malformed offline domain join package ${where}: expected ${expected}${detail ? ` (${detail})` : ''}`);
    this.offset = offset;
    this.expected = expected;
  }
}
