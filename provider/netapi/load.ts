// The native flavour for this platform: Netapi32.dll on Windows, Samba's libnetapi elsewhere.
import type { NativeNetapi } from './native';
import { loadSamba, type SambaOptions } from './samba';
import { loadWindows } from './windows';

export interface NetapiOptions extends SambaOptions {
  /** Default: 'windows' on Windows, 'samba' elsewhere. */
  flavour?: 'windows' | 'samba';
}

/** Opens the library now (call it inside an operation, never at import or construction). Throws
 *  ProvisioningError ERROR_NOT_SUPPORTED, field `backend`, saying what to install when it is missing. */
export function loadNetapi(options: NetapiOptions = {}): NativeNetapi {
  const flavour = options.flavour ?? (process.platform === 'win32' ? 'windows' : 'samba');
  return flavour === 'windows' ? loadWindows(options) : loadSamba(options);
}
