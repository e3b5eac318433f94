// Netapi32.dll: NetCreateProvisioningPackage with a NETSETUP_PROVISIONING_PARAMS (Windows 8 /
// Server 2012 and later), NetProvisionComputerAccount where it is missing (Windows 7 / 2008 R2),
// NetUserGetInfo and NetUserDel; every buffer Windows returns goes back through NetApiBufferFree.
// Wide strings throughout; __stdcall matters on x86 only.
import { loadImpersonator } from './impersonation';
import { userInfo23Type } from './layout';
import { loadKoffi, openLibrary, WINDOWS_LIBRARY, type LibraryOptions } from './library';
import { type KoffiModule, type NativeFunction } from './koffi';
import type { NativeCredentials, NativeNetapi, NativeProvisionRequest, NativeUser, NetapiSession } from './native';
import { buildParamsImage } from './params-image';
import { missingFromLegacyCall, refusePresent, takePackage, takeUser } from './buffers';
import { isNoSuchAccount, statusError } from './status';

const WINDOWS_HINT = "Netapi32.dll ships with Windows; if it cannot be loaded, choose the 'ldap' backend";

/** The Netapi32 prototypes, as lmjoin.h / lmaccess.h / lmapibuf.h declare them (NET_API_FUNCTION
 *  is __stdcall; koffi ignores it off x86). Exported so their syntax is checked off Windows too. */
export const NETAPI32_PROTOTYPES = {
  NetCreateProvisioningPackage:
    'uint32_t __stdcall NetCreateProvisioningPackage(void *pProvisioningParams, _Out_ void **ppPackageBinData, ' +
    '_Out_ uint32_t *pdwPackageBinDataSize, _Out_ void **ppPackageTextData)',
  NetProvisionComputerAccount:
    'uint32_t __stdcall NetProvisionComputerAccount(const char16_t *lpDomain, const char16_t *lpMachineName, ' +
    'const char16_t *lpMachineAccountOU, const char16_t *lpDcName, uint32_t dwOptions, _Out_ void **pProvisionBinData, ' +
    '_Out_ uint32_t *pdwProvisionBinDataSize, _Out_ void **pProvisionTextData)',
  NetUserGetInfo: 'uint32_t __stdcall NetUserGetInfo(const char16_t *servername, const char16_t *username, uint32_t level, _Out_ void **bufptr)',
  NetUserDel: 'uint32_t __stdcall NetUserDel(const char16_t *servername, const char16_t *username)',
  NetApiBufferFree: 'uint32_t __stdcall NetApiBufferFree(void *Buffer)',
} as const;

function optionalFunc(lib: ReturnType<KoffiModule['load']>, proto: string): NativeFunction | null {
  try {
    return lib.func(proto);
  } catch {
    return null;
  }
}

export function loadWindows(options: LibraryOptions = {}): NativeNetapi {
  const koffi = loadKoffi();
  const lib = openLibrary(koffi, options.libraryPath ?? WINDOWS_LIBRARY, WINDOWS_HINT);
  const createPackage = optionalFunc(lib, NETAPI32_PROTOTYPES.NetCreateProvisioningPackage);
  const provisionAccount = lib.func(NETAPI32_PROTOTYPES.NetProvisionComputerAccount);
  const userGetInfo = lib.func(NETAPI32_PROTOTYPES.NetUserGetInfo);
  const userDel = lib.func(NETAPI32_PROTOTYPES.NetUserDel);
  const bufferFree = lib.func(NETAPI32_PROTOTYPES.NetApiBufferFree);
  const UserInfo23 = userInfo23Type(koffi, true);
  const impersonator = loadImpersonator(koffi);

  const session: NetapiSession = {
    provision(r: NativeProvisionRequest): Buffer {
      const bin: unknown[] = [null];
      const size: number[] = [0];
      if (createPackage) {
        const image = buildParamsImage(koffi, r);
        try {
          // Exactly one of the binary and text outputs may be asked for: we take the binary.
          const st = createPackage(image.address, bin, size, null) as number;
          return takePackage(koffi, bufferFree, st, 'NetCreateProvisioningPackage', bin, size);
        } finally {
          image.free();
        }
      }
      refusePresent(missingFromLegacyCall(r), 'this Windows has no NetCreateProvisioningPackage (Windows 8 / Server 2012 or later)');
      const st = provisionAccount(r.domain, r.machineName, r.machineAccountOU ?? null, r.dcName ?? null, r.options >>> 0, bin, size, null) as number;
      return takePackage(koffi, bufferFree, st, 'NetProvisionComputerAccount', bin, size);
    },

    getUser(server: string | null, accountName: string): NativeUser | null {
      const out: unknown[] = [null];
      const st = userGetInfo(server, accountName, 23, out) as number;
      return takeUser(koffi, bufferFree, UserInfo23, st, out);
    },

    deleteUser(server: string | null, accountName: string): boolean {
      const st = userDel(server, accountName) as number;
      if (isNoSuchAccount(st)) return false;
      if (st !== 0) throw statusError(st, 'NetUserDel');
      return true;
    },
  };

  return {
    flavour: 'windows',
    withSession<T>(credentials: NativeCredentials, fn: (s: NetapiSession) => T): T {
      return impersonator.run(credentials, () => fn(session));
    },
  };
}
