// Which backend does the work. 'ldap': any OS, over LDAPS/StartTLS, we build the package.
// 'netapi': the operating system's own NetApi (Netapi32.dll on Windows, Samba's libnetapi
// elsewhere) builds it. 'auto': native on Windows, where the OS also enrolls certificate templates
// and resolves policies itself; LDAP elsewhere, where Samba's libnetapi can do much less.
// Nothing native is loaded here: NetapiBackend opens its library inside each call.
import type { JoinBackend } from './backend';
import { ProvisioningError } from './errors';
import { NetapiBackend, type NetapiBackendOptions } from './netapi';
import { LdapBackend, ldapAccountDirectory } from './directory/backend';

export const backendChoices = ['auto', 'ldap', 'netapi'] as const;
export type BackendChoice = (typeof backendChoices)[number];

/** The concrete backend a choice means on this platform. Anything but the three names is an
 *  ERROR_INVALID_PARAMETER on `backend`. */
export function resolveBackendChoice(choice: unknown = 'auto', platform: NodeJS.Platform = process.platform): 'ldap' | 'netapi' {
  if (choice === undefined || choice === null || choice === '') choice = 'auto';
  if (typeof choice !== 'string' || !(backendChoices as readonly string[]).includes(choice)) {
    throw new ProvisioningError('ERROR_INVALID_PARAMETER', `must be one of ${backendChoices.join(', ')}`, { field: 'backend' });
  }
  if (choice === 'auto') return platform === 'win32' ? 'netapi' : 'ldap';
  return choice as 'ldap' | 'netapi';
}

/**
 * The JoinBackend for a choice. The native one gets the LDAP lookups for what NetApi cannot tell
 * (an account's DN and objectGUID, an account by GUID) unless nativeOptions gives its own
 * directory; nativeOptions (library path, Samba configuration, …) is ignored by the LDAP backend.
 * A missing native library is reported by the first call, as NetapiBackend reports it.
 */
export function backendFor(choice: BackendChoice = 'auto', nativeOptions: NetapiBackendOptions = {}, platform: NodeJS.Platform = process.platform): JoinBackend {
  if (resolveBackendChoice(choice, platform) === 'ldap') return new LdapBackend();
  return new NetapiBackend({ ...nativeOptions, directory: nativeOptions.directory ?? ldapAccountDirectory });
}
