// One LDAP connection to one DC: TLS (ldaps:// or StartTLS) verified against the given CAs unless
// the caller turns that off by name, a timeout on every step, a simple bind, and a close that
// always runs. Everything that goes over the wire goes through `run`, which maps failures to
// ProvisioningError and never lets a secret into a message.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Client } from 'ldapts';
import type { ConnectionSettings } from '../backend';
import { ProvisioningError, type WindowsCodeName } from '../errors';
import { mapLdapError, redact, type LdapErrorContext } from './ldap-errors';

export const DEFAULT_TIMEOUT_MS = 15_000;

/** Who we are connecting to and what to say when nobody answers there. */
export interface DirectoryTarget {
  /** host used when settings.url is absent (the DC name, else the domain) */
  host: string;
  /** code when the host cannot be reached at all (refused, unknown name, closed, timed out) */
  unreachableCode: WindowsCodeName;
  /** the input field that named the host */
  unreachableField: string;
}

const tlsCodes: Record<string, WindowsCodeName> = {
  ERR_TLS_CERT_ALTNAME_INVALID: 'SEC_E_WRONG_PRINCIPAL',
  CERT_HAS_EXPIRED: 'SEC_E_CERT_EXPIRED',
  CERT_NOT_YET_VALID: 'SEC_E_CERT_EXPIRED',
};
const tlsVerifyCodes = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'CERT_CHAIN_TOO_LONG',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);
const unreachableCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE']);

/** The parts of a URL we use, with ldaps:// as the default scheme. */
export function resolveUrl(settings: ConnectionSettings, host: string): { url: string; host: string; startTls: boolean } {
  const url = settings.url ?? `ldaps://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ProvisioningError('ERROR_INVALID_PARAMETER', 'not a valid LDAP URL', { field: 'connection.url' });
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  if (scheme !== 'ldaps' && scheme !== 'ldap') {
    throw new ProvisioningError('ERROR_INVALID_PARAMETER', 'the URL scheme must be ldaps:// or ldap://', { field: 'connection.url' });
  }
  if (scheme === 'ldap' && !settings.startTls) {
    // A simple bind sends the password as is, and AD sets unicodePwd only over an encrypted channel.
    throw new ProvisioningError('ERROR_INVALID_PARAMETER', 'ldap:// needs startTls: true (or use ldaps://); a plain connection would expose the bind password', {
      field: 'connection.startTls',
    });
  }
  if (scheme === 'ldaps' && settings.startTls) {
    throw new ProvisioningError('ERROR_INVALID_PARAMETER', 'startTls applies to ldap:// URLs only', { field: 'connection.startTls' });
  }
  const hostname = parsed.hostname.replace(/^\[|\]$/g, '');
  return { url: `${scheme}://${parsed.host}`, host: hostname, startTls: scheme === 'ldap' };
}

export class DirectoryConnection {
  readonly client: Client;
  readonly url: string;
  readonly host: string;
  readonly timeoutMs: number;
  private socket?: net.Socket;
  private sockets = 0;
  private encryptedSocket = false;
  private closed = false;
  private readonly secrets: string[];

  constructor(
    private readonly settings: ConnectionSettings,
    private readonly target: DirectoryTarget,
  ) {
    const { url, host, startTls } = resolveUrl(settings, target.host);
    this.url = url;
    this.host = host;
    this.timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.secrets = settings.bindPassword ? [settings.bindPassword] : [];
    const tlsOptions = this.tlsOptions();
    this.client = new Client({
      url,
      timeout: this.timeoutMs,
      connectTimeout: this.timeoutMs,
      // ldapts turns any tlsOptions into an immediate TLS connection, so StartTLS gets them later.
      tlsOptions: startTls ? undefined : tlsOptions,
      // One socket per connection: if it drops, ldapts would silently reconnect without TLS
      // (after StartTLS) and without the bind, so a second socket is refused.
      createConnection: ((port: number, host: string) => this.adopt(net.connect(port, host), false)) as typeof net.connect,
      createSecureConnection: ((...args: unknown[]) =>
        this.adopt((tls.connect as (...a: unknown[]) => tls.TLSSocket)(...args), true)) as typeof tls.connect,
    });
  }

  private tlsOptions(): tls.ConnectionOptions {
    const s = this.settings;
    const options: tls.ConnectionOptions = { rejectUnauthorized: !s.insecureSkipTlsVerify, minVersion: 'TLSv1.2' };
    if (s.caCerts && s.caCerts.length > 0) options.ca = s.caCerts;
    if (!net.isIP(this.host)) options.servername = this.host;
    return options;
  }

  private adopt<T extends net.Socket>(socket: T, encrypted: boolean): T {
    if (this.closed || (this.sockets > 0 && !(encrypted && this.socket && !this.encryptedSocket))) {
      // Either a reconnect after the first socket dropped, or a use after close.
      socket.destroy();
      throw new Error('the connection to the DC was lost');
    }
    this.sockets++;
    this.socket = socket;
    this.encryptedSocket = encrypted;
    return socket;
  }

