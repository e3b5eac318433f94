// Registry.pol ([MS-GPREG]) against an independent producer and reader: Samba's own Python
// (samba.gp_parse.gp_pol). Files Samba writes decode to what Samba decodes and re-encode to its
// exact bytes; files we write Samba reads back; bad files fail naming the file and the offset.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  describeRegistryValue, encodeRegistryPol, parseRegistryPol, RegistryPolError, RegTypes, type RegistryPolEntry,
} from '../provider/odj/registry-pol';
import { polXml, sambaReadPol, sambaWritePol, tempDir, writeBytes, type SambaPolEntry } from './certs-policies-fixtures';

const tmp = tempDir('pol');
afterAll(() => tmp.cleanup());

const KEY = 'Software\\Policies\\OdjTest';
const sample = [
  { key: KEY, value: 'Dword', type: RegTypes.REG_DWORD, values: ['42'] },
  { key: KEY, value: 'Text', type: RegTypes.REG_SZ, values: ['h\u00e9llo w\u00f6rld \u4e2d'] },
  { key: KEY, value: 'Expand', type: RegTypes.REG_EXPAND_SZ, values: ['%SystemRoot%\\odj'] },
  { key: KEY, value: 'Multi', type: RegTypes.REG_MULTI_SZ, values: ['first', 'second one'] },
  { key: `${KEY}\\Sub Key`, value: 'Bin', type: RegTypes.REG_BINARY, values: ['AAEC/w=='] },
  { key: KEY, value: 'Big', type: RegTypes.REG_QWORD, values: ['1234567890123'] },
  { key: KEY, value: '**del.Old', type: RegTypes.REG_SZ, values: [' '] },
  { key: KEY, value: 'Empty', type: RegTypes.REG_SZ, values: [''] },
];

/** Our entry in the form Samba's parser gives it. */
function asSamba(e: RegistryPolEntry): SambaPolEntry {
  const b = Buffer.from(e.data);
  let data: SambaPolEntry['data'];
  if (e.valueType === RegTypes.REG_SZ || e.valueType === RegTypes.REG_EXPAND_SZ) data = { str: b.toString('utf16le').replace(/\0$/, '') };
  else if (e.valueType === RegTypes.REG_DWORD) data = { int: String(b.readUInt32LE(0)) };
  else if (e.valueType === RegTypes.REG_QWORD) data = { int: b.readBigUInt64LE(0).toString() };
  else data = { b64: b.toString('base64') };
  return { key: e.keyPath, value: e.valueName, type: e.valueType, data };
}

