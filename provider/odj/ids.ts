// Identifiers in their text and wire forms, written once for the codec, both backends and the faces:
// GUIDs ({Data1..3 little-endian, Data4 bytes}), binary SIDs ([MS-DTYP] 2.4.2.2) and the account
// name of a computer. No I/O and nothing of ours beyond the codec's error.
import { PackageFormatError } from './errors';

const GUID_RE = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

export const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

export function isGuid(s: unknown): s is string {
  return typeof s === 'string' && GUID_RE.test(s);
}

/** Canonical lower-case form (accepts braces and upper case). */
export function normalizeGuid(s: string): string {
  const m = GUID_RE.exec(s);
  if (!m) throw new PackageFormatError(-1, 'a GUID such as 631c7621-5289-4321-bc9e-80f843f868c3');
  return `${m[1]}-${m[2]}-${m[3]}-${m[4]}-${m[5]}`.toLowerCase();
}

/** The 16 wire bytes of a GUID's text. */
export function guidToBytes(s: string): Buffer {
  const b = Buffer.from(normalizeGuid(s).replace(/-/g, ''), 'hex');
  // Data1, Data2, Data3 are little-endian integers; Data4 is bytes as written.
  b.subarray(0, 4).reverse();
  b.subarray(4, 6).reverse();
  b.subarray(6, 8).reverse();
  return b;
}

/** A GUID's text from its 16 wire bytes. */
export function guidFromBytes(b: Uint8Array): string {
  if (b.length !== 16) throw new RangeError(`a GUID has 16 bytes, not ${b.length}`);
  const h = (from: number, to: number, rev: boolean): string => {
    const part = Buffer.from(b.subarray(from, to));
    if (rev) part.reverse();
    return part.toString('hex');
  };
  return `${h(0, 4, true)}-${h(4, 6, true)}-${h(6, 8, true)}-${h(8, 10, false)}-${h(10, 16, false)}`;
}

/** `S-1-5-21-…` from a binary SID: revision, count, 48-bit big-endian authority, LE sub-authorities. */
export function sidFromBytes(b: Uint8Array): string {
  const buf = Buffer.from(b);
  if (buf.length < 8) throw new RangeError('SID too short');
  const count = buf[1];
  if (buf.length !== 8 + 4 * count) throw new RangeError('SID length does not match its sub-authority count');
  const subs: number[] = [];
  for (let i = 0; i < count; i++) subs.push(buf.readUInt32LE(8 + 4 * i));
  return `S-${buf[0]}-${buf.readUIntBE(2, 6)}${subs.map((s) => `-${s}`).join('')}`;
}

/** A computer's account name (sAMAccountName): its name, upper case, with the `$` of machine accounts. */
export function accountNameOf(machineName: string): string {
  return `${machineName.toUpperCase()}$`;
}
