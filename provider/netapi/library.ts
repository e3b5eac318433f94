// Finding and opening the native library: Netapi32.dll on Windows, Samba's libnetapi elsewhere.
// Opened inside each call (never at import), so nothing native is held between calls.
import { ProvisioningError } from '../errors';
import { requireKoffi, type KoffiModule, type LibraryHandle } from './koffi';

export const SAMBA_LIBRARY = 'libnetapi.so.1';
export const WINDOWS_LIBRARY = 'Netapi32.dll';

/** How to get the library, for the error that says it is missing. */
export const SAMBA_INSTALL_HINT =
  "install Samba's client library (Debian/Ubuntu: apt-get install samba-libs; Fedora/RHEL: dnf install libnetapi), " +
  "point libraryPath at your libnetapi.so, or choose the 'ldap' backend";

export interface LibraryOptions {
  /** A path or soname to load instead of the default for this platform. */
  libraryPath?: string;
}

export function openLibrary(koffi: KoffiModule, name: string, hint: string): LibraryHandle {
  try {
    return koffi.load(name);
  } catch (e) {
    throw new ProvisioningError('ERROR_NOT_SUPPORTED', `the netapi backend cannot load ${name}: ${hint}`, {
      field: 'backend',
      cause: e,
    });
  }
}

/** The koffi module itself, with the same clear error if the dependency is absent. */
export function loadKoffi(): KoffiModule {
  try {
    return requireKoffi();
  } catch (e) {
    throw new ProvisioningError('ERROR_NOT_SUPPORTED', "the netapi backend needs the 'koffi' package; install it or choose the 'ldap' backend", {
      field: 'backend',
      cause: e,
    });
  }
}
