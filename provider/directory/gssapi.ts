// The platform's Kerberos through one small interface: a client security context for one service,
// stepped with the server's tokens, then wrap/unwrap for the SASL security layer. Linux (and other
// Unix) use MIT Kerberos' libgssapi_krb5 through koffi: no module to compile. Windows' SSPI is not
// implemented yet and says so (ERROR_NOT_SUPPORTED), rather than pretending.
//
// Every call that may talk to the KDC (acquiring credentials, each context step) runs on koffi's
// worker thread, so the caller's timeout can fire while Kerberos waits for a KDC.
import { randomUUID } from 'node:crypto';
import type * as Koffi from 'koffi';
import { ProvisioningError } from '../errors';

/** Where the client's Kerberos credentials come from. */
export interface GssCredentials {
  /** a keytab file holding `principal`'s keys; absent: the credential cache (KRB5CCNAME) */
  keytab?: string;
  /** the client principal (`user@REALM`); with a keytab it is required, with a cache it picks the cache's principal to check */
  principal?: string;
}

/** A GSS-API failure: the major status (RFC 2744) and the mechanism's minor status with its text. */
export class GssError extends Error {
  override readonly name = 'GssError';
  constructor(
    readonly call: string,
    readonly major: number,
    readonly minor: number,
    readonly text: string,
  ) {
    super(`${call}: ${text}`);
  }
}

export interface GssClientContext {
  /** One step of the exchange: `input` is the server's last token (absent on the first step). */
  step(input?: Buffer): Promise<{ token: Buffer; complete: boolean }>;
  /** Per-message protection once complete; `seal` asks for confidentiality. */
  wrap(data: Buffer, seal: boolean): Buffer;
  unwrap(data: Buffer): { data: Buffer; sealed: boolean };
  /** The largest input whose wrapped form fits `maxOutput` bytes. */
  wrapSizeLimit(maxOutput: number, seal: boolean): number;
  /** Whether the completed context grants confidentiality and integrity. */
  readonly confidential: boolean;
  readonly integrity: boolean;
  /** With a keytab: the in-memory credential cache its tickets went to, destroyed by dispose. */
  readonly cacheName?: string;
  /** Frees the context and credentials (and destroys the keytab's cache); safe to call twice. */
  dispose(): void;
}

// RFC 2744 values.
const GSS_S_CONTINUE_NEEDED = 1;
const ROUTINE_ERROR_MASK = 0xff << 16;
const CALLING_ERROR_MASK = 0xff << 24;
export const GSS_S_BAD_NAME = 2 << 16;
export const GSS_S_NO_CRED = 7 << 16;
export const GSS_S_CREDENTIALS_EXPIRED = 11 << 16;
const GSS_S_FAILURE = 13 << 16;
const GSS_C_MUTUAL_FLAG = 2;
const GSS_C_REPLAY_FLAG = 4;
const GSS_C_SEQUENCE_FLAG = 8;
const GSS_C_CONF_FLAG = 16;
const GSS_C_INTEG_FLAG = 32;
const GSS_C_INITIATE = 1;
const GSS_C_GSS_CODE = 1;
const GSS_C_MECH_CODE = 2;
// OIDs in DER content form: Kerberos V5 (1.2.840.113554.1.2.2), a host-based service name
// (1.2.840.113554.1.2.1.4, "service@host") and a Kerberos principal name (1.2.840.113554.1.2.2.1).
const KRB5_MECH = Buffer.from('2a864886f712010202', 'hex');
const NT_HOSTBASED_SERVICE = Buffer.from('2a864886f71201020104', 'hex');
const NT_KRB5_PRINCIPAL = Buffer.from('2a864886f71201020201', 'hex');

const MIT_LIBRARY = 'libgssapi_krb5.so.2';
/** MIT's krb5 library (a dependency of the above): only to destroy a keytab's in-memory cache. */
const MIT_KRB5_LIBRARY = 'libkrb5.so.3';

interface Calls {
  koffi: typeof Koffi;
  importName: Fn;
  releaseName: Fn;
  acquireCredFrom: Fn;
  releaseCred: Fn;
  initSecContext: Fn;
  deleteSecContext: Fn;
  wrap: Fn;
  unwrap: Fn;
  wrapSizeLimit: Fn;
  releaseBuffer: Fn;
  displayStatus: Fn;
  krb5InitContext: Fn;
  krb5FreeContext: Fn;
  krb5CcResolve: Fn;
  krb5CcDestroy: Fn;
}
type Fn = ((...args: unknown[]) => unknown) & { async: (...args: unknown[]) => void };

