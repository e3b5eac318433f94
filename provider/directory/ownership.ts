// The marker that ties a computer account to the resource (or caller) that created it, and the
// check that an account carrying it really is ours, so that a create which failed after its add
// (the DC stopped answering, the process died) is adopted by the retry instead of being refused
// with NERR_UserExists and left behind as an orphan.
//
// Where the marker lives: `description`. The computer class's default security descriptor grants
// CREATOR OWNER write access to exactly two free-text attributes, description and displayName, so
// both may be set in the add by a user creating under ms-DS-MachineAccountQuota as well as by a
// delegated or admin user. description is the one operators see (ADUC's list, Get-ADComputer), which
// is what we want: an account this tool made says so. An operator who edits it later loses nothing:
// the marker only matters between a failed create and its retry. The value is a hash, so a Pulumi
// URN (project and stack names) never reaches the directory.
//
// Why the marker alone is not enough: it is predictable (anyone who knows the URN can compute it), so
// someone allowed to create computers could plant an account with it; adopting that account would
// hand its creator (who may still write msDS-AllowedToActOnBehalfOfOtherIdentity and the like) a
// machine we are about to join. So we adopt only an account created by the identity we bind as: its
// ms-DS-CreatorSID (set when created under the quota) or, absent that, its owner is in our token.
import { createHash } from 'node:crypto';
import { Control } from 'ldapts';
import type { DirectoryConnection } from './connection';
import { sidFromBytes } from '../odj/ids';

const MARKER_PREFIX = 'pulumi-offline-join owner ';

/** The description value for accounts made on behalf of `ownerTag`. */
export function ownerMarker(ownerTag: string): string {
  return MARKER_PREFIX + createHash('sha256').update('odj-owner\0').update(ownerTag, 'utf8').digest('hex').slice(0, 32);
}

/** True when the description carries the marker for `ownerTag`. */
export function hasOwnerMarker(description: string | undefined, ownerTag: string): boolean {
  return description === ownerMarker(ownerTag);
}

const SD_FLAGS_OID = '1.2.840.113556.1.4.801';
// SEQUENCE { INTEGER 1 }: OWNER_SECURITY_INFORMATION only, readable with READ_CONTROL alone.
const OWNER_ONLY = Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]);

/** LDAP_SERVER_SD_FLAGS_OID asking for the owner only. */
class SdFlagsControl extends Control {
  constructor() {
    super(SD_FLAGS_OID, { critical: false });
  }
  protected override writeControl(writer: Parameters<Control['write']>[0]): void {
    writer.writeBuffer(OWNER_ONLY, 0x04); // the control value is an OCTET STRING holding the BER
  }
}

/** The owner SID of a self-relative SECURITY_DESCRIPTOR ([MS-DTYP] 2.4.6), or undefined. */
export function ownerOfSecurityDescriptor(sd: Buffer): string | undefined {
  if (sd.length < 20 || sd[0] !== 1) return undefined;
  const offset = sd.readUInt32LE(4);
  if (offset === 0 || offset + 8 > sd.length) return undefined;
  const count = sd[offset + 1];
  const end = offset + 8 + 4 * count;
  if (end > sd.length) return undefined;
  return sidFromBytes(sd.subarray(offset, end));
}

const first = (v: unknown): unknown => (Array.isArray(v) ? v[0] : v);

/** The SIDs of the bound identity and its groups, as the DC sees them (rootDSE tokenGroups). */
export async function boundTokenSids(conn: DirectoryConnection): Promise<Set<string>> {
  const r = await conn.run({ action: 'reading the bound identity' }, () =>
    conn.client.search('', { scope: 'base', attributes: ['tokenGroups'], explicitBufferAttributes: ['tokenGroups'] }),
  );
  const raw = r.searchEntries[0]?.tokenGroups;
  const list = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter(Buffer.isBuffer);
  return new Set(list.map((b) => sidFromBytes(b)));
}

export interface Ownership {
  owner?: string;
  creatorSid?: string;
}

/** Who owns the object and, when it was created under the machine account quota, who created it. */
export async function readOwnership(conn: DirectoryConnection, dn: string): Promise<Ownership> {
  const r = await conn.run({ action: `reading the owner of ${dn}` }, () =>
    conn.client.search(
      dn,
      { scope: 'base', attributes: ['nTSecurityDescriptor', 'mS-DS-CreatorSID'], explicitBufferAttributes: ['nTSecurityDescriptor', 'mS-DS-CreatorSID'] },
      new SdFlagsControl(),
    ),
  );
  const e = r.searchEntries[0] ?? {};
  const sd = first(e.nTSecurityDescriptor);
  const creator = first(e['mS-DS-CreatorSID']);
  return {
    owner: Buffer.isBuffer(sd) ? ownerOfSecurityDescriptor(sd) : undefined,
    creatorSid: Buffer.isBuffer(creator) && creator.length >= 8 ? sidFromBytes(creator) : undefined,
  };
}

/** The rule: created by us. A quota-created account names its creator; any other names its owner. */
export function isOurs(o: Ownership, token: Set<string>): boolean {
  if (o.creatorSid !== undefined) return token.has(o.creatorSid);
  return o.owner !== undefined && token.has(o.owner);
}

/** True when the description is an owner marker of this tool (whoever's). */
export function isOwnerMarker(description: string | undefined): boolean {
  return description !== undefined && description.startsWith(MARKER_PREFIX);
}
