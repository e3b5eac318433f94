// A binary SID in native memory (what USER_INFO_23's usri23_user_sid points to; Samba's struct
// domsid has the same layout) as `S-1-…`: revision, sub-authority count, 48-bit big-endian
// authority, then the little-endian 32-bit sub-authorities.
import type { KoffiModule } from './koffi';

export function sidBytesToString(b: Buffer): string {
  if (b.length < 8 || b.length < 8 + 4 * b[1]) throw new Error(`not a SID: ${b.length} bytes`);
  const subs: number[] = [];
  for (let i = 0; i < b[1]; i++) subs.push(b.readUInt32LE(8 + 4 * i));
  return ['S', b[0], b.readUIntBE(2, 6), ...subs].join('-');
}

export function readSid(koffi: KoffiModule, address: bigint): string {
  const head = Buffer.from(koffi.view(address, 8));
  // A SID has at most 15 sub-authorities (SID_MAX_SUB_AUTHORITIES).
  if (head[0] !== 1 || head[1] > 15) throw new Error('not a SID (revision or count out of range)');
  return sidBytesToString(Buffer.from(koffi.view(address, 8 + 4 * head[1])));
}
