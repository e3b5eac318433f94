// Samba's libnetapi: the Windows NetApi signatures with UTF-8 strings, around a process-wide
// context (libnetapi_init … libnetapi_free) that carries the smb.conf and the credentials. One session = one context, opened and freed around the calls.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProvisioningError } from '../errors';
import { userInfo23Type } from './layout';
import { loadKoffi, openLibrary, SAMBA_INSTALL_HINT, SAMBA_LIBRARY, type LibraryOptions } from './library';
import { pointerValue, type KoffiModule, type NativeFunction } from './koffi';
import type { NativeCredentials, NativeNetapi, NativeProvisionRequest, NativeUser, NetapiSession } from './native';
import { ProvisionOptionBits } from '../options';
import { missingFromLegacyCall, refusePresent, takePackage, takeUser } from './buffers';
import { stderrCapture, win32FromCaptured, type StderrCapture } from './stderr-capture';
import { ERROR_CAN_NOT_COMPLETE, isNoSuchAccount, scrubSecrets, statusError } from './status';

export interface SambaOptions extends LibraryOptions {
  /** smb.conf for libnetapi. Default: a minimal one with private directories in a temporary folder,
   *  so nothing is read from or written to the host's Samba configuration and state. */
  configFile?: string;
  /** KRB5_CONFIG for the duration of each session (e.g. a krb5.conf that names the KDC by address). */
  krb5Config?: string;
}

interface SambaCalls {
  init: NativeFunction;
  free: NativeFunction;
  setUsername: NativeFunction;
  setPassword: NativeFunction;
  setErrorString: NativeFunction;
  errorString: NativeFunction;
  provision: NativeFunction;
  userGetInfo: NativeFunction;
  userDel: NativeFunction;
  bufferFree: NativeFunction;
  setConfigFile: NativeFunction;
}

function bind(koffi: KoffiModule, libraryPath?: string): SambaCalls {
  const lib = openLibrary(koffi, libraryPath ?? SAMBA_LIBRARY, SAMBA_INSTALL_HINT);
  // set_dyn_CONFIGFILE lives in libsamba-util, which libnetapi itself links against: it is the
  // only way to name the smb.conf that libnetapi_init loads (there is no libnetapi_set_… for it).
  const util = openLibrary(koffi, 'libsamba-util.so.0', SAMBA_INSTALL_HINT);
  return {
    init: lib.func('uint32_t libnetapi_init(_Out_ void **ctx)'),
    free: lib.func('uint32_t libnetapi_free(void *ctx)'),
    setUsername: lib.func('uint32_t libnetapi_set_username(void *ctx, const char *username)'),
    setPassword: lib.func('uint32_t libnetapi_set_password(void *ctx, const char *password)'),
    setErrorString: lib.func('uint32_t libnetapi_set_error_string(void *ctx, const char *format, ...)'),
    // Returns talloc memory owned by the context's parent; read as a string and left to libnetapi_free.
    errorString: lib.func('const char *libnetapi_get_error_string(void *ctx, uint32_t status)'),
    provision: lib.func(
      'uint32_t NetProvisionComputerAccount(const char *domain, const char *machine_name, const char *machine_account_ou, ' +
        'const char *dcname, uint32_t options, _Out_ void **provision_bin_data, _Out_ uint32_t *provision_bin_data_size, ' +
        '_Out_ void **provision_text_data)',
    ),
    userGetInfo: lib.func('uint32_t NetUserGetInfo(const char *server_name, const char *user_name, uint32_t level, _Out_ void **buffer)'),
    userDel: lib.func('uint32_t NetUserDel(const char *server_name, const char *user_name)'),
    bufferFree: lib.func('uint32_t NetApiBufferFree(void *buffer)'),
    setConfigFile: util.func('const char *set_dyn_CONFIGFILE(const char *newpath)'),
  };
}

/** Inputs Samba's NetProvisionComputerAccount has no parameter for: refused by name, not dropped. */
function refuseUnsupported(r: NativeProvisionRequest): void {
  refusePresent(
    [
      ...missingFromLegacyCall(r),
      ['options.rootCaCerts', (r.options & ProvisionOptionBits.rootCaCerts) !== 0],
      ['options.persistentSite', (r.options & ProvisionOptionBits.persistentSite) !== 0],
    ],
    "Samba's libnetapi cannot put this into a package; use the Windows or the ldap backend",
  );
}

function minimalConfig(dir: string): string {
  const lines = ['[global]'];
  for (const [key, sub] of [
    ['private dir', 'private'],
    ['state directory', 'state'],
    ['cache directory', 'cache'],
    ['lock directory', 'lock'],
  ]) lines.push(`\t${key} = ${join(dir, sub)}`);
  const path = join(dir, 'smb.conf');
  writeFileSync(path, lines.join('\n') + '\n', { mode: 0o600 });
  return path;
}

