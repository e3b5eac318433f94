// NET_API_STATUS results to ProvisioningError, with the documented Windows name and number.
// Samba's libnetapi returns the same WERROR numbers Windows does.
import { ProvisioningError, WindowsCodes, type WindowsCodeName } from '../errors';

/** Samba's answer when it cannot open the DC's IPC$ share, whatever the reason */
export const ERROR_CAN_NOT_COMPLETE = WindowsCodes.ERROR_CAN_NOT_COMPLETE;

/** Windows says NERR_UserNotFound for an unknown account name; Samba says ERROR_NONE_MAPPED
 *  (its name-to-SID lookup finds nothing), or ERROR_NO_SUCH_USER when the name is a group's. */
export function isNoSuchAccount(status: number): boolean {
  return status === WindowsCodes.NERR_UserNotFound || status === WindowsCodes.ERROR_NONE_MAPPED || status === WindowsCodes.ERROR_NO_SUCH_USER;
}

/** Removes every occurrence of each secret from a library's own message before we repeat it. */
export function scrubSecrets(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('<redacted>');
  return out;
}

/** `call failed`, plus the library's explanation when it has one (secrets removed by the caller). */
export function statusError(status: number | WindowsCodeName, call: string, detail?: string, field?: string): ProvisioningError {
  const code = typeof status === 'number' ? status >>> 0 : status;
  return new ProvisioningError(code, `${call} failed${detail ? `: ${detail}` : ''}`, { field });
}