let loaded: Calls | undefined;

function load(): Calls {
  if (loaded) return loaded;
  if (process.platform === 'win32') {
    throw new ProvisioningError('ERROR_NOT_SUPPORTED', 'Kerberos sign-in through SSPI is not implemented yet on Windows; use a simple bind over LDAPS, or the native backend', {
      field: 'connection.auth',
    });
  }
  // Required here, not at import: loading this package (or serializing a Pulumi provider) must not touch native code.
  const koffi = require('koffi') as typeof Koffi;
  let lib: Koffi.LibraryHandle;
  let krb5: Koffi.LibraryHandle;
  try {
    lib = koffi.load(MIT_LIBRARY);
    krb5 = koffi.load(MIT_KRB5_LIBRARY);
  } catch {
    throw new ProvisioningError('ERROR_NOT_SUPPORTED', `Kerberos sign-in needs MIT Kerberos' ${MIT_LIBRARY} (Debian/Ubuntu: apt-get install libgssapi-krb5-2)`, {
      field: 'connection.auth',
    });
  }
  koffi.struct('odj_gss_buffer_desc', { length: 'size_t', value: 'void *' });
  koffi.struct('odj_gss_OID_desc', { length: 'uint32_t', elements: 'void *' });
  const element = koffi.struct('odj_gss_key_value_element', { key: 'const char *', value: 'const char *' });
  koffi.struct('odj_gss_key_value_set', { count: 'uint32_t', elements: koffi.pointer(element) });
  const f = (decl: string): Fn => lib.func(decl) as unknown as Fn;
  loaded = {
    koffi,
    importName: f('uint32_t gss_import_name(_Out_ uint32_t *minor, odj_gss_buffer_desc *name, odj_gss_OID_desc *type, _Out_ void **out)'),
    releaseName: f('uint32_t gss_release_name(_Out_ uint32_t *minor, _Inout_ void **name)'),
    acquireCredFrom: f(
      'uint32_t gss_acquire_cred_from(_Out_ uint32_t *minor, void *name, uint32_t time, void *mechs, int usage, odj_gss_key_value_set *store, _Out_ void **cred, void *actual_mechs, void *time_rec)',
    ),
    releaseCred: f('uint32_t gss_release_cred(_Out_ uint32_t *minor, _Inout_ void **cred)'),
    initSecContext: f(
      'uint32_t gss_init_sec_context(_Out_ uint32_t *minor, void *cred, _Inout_ void **ctx, void *target, odj_gss_OID_desc *mech, uint32_t flags, uint32_t time, void *bindings, odj_gss_buffer_desc *input, void *actual_mech, _Out_ odj_gss_buffer_desc *output, _Out_ uint32_t *ret_flags, void *time_rec)',
    ),
    deleteSecContext: f('uint32_t gss_delete_sec_context(_Out_ uint32_t *minor, _Inout_ void **ctx, void *output)'),
    wrap: f('uint32_t gss_wrap(_Out_ uint32_t *minor, void *ctx, int conf, uint32_t qop, odj_gss_buffer_desc *input, _Out_ int *conf_state, _Out_ odj_gss_buffer_desc *output)'),
    unwrap: f('uint32_t gss_unwrap(_Out_ uint32_t *minor, void *ctx, odj_gss_buffer_desc *input, _Out_ odj_gss_buffer_desc *output, _Out_ int *conf_state, _Out_ uint32_t *qop)'),
    wrapSizeLimit: f('uint32_t gss_wrap_size_limit(_Out_ uint32_t *minor, void *ctx, int conf, uint32_t qop, uint32_t req_output, _Out_ uint32_t *max_input)'),
    releaseBuffer: f('uint32_t gss_release_buffer(_Out_ uint32_t *minor, odj_gss_buffer_desc *buffer)'),
    displayStatus: f('uint32_t gss_display_status(_Out_ uint32_t *minor, uint32_t status, int type, odj_gss_OID_desc *mech, _Inout_ uint32_t *ctx, _Out_ odj_gss_buffer_desc *text)'),
    krb5InitContext: krb5.func('int krb5_init_context(_Out_ void **ctx)') as unknown as Fn,
    krb5FreeContext: krb5.func('void krb5_free_context(void *ctx)') as unknown as Fn,
    krb5CcResolve: krb5.func('int krb5_cc_resolve(void *ctx, const char *name, _Out_ void **cache)') as unknown as Fn,
    krb5CcDestroy: krb5.func('int krb5_cc_destroy(void *ctx, void *cache)') as unknown as Fn,
  };
  return loaded;
}

