// NETSETUP_PROVISIONING_PARAMS exactly as lmjoin.h declares it (member order and C types), and the
// two ways koffi lays it out: with this machine's own pointers (what a call passes), and modelled
// for a named Windows ABI (pointers as unsigned integers of that ABI's width), so the layout of
// x86 can be checked on an x64 machine.
import type { KoffiModule, TypeObject } from './koffi';

/** The C type of each member, in the header's words. */
export type MemberKind = 'DWORD' | 'LPCWSTR' | 'LPWSTR' | 'LPCWSTR*';

/** Member order of lmjoin.h's NETSETUP_PROVISIONING_PARAMS (Windows 8 / Server 2012 and later). */
export const PROVISIONING_PARAMS_MEMBERS: ReadonlyArray<readonly [string, MemberKind]> = [
  ['dwVersion', 'DWORD'],
  ['lpDomain', 'LPCWSTR'],
  ['lpHostName', 'LPCWSTR'],
  ['lpMachineAccountOU', 'LPCWSTR'],
  ['lpDcName', 'LPCWSTR'],
  ['dwProvisionOptions', 'DWORD'],
  ['aCertTemplateNames', 'LPCWSTR*'],
  ['cCertTemplateNames', 'DWORD'],
  ['aMachinePolicyNames', 'LPCWSTR*'],
  ['cMachinePolicyNames', 'DWORD'],
  ['aMachinePolicyPaths', 'LPCWSTR*'],
  ['cMachinePolicyPaths', 'DWORD'],
  // The members below came with NETSETUP_PROVISIONING_PARAMS_CURRENT_VERSION (2).
  ['lpNetbiosName', 'LPWSTR'],
  ['lpSiteName', 'LPWSTR'],
  ['lpPrimaryDNSDomain', 'LPWSTR'],
];

/** lmjoin.h: the first published version, without the NetBIOS/site/primary DNS members. */
export const NETSETUP_PROVISIONING_PARAMS_WIN8_VERSION = 1;
/** lmjoin.h: the version that has lpNetbiosName, lpSiteName and lpPrimaryDNSDomain. */
export const NETSETUP_PROVISIONING_PARAMS_CURRENT_VERSION = 2;

export type WindowsAbi = 'x64' | 'x86' | 'arm64';

const nativeTypes: Record<MemberKind, string> = {
  DWORD: 'uint32_t',
  LPCWSTR: 'const char16_t *',
  LPWSTR: 'char16_t *',
  'LPCWSTR*': 'const char16_t **',
};

/** The struct with this machine's pointers: what koffi computes for a real call here. */
export function provisioningParamsType(koffi: KoffiModule): TypeObject {
  // Anonymous on purpose: a named koffi type can be declared once per process only.
  return koffi.struct(Object.fromEntries(PROVISIONING_PARAMS_MEMBERS.map(([n, k]) => [n, nativeTypes[k]])));
}

/** The struct as laid out for a Windows ABI: DWORD is 32 bits everywhere, pointers are 64 bits on
 *  x64 and arm64 and 32 bits on x86, each aligned to its size (MSVC's default packing). */
export function provisioningParamsModel(koffi: KoffiModule, abi: WindowsAbi): TypeObject {
  const pointer = abi === 'x86' ? 'uint32_t' : 'uint64_t';
  return koffi.struct(
    Object.fromEntries(PROVISIONING_PARAMS_MEMBERS.map(([n, k]) => [n, k === 'DWORD' ? 'uint32_t' : pointer])),
  );
}

/** USER_INFO_23 (lmaccess.h; Samba's netapi.h has the same members with char strings). */
export function userInfo23Type(koffi: KoffiModule, wide: boolean): TypeObject {
  const str = wide ? 'const char16_t *' : 'const char *';
  return koffi.struct({
    usri23_name: str,
    usri23_full_name: str,
    usri23_comment: str,
    usri23_flags: 'uint32_t',
    usri23_user_sid: 'void *',
  });
}
