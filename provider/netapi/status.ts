// NET_API_STATUS results to ProvisioningError, with the documented Windows name and number.
// Samba's libnetapi returns the same WERROR numbers Windows does.
import { ProvisioningError } from '../errors';

export const NERR_Success = 0;
/** Windows' answer for an unknown account name */
export const NERR_UserNotFound = 2221;
/** Samba's answer when it cannot open the DC's IPC$ share, whatever the reason */
export const ERROR_CAN_NOT_COMPLETE = 1003;
/** Samba's answer for an unknown account name (its name-to-SID lookup finds nothing) */
export const ERROR_NONE_MAPPED = 1332;

export function isNoSuchAccount(status: number): boolean {
  return status === NERR_UserNotFound || status === ERROR_NONE_MAPPED;
}

/** Removes every occurrence of each secret from a library's own message before we repeat it. */
export function scrubSecrets(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('<redacted>');
  return out;
}

/** `call failed`, plus the library's explanation when it has one (secrets removed by the caller). */
export function statusError(status: number, call: string, detail?: string, field?: string): ProvisioningError {
  return new ProvisioningError(status >>> 0, `${call} failed${detail ? `: ${detail}` : ''}`, { field });
}
