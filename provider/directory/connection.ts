// One LDAP connection to one DC: TLS (ldaps:// or StartTLS) verified against the given CAs unless
// the caller turns that off by name, a timeout on every step, a simple bind (or a Kerberos bind
// that seals ldap://, sasl-gssapi.ts), and a close that always runs. Everything that goes over
// the wire goes through `run`, which maps failures to ProvisioningError and never lets a secret
// into a message.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Client, ResultCodeError } from 'ldapts';
import type { ConnectionSettings } from '../backend';
import { ProvisioningError, type WindowsCodeName } from '../errors';
import { mapLdapError, redact, type LdapErrorContext } from './ldap-errors';
import { secret, type Secret } from '../secret';
import { acquireConnectionSlot } from './slots';
import { resolveUrl, tlsOptionsFor } from './endpoint';
import { takeEarlyTls } from './early-tls';
import { SaslSocket, saslGssapiBind } from './sasl-gssapi';
import { Limits } from '../limits';
import { bindUserLabel, hasUrlCredentials, urlCredentialsRule } from '../credential-text';
import { isDnsServerAddress } from './dns';

export { resolveUrl } from './endpoint';

export const DEFAULT_TIMEOUT_MS = 15_000;
/** Retries of a step the DC answered "busy" (51) or "unavailable" (52), with doubling backoff from BUSY_BACKOFF_MS. */
const BUSY_RETRIES = 3;
const BUSY_BACKOFF_MS = 250;

/** Who we are connecting to and what to say when nobody answers there. */
export interface DirectoryTarget {
  /** host used when settings.url is absent (the DC name, else the domain) */
  host: string;
  /** code when the host cannot be reached at all (refused, unknown name, closed, timed out) */
  unreachableCode: WindowsCodeName;
  /** the input field that named the host */
  unreachableField: string;
  /** the address to connect to when the locator resolved the host itself (its DNS servers may
   *  not be the system's); TLS is still verified against `host` */
  address?: string;
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

const badSetting = (field: string, rule: string): ProvisioningError => new ProvisioningError('ERROR_INVALID_PARAMETER', rule, { field: `connection.${field}` });

/** Shapes and bounds of the connection settings (see ../limits.ts); values of secrets never appear in the error. */
export function checkSettings(s: ConnectionSettings): void {
  if (s === null || typeof s !== 'object') throw badSetting('settings', 'are required');
  const text = (field: 'url' | 'bindUser' | 'bindPassword' | 'keytab', max: number): void => {
    const v = s[field];
    if (v === undefined || v === null) return;
    if (typeof v !== 'string') throw badSetting(field, 'must be a string');
    if (v.length > max) throw badSetting(field, `must be at most ${max} characters`);
    // A NUL or line break in a DN or URL is never legitimate and confuses servers and logs.
    if (field !== 'bindPassword' && /[\u0000-\u001f\u007f]/.test(v)) throw badSetting(field, 'must not contain control characters');
  };
  text('url', Limits.urlChars);
  if (typeof s.url === 'string' && hasUrlCredentials(s.url)) throw badSetting('url', urlCredentialsRule('the URL'));
  text('bindUser', Limits.bindUserChars);
  text('bindPassword', Limits.bindPasswordChars);
  text('keytab', Limits.keytabPathChars);
  if (s.auth !== undefined && s.auth !== null && s.auth !== 'simple' && s.auth !== 'kerberos') throw badSetting('auth', "must be 'simple' or 'kerberos'");
  if (s.auth === 'kerberos') {
    // Nothing of a password is used: say so rather than ignore one that was meant to be used.
    if (s.bindPassword) throw badSetting('bindPassword', "is not used with auth 'kerberos' (the credential cache or keytab signs in); remove it");
    if (s.keytab !== undefined && s.keytab !== null && !s.bindUser) throw badSetting('bindUser', 'must name the principal whose keys the keytab holds (user@REALM)');
  } else if (s.keytab !== undefined && s.keytab !== null) {
    throw badSetting('keytab', "is used with auth 'kerberos' only");
  }
  if (s.timeoutMs !== undefined && !(typeof s.timeoutMs === 'number' && Number.isFinite(s.timeoutMs) && s.timeoutMs >= 1 && s.timeoutMs <= 600_000)) {
    throw badSetting('timeoutMs', 'must be a number of milliseconds from 1 to 600000');
  }
  if (s.dnsServers !== undefined && s.dnsServers !== null) {
    if (!Array.isArray(s.dnsServers) || s.dnsServers.length > Limits.dnsServers || s.dnsServers.some((a) => !isDnsServerAddress(a))) {
      throw badSetting('dnsServers', `must be a list of at most ${Limits.dnsServers} IP addresses (each optionally with :port, IPv6 as [addr]:port)`);
    }
  }
  if (s.caCerts !== undefined && s.caCerts !== null) {
    if (!Array.isArray(s.caCerts) || s.caCerts.some((c) => typeof c !== 'string')) throw badSetting('caCerts', 'must be a list of PEM texts');
    if (s.caCerts.length > Limits.caCertCount) throw badSetting('caCerts', `must hold at most ${Limits.caCertCount} certificates`);
    if (s.caCerts.reduce((n, c) => n + Buffer.byteLength(c), 0) > Limits.caCertTotalBytes) throw badSetting('caCerts', `must be at most ${Limits.caCertTotalBytes} bytes together`);
  }
}

export class DirectoryConnection {
  readonly client: Client;
  readonly url: string;
  readonly host: string;
  readonly timeoutMs: number;
  private socket?: net.Socket | SaslSocket;
  private sockets = 0;
  private encryptedSocket = false;
  private closed = false;
  /** bound (simple or Kerberos) on this socket: what makes it reusable by the same identity */
  private bound = false;
  private readonly secrets: Secret[];
  /** the settings without the bind password, which lives only in `bindPassword` */
  private readonly settings: ConnectionSettings;
  private readonly bindPassword?: Secret;
  private slot?: Promise<() => void>;
  /** a TLS connection opened before this object existed (early-tls.ts), for the first socket */
  private early?: tls.TLSSocket;

