// The serialized certificate store: what Windows' CertSaveStore(CERT_STORE_SAVE_AS_STORE) writes and
// what OP_CERT_SST_STORE.pSst carries. No I/O.
//
// Layout (all integers uint32 little-endian):
//   file header   0x00000000, then the magic "CERT" (bytes 43 45 52 54)
//   elements      { propId, encodingType (always 1), cb, cb bytes }* — a certificate, CRL or CTL
//                 is the element with propId 32, 33 or 34; the property elements of a context
//                 (friendly name, hashes, …) come right before it, as CertSerializeCertificateStoreElement
//                 writes them
//   end marker    12 zero bytes (propId 0, encodingType 0, cb 0)
// Checked against the stores Windows produced in Wine's crypt32 tests (test/data/README.md).

/** The reserved property ids that mark a context rather than a property. */
export const SstContextPropIds = { CERTIFICATE: 32, CRL: 33, CTL: 34 } as const;

/** CERT_SYSTEM_STORE_LOCAL_MACHINE (CERT_SYSTEM_STORE_LOCAL_MACHINE_ID 2 << CERT_SYSTEM_STORE_LOCATION_SHIFT 16). */
export const CERT_SYSTEM_STORE_LOCAL_MACHINE = 0x00020000;

const MAGIC = 0x54524543; // "CERT" read as uint32 LE
const ELEMENT_ENCODING = 1; // what Windows writes in every element header
const HEADER_BYTES = 8;
const ELEMENT_HEADER_BYTES = 12;

export interface SstProperty {
  /** CERT_*_PROP_ID, e.g. 11 = CERT_FRIENDLY_NAME_PROP_ID, 3 = CERT_SHA1_HASH_PROP_ID */
  propId: number;
  value: Uint8Array;
}

export type SstContextKind = 'certificate' | 'crl' | 'ctl';

export interface SstEntry {
  kind: SstContextKind;
  /** the encoded context: a DER certificate, CRL or CTL */
  encoded: Uint8Array;
  /** the property elements that came before it, in order */
  properties: SstProperty[];
}

/** A serialized store that does not follow the layout above. */
export class SerializedStoreError extends Error {
  override readonly name = 'SerializedStoreError';
  constructor(
    /** byte offset in the store where the problem was found; -1 when encoding */
    readonly offset: number,
    readonly expected: string,
  ) {
    super(`malformed serialized certificate store ${offset >= 0 ? `at byte ${offset}` : 'while encoding'}: expected ${expected}`);
  }
}

const kindByProp = new Map<number, SstContextKind>([
  [SstContextPropIds.CERTIFICATE, 'certificate'],
  [SstContextPropIds.CRL, 'crl'],
  [SstContextPropIds.CTL, 'ctl'],
]);
const propByKind: Record<SstContextKind, number> = { certificate: 32, crl: 33, ctl: 34 };

/** Read a serialized store strictly: header, well-formed elements, the end marker, nothing after it. */
export function decodeSst(bytes: Uint8Array): SstEntry[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HEADER_BYTES) throw new SerializedStoreError(0, `an 8-byte header (the store has ${buf.length} bytes)`);
  if (buf.readUInt32LE(0) !== 0 || buf.readUInt32LE(4) !== MAGIC) throw new SerializedStoreError(0, 'the header 00 00 00 00 "CERT"');
  const entries: SstEntry[] = [];
  let pending: SstProperty[] = [];
  let pos = HEADER_BYTES;
  for (;;) {
    if (buf.length - pos < ELEMENT_HEADER_BYTES) throw new SerializedStoreError(pos, 'a 12-byte element header or the end marker (the store is truncated)');
    const propId = buf.readUInt32LE(pos);
    const encoding = buf.readUInt32LE(pos + 4);
    const cb = buf.readUInt32LE(pos + 8);
    if (propId === 0) {
      if (encoding !== 0 || cb !== 0) throw new SerializedStoreError(pos, 'the end marker to be 12 zero bytes');
      if (pending.length > 0) throw new SerializedStoreError(pos, `a certificate, CRL or CTL after property ${pending[0].propId} (properties precede their context)`);
      pos += ELEMENT_HEADER_BYTES;
      break;
    }
    if (encoding !== ELEMENT_ENCODING) throw new SerializedStoreError(pos + 4, `element encoding type 1 (found ${encoding})`);
    const start = pos + ELEMENT_HEADER_BYTES;
    if (cb > buf.length - start) throw new SerializedStoreError(pos + 8, `an element of ${cb} bytes to fit in the ${buf.length - start} bytes left`);
    const value = new Uint8Array(buf.subarray(start, start + cb));
    const kind = kindByProp.get(propId);
    if (kind) {
      if (cb === 0) throw new SerializedStoreError(pos + 8, `a non-empty ${kind}`);
      entries.push({ kind, encoded: value, properties: pending });
      pending = [];
    } else {
      pending.push({ propId, value });
    }
    pos = start + cb;
  }
  if (pos !== buf.length) throw new SerializedStoreError(pos, `nothing after the end marker (${buf.length - pos} bytes follow)`);
  return entries;
}

/** Just the DER certificates of a store, in order. */
export function sstCertificates(bytes: Uint8Array): Uint8Array[] {
  return decodeSst(bytes)
    .filter((e) => e.kind === 'certificate')
    .map((e) => e.encoded);
}

function elementHeader(propId: number, cb: number): Buffer {
  const h = Buffer.alloc(ELEMENT_HEADER_BYTES);
  h.writeUInt32LE(propId, 0);
  h.writeUInt32LE(ELEMENT_ENCODING, 4);
  h.writeUInt32LE(cb, 8);
  return h;
}

/** Write a serialized store. Certificates given as bare DER carry no properties (as Wine's vector). */
export function encodeSst(entries: (SstEntry | Uint8Array)[]): Uint8Array {
  const chunks: Buffer[] = [Buffer.from([0, 0, 0, 0, 0x43, 0x45, 0x52, 0x54])];
  for (const e of entries) {
    const entry: SstEntry = e instanceof Uint8Array ? { kind: 'certificate', encoded: e, properties: [] } : e;
    if (entry.encoded.length === 0) throw new SerializedStoreError(-1, `a non-empty ${entry.kind}`);
    for (const p of entry.properties) {
      if (!Number.isInteger(p.propId) || p.propId <= 0 || p.propId > 0xffffffff || kindByProp.has(p.propId)) {
        throw new SerializedStoreError(-1, `a property id other than 0, 32, 33, 34 (found ${p.propId})`);
      }
      chunks.push(elementHeader(p.propId, p.value.length), Buffer.from(p.value));
    }
    chunks.push(elementHeader(propByKind[entry.kind], entry.encoded.length), Buffer.from(entry.encoded));
  }
  chunks.push(Buffer.alloc(ELEMENT_HEADER_BYTES));
  return new Uint8Array(Buffer.concat(chunks));
}
