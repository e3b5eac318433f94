// Netapi32.dll: NetCreateProvisioningPackage with a NETSETUP_PROVISIONING_PARAMS (Windows 8 /
// Server 2012 and later), NetProvisionComputerAccount where it is missing (Windows 7 / 2008 R2),
// NetUserGetInfo and NetUserDel; every buffer Windows returns goes back through NetApiBufferFree.
// Wide strings throughout; __stdcall matters on x86 only.
import { ProvisioningError } from '../errors';
import { loadImpersonator } from './impersonation';
import { userInfo23Type } from './layout';
import { loadKoffi, openLibrary, WINDOWS_LIBRARY, type LibraryOptions } from './library';
import { pointerValue, type KoffiModule, type NativeFunction } from './koffi';
import type { NativeCredentials, NativeNetapi, NativeProvisionRequest, NativeUser, NetapiSession } from './native';
import { buildParamsImage } from './params-image';
import { readSid } from './sid';
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

/** What NetProvisionComputerAccount has no parameter for. */
function refuseForLegacy(r: NativeProvisionRequest): void {
  const extra: Array<[string, boolean]> = [
    ['certTemplateNames', r.certTemplateNames.length > 0],
    ['machinePolicyNames', r.machinePolicyNames.length > 0],
    ['machinePolicyPaths', r.machinePolicyPaths.length > 0],
    ['netbiosName', r.netbiosName !== undefined],
    ['siteName', r.siteName !== undefined],
    ['primaryDnsDomain', r.primaryDnsDomain !== undefined],
  ];
  for (const [field, present] of extra) {
    if (present) {
      throw new ProvisioningError('ERROR_NOT_SUPPORTED', 'this Windows has no NetCreateProvisioningPackage (Windows 8 / Server 2012 or later)', {
        field,
      });
    }
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

  /** Copies the package out of Windows' buffer and frees the buffer, whatever the status. */
  function takePackage(status: number, call: string, bin: unknown[], size: number[]): Buffer {
    const p = pointerValue(koffi, bin[0]);
    try {
      if (status !== 0) throw statusError(status, call);
      if (p === null || size[0] === 0) throw statusError('ERROR_INVALID_DATA', call, 'it returned no package');
      return Buffer.from(Buffer.from(koffi.view(p, size[0])));
    } finally {
      if (p !== null) bufferFree(p);
    }
  }

  const session: NetapiSession = {
    provision(r: NativeProvisionRequest): Buffer {
      const bin: unknown[] = [null];
      const size: number[] = [0];
      if (createPackage) {
        const image = buildParamsImage(koffi, r);
        try {
          // Exactly one of the binary and text outputs may be asked for: we take the binary.
          const st = createPackage(image.address, bin, size, null) as number;
          return takePackage(st, 'NetCreateProvisioningPackage', bin, size);
        } finally {
          image.free();
        }
      }
      refuseForLegacy(r);
      const st = provisionAccount(r.domain, r.machineName, r.machineAccountOU ?? null, r.dcName ?? null, r.options >>> 0, bin, size, null) as number;
      return takePackage(st, 'NetProvisionComputerAccount', bin, size);
    },

    getUser(server: string | null, accountName: string): NativeUser | null {
      const out: unknown[] = [null];
      const st = userGetInfo(server, accountName, 23, out) as number;
      const p = pointerValue(koffi, out[0]);
      try {
        if (isNoSuchAccount(st)) return null;
        if (st !== 0) throw statusError(st, 'NetUserGetInfo');
        if (p === null) throw statusError('ERROR_INVALID_DATA', 'NetUserGetInfo', 'it returned no data');
        const u = koffi.decode(p, UserInfo23) as { usri23_name: string | null; usri23_flags: number; usri23_user_sid: unknown };
        const sidPtr = pointerValue(koffi, u.usri23_user_sid);
        if (sidPtr === null) throw statusError('ERROR_INVALID_DATA', 'NetUserGetInfo', 'the account has no SID');
        return { name: u.usri23_name ?? '', flags: u.usri23_flags, sid: readSid(koffi, sidPtr) };
      } finally {
        if (p !== null) bufferFree(p);
      }
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
