// The serialized certificate store (CertSaveStore CERT_STORE_SAVE_AS_STORE): stores Windows wrote
// (published in Wine's crypt32 tests, see test/data/README.md) decode and re-encode byte for byte;
// an OpenSSL root CA goes in and comes out as the same DER; bad stores fail with the offset.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSst, encodeSst, SerializedStoreError, sstCertificates } from '../provider/odj/sst';
import { opensslRootCa, tempDir } from './certs-policies-fixtures';

const data = (name: string): Buffer => readFileSync(join(__dirname, 'data', name));
const tmp = tempDir('sst');
afterAll(() => tmp.cleanup());

function storeError(bytes: Uint8Array): SerializedStoreError {
  try {
    decodeSst(bytes);
  } catch (e) {
    if (e instanceof SerializedStoreError) return e;
    throw new Error(`expected SerializedStoreError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
  throw new Error('expected SerializedStoreError, but it decoded');
}

describe('Windows-produced serialized stores (Wine crypt32 tests)', () => {
  it('a store with one certificate: header, one element, end marker', () => {
    const bytes = data('wine-sst-cert.bin');
    const entries = decodeSst(bytes);
    expect(entries).toHaveLength(1);
    expect(entries[0].kind).toBe('certificate');
    expect(entries[0].properties).toEqual([]);
    // the element is the 124-byte "bigCert" that starts right after the 8 + 12 header bytes
    expect(Buffer.from(entries[0].encoded)).toEqual(bytes.subarray(20, 20 + 124));
    expect(entries[0].encoded[0]).toBe(0x30);
    expect(Buffer.from(encodeSst(entries))).toEqual(bytes);
  });

  it('a store with a certificate and a CRL', () => {
    const bytes = data('wine-sst-cert-crl.bin');
    const entries = decodeSst(bytes);
    expect(entries.map((e) => [e.kind, e.encoded.length])).toEqual([
      ['certificate', 124],
      ['crl', 71],
    ]);
    expect(sstCertificates(bytes)).toHaveLength(1);
    expect(Buffer.from(encodeSst(entries))).toEqual(bytes);
  });
});

describe('our stores', () => {
  it('an OpenSSL root CA comes back as the same DER, and Node parses it', () => {
    const ca = opensslRootCa(tmp.dir, 'OdjSstRoot');
    const sst = encodeSst([ca.der]);
    const [der] = sstCertificates(sst);
    expect(Buffer.from(der)).toEqual(ca.der);
    expect(new X509Certificate(der).subject).toContain('CN=OdjSstRoot');
    // same layout as Windows' one-certificate store: 8 + 12 + DER + 12
    expect(sst.length).toBe(8 + 12 + ca.der.length + 12);
  });

  it('several certificates with properties keep their order and properties', () => {
    const a = opensslRootCa(tmp.dir, 'OdjSstA').der;
    const b = opensslRootCa(tmp.dir, 'OdjSstB').der;
    const friendly = Buffer.from('Root A\0', 'utf16le');
    const sst = encodeSst([{ kind: 'certificate', encoded: a, properties: [{ propId: 11, value: friendly }] }, b]);
    const back = decodeSst(sst);
    expect(back.map((e) => Buffer.from(e.encoded))).toEqual([a, b]);
    expect(back[0].properties).toEqual([{ propId: 11, value: new Uint8Array(friendly) }]);
    expect(back[1].properties).toEqual([]);
  });

  it('an empty store is header + end marker', () => {
    expect(Buffer.from(encodeSst([])).toString('hex')).toBe('0000000043455254' + '00'.repeat(12));
    expect(decodeSst(encodeSst([]))).toEqual([]);
  });

  it('refuses to encode an empty context or a reserved property id', () => {
    expect(() => encodeSst([new Uint8Array(0)])).toThrow(SerializedStoreError);
    expect(() => encodeSst([{ kind: 'certificate', encoded: new Uint8Array([0x30, 0]), properties: [{ propId: 32, value: new Uint8Array(1) }] }])).toThrow(/property id/);
  });
});

describe('malformed stores: SerializedStoreError with the offset', () => {
  const good = data('wine-sst-cert.bin');
  const withU32 = (at: number, v: number): Buffer => {
    const m = Buffer.from(good);
    m.writeUInt32LE(v, at);
    return m;
  };

  it.each([
    ['empty', Buffer.alloc(0), 0, /8-byte header/],
    ['wrong magic', Buffer.from('00000000434552550000000000000000000000000000', 'hex'), 0, /header/],
    ['non-zero first word', withU32(0, 1), 0, /header/],
    ['encoding type not 1', withU32(12, 2), 12, /encoding type 1/],
    ['element longer than the store', withU32(16, 0x7fffffff), 16, /to fit/],
    ['no end marker', good.subarray(0, good.length - 12), 144, /truncated/],
    ['end marker cut short', good.subarray(0, good.length - 3), 144, /truncated/],
    ['end marker not all zero', withU32(good.length - 4, 5), 144, /12 zero bytes/],
    ['bytes after the end marker', Buffer.concat([good, Buffer.from([1])]), 156, /nothing after/],
  ])('%s', (_name, bytes, offset, message) => {
    const e = storeError(bytes);
    expect(e.offset).toBe(offset);
    expect(e.message).toMatch(message);
  });

  it('a property with no certificate after it', () => {
    const orphan = Buffer.concat([Buffer.from('0000000043455254', 'hex'), Buffer.from('0b000000010000000200000041000000000000000000000000000000', 'hex')]);
    expect(storeError(orphan).message).toMatch(/after property 11/);
  });

  it('an empty certificate element', () => {
    const empty = Buffer.from('0000000043455254' + '200000000100000000000000' + '000000000000000000000000', 'hex');
    expect(storeError(empty).message).toMatch(/non-empty certificate/);
  });

  it('every truncation and every single-byte change ends in SerializedStoreError or a decode, never another error', () => {
    const both = data('wine-sst-cert-crl.bin');
    for (let n = 0; n < both.length; n++) storeError(both.subarray(0, n));
    for (let i = 0; i < both.length; i++) {
      const m = Buffer.from(both);
      m[i] ^= 0xff;
      try {
        decodeSst(m);
      } catch (e) {
        expect(e).toBeInstanceOf(SerializedStoreError);
      }
    }
  });
});
