// What both flavours do with what a NetApi call hands back: the package bytes or the USER_INFO_23
// copied out of the library's buffer, which goes back to NetApiBufferFree on every path; and the
// inputs NetProvisionComputerAccount has no parameter for, refused by name instead of dropped.
import { ProvisioningError } from '../errors';
import { pointerValue, type KoffiModule, type NativeFunction, type TypeObject } from './koffi';
import type { NativeProvisionRequest, NativeUser } from './native';
import { readSid } from './sid';
import { isNoSuchAccount, statusError } from './status';

/** The library's explanation of a failed status, if it has one (secrets already removed). */
export type Explain = (status: number) => string | undefined;

/** Copies the package out of the library's buffer and frees the buffer, whatever the status. */
export function takePackage(koffi: KoffiModule, bufferFree: NativeFunction, status: number, call: string, bin: unknown[], size: number[], explain?: Explain): Buffer {
  const p = pointerValue(koffi, bin[0]);
  try {
    if (status !== 0) throw statusError(status, call, explain?.(status));
    if (p === null || size[0] === 0) throw statusError('ERROR_INVALID_DATA', call, 'it returned no package');
    return Buffer.from(Buffer.from(koffi.view(p, size[0])));
  } finally {
    if (p !== null) bufferFree(p);
  }
}

/** NetUserGetInfo level 23's answer as a NativeUser (null: no such account); the buffer is freed. */
export function takeUser(koffi: KoffiModule, bufferFree: NativeFunction, userInfo23: TypeObject, status: number, out: unknown[], explain?: Explain): NativeUser | null {
  const p = pointerValue(koffi, out[0]);
  try {
    if (isNoSuchAccount(status)) return null;
    if (status !== 0) throw statusError(status, 'NetUserGetInfo', explain?.(status));
    if (p === null) throw statusError('ERROR_INVALID_DATA', 'NetUserGetInfo', 'it returned no data');
    const u = koffi.decode(p, userInfo23) as { usri23_name: string | null; usri23_flags: number; usri23_user_sid: unknown };
    const sid = pointerValue(koffi, u.usri23_user_sid);
    if (sid === null) throw statusError('ERROR_INVALID_DATA', 'NetUserGetInfo', 'the account has no SID');
    return { name: u.usri23_name ?? '', flags: u.usri23_flags, sid: readSid(koffi, sid) };
  } finally {
    if (p !== null) bufferFree(p);
  }
}

/** NETSETUP_PROVISIONING_PARAMS members NetProvisionComputerAccount has no parameter for. */
export function missingFromLegacyCall(r: NativeProvisionRequest): Array<[field: string, present: boolean]> {
  return [
    ['certTemplateNames', r.certTemplateNames.length > 0],
    ['machinePolicyNames', r.machinePolicyNames.length > 0],
    ['machinePolicyPaths', r.machinePolicyPaths.length > 0],
    ['netbiosName', r.netbiosName !== undefined],
    ['siteName', r.siteName !== undefined],
    ['primaryDnsDomain', r.primaryDnsDomain !== undefined],
  ];
}

/** ERROR_NOT_SUPPORTED naming the first field present, with why. */
export function refusePresent(fields: Array<[field: string, present: boolean]>, why: string): void {
  const hit = fields.find(([, present]) => present);
  if (hit) throw new ProvisioningError('ERROR_NOT_SUPPORTED', why, { field: hit[0] });
}