  constructor(
    settings: ConnectionSettings,
    private readonly target: DirectoryTarget,
  ) {
    checkSettings(settings);
    const { url, host } = resolveUrl(settings, target.host);
    this.url = url;
    this.host = host;
    this.timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // Keep the password out of every field a debugger, util.inspect or a log of this object shows.
    this.settings = { ...settings, bindPassword: undefined };
    if (settings.bindPassword) this.bindPassword = secret(settings.bindPassword, 'bindPassword');
    this.secrets = this.bindPassword ? [this.bindPassword] : [];
    const tlsOptions = this.tlsOptions();
    this.client = new Client({
      url,
      timeout: this.timeoutMs,
      connectTimeout: this.timeoutMs,
      // ldapts turns any tlsOptions into an immediate TLS connection, so StartTLS gets them later.
      tlsOptions: url.startsWith('ldaps:') ? tlsOptions : undefined,
      // One socket per connection: if it drops, ldapts would silently reconnect without TLS
      // (after StartTLS) and without the bind, so a second socket is refused.
      // Kerberos puts its security layer between ldapts and the TCP socket (sasl-gssapi.ts). The
      // locator may have resolved the address itself (target.address).
      createConnection: ((port: number, host: string) => {
        const socket = net.connect(port, target.address ?? host);
        return settings.auth === 'kerberos' ? this.adopt(new SaslSocket(socket), false) : this.adopt(socket, false);
      }) as unknown as typeof net.connect,
      createSecureConnection: ((...args: unknown[]) => {
        // The CLI's early connection (early-tls.ts), already verified, when connect() found one.
        const early = this.early;
        this.early = undefined;
        if (early && !early.destroyed) return this.adopt(early.ref(), true);
        // ldaps:// is (port, host, options); StartTLS passes the plain socket in options.
        if (target.address && typeof args[0] === 'number') args[1] = target.address;
        return this.adopt((tls.connect as (...a: unknown[]) => tls.TLSSocket)(...args), true);
      }) as typeof tls.connect,
    });
  }