interface BufferDesc {
  length: number | bigint;
  value: unknown;
}

const oid = (der: Buffer): { length: number; elements: Buffer } => ({ length: der.length, elements: der });
const inBuffer = (b: Buffer): BufferDesc => ({ length: b.length, value: b.length > 0 ? b : null });

/** Destroys an in-memory credential cache: MIT keeps a MEMORY cache (and its tickets) for the
 *  life of the process otherwise. */
function destroyCache(c: Calls, name: string): void {
  const ctx: unknown[] = [null];
  if (c.krb5InitContext(ctx) !== 0 || !ctx[0]) return;
  try {
    const cache: unknown[] = [null];
    if (c.krb5CcResolve(ctx[0], name, cache) === 0 && cache[0]) c.krb5CcDestroy(ctx[0], cache[0]);
  } finally {
    c.krb5FreeContext(ctx[0]);
  }
}

/** Copies a buffer GSS allocated into JS memory and frees it. */
function take(c: Calls, desc: BufferDesc): Buffer {
  const length = Number(desc.length);
  // Buffer.from(ArrayBuffer) would share the memory freed below; from a Uint8Array it copies.
  const out = length > 0 && desc.value ? Buffer.from(new Uint8Array(c.koffi.view(desc.value, length))) : Buffer.alloc(0);
  c.releaseBuffer([0], desc);
  return out;
}

/** The texts gss_display_status gives for a major and a minor status. */
function statusText(c: Calls, major: number, minor: number): string {
  const texts: string[] = [];
  const collect = (status: number, type: number): void => {
    const ctx = [0];
    for (let i = 0; i < 8; i++) {
      const out: BufferDesc[] = [{ length: 0, value: null }];
      if (c.displayStatus([0], status >>> 0, type, oid(KRB5_MECH), ctx, out) !== 0) return;
      const t = take(c, out[0]).toString('utf8');
      if (t && !texts.includes(t)) texts.push(t);
      if (ctx[0] === 0) return;
    }
  };
  // "Unspecified GSS failure. Minor code may provide more information" adds nothing to the minor text.
  const unspecified = (major & ROUTINE_ERROR_MASK) === GSS_S_FAILURE && minor !== 0;
  if ((major & (ROUTINE_ERROR_MASK | CALLING_ERROR_MASK)) !== 0 && !unspecified) collect(major, GSS_C_GSS_CODE);
  if (minor !== 0) collect(minor, GSS_C_MECH_CODE);
  return texts.join(': ') || `GSS major 0x${(major >>> 0).toString(16)}, minor ${minor}`;
}

const failed = (major: number): boolean => (major & (ROUTINE_ERROR_MASK | CALLING_ERROR_MASK)) !== 0;

function check(c: Calls, call: string, major: number, minor: number[]): void {
  if (failed(major)) throw new GssError(call, major >>> 0, minor[0] >>> 0, statusText(c, major, minor[0]));
}

function callAsync(fn: Fn, ...args: unknown[]): Promise<number> {
  return new Promise((resolve, reject) => fn.async(...args, (err: unknown, res: number) => (err ? reject(err) : resolve(res))));
}

function importName(c: Calls, text: string, type: Buffer): unknown {
  const minor = [0];
  const out: unknown[] = [null];
  const major = c.importName(minor, inBuffer(Buffer.from(text, 'utf8')), oid(type), out) as number;
  check(c, 'gss_import_name', major, minor);
  return out[0];
}

/**
 * A client context for `service@host` (host-based service name; for LDAP the SPN `ldap/<host>`),
 * with credentials from the keytab (into a private in-memory cache) or the default credential
 * cache. Asks for mutual authentication, integrity and confidentiality.
 */