function polError(bytes: Uint8Array, file = 'bad.pol'): RegistryPolError {
  try {
    parseRegistryPol(bytes, file);
  } catch (e) {
    if (e instanceof RegistryPolError) return e;
    throw new Error(`expected RegistryPolError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
  throw new Error('expected RegistryPolError, but it parsed');
}

describe('Registry.pol files Samba writes', () => {
  const file = join(tmp.dir, 'samba.pol');
  const bytes = sambaWritePol(file, polXml(sample));
  const ours = parseRegistryPol(bytes, file);

  it('decode to the same entries Samba decodes', () => {
    expect(ours).toHaveLength(sample.length);
    expect(ours.map(asSamba)).toEqual(sambaReadPol(file));
  });

  it('hold the values that went in', () => {
    expect(ours.map((e) => [e.keyPath, e.valueName, e.valueType])).toEqual(sample.map((s) => [s.key, s.value, s.type]));
    expect(describeRegistryValue(ours[0].valueType, ours[0].data)).toBe('42');
    expect(describeRegistryValue(ours[1].valueType, ours[1].data)).toBe(JSON.stringify(sample[1].values[0]));
    expect(describeRegistryValue(ours[3].valueType, ours[3].data)).toBe(JSON.stringify(['first', 'second one']));
    expect(describeRegistryValue(ours[5].valueType, ours[5].data)).toBe('1234567890123');
    expect(Buffer.from(ours[4].data)).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it('re-encode to Samba\'s exact bytes', () => {
    expect(Buffer.from(encodeRegistryPol(ours))).toEqual(bytes);
  });
});

describe('Registry.pol files we write', () => {
  it('Samba reads back what we wrote', () => {
    const entries: RegistryPolEntry[] = [
      { keyPath: 'Software\\Policies\\Ours', valueName: 'On', valueType: RegTypes.REG_DWORD, data: Uint8Array.from([1, 0, 0, 0]) },
      { keyPath: 'Software\\Policies\\Ours', valueName: 'Name', valueType: RegTypes.REG_SZ, data: new Uint8Array(Buffer.from('\u00e9t\u00e9\0', 'utf16le')) },
      { keyPath: 'Software\\Policies\\Ours\\Deep', valueName: 'Raw', valueType: RegTypes.REG_BINARY, data: Uint8Array.from([9, 8, 7]) },
    ];
    const file = writeBytes(join(tmp.dir, 'ours.pol'), encodeRegistryPol(entries));
    expect(sambaReadPol(file)).toEqual(entries.map(asSamba));
    expect(parseRegistryPol(encodeRegistryPol(entries), file)).toEqual(entries);
  });

  it('an empty policy is the header alone', () => {
    expect(Buffer.from(encodeRegistryPol([])).toString('hex')).toBe('5052656701000000');
    expect(parseRegistryPol(encodeRegistryPol([]), 'empty.pol')).toEqual([]);
  });

  it('refuses entries that cannot be written', () => {
    expect(() => encodeRegistryPol([{ keyPath: '', valueName: 'x', valueType: 1, data: new Uint8Array(2) }])).toThrow(RegistryPolError);
    expect(() => encodeRegistryPol([{ keyPath: 'K', valueName: 'x', valueType: 4, data: new Uint8Array(3) }])).toThrow(/4 bytes for REG_DWORD/);
    expect(() => encodeRegistryPol([{ keyPath: 'K', valueName: 'x', valueType: 12, data: new Uint8Array(0) }])).toThrow(/type 0–11/);
  });
});

describe('malformed Registry.pol: RegistryPolError naming the file and offset', () => {
  const one: RegistryPolEntry = { keyPath: 'K', valueName: 'V', valueType: RegTypes.REG_DWORD, data: Uint8Array.from([5, 0, 0, 0]) };
  const good = Buffer.from(encodeRegistryPol([one]));
  // header 8 | '[' 8 | "K\0" 10 | ';' 14 | "V\0" 16 | ';' 20 | type 22 | ';' 26 | size 28 | ';' 32 | data 34 | ']' 38
  const at = (offset: number, bytes: number[]): Buffer => {
    const m = Buffer.from(good);
    Buffer.from(bytes).copy(m, offset);
    return m;
  };

  it.each([
    ['empty file', Buffer.alloc(0), 0, /8-byte header/],
    ['wrong signature', at(0, [0x50, 0x52, 0x45, 0x47]), 0, /signature "PReg"/],
    ['version 2', at(4, [2]), 4, /version 1 \(found 2\)/],
    ['no opening bracket', at(8, [0x28]), 8, /"\[" opening/],
    ['empty key path', Buffer.concat([good.subarray(0, 10), good.subarray(12)]), 10, /non-empty key path/],
    ['no semicolon after the key', at(14, [0x2c]), 14, /";" after the key path/],
    ['unknown value type', at(22, [12]), 22, /type 0–11 \(found 12\)/],
    ['REG_DWORD of 3 bytes', at(28, [3]), 28, /REG_DWORD of 4 bytes \(size says 3\)/],
    ['size beyond the file', at(28, [0xff, 0xff, 0, 0]), 28, /65535 bytes of data/],
    ['no closing bracket', at(38, [0x29]), 38, /"\]" closing/],
    ['truncated in the data', good.subarray(0, 36), 28, /bytes of data/],
    ['truncated before the closing bracket', good.subarray(0, 38), 38, /truncated/],
    ['key string never terminated', good.subarray(0, 12), 10, /UTF-16 NUL/],
  ])('%s', (_name, bytes, offset, message) => {
    const e = polError(bytes, '/srv/sysvol/bad.pol');
    expect(e.file).toBe('/srv/sysvol/bad.pol');
    expect(e.offset).toBe(offset);
    expect(e.message).toMatch(message);
    expect(e.message.startsWith('/srv/sysvol/bad.pol: ')).toBe(true);
  });

  it('a REG_SZ of an odd number of bytes', () => {
    const sz = Buffer.from(encodeRegistryPol([{ keyPath: 'K', valueName: 'V', valueType: RegTypes.REG_SZ, data: new Uint8Array(Buffer.from('ab\0', 'utf16le')) }]));
    sz.writeUInt32LE(5, 28);
    expect(polError(sz).message).toMatch(/even number of bytes/);
  });

  it('a value name longer than 259 characters', () => {
    const long = Buffer.concat([good.subarray(0, 16), Buffer.from(`${'v'.repeat(260)}\0`, 'utf16le'), good.subarray(20)]);
    expect(polError(long).message).toMatch(/at most 259 characters/);
  });

  it('every truncation and single-byte change ends in RegistryPolError or a valid shorter file, never another error', () => {
    const bytes = sambaWritePol(join(tmp.dir, 'fuzz.pol'), polXml(sample));
    const full = parseRegistryPol(bytes, 'fuzz.pol');
    let parsedPrefixes = 0;
    for (let n = 0; n < bytes.length; n++) {
      // A cut right after an instruction is a valid, shorter file: it must hold the first entries.
      try {
        const some = parseRegistryPol(bytes.subarray(0, n), 'fuzz.pol');
        expect(some).toEqual(full.slice(0, some.length));
        parsedPrefixes++;
      } catch (e) {
        expect(e).toBeInstanceOf(RegistryPolError);
      }
    }
    expect(parsedPrefixes).toBe(sample.length); // the header alone, then after each instruction but the last
    for (let i = 0; i < bytes.length; i++) {
      const m = Buffer.from(bytes);
      m[i] ^= 0x5a;
      try {
        parseRegistryPol(m, 'fuzz.pol');
      } catch (e) {
        expect(e).toBeInstanceOf(RegistryPolError);
      }
    }
  });
});