  private tlsOptions(): tls.ConnectionOptions {
    return tlsOptionsFor(this.settings, this.host);
  }

  private adopt<T extends net.Socket | SaslSocket>(socket: T, encrypted: boolean): T {
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

  /** True once the channel is TLS-protected (ldaps:// or after StartTLS) or sealed by Kerberos. */
  get encrypted(): boolean {
    if (this.socket instanceof SaslSocket) return this.socket.sealed;
    return this.encryptedSocket && this.socket instanceof tls.TLSSocket && !this.socket.destroyed;
  }

  /** Still connected and bound, so that the pool may hand it to the next caller of the same identity. */
  get reusable(): boolean {
    return this.bound && !this.closed && this.client.isConnected && this.socket !== undefined && !this.socket.destroyed;
  }

  /** Whether the DC answers a root DSE read within `ms` (a reused connection's check); a silent
   *  connection is destroyed. */
  async answers(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const answered = this.client.search('', { scope: 'base', attributes: ['1.1'] }).then(
      () => true,
      () => false,
    );
    const ok = await Promise.race([answered, silent]);
    clearTimeout(timer);
    if (!ok) this.socket?.destroy();
    return ok;
  }

  /** While pooled and idle, the socket does not keep the process alive; resume() before use again. */
  park(): void {
    this.rawSocket()?.unref();
  }

  resume(): void {
    this.rawSocket()?.ref();
  }

  private rawSocket(): net.Socket | undefined {
    return this.socket instanceof SaslSocket ? this.socket.raw : this.socket;
  }

  /** The DC's IP address as this connection reached it. */
  get remoteAddress(): string | undefined {
    const a = this.socket?.remoteAddress;
    return a?.startsWith('::ffff:') ? a.slice(7) : a;
  }

  /** Run one network step with the timeout and the error mapping. A "busy" or "unavailable" answer
   *  is retried with backoff: RFC 4511 says the server did not perform the operation, so a retry is
   *  safe even for a write, and a busy DC often answers a moment later. Nothing else is retried: a
   *  timeout leaves the effect of a write unknown, and other answers do not change by asking again. */
  async run<T>(ctx: LdapErrorContext, step: () => Promise<T>): Promise<T> {
    if (this.closed) throw new ProvisioningError('ERROR_DS_SERVER_DOWN', `${ctx.action}: the connection to the DC is closed`, { field: ctx.field });
    // The first step takes this connection's slot; waiting for one is not part of any step's timeout.
    await (this.slot ??= acquireConnectionSlot(this.url));
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.runOnce(ctx, step);
      } catch (e) {
        const retriable = e instanceof ProvisioningError && (e.code === 'ERROR_DS_BUSY' || e.code === 'ERROR_DS_UNAVAILABLE');
        if (!retriable || attempt >= BUSY_RETRIES || !this.client.isConnected) throw e;
        await new Promise((r) => setTimeout(r, BUSY_BACKOFF_MS * 2 ** attempt * (0.75 + Math.random() / 2)));
      }
    }
  }

