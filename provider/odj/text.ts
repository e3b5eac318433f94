// The outer layers of a package: the text form (base64 of the binary form, what unattend.xml's
// AccountData and ppPackageTextData carry) and the file form (what `djoin /provision /savefile`
// writes: UTF-16LE with a byte-order mark and a final NUL). Reading accepts all of them, with or
// without BOM and terminator, plain ASCII base64 too, and the binary form itself.

import { PackageFormatError } from './errors';
import { MAX_PACKAGE_BYTES } from './ndr';

/** Longest base64 text of a package within MAX_PACKAGE_BYTES. */
export const MAX_PACKAGE_TEXT_CHARS = Math.ceil(MAX_PACKAGE_BYTES / 3) * 4;
/** Inputs longer than this are refused before any work (room for line breaks and UTF-16). */
const MAX_INPUT = MAX_PACKAGE_TEXT_CHARS * 2 + 16;

const BINARY_MAGIC = [0x01, 0x10, 0x08, 0x00];

export function packageToText(bytes: Uint8Array): string {
  checkBinarySize(bytes);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** UTF-16LE, BOM FF FE, the base64 text, then a UTF-16 NUL: byte for byte what djoin writes. */
export function packageToFileForm(bytes: Uint8Array): Uint8Array {
  const text = packageToText(bytes);
  const out = Buffer.alloc(2 + text.length * 2 + 2);
  out[0] = 0xff;
  out[1] = 0xfe;
  out.write(text, 2, 'utf16le');
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

function checkBinarySize(bytes: Uint8Array): void {
  if (bytes.length > MAX_PACKAGE_BYTES) {
    throw new PackageFormatError(MAX_PACKAGE_BYTES, `a package of at most ${MAX_PACKAGE_BYTES} bytes`, `${bytes.length} bytes`);
  }
}

function startsWith(b: Uint8Array, prefix: number[]): boolean {
  return b.length >= prefix.length && prefix.every((v, i) => b[i] === v);
}

/**
 * The binary form of a package given in any of its forms. Offsets in errors count bytes of a
 * byte input, or characters of a string input.
 */
export function packageBinaryFrom(input: Uint8Array | string): Uint8Array {
  if (typeof input === 'string') {
    if (input.length > MAX_INPUT) throw new PackageFormatError(MAX_INPUT, `a package text of at most ${MAX_INPUT} characters`);
    return base64ToBytes(input, 0, 1);
  }
  if (!(input instanceof Uint8Array)) throw new PackageFormatError(0, 'a Uint8Array or a string');
  if (startsWith(input, BINARY_MAGIC)) {
    checkBinarySize(input);
    return input;
  }
  if (input.length > MAX_INPUT * 2) throw new PackageFormatError(MAX_INPUT * 2, `a package file of at most ${MAX_INPUT * 2} bytes`);
  if (startsWith(input, [0xff, 0xfe])) return base64ToBytes(utf16(input, 2), 2, 2);
  // UTF-16LE without a BOM: base64 characters are ASCII, so every second byte is zero.
  if (input.length >= 2 && input[1] === 0 && input[0] >= 0x20 && input[0] < 0x7f) return base64ToBytes(utf16(input, 0), 0, 2);
  const skip = startsWith(input, [0xef, 0xbb, 0xbf]) ? 3 : 0; // a UTF-8 BOM, as editors add
  if (!looksLikeText(input.subarray(skip, skip + 16))) {
    // Binary with a damaged header: let the decoder say which header byte is wrong.
    checkBinarySize(input);
    return input;
  }
  for (let i = skip; i < input.length; i++) {
    if (input[i] >= 0x80) throw new PackageFormatError(i, 'a package in binary form, or base64 text (ASCII or UTF-16LE)');
  }
  return base64ToBytes(Buffer.from(input.subarray(skip)).toString('latin1'), skip, 1);
}

/** Printable ASCII, whitespace or NUL only: a text form rather than a binary one. */
function looksLikeText(head: Uint8Array): boolean {
  return head.every((c) => c === 0 || c === 0x09 || c === 0x0a || c === 0x0d || (c >= 0x20 && c < 0x7f));
}

function utf16(b: Uint8Array, from: number): string {
  if ((b.length - from) % 2 !== 0) throw new PackageFormatError(b.length - 1, 'UTF-16LE text of an even number of bytes');
  return Buffer.from(b.buffer, b.byteOffset + from, b.length - from).toString('utf16le');
}

const B64 = /^[A-Za-z0-9+/]$/;

/** Strict base64: whitespace allowed between characters, NULs only at the end, `=` only as padding. */
function base64ToBytes(text: string, base: number, unit: number): Uint8Array {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0) end--; // the file form's terminator
  const chars: string[] = [];
  let padding = 0;
  for (let i = 0; i < end; i++) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') continue;
    if (i === 0 && c === '\ufeff') continue;
    if (c === '=' ) {
      padding++;
      if (padding > 2) throw new PackageFormatError(base + i * unit, 'at most two base64 padding characters');
      chars.push(c);
      continue;
    }
    if (padding > 0 || !B64.test(c)) throw new PackageFormatError(base + i * unit, 'base64 text (A-Z, a-z, 0-9, +, /, = padding)');
    chars.push(c);
  }
  if (chars.length === 0) throw new PackageFormatError(base, 'a non-empty package');
  if (chars.length % 4 !== 0) throw new PackageFormatError(base + end * unit, 'base64 text whose length is a multiple of 4', `${chars.length} characters`);
  if (chars.length > MAX_PACKAGE_TEXT_CHARS) throw new PackageFormatError(base, `at most ${MAX_PACKAGE_TEXT_CHARS} base64 characters`);
  const buf = Buffer.from(chars.join(''), 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
