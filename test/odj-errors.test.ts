// Bad input, case by case: each raises PackageFormatError naming the byte offset and what was
// expected there; values that cannot be encoded raise it too (offset -1). Limits are enforced.
import { describe, expect, it } from 'vitest';
import {
  buildPackage, decodeStructure, encodeProvisionData, encodeStructure, MAX_PACKAGE_BYTES, MAX_NESTING,
  PackageFormatError, packageToFileForm, packageToText, parsePackage, PartTypes, serialized,
} from '../provider/odj';
import { sizedBytesPtr, struct, u32, type Serialized, type StructType } from '../provider/odj/ndr';
import { sampleFacts } from './odj-samples';

const facts = sampleFacts();
const good = buildPackage(facts);

function formatError(fn: () => unknown): PackageFormatError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PackageFormatError) return e;
    throw new Error(`expected PackageFormatError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
  throw new Error('expected PackageFormatError, but it decoded');
}

const withU32 = (at: number, v: number, src: Uint8Array = good): Uint8Array => {
  const m = Uint8Array.from(src);
  new DataView(m.buffer).setUint32(at, v, true);
  return m;
};

/** Byte offset of the first UTF-16LE occurrence of s (with its terminator) in the package. */
function offsetOf(s: string): number {
  const at = Buffer.from(good).indexOf(Buffer.from(`${s}\0`, 'utf16le'));
  expect(at).toBeGreaterThan(0);
  return at;
}

describe('PackageFormatError for bad binary input', () => {
  it('the package is valid to begin with', () => {
    expect(parsePackage(good).facts.machineName).toBe(facts.machineName);
  });

  it('every truncation', () => {
    for (let n = 0; n < good.length; n++) {
      const e = formatError(() => parsePackage(good.subarray(0, n)));
      expect(e.offset).toBeLessThanOrEqual(Math.max(n, 16));
    }
  });

  it('wrong header bytes, each at its own offset', () => {
    const cases: [number, number, RegExp][] = [
      [0, 0x02, /type serialization header/],
      [1, 0x00, /type serialization header/],
      [2, 0x10, /type serialization header/],
      [5, 0xcd, /type serialization header/],
      [12, 0x01, /zero header filler/],
    ];
    for (const [at, value, expected] of cases) {
      const m = Uint8Array.from(good);
      m[at] = value;
      const e = formatError(() => parsePackage(m));
      expect(e.offset, `byte ${at}`).toBe(at);
      expect(e.expected).toMatch(expected);
    }
  });

  it('a body length that disagrees with the bytes present, or is not padded to 8', () => {
    for (const m of [withU32(8, good.length - 16 + 8), withU32(8, good.length - 16 - 8), withU32(8, good.length - 16 - 4)]) {
      const e = formatError(() => parsePackage(m));
      expect(e.offset).toBe(8);
      expect(e.expected).toMatch(/body length/);
    }
    const longer = Uint8Array.from([...good, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(formatError(() => parsePackage(longer)).offset).toBe(8);
  });

  it('a size that disagrees with its count field', () => {
    // 0x28: cbBlob of blob 1; 0x3c: the size written before its bytes
    const e = formatError(() => parsePackage(withU32(0x28, new DataView(good.buffer).getUint32(0x28, true) + 8)));
    expect(e.offset).toBe(0x3c);
    expect(e.expected).toMatch(/agree with cbBlob/);
  });

  it('non-zero alignment padding, and a [string] without its terminator', () => {
    const domain = offsetOf(facts.domain); // 12 characters + NUL: 26 bytes, then 2 bytes of padding
    const pad = Uint8Array.from(good);
    pad[domain + 26] = 1;
    let e = formatError(() => parsePackage(pad));
    expect(e.offset).toBe(domain + 26);
    expect(e.expected).toMatch(/zero alignment padding/);

    const unterminated = Uint8Array.from(good);
    unterminated[domain + 24] = 0x41;
    e = formatError(() => parsePackage(unterminated));
    expect(e.offset).toBe(domain + 24);
    expect(e.expected).toMatch(/terminating NUL/);
  });

  it('a [string] whose length and size differ', () => {
    const domain = offsetOf(facts.domain);
    const e = formatError(() => parsePackage(withU32(domain - 4, 12)));
    expect(e.offset).toBe(domain - 12);
    expect(e.expected).toMatch(/\[string\]/);
  });

  it('a package without a WIN7 blob has no facts to give', () => {
    const bytes = encodeProvisionData({ pBlobs: [{ ulODJFormat: 9, pBlob: Uint8Array.of(1, 2, 3) }] });
    const e = formatError(() => parsePackage(bytes));
    expect(e.expected).toMatch(/ODJ_WIN7BLOB/);
  });

  it('the size limit: 16 MiB per package, refused before any decoding', () => {
    expect(MAX_PACKAGE_BYTES).toBe(16 * 1024 * 1024);
    const big = new Uint8Array(MAX_PACKAGE_BYTES + 1);
    big.set(good.subarray(0, 16));
    const t0 = performance.now();
    expect(formatError(() => parsePackage(big)).expected).toMatch(/at most 16777216 bytes/);
    expect(formatError(() => parsePackage('A'.repeat(2 * Math.ceil(MAX_PACKAGE_BYTES / 3) * 4 + 100))).expected).toMatch(/at most/);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('nesting deeper than MAX_NESTING (a self-nesting declaration exercises the guard)', () => {
    const nest: StructType = struct('NEST', [{ name: 'cb', type: u32 }]);
    const s: Serialized = serialized(nest, true);
    nest.fields.push({ name: 'inner', type: sizedBytesPtr('cb', () => s) });
    let v: Record<string, unknown> = { inner: null };
    for (let i = 0; i < MAX_NESTING + 2; i++) v = { inner: v };
    const bytes = encodeStructure(s, v);
    expect(formatError(() => decodeStructure(s, bytes)).expected).toMatch(/nested at most/);
    let shallow: Record<string, unknown> = { inner: null };
    for (let i = 0; i < 3; i++) shallow = { inner: shallow };
    expect(decodeStructure(s, encodeStructure(s, shallow))).toMatchObject(shallow);
  });

  it('error messages show offsets and names, never the password', () => {
    const password = offsetOf(facts.machinePassword);
    const m = Uint8Array.from(good);
    m[password + 2 * facts.machinePassword.length] = 0x41; // break its terminator
    const e = formatError(() => parsePackage(m));
    expect(e.message).toMatch(/lpMachinePassword/);
    expect(e.message.includes(facts.machinePassword)).toBe(false);
    expect(e.message.includes(facts.machinePassword.slice(0, 8))).toBe(false);
  });
});

describe('PackageFormatError for bad text', () => {
  const text = packageToText(good);

  it('characters outside base64, at their offset', () => {
    let e = formatError(() => parsePackage(`${text.slice(0, 40)}!${text.slice(41)}`));
    expect(e.offset).toBe(40);
    expect(e.expected).toMatch(/base64/);
    const file = packageToFileForm(good);
    file[2 + 2 * 40] = 0x2d; // '-' in the UTF-16 file form: byte offset 2 + 2 × index
    e = formatError(() => parsePackage(file));
    expect(e.offset).toBe(2 + 80);
  });

  it('wrong length, misplaced padding, empty text', () => {
    expect(formatError(() => parsePackage(text.slice(0, -1))).expected).toMatch(/multiple of 4/);
    expect(formatError(() => parsePackage(`AB=A${text}`)).offset).toBe(3);
    expect(formatError(() => parsePackage('')).expected).toMatch(/non-empty/);
    expect(formatError(() => parsePackage(new Uint8Array(0))).expected).toMatch(/non-empty/);
    expect(formatError(() => parsePackage('\r\n\u0000')).expected).toMatch(/non-empty/);
  });

  it('UTF-16 text with an odd number of bytes', () => {
    const file = packageToFileForm(good);
    expect(formatError(() => parsePackage(file.subarray(0, file.length - 1))).expected).toMatch(/even number/);
  });

  it('base64 that decodes to something that is not a package', () => {
    const e = formatError(() => parsePackage(Buffer.from('hello, world').toString('base64')));
    expect(e.expected).toMatch(/header|bytes needed/);
  });
});

describe('PackageFormatError for values that cannot be encoded', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['a GUID that is not one', () => buildPackage(sampleFacts({ dc: { ...facts.dc, domainGuid: 'not-a-guid' } })), /GUID/],
    ['a SID that is not one', () => buildPackage(sampleFacts({ domainInfo: { ...facts.domainInfo, sid: 'S-1-5-x' } })), /SID/],
    ['a RID out of range', () => buildPackage(sampleFacts({ rid: -1 })), /integer/],
    ['a name longer than a UNICODE_STRING holds', () => buildPackage(sampleFacts({ domainInfo: { ...facts.domainInfo, name: 'x'.repeat(40000) } })), /integer from 0 to 65535/],
    ['structured content for an unknown part type', () => encodeProvisionData({
      pBlobs: [{ ulODJFormat: 2, pBlob: { WrappedPartCollection: { pBlob: { pParts: [{ PartType: '11111111-2222-3333-4444-555555555555', ulFlags: 0, Part: { pBlob: { Rid: 1, lpSid: null } } }] } } } }],
    }), /raw bytes/],
    ['a string where a number belongs', () => encodeProvisionData({ ulVersion: 'one' as unknown as number, pBlobs: null }), /integer/],
  ];
  for (const [label, fn, expected] of cases) {
    it(label, () => {
      const e = formatError(fn);
      expect(e.offset).toBe(-1);
      expect(e.expected).toMatch(expected);
    });
  }

  it('known part GUIDs are matched whatever their case or braces', () => {
    const bytes = encodeProvisionData({
      pBlobs: [{ ulODJFormat: 2, pBlob: { WrappedPartCollection: { pBlob: { pParts: [{ PartType: `{${PartTypes.JOIN_PROVIDER3.toUpperCase()}}`, ulFlags: 0, Part: { pBlob: { Rid: 7, lpSid: 'S-1-5-7' } } }] } } } }],
    });
    expect(bytes.length).toBeGreaterThan(16);
  });
});