/** What a loaded libnetapi gives every session. */
interface Loaded {
  koffi: KoffiModule;
  calls: SambaCalls;
  UserInfo23: ReturnType<typeof userInfo23Type>;
}

export function loadSamba(options: SambaOptions = {}): NativeNetapi {
  const koffi = loadKoffi();
  const calls = bind(koffi, options.libraryPath);
  const lib: Loaded = { koffi, calls, UserInfo23: userInfo23Type(koffi, false) };

  function withSession<T>(credentials: NativeCredentials, fn: (s: NetapiSession) => T): T {
    // libnetapi_init would only say "general failure"; name the real problem first.
    if (options.configFile !== undefined && !existsSync(options.configFile)) {
      throw new ProvisioningError('ERROR_FILE_NOT_FOUND', `the Samba configuration ${options.configFile} does not exist`, { field: 'configFile' });
    }
    // mkdtemp gives a 0700 folder: libnetapi's state and printed output stay private to this call.
    const dir = mkdtempSync(join(tmpdir(), 'odj-netapi-'));
    const oldKrb5 = process.env.KRB5_CONFIG;
    let ctx: bigint | null = null;
    let capture: StderrCapture | undefined;
    try {
      calls.setConfigFile(options.configFile ?? minimalConfig(dir));
      if (options.krb5Config) process.env.KRB5_CONFIG = options.krb5Config;
      capture = stderrCapture(koffi, dir);
      const out: unknown[] = [null];
      const st = capture(() => calls.init(out) as number).value;
      ctx = pointerValue(koffi, out[0]);
      if (st !== 0 || ctx === null) {
        throw statusError(st || 'ERROR_INVALID_DATA', 'libnetapi_init', `cannot load the Samba configuration ${options.configFile ?? '(generated)'}`, 'configFile');
      }
      if (credentials.user !== undefined) check(calls.setUsername(ctx, credentials.user) as number, 'libnetapi_set_username');
      if (credentials.password !== undefined) check(calls.setPassword(ctx, credentials.password) as number, 'libnetapi_set_password');
      return fn(session(lib, ctx, credentials, capture));
    } finally {
      const c = ctx;
      if (c !== null) {
        if (capture) capture(() => calls.free(c));
        else calls.free(c);
      }
      if (options.krb5Config) {
        if (oldKrb5 === undefined) delete process.env.KRB5_CONFIG;
        else process.env.KRB5_CONFIG = oldKrb5;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }

  return { flavour: 'samba', withSession };
}

function check(status: number, call: string): void {
  if (status !== 0) throw statusError(status, call);
}

/** The NetApi calls on one libnetapi context, each with its stderr captured and explained. */
function session(lib: Loaded, ctx: bigint, credentials: NativeCredentials, capture: StderrCapture): NetapiSession {
  const { koffi, calls, UserInfo23 } = lib;
  // libnetapi's own explanation, e.g. "failed to lookup DC info … logon is invalid": useful,
  // and scrubbed of the password in case a future version ever echoes it.
  const explain = (status: number): string | undefined => {
    const s = calls.errorString(ctx, status) as string | null;
    return s ? scrubSecrets(s, [credentials.password]) : undefined;
  };
  // The context keeps the last explanation until replaced: clear it so a failure is never
  // explained by an earlier call's message.
  const fresh = (): void => void calls.setErrorString(ctx, '');
  // Runs a NetApi call with libnetapi's stderr captured. ERROR_CAN_NOT_COMPLETE is all libnetapi
  // returns when it cannot open the DC's IPC$ share; the NTSTATUS it printed says why (bad
  // credentials, access denied, …), and that is the result the caller needs.
  const netapi = (call: () => unknown): number => {
    fresh();
    const { value, text } = capture(() => call() as number);
    if (value === ERROR_CAN_NOT_COMPLETE) return win32FromCaptured(text) ?? value;
    return value;
  };

  return {
    provision(r: NativeProvisionRequest): Buffer {
      refuseUnsupported(r);
      const bin: unknown[] = [null];
      const size: number[] = [0];
      // Samba (like Windows) wants exactly one of the binary and the text outputs.
      const st = netapi(() => calls.provision(r.domain, r.machineName, r.machineAccountOU ?? null, r.dcName ?? null, r.options >>> 0, bin, size, null));
      return takePackage(koffi, calls.bufferFree, st, 'NetProvisionComputerAccount', bin, size, explain);
    },

    getUser(server: string | null, accountName: string): NativeUser | null {
      const out: unknown[] = [null];
      const st = netapi(() => calls.userGetInfo(server, accountName, 23, out));
      return takeUser(koffi, calls.bufferFree, UserInfo23, st, out, explain);
    },

    deleteUser(server: string | null, accountName: string): boolean {
      const st = netapi(() => calls.userDel(server, accountName));
      if (isNoSuchAccount(st)) return false;
      if (st !== 0) throw statusError(st, 'NetUserDel', explain(st));
      return true;
    },
  };
}