export async function startGssClient(service: string, host: string, creds: GssCredentials): Promise<GssClientContext> {
  const c = load();
  const handles = { target: null as unknown, client: null as unknown, cred: null as unknown, ctx: null as unknown };
  // A keytab's tickets go to a cache in this process's memory, of this context only: nothing is
  // written to disk or shared, and dispose destroys it.
  const cacheName = creds.keytab !== undefined ? `MEMORY:odj-${randomUUID()}` : undefined;
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    if (handles.ctx) c.deleteSecContext([0], [handles.ctx], null);
    if (handles.cred) c.releaseCred([0], [handles.cred]);
    if (handles.target) c.releaseName([0], [handles.target]);
    if (handles.client) c.releaseName([0], [handles.client]);
    handles.ctx = handles.cred = handles.target = handles.client = null;
    if (cacheName) destroyCache(c, cacheName);
  };
  try {
    handles.target = importName(c, `${service}@${host}`, NT_HOSTBASED_SERVICE);
    if (creds.keytab !== undefined || creds.principal !== undefined) {
      if (creds.principal !== undefined) handles.client = importName(c, creds.principal, NT_KRB5_PRINCIPAL);
      const store =
        creds.keytab !== undefined && cacheName
          ? [
              { key: 'client_keytab', value: creds.keytab },
              { key: 'ccache', value: cacheName },
            ]
          : [];
      const minor = [0];
      const out: unknown[] = [null];
      const major = await callAsync(c.acquireCredFrom, minor, handles.client, 0, null, GSS_C_INITIATE, { count: store.length, elements: store }, out, null, null);
      check(c, 'gss_acquire_cred_from', major, minor);
      handles.cred = out[0];
    }
  } catch (e) {
    release();
    throw e;
  }

  let flags = 0;
  let complete = false;
  return {
    async step(input?: Buffer) {
      if (complete) throw new GssError('gss_init_sec_context', GSS_S_FAILURE, 0, 'the context is already complete');
      const minor = [0];
      const ctx: unknown[] = [handles.ctx];
      const output: BufferDesc[] = [{ length: 0, value: null }];
      const retFlags = [0];
      const major = await callAsync(
        c.initSecContext,
        minor,
        handles.cred,
        ctx,
        handles.target,
        oid(KRB5_MECH),
        GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG | GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG,
        0,
        null,
        input ? inBuffer(input) : null,
        null,
        output,
        retFlags,
        null,
      );
      handles.ctx = ctx[0];
      const token = take(c, output[0]);
      check(c, 'gss_init_sec_context', major, minor);
      flags = retFlags[0];
      complete = (major & GSS_S_CONTINUE_NEEDED) === 0;
      return { token, complete };
    },
    wrap(data: Buffer, seal: boolean): Buffer {
      const minor = [0];
      const state = [0];
      const output: BufferDesc[] = [{ length: 0, value: null }];
      const major = c.wrap(minor, handles.ctx, seal ? 1 : 0, 0, inBuffer(data), state, output) as number;
      const out = take(c, output[0]);
      check(c, 'gss_wrap', major, minor);
      if (seal && state[0] === 0) throw new GssError('gss_wrap', GSS_S_FAILURE, 0, 'confidentiality was not applied');
      return out;
    },
    unwrap(data: Buffer) {
      const minor = [0];
      const state = [0];
      const output: BufferDesc[] = [{ length: 0, value: null }];
      const major = c.unwrap(minor, handles.ctx, inBuffer(data), output, state, [0]) as number;
      const out = take(c, output[0]);
      check(c, 'gss_unwrap', major, minor);
      return { data: out, sealed: state[0] !== 0 };
    },
    wrapSizeLimit(maxOutput: number, seal: boolean): number {
      const minor = [0];
      const max = [0];
      const major = c.wrapSizeLimit(minor, handles.ctx, seal ? 1 : 0, 0, maxOutput >>> 0, max) as number;
      check(c, 'gss_wrap_size_limit', major, minor);
      return max[0];
    },
    get confidential() {
      return (flags & GSS_C_CONF_FLAG) !== 0;
    },
    get integrity() {
      return (flags & GSS_C_INTEG_FLAG) !== 0;
    },
    cacheName,
    dispose: release,
  };
}
