// Registry.pol, the registry half of a Group Policy Object ([MS-GPREG] 2.2.1), read strictly and
// written back. No I/O: callers pass the bytes and the file's name (for the errors).
//
// Layout: "PReg" (50 52 65 67), version uint32 LE 1, then instructions, each
//   "[" key NUL ";" value NUL ";" type ";" size ";" data "]"
// where the brackets, semicolons and both strings are UTF-16LE, type and size are uint32 LE and
// data is `size` raw bytes.
import type { PolicyElement } from './facts';

/** REG_* value types ([MS-RRP] 2.2.4 / winnt.h). */
export const RegTypes = {
  REG_NONE: 0,
  REG_SZ: 1,
  REG_EXPAND_SZ: 2,
  REG_BINARY: 3,
  REG_DWORD: 4,
  REG_DWORD_BIG_ENDIAN: 5,
  REG_LINK: 6,
  REG_MULTI_SZ: 7,
  REG_RESOURCE_LIST: 8,
  REG_FULL_RESOURCE_DESCRIPTOR: 9,
  REG_RESOURCE_REQUIREMENTS_LIST: 10,
  REG_QWORD: 11,
} as const;

export const regTypeName = (t: number): string => Object.entries(RegTypes).find(([, v]) => v === t)?.[0] ?? `type ${t}`;

/** HKEY_LOCAL_MACHINE as OP_POLICY_ELEMENT_LIST.ulRootKeyId holds it. */
export const HKEY_LOCAL_MACHINE = 0x80000002;

const SIGNATURE = 0x67655250; // "PReg" read as uint32 LE
const VERSION = 1;
const fixedSizes = new Map<number, number>([
  [RegTypes.REG_DWORD, 4],
  [RegTypes.REG_DWORD_BIG_ENDIAN, 4],
  [RegTypes.REG_QWORD, 8],
]);
const stringTypes = new Set<number>([RegTypes.REG_SZ, RegTypes.REG_EXPAND_SZ, RegTypes.REG_LINK, RegTypes.REG_MULTI_SZ]);
/** [MS-GPREG]: a value name is at most 259 characters. */
const MAX_VALUE_NAME = 259;
/** Registry key paths are at most 255 characters per key name; a whole path this long is already absurd. */
const MAX_KEY_PATH = 32767;

/** A Registry.pol file that breaks the format: names the file, the byte offset and what was expected. */
export class RegistryPolError extends Error {
  override readonly name = 'RegistryPolError';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly expected: string,
  ) {
    super(`${file}: not a valid Registry.pol file at byte ${offset}: expected ${expected}`);
  }
}

/** One instruction of the file: exactly what OP_POLICY_ELEMENT carries. */
export type RegistryPolEntry = PolicyElement & { valueName: string };

class Reader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly file: string,
  ) {}
  fail(expected: string, at = this.pos): never {
    throw new RegistryPolError(this.file, at, expected);
  }
  u32(what: string): number {
    if (this.buf.length - this.pos < 4) this.fail(`${what} (4 bytes; the file is truncated)`);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  char(c: string, what: string): void {
    if (this.buf.length - this.pos < 2) this.fail(`"${c}" ${what} (the file is truncated)`);
    if (this.buf.readUInt16LE(this.pos) !== c.charCodeAt(0)) this.fail(`"${c}" ${what}`);
    this.pos += 2;
  }
  /** A NUL-terminated UTF-16LE string; the terminator is consumed. */
  string(what: string, max: number): string {
    const start = this.pos;
    for (let p = start; p + 1 < this.buf.length; p += 2) {
      if (this.buf.readUInt16LE(p) === 0) {
        if ((p - start) / 2 > max) this.fail(`${what} of at most ${max} characters`, start);
        this.pos = p + 2;
        return this.buf.toString('utf16le', start, p);
      }
    }
    return this.fail(`${what} ending in a UTF-16 NUL (the file is truncated)`, start);
  }
}