  /** True once the channel is TLS-protected (ldaps:// or after StartTLS). */
  get encrypted(): boolean {
    return this.encryptedSocket && this.socket instanceof tls.TLSSocket && !this.socket.destroyed;
  }

  /** The DC's IP address as this connection reached it. */
  get remoteAddress(): string | undefined {
    const a = this.socket?.remoteAddress;
    return a?.startsWith('::ffff:') ? a.slice(7) : a;
  }

  /** Run one network step with the timeout and the error mapping. */
  async run<T>(ctx: LdapErrorContext, step: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    // A step that has to connect first and gets no answer at all is an unreachable DC, not a slow one.
    const connecting = !this.client.isConnected;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            connecting
              ? new ProvisioningError(this.target.unreachableCode, `no answer from ${this.url} within ${this.timeoutMs} ms`, { field: this.target.unreachableField })
              : new ProvisioningError('ERROR_TIMEOUT', `${ctx.action} timed out after ${this.timeoutMs} ms`, { field: ctx.field }),
          ),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([step(), timeout]);
    } catch (e) {
      // After a timeout the socket's state is unknown: drop it (a later step fails instead of hanging).
      if (e instanceof ProvisioningError && (e.code === 'ERROR_TIMEOUT' || connecting)) this.socket?.destroy();
      throw this.mapError(e, ctx);
    } finally {
      clearTimeout(timer);
    }
  }

  private mapError(e: unknown, ctx: LdapErrorContext): ProvisioningError {
    if (e instanceof ProvisioningError) return e;
    const secrets = [...this.secrets, ...(ctx.secrets ?? [])];
    const code = (e as { code?: unknown })?.code;
    const message = redact(e instanceof Error ? e.message : String(e), secrets);
    if (typeof code === 'string' && tlsVerifyCodes.has(code)) {
      return new ProvisioningError(tlsCodes[code] ?? 'SEC_E_UNTRUSTED_ROOT', `TLS verification of ${this.host} failed (${code}: ${message}); pass the DC's CA in caCerts`, {
        field: 'connection.caCerts',
      });
    }
    if ((typeof code === 'string' && unreachableCodes.has(code)) || /Connection timeout|before secure TLS connection|socket hang up/i.test(message)) {
      return new ProvisioningError(this.target.unreachableCode, `could not reach an LDAP server at ${this.url} (${message})`, {
        field: this.target.unreachableField,
      });
    }
    return mapLdapError(e, { ...ctx, secrets });
  }

  /** StartTLS when asked. An ldaps:// connection is made by the first operation (ldapts connects
   *  lazily), whose TLS failures `run` maps; either way nothing secret is sent before `bind`. */
  async connect(): Promise<void> {
    const { startTls } = resolveUrl(this.settings, this.target.host);
    if (startTls) {
      await this.run({ action: 'StartTLS' }, () => this.client.startTLS(this.tlsOptions()));
      if (!this.encrypted) throw new ProvisioningError('ERROR_DS_STRONG_AUTH_REQUIRED', 'StartTLS did not encrypt the connection', { field: 'connection.url' });
    }
  }

  /** Simple bind over the encrypted channel. */
  async bind(): Promise<void> {
    const { bindUser, bindPassword } = this.settings;
    if (!bindUser) throw new ProvisioningError('ERROR_INVALID_PARAMETER', 'a bind user is required', { field: 'connection.bindUser' });
    if (!bindPassword) throw new ProvisioningError('ERROR_INVALID_PARAMETER', 'a bind password is required', { field: 'connection.bindPassword' });
    if (!this.client.isConnected) {
      // Make the TLS connection first, so that a verification failure is reported before any password moves.
      await this.run({ action: 'connecting' }, () => this.client.search('', { scope: 'base', attributes: ['1.1'] }));
    }
    if (!this.encrypted) throw new ProvisioningError('ERROR_DS_STRONG_AUTH_REQUIRED', 'refusing to bind over an unencrypted connection', { field: 'connection.url' });
    await this.run({ action: `binding as ${bindUser}`, field: 'connection.bindUser', overrides: { 49: 'ERROR_LOGON_FAILURE', 50: 'ERROR_ACCESS_DENIED', 53: 'ERROR_ACCESS_DENIED' } }, () =>
      this.client.bind(bindUser, bindPassword),
    );
  }

  /** Unbind and close; never throws, safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.client.unbind().catch(() => undefined),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, Math.min(this.timeoutMs, 2000));
        }),
      ]);
      clearTimeout(timer);
    } finally {
      this.socket?.destroy();
    }
  }
}

/** Open, connect and bind; on any failure the connection is closed before the error goes up. */
export async function openDirectory(settings: ConnectionSettings, target: DirectoryTarget): Promise<DirectoryConnection> {
  const conn = new DirectoryConnection(settings, target);
  try {
    await conn.connect();
    await conn.bind();
    return conn;
  } catch (e) {
    await conn.close();
    throw e;
  }
}

/** Run `fn` over one bound connection and close it on every path. */
export async function withDirectory<T>(settings: ConnectionSettings, target: DirectoryTarget, fn: (conn: DirectoryConnection) => Promise<T>): Promise<T> {
  const conn = await openDirectory(settings, target);
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}
