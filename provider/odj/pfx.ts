// A minimal check that bytes are a PKCS#12 PFX (RFC 7292 section 4) before they go into an
// OP_CERT_PFX_STORE. Node's crypto cannot open PKCS#12, and we do not decrypt it (the machine does,
// when it joins); this reads only the outer DER structure:
//   PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, macData MacData OPTIONAL }
//   ContentInfo ::= SEQUENCE { contentType OID (id-data or id-signedData), content [0] EXPLICIT ANY }
//   MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }
// The PFX holds a private key: errors carry offsets and expectations, never content.

export class PfxFormatError extends Error {
  override readonly name = 'PfxFormatError';
  constructor(
    readonly offset: number,
    readonly expected: string,
  ) {
    super(`not a PKCS#12 (PFX) file${offset >= 0 ? ` at byte ${offset}` : ''}: expected ${expected}`);
  }
}

export interface PfxSummary {
  version: 3;
  /** how the authenticated safe is protected: 'data' (password integrity, with macData) or 'signedData' */
  authSafeContentType: 'data' | 'signedData';
  hasMac: boolean;
  byteLength: number;
}

/** Past this a "PFX" is not a machine certificate. */
export const MAX_PFX_BYTES = 1024 * 1024;

const OID_DATA = '1.2.840.113549.1.7.1';
const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';

interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

/** One DER TLV at `pos`, its content within `limit`. Definite lengths only (DER). */
function tlv(b: Buffer, pos: number, limit: number, what: string): Tlv {
  if (limit - pos < 2) throw new PfxFormatError(pos, `${what} (the data ends here)`);
  const tag = b[pos];
  if ((tag & 0x1f) === 0x1f) throw new PfxFormatError(pos, `${what} (multi-byte tags are not used in a PFX)`);
  let len = b[pos + 1];
  let p = pos + 2;
  if (len === 0x80) throw new PfxFormatError(pos + 1, `${what} with a definite length (indefinite-length BER is not DER; re-export the PFX)`);
  if (len > 0x80) {
    const n = len & 0x7f;
    if (n > 4) throw new PfxFormatError(pos + 1, `${what} with a length of at most 4 bytes`);
    if (limit - p < n) throw new PfxFormatError(pos + 1, `${what}'s length bytes (the data ends here)`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i];
    p += n;
  }
  if (len > limit - p) throw new PfxFormatError(pos + 1, `${what} of ${len} bytes to fit in the ${limit - p} bytes left`);
  return { tag, start: pos, contentStart: p, end: p + len };
}

function expectTag(t: Tlv, tag: number, what: string): void {
  if (t.tag !== tag) throw new PfxFormatError(t.start, `${what} (tag 0x${tag.toString(16).padStart(2, '0')}, found 0x${t.tag.toString(16).padStart(2, '0')})`);
}

function oid(b: Buffer, t: Tlv): string {
  const c = b.subarray(t.contentStart, t.end);
  if (c.length === 0) throw new PfxFormatError(t.start, 'a non-empty OBJECT IDENTIFIER');
  const parts: number[] = [];
  let v = 0;
  for (let i = 0; i < c.length; i++) {
    v = v * 128 + (c[i] & 0x7f);
    if (!(c[i] & 0x80)) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** Check the outer PFX structure; throws PfxFormatError on the first thing that is not a PFX. */
export function validatePfx(bytes: Uint8Array): PfxSummary {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length === 0) throw new PfxFormatError(0, 'a PFX (the data is empty)');
  if (b.length > MAX_PFX_BYTES) throw new PfxFormatError(-1, `at most ${MAX_PFX_BYTES} bytes (found ${b.length})`);
  const pfx = tlv(b, 0, b.length, 'the PFX SEQUENCE');
  expectTag(pfx, 0x30, 'the PFX SEQUENCE');
  if (pfx.end !== b.length) throw new PfxFormatError(pfx.end, `the end of the PFX (${b.length - pfx.end} bytes follow it)`);

  const version = tlv(b, pfx.contentStart, pfx.end, 'the version INTEGER');
  expectTag(version, 0x02, 'the version INTEGER');
  if (version.end - version.contentStart !== 1 || b[version.contentStart] !== 3) throw new PfxFormatError(version.start, 'version 3');

  const authSafe = tlv(b, version.end, pfx.end, 'the authSafe ContentInfo');
  expectTag(authSafe, 0x30, 'the authSafe ContentInfo SEQUENCE');
  const type = tlv(b, authSafe.contentStart, authSafe.end, 'the contentType');
  expectTag(type, 0x06, 'the contentType OBJECT IDENTIFIER');
  const contentType = oid(b, type);
  if (contentType !== OID_DATA && contentType !== OID_SIGNED_DATA) {
    throw new PfxFormatError(type.start, `contentType id-data or id-signedData (found ${contentType})`);
  }
  const content = tlv(b, type.end, authSafe.end, 'the [0] content');
  expectTag(content, 0xa0, 'the [0] EXPLICIT content');
  if (content.end !== authSafe.end) throw new PfxFormatError(content.end, 'the end of the ContentInfo');
  if (contentType === OID_DATA) {
    const octets = tlv(b, content.contentStart, content.end, 'the authSafe OCTET STRING');
    expectTag(octets, 0x04, 'the authSafe OCTET STRING');
    const safes = tlv(b, octets.contentStart, octets.end, 'the AuthenticatedSafe SEQUENCE');
    expectTag(safes, 0x30, 'the AuthenticatedSafe SEQUENCE');
  }

  let hasMac = false;
  if (authSafe.end < pfx.end) {
    const mac = tlv(b, authSafe.end, pfx.end, 'the macData SEQUENCE');
    expectTag(mac, 0x30, 'the macData SEQUENCE');
    const digest = tlv(b, mac.contentStart, mac.end, 'the mac DigestInfo');
    expectTag(digest, 0x30, 'the mac DigestInfo SEQUENCE');
    const salt = tlv(b, digest.end, mac.end, 'the macSalt');
    expectTag(salt, 0x04, 'the macSalt OCTET STRING');
    if (salt.end < mac.end) {
      const iterations = tlv(b, salt.end, mac.end, 'the iterations INTEGER');
      expectTag(iterations, 0x02, 'the iterations INTEGER');
      if (iterations.end !== mac.end) throw new PfxFormatError(iterations.end, 'the end of macData');
    }
    if (mac.end !== pfx.end) throw new PfxFormatError(mac.end, 'the end of the PFX after macData');
    hasMac = true;
  }
  return { version: 3, authSafeContentType: contentType === OID_DATA ? 'data' : 'signedData', hasMac, byteLength: b.length };
}

/** The PFX bytes from what a user gives: bytes as they are, a string as base64 (whitespace allowed). */
export function pfxBytesFrom(input: string | Uint8Array): Uint8Array {
  if (typeof input !== 'string') return input;
  const compact = input.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    throw new PfxFormatError(-1, 'base64 text (the string is not base64)');
  }
  return new Uint8Array(Buffer.from(compact, 'base64'));
}
