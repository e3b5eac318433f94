// Explicit credentials on Windows without runas: LogonUserW with LOGON32_LOGON_NEW_CREDENTIALS
// gives a token that keeps the caller's local identity but uses the given credentials for every
// network connection (what `runas /netonly` does); the calling thread impersonates it for the
// duration of the calls and reverts on every path. Windows only checks these credentials when a
// connection is made, so a wrong password surfaces from the Net* call (ERROR_LOGON_FAILURE).
import { ProvisioningError, WindowsCodes } from '../errors';
import { openLibrary } from './library';
import { pointerValue, type KoffiModule } from './koffi';
import type { NativeCredentials } from './native';

const LOGON32_LOGON_NEW_CREDENTIALS = 9;
/** The only provider that supports LOGON32_LOGON_NEW_CREDENTIALS. */
const LOGON32_PROVIDER_WINNT50 = 3;

/** `DOMAIN\\user` → (user, DOMAIN); `user@realm` stays a UPN with no domain; a bare name takes the default domain. */
export function splitAccount(c: NativeCredentials): { user: string; domain: string | null } {
  const user = c.user ?? '';
  const slash = user.indexOf('\\');
  if (slash >= 0) return { user: user.slice(slash + 1), domain: user.slice(0, slash) };
  if (user.includes('@')) return { user, domain: null };
  return { user, domain: c.defaultDomain ?? null };
}

/** advapi32 / kernel32 prototypes (WINAPI is __stdcall), exported so their syntax is checked off Windows. */
export const IMPERSONATION_PROTOTYPES = {
  LogonUserW:
    'int __stdcall LogonUserW(const char16_t *lpszUsername, const char16_t *lpszDomain, const char16_t *lpszPassword, ' +
    'uint32_t dwLogonType, uint32_t dwLogonProvider, _Out_ void **phToken)',
  ImpersonateLoggedOnUser: 'int __stdcall ImpersonateLoggedOnUser(void *hToken)',
  RevertToSelf: 'int __stdcall RevertToSelf()',
  CloseHandle: 'int __stdcall CloseHandle(void *hObject)',
  GetLastError: 'uint32_t __stdcall GetLastError()',
} as const;

export interface Impersonator {
  /** Runs fn as the credentials (or as the process itself when no user is given). */
  run<T>(credentials: NativeCredentials, fn: () => T): T;
}

export function loadImpersonator(koffi: KoffiModule): Impersonator {
  const hint = 'it is part of every Windows installation';
  const advapi = openLibrary(koffi, 'Advapi32.dll', hint);
  const kernel = openLibrary(koffi, 'Kernel32.dll', hint);
  const logonUser = advapi.func(IMPERSONATION_PROTOTYPES.LogonUserW);
  const impersonate = advapi.func(IMPERSONATION_PROTOTYPES.ImpersonateLoggedOnUser);
  const revert = advapi.func(IMPERSONATION_PROTOTYPES.RevertToSelf);
  const closeHandle = kernel.func(IMPERSONATION_PROTOTYPES.CloseHandle);
  const lastError = kernel.func(IMPERSONATION_PROTOTYPES.GetLastError);

  return {
    run<T>(credentials: NativeCredentials, fn: () => T): T {
      if (credentials.user === undefined) return fn();
      const { user, domain } = splitAccount(credentials);
      const out: unknown[] = [null];
      if (!logonUser(user, domain, credentials.password ?? '', LOGON32_LOGON_NEW_CREDENTIALS, LOGON32_PROVIDER_WINNT50, out)) {
        throw new ProvisioningError((lastError() as number) || WindowsCodes.ERROR_LOGON_FAILURE, 'LogonUserW refused the credentials', { field: 'bindUser' });
      }
      const token = pointerValue(koffi, out[0]);
      try {
        if (!impersonate(token)) {
          throw new ProvisioningError((lastError() as number) || WindowsCodes.ERROR_ACCESS_DENIED, 'ImpersonateLoggedOnUser failed', { field: 'bindUser' });
        }
        try {
          return fn();
        } finally {
          // A thread left impersonating would act as someone else from here on: fail loudly.
          if (!revert()) throw new ProvisioningError((lastError() as number) || WindowsCodes.ERROR_ACCESS_DENIED, 'RevertToSelf failed');
        }
      } finally {
        closeHandle(token);
      }
    },
  };
}
