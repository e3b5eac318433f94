// A binary SID in native memory (what USER_INFO_23's usri23_user_sid points to; Samba's struct
// domsid has the same layout, [MS-DTYP] 2.4.2.2) as `S-1-…`.
import type { KoffiModule } from './koffi';
import { sidFromBytes } from '../odj/ids';

export function readSid(koffi: KoffiModule, address: bigint): string {
  const head = Buffer.from(koffi.view(address, 8));
  // A SID has at most 15 sub-authorities (SID_MAX_SUB_AUTHORITIES).
  if (head[0] !== 1 || head[1] > 15) throw new Error('not a SID (revision or count out of range)');
  return sidFromBytes(Buffer.from(koffi.view(address, 8 + 4 * head[1])));
}