/** Parse a Registry.pol file strictly; every violation is a RegistryPolError naming `file` and the offset. */
export function parseRegistryPol(bytes: Uint8Array, file: string): RegistryPolEntry[] {
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
  if (r.buf.length < 8) r.fail(`the 8-byte header "PReg" + version 1 (the file has ${r.buf.length} bytes)`, 0);
  if (r.u32('the signature') !== SIGNATURE) r.fail('the signature "PReg"', 0);
  const version = r.u32('the version');
  if (version !== VERSION) r.fail(`version 1 (found ${version})`, 4);
  const entries: RegistryPolEntry[] = [];
  while (r.pos < r.buf.length) {
    const at = r.pos;
    r.char('[', 'opening an instruction');
    const keyPath = r.string('a key path', MAX_KEY_PATH);
    if (keyPath.length === 0) r.fail('a non-empty key path', at + 2);
    r.char(';', 'after the key path');
    const valueName = r.string('a value name', MAX_VALUE_NAME);
    r.char(';', 'after the value name');
    const typeAt = r.pos;
    const valueType = r.u32('the value type');
    if (valueType > RegTypes.REG_QWORD) r.fail(`a registry value type 0–11 (found ${valueType})`, typeAt);
    r.char(';', 'after the value type');
    const sizeAt = r.pos;
    const size = r.u32('the data size');
    r.char(';', 'after the data size');
    if (size > r.buf.length - r.pos) r.fail(`${size} bytes of data (only ${r.buf.length - r.pos} remain)`, sizeAt);
    const fixed = fixedSizes.get(valueType);
    if (fixed !== undefined && size !== fixed) r.fail(`a ${regTypeName(valueType)} of ${fixed} bytes (size says ${size})`, sizeAt);
    if (stringTypes.has(valueType) && size % 2 !== 0) r.fail(`a ${regTypeName(valueType)} of an even number of bytes (UTF-16; size says ${size})`, sizeAt);
    const data = new Uint8Array(r.buf.subarray(r.pos, r.pos + size));
    r.pos += size;
    r.char(']', 'closing the instruction');
    entries.push({ keyPath, valueName, valueType, data });
  }
  return entries;
}

function utf16z(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'utf16le');
}

/** Write entries as a Registry.pol file (the inverse of parseRegistryPol). */
export function encodeRegistryPol(entries: PolicyElement[]): Uint8Array {
  const chunks: Buffer[] = [];
  const header = Buffer.alloc(8);
  header.writeUInt32LE(SIGNATURE, 0);
  header.writeUInt32LE(VERSION, 4);
  chunks.push(header);
  const ch = (c: string): Buffer => Buffer.from(c, 'utf16le');
  entries.forEach((e, i) => {
    const bad = (what: string): never => {
      throw new RegistryPolError('(encoding)', -1, `entry ${i}: ${what}`);
    };
    if (!e.keyPath || e.keyPath.includes('\0')) bad('a non-empty key path without NUL');
    const valueName = e.valueName ?? '';
    if (valueName.includes('\0') || valueName.length > MAX_VALUE_NAME) bad(`a value name of at most ${MAX_VALUE_NAME} characters without NUL`);
    if (!Number.isInteger(e.valueType) || e.valueType < 0 || e.valueType > RegTypes.REG_QWORD) bad('a registry value type 0–11');
    const fixed = fixedSizes.get(e.valueType);
    if (fixed !== undefined && e.data.length !== fixed) bad(`${fixed} bytes for ${regTypeName(e.valueType)}`);
    const nums = Buffer.alloc(4);
    nums.writeUInt32LE(e.valueType, 0);
    const size = Buffer.alloc(4);
    size.writeUInt32LE(e.data.length, 0);
    chunks.push(ch('['), utf16z(e.keyPath), ch(';'), utf16z(valueName), ch(';'), nums, ch(';'), size, ch(';'), Buffer.from(e.data), ch(']'));
  });
  return new Uint8Array(Buffer.concat(chunks));
}

/** A value in readable form, for `inspect` and error-free display: strings decoded, numbers as numbers. */
export function describeRegistryValue(valueType: number, data: Uint8Array): string {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  switch (valueType) {
    case RegTypes.REG_SZ:
    case RegTypes.REG_EXPAND_SZ:
    case RegTypes.REG_LINK:
      return JSON.stringify(b.toString('utf16le', 0, b.length - (b.length % 2)).replace(/\0+$/, ''));
    case RegTypes.REG_MULTI_SZ:
      return JSON.stringify(b.toString('utf16le', 0, b.length - (b.length % 2)).replace(/\0+$/, '').split('\0'));
    case RegTypes.REG_DWORD:
      return b.length === 4 ? String(b.readUInt32LE(0)) : `0x${b.toString('hex')}`;
    case RegTypes.REG_DWORD_BIG_ENDIAN:
      return b.length === 4 ? String(b.readUInt32BE(0)) : `0x${b.toString('hex')}`;
    case RegTypes.REG_QWORD:
      return b.length === 8 ? b.readBigUInt64LE(0).toString() : `0x${b.toString('hex')}`;
    default:
      return `0x${b.toString('hex')}`;
  }
}