  private async runOnce<T>(ctx: LdapErrorContext, step: () => Promise<T>): Promise<T> {
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
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      // The CA is fine; the name is not: more CAs would not help, the right host name would.
      const byAddress = net.isIP(this.host) !== 0;
      return new ProvisioningError('SEC_E_WRONG_PRINCIPAL', `the DC's certificate does not name ${this.host} (${message}); ${byAddress ? 'connect by the DC\'s DNS name, the one its certificate carries, not by its address' : 'connect by the name the certificate carries'}`, {
        field: this.settings.url ? 'connection.url' : this.target.unreachableField,
      });
    }
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
    // A transport failure (not an answer of the DC) is the host's fault when the step names no field.
    return mapLdapError(e, { ...ctx, secrets, field: ctx.field ?? (e instanceof ResultCodeError ? undefined : this.target.unreachableField) });
  }

  /** StartTLS when asked. An ldaps:// connection is made by the first operation (ldapts connects
   *  lazily), whose TLS failures `run` maps; either way nothing secret is sent before `bind`. */
  async connect(): Promise<void> {
    const { startTls } = resolveUrl(this.settings, this.target.host);
    if (this.url.startsWith('ldaps:') && !this.client.isConnected && !this.target.address) {
      // Only a connection to this very URL with these very TLS options, whose handshake (and so
      // its certificate check) succeeded; one that failed is dropped and the usual connect below
      // reports the failure. A silent DC fails here within the same bound as a fresh connect.
      const early = await takeEarlyTls(this.url, this.tlsOptions(), this.timeoutMs);
      if (early === 'timeout') {
        throw new ProvisioningError(this.target.unreachableCode, `no answer from ${this.url} within ${this.timeoutMs} ms`, { field: this.target.unreachableField });
      }
      this.early = early;
    }
    if (startTls) {
      await this.run({ action: 'StartTLS' }, () => this.client.startTLS(this.tlsOptions()));
      if (!this.encrypted) throw new ProvisioningError('ERROR_DS_STRONG_AUTH_REQUIRED', 'StartTLS did not encrypt the connection', { field: 'connection.url' });
    }
  }

  /** Simple bind over the encrypted channel, or the Kerberos bind that seals it. `dcHost`: the DC's
   *  DNS name as the LDAP ping found it, for the service principal, when the connection was made
   *  to the domain's name rather than to a DC. */
  async bind(dcHost?: string): Promise<void> {
    if (this.settings.auth === 'kerberos') return this.bindKerberos(dcHost);
    const { bindUser } = this.settings;
    const bindPassword = this.bindPassword;
    if (!bindUser) throw new ProvisioningError('ERROR_INVALID_PARAMETER', 'a bind user is required', { field: 'connection.bindUser' });
    if (!bindPassword) throw new ProvisioningError('ERROR_INVALID_PARAMETER', 'a bind password is required', { field: 'connection.bindPassword' });
    if (!this.client.isConnected) {
      // Make the TLS connection first, so that a verification failure is reported before any password moves.
      await this.run({ action: 'connecting' }, () => this.client.search('', { scope: 'base', attributes: ['1.1'] }));
    }
    if (!this.encrypted) throw new ProvisioningError('ERROR_DS_STRONG_AUTH_REQUIRED', 'refusing to bind over an unencrypted connection', { field: 'connection.url' });
    await this.run({ action: `binding as ${bindUserLabel(bindUser)}`, field: 'connection.bindUser', overrides: { 49: 'ERROR_LOGON_FAILURE', 50: 'ERROR_ACCESS_DENIED', 53: 'ERROR_ACCESS_DENIED' } }, () =>
      this.client.bind(bindUser, bindPassword.reveal()),
    );
    this.bound = true;
  }

  private async bindKerberos(dcHost?: string): Promise<void> {
    const { bindUser, keytab } = this.settings;
    // The service principal is ldap/<DC host>: a DC named by dcName or the URL as given (an address
    // has no principal: a clear error, not a guess); one found through the domain by its own name.
    const host = dcHost ?? this.host;
    if (!this.client.isConnected) await this.run({ action: 'connecting' }, () => this.client.search('', { scope: 'base', attributes: ['1.1'] }));
    const socket = this.socket;
    if (!(socket instanceof SaslSocket)) throw new ProvisioningError('ERROR_DS_SERVER_DOWN', 'the connection to the DC was lost', { field: this.target.unreachableField });
    await this.run({ action: `Kerberos sign-in to ldap/${host}`, field: 'connection.auth' }, () =>
      saslGssapiBind(socket, { host, credentials: { ...(keytab ? { keytab } : {}), ...(bindUser ? { principal: bindUser } : {}) } }),
    );
    if (!this.encrypted) throw new ProvisioningError('ERROR_DS_STRONG_AUTH_REQUIRED', 'the Kerberos sign-in did not seal the connection', { field: 'connection.auth' });
    this.bound = true;
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
      this.early?.destroy();
      this.socket?.destroy();
      if (this.slot) void this.slot.then((release) => release());
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
