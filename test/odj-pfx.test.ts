// The PFX check: what OpenSSL exports passes; certificates, PEM, truncations and other bytes fail
// with PfxFormatError at an offset, never another error.
import { afterAll, describe, expect, it } from 'vitest';
import { pfxBytesFrom, PfxFormatError, validatePfx } from '../provider/odj/pfx';
import { opensslPfx, opensslRootCa, tempDir } from './certs-policies-fixtures';

const tmp = tempDir('pfx');
afterAll(() => tmp.cleanup());
const ca = opensslRootCa(tmp.dir, 'OdjPfxTest');
const pfx = opensslPfx(tmp.dir, ca);

function pfxError(bytes: Uint8Array): PfxFormatError {
  try {
    validatePfx(bytes);
  } catch (e) {
    if (e instanceof PfxFormatError) return e;
    throw new Error(`expected PfxFormatError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
  throw new Error('expected PfxFormatError, but it validated');
}

describe('PFX files OpenSSL exports', () => {
  it('pass, as password-integrity PFX with a MAC', () => {
    expect(validatePfx(pfx)).toEqual({ version: 3, authSafeContentType: 'data', hasMac: true, byteLength: pfx.length });
  });

  it('pass without a MAC too (-nomac)', () => {
    const noMac = opensslPfx(tmp.dir, ca, ['-nomac']);
    expect(validatePfx(noMac).hasMac).toBe(false);
  });

  it('as base64 text, with line breaks', () => {
    const text = pfx.toString('base64').replace(/(.{64})/g, '$1\n');
    expect(Buffer.from(pfxBytesFrom(text))).toEqual(pfx);
    expect(validatePfx(pfxBytesFrom(text)).hasMac).toBe(true);
  });
});

describe('what is not a PFX', () => {
  it('a DER certificate', () => {
    expect(pfxError(ca.der).message).toMatch(/version INTEGER/);
  });

  it('PEM text', () => {
    expect(pfxError(Buffer.from(ca.pem)).offset).toBe(0);
  });

  it('empty, trailing bytes, wrong version, indefinite length', () => {
    expect(pfxError(new Uint8Array(0)).message).toMatch(/empty/);
    expect(pfxError(Buffer.concat([pfx, Buffer.from([0])])).message).toMatch(/1 bytes follow/);
    const v2 = Buffer.from(pfx);
    const versionAt = v2.indexOf(Buffer.from([0x02, 0x01, 0x03]));
    v2[versionAt + 2] = 2;
    expect(pfxError(v2).message).toMatch(/version 3/);
    expect(pfxError(Buffer.from([0x30, 0x80, 0x02, 0x01, 0x03, 0, 0])).message).toMatch(/indefinite-length/);
  });

  it('a ContentInfo of another type', () => {
    // id-envelopedData (1.2.840.113549.1.7.3) where id-data belongs
    const m = Buffer.from(pfx);
    const at = m.indexOf(Buffer.from('06092a864886f70d010701', 'hex'));
    m[at + 10] = 3;
    expect(pfxError(m).message).toMatch(/id-data or id-signedData \(found 1\.2\.840\.113549\.1\.7\.3\)/);
  });

  it('text that is not base64', () => {
    expect(() => pfxBytesFrom('not base64!')).toThrow(PfxFormatError);
    expect(() => pfxBytesFrom('')).toThrow(/not base64/);
  });

  it('every truncation fails cleanly, every byte change fails cleanly or still reads as a PFX', () => {
    for (let n = 0; n < pfx.length; n++) pfxError(pfx.subarray(0, n));
    for (let i = 0; i < Math.min(pfx.length, 400); i++) {
      const m = Buffer.from(pfx);
      m[i] ^= 0xff;
      try {
        validatePfx(m);
      } catch (e) {
        expect(e).toBeInstanceOf(PfxFormatError);
      }
    }
  });

  it('errors show offsets, not PFX content', () => {
    const e = pfxError(pfx.subarray(0, pfx.length - 5));
    expect(e.message).not.toContain(pfx.subarray(0, 16).toString('hex'));
    expect(e.message).not.toContain(pfx.subarray(0, 12).toString('base64'));
  });
});
