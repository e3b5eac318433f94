// Kerberos sign-in to LDAP: the SASL GSSAPI bind (RFC 4752, RFC 4422) and its confidentiality
// layer, as a small socket between ldapts and the TCP connection. ldapts (9.x) binds SASL in one
// step, reads server credentials as text and knows no security layer, so it never sees the bind:
//
//  - SaslSocket is what ldapts gets as its socket. Until a layer is installed it passes bytes
//    through; during the bind it takes the DC's answers to our bind requests (by message ID) out
//    of the stream; afterwards every write is sealed with gss_wrap and sent as a 4-octet length
//    plus the token, and every received token is unwrapped before ldapts parses it.
//  - saslGssapiBind runs the exchange: context tokens until the context is complete (the DC
//    answers saslBindInProgress with its tokens), then the security-layer negotiation: the DC's
//    wrapped [layers, max size], our wrapped [layer 4 = confidentiality, our max size].
import { Duplex } from 'node:stream';
import type * as net from 'node:net';
import { BerReader, BerWriter } from 'ldapts';
import { ProvisioningError, type WindowsCodeName } from '../errors';
import { GssError, startGssClient, GSS_S_BAD_NAME, GSS_S_CREDENTIALS_EXPIRED, GSS_S_NO_CRED, type GssClientContext, type GssCredentials } from './gssapi';

/** RFC 4752 security layers. */
const LAYER_NONE = 1;
const LAYER_CONFIDENTIALITY = 4;
/** The largest wrapped token we accept from the DC (the 3-octet maximum), and say so in the negotiation. */
const MAX_RECEIVE_TOKEN = 0xffffff;
/** Message IDs of our bind requests: far from ldapts's counter, which starts at 2. */
const BIND_ID_BASE = 0x7fff0000;

/** A complete BER element at the start of `buf`: its total length, or undefined when more bytes are needed. */
function berElementLength(buf: Buffer): number | undefined {
  if (buf.length < 2) return undefined;
  const first = buf[1];
  if (first < 0x80) return buf.length >= 2 + first ? 2 + first : undefined;
  const n = first & 0x7f;
  if (n === 0 || n > 4) throw new Error('the DC sent an LDAP message with an invalid length');
  if (buf.length < 2 + n) return undefined;
  const total = 2 + n + buf.readUIntBE(2, n);
  return buf.length >= total ? total : undefined;
}

interface Layer {
  gss: GssClientContext;
  /** plaintext bytes per wrapped token, so that each token fits the DC's maximum */
  maxPlain: number;
}

/** The socket ldapts talks to; the TCP socket underneath (see the top of this file). */
export class SaslSocket extends Duplex {
  /** set by ldapts */
  id?: string;
  private inbound: Buffer = Buffer.alloc(0);
  private layer?: Layer;
  private interceptor?: (pdu: Buffer) => boolean;

  constructor(readonly raw: net.Socket) {
    super({ allowHalfOpen: false });
    raw.on('connect', () => this.emit('connect'));
    raw.on('data', (chunk: Buffer) => this.receive(chunk));
    raw.on('end', () => this.push(null));
    raw.on('error', (e) => this.destroy(e));
    raw.on('close', () => {
      if (!this.destroyed) this.destroy();
    });
  }

  // What ldapts and DirectoryConnection read of a net.Socket.
  get connecting(): boolean {
    return this.raw.connecting;
  }
  get readyState(): string {
    return this.raw.readyState;
  }
  get remoteAddress(): string | undefined {
    return this.raw.remoteAddress;
  }

  /** True once the confidentiality layer protects everything that goes over this socket. */
  get sealed(): boolean {
    return this.layer !== undefined && this.layer.gss.confidential && !this.destroyed;
  }

  /** While `fn` is set, complete LDAP messages it returns true for are taken out of the stream.
   *  After each one taken, reading pauses until the next call here or to installLayer: what follows
   *  a bind answer may already be sealed. */
  intercept(fn: ((pdu: Buffer) => boolean) | undefined): void {
    this.interceptor = fn;
    this.receive(Buffer.alloc(0));
  }

  /** From now on, seal what is written and unseal what is read. */
  installLayer(gss: GssClientContext, serverMaxToken: number): void {
    const maxPlain = gss.wrapSizeLimit(serverMaxToken, true);
    if (maxPlain < 1) throw new GssError('gss_wrap_size_limit', 0, 0, `the DC's maximum message size (${serverMaxToken}) leaves no room for data`);
    this.layer = { gss, maxPlain };
    this.receive(Buffer.alloc(0));
  }

  private receive(chunk: Buffer): void {
    if (!this.layer && !this.interceptor && this.inbound.length === 0) {
      if (chunk.length) this.push(chunk);
      return;
    }
    this.inbound = this.inbound.length ? Buffer.concat([this.inbound, chunk]) : chunk;
    try {
      this.drain();
    } catch (e) {
      this.destroy(e as Error);
    }
  }

  private drain(): void {
    for (;;) {
      if (this.layer) {
        if (this.inbound.length < 4) return;
        const size = this.inbound.readUInt32BE(0);
        if (size > MAX_RECEIVE_TOKEN) throw new Error(`the DC sent a ${size}-byte security layer token, more than the ${MAX_RECEIVE_TOKEN} negotiated`);
        if (this.inbound.length < 4 + size) return;
        const token = this.inbound.subarray(4, 4 + size);
        this.inbound = this.inbound.subarray(4 + size);
        const { data, sealed } = this.layer.gss.unwrap(token);
        if (!sealed) throw new Error('the DC sent an LDAP message without confidentiality on a sealed connection');
        this.push(data);
      } else if (this.interceptor) {
        const n = berElementLength(this.inbound);
        if (n === undefined) return;
        const pdu = this.inbound.subarray(0, n);
        this.inbound = this.inbound.subarray(n);
        if (this.interceptor(pdu)) return;
        this.push(pdu);
      } else {
        if (this.inbound.length) this.push(this.inbound);
        this.inbound = Buffer.alloc(0);
        return;
      }
    }
  }

  override _read(): void {
    // Data is pushed as it arrives; LDAP answers are bounded by the requests we send.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const layer = this.layer;
    if (!layer) {
      this.raw.write(chunk, callback);
      return;
    }
    let frames: Buffer[];
    try {
      frames = [];
      for (let at = 0; at < chunk.length; at += layer.maxPlain) {
        const token = layer.gss.wrap(chunk.subarray(at, at + layer.maxPlain), true);
        const size = Buffer.alloc(4);
        size.writeUInt32BE(token.length);
        frames.push(size, token);
      }
    } catch (e) {
      callback(e as Error);
      return;
    }
    this.raw.write(Buffer.concat(frames), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.raw.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.raw.destroy();
    this.layer?.gss.dispose();
    this.layer = undefined;
    callback(error);
  }
}

/** One BindRequest with the GSSAPI mechanism. */
function bindRequest(messageId: number, credentials: Buffer): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(messageId);
  w.startSequence(0x60); // [APPLICATION 0] BindRequest
  w.writeInt(3);
  w.writeString('');
  w.startSequence(0xa3); // [3] SaslCredentials
  w.writeString('GSSAPI');
  w.writeBuffer(credentials, 0x04);
  w.endSequence();
  w.endSequence();
  w.endSequence();
  return w.buffer;
}

interface BindAnswer {
  messageId: number;
  resultCode: number;
  diagnostic: string;
  serverCredentials?: Buffer;
}

function parseBindResponse(pdu: Buffer): BindAnswer | undefined {
  const r = new BerReader(pdu);
  r.readSequence();
  const messageId = r.readInt();
  if (messageId === null || r.readSequence() !== 0x61) return undefined; // [APPLICATION 1] BindResponse
  const end = r.offset + r.length;
  const resultCode = r.readEnumeration() ?? -1;
  r.readString();
  const diagnostic = r.readString() ?? '';
  let serverCredentials: Buffer | undefined;
  while (r.offset < end) {
    const tag = r.peek();
    if (tag === 0x87) {
      serverCredentials = Buffer.from(r.readString(0x87, true) ?? Buffer.alloc(0));
    } else {
      // a referral ([3]) or anything else: skip it
      r.readByte();
      const next = r.readLength();
      if (next === null) break;
      r.offset = next + r.length;
    }
  }
  return { messageId, resultCode, diagnostic, serverCredentials };
}

/** What the Kerberos sign-in needs to know. */
export interface KerberosBind {
  /** the DC's host name as the service principal names it (ldap/<host>) */
  host: string;
  credentials: GssCredentials;
}

/**
 * The SASL GSSAPI bind over `socket` and the confidentiality layer after it. Errors are
 * ProvisioningErrors with Windows codes; no token or key ever reaches one.
 */
export async function saslGssapiBind(socket: SaslSocket, bind: KerberosBind): Promise<void> {
  let gss: GssClientContext | undefined;
  let nextId = BIND_ID_BASE;
  let waiting: { id: number; resolve: (a: BindAnswer) => void; reject: (e: Error) => void } | undefined;
  const onClose = (): void => waiting?.reject(new Error('the DC closed the connection during the Kerberos bind'));
  socket.once('close', onClose);
  socket.intercept((pdu) => {
    const answer = parseBindResponse(pdu);
    if (!answer || !waiting || answer.messageId !== waiting.id) return false;
    const w = waiting;
    waiting = undefined;
    w.resolve(answer);
    return true;
  });
  const send = (token: Buffer): Promise<BindAnswer> =>
    new Promise<BindAnswer>((resolve, reject) => {
      const id = nextId++;
      waiting = { id, resolve, reject };
      socket.write(bindRequest(id, token), (err) => {
        if (err) reject(err);
      });
    });
  let installed = false;
  let serverMax = 0;
  try {
    gss = await startGssClient('ldap', bind.host, bind.credentials);
    let { token, complete } = await gss.step();
    let answered = false; // the security-layer answer went out
    for (let round = 0; ; round++) {
      if (round > 8) throw new ProvisioningError('SEC_E_INTERNAL_ERROR', 'the Kerberos bind did not finish within 8 rounds', { field: 'connection.auth' });
      const answer = await send(token);
      if (answer.resultCode === 0) {
        if (!answered) throw new ProvisioningError('SEC_E_UNSUPPORTED_FUNCTION', 'the DC accepted the bind without negotiating a security layer', { field: 'connection.auth' });
        socket.installLayer(gss, serverMax);
        installed = true;
        break;
      }
      if (answer.resultCode !== 14) throw bindRefused(answer, bind.host);
      const server = answer.serverCredentials ?? Buffer.alloc(0);
      if (!complete) {
        ({ token, complete } = await gss.step(server));
        continue;
      }
      if (answered) throw new ProvisioningError('SEC_E_INTERNAL_ERROR', 'the DC asked for more after the security layer was chosen', { field: 'connection.auth' });
      // RFC 4752 3.1: the DC's offer, wrapped: a bit mask of layers and its maximum token size.
      const offer = gss.unwrap(server).data;
      if (offer.length !== 4) throw new ProvisioningError('SEC_E_INTERNAL_ERROR', 'the DC sent a malformed security layer offer', { field: 'connection.auth' });
      if ((offer[0] & LAYER_CONFIDENTIALITY) === 0 || !gss.confidential) {
        throw new ProvisioningError(
          'SEC_E_UNSUPPORTED_FUNCTION',
          `the DC offers no confidentiality layer (offer 0x${offer[0].toString(16)}${offer[0] & LAYER_NONE ? ', only none' : ''}); passwords are never sent unsealed`,
          { field: 'connection.auth' },
        );
      }
      serverMax = offer.readUIntBE(1, 3);
      const choice = Buffer.alloc(4);
      choice[0] = LAYER_CONFIDENTIALITY;
      choice.writeUIntBE(MAX_RECEIVE_TOKEN, 1, 3);
      token = gss.wrap(choice, false);
      answered = true;
    }
  } catch (e) {
    throw kerberosError(e, bind);
  } finally {
    socket.intercept(undefined);
    socket.removeListener('close', onClose);
    if (!installed) gss?.dispose();
  }
}

function bindRefused(answer: BindAnswer, host: string): ProvisioningError {
  // The DC's diagnostic names the rule it applied (e.g. "Sign or Seal are required"); it holds no secret.
  const why = answer.diagnostic ? ` (${answer.diagnostic.trim()})` : '';
  if (answer.resultCode === 49) return new ProvisioningError('SEC_E_LOGON_DENIED', `the DC ${host} refused the Kerberos sign-in${why}`, { field: 'connection.bindUser' });
  if (answer.resultCode === 8 || answer.resultCode === 13) {
    return new ProvisioningError('ERROR_DS_STRONG_AUTH_REQUIRED', `the DC ${host} refused the Kerberos sign-in on this connection${why}`, { field: 'connection.url' });
  }
  return new ProvisioningError('SEC_E_LOGON_DENIED', `the DC ${host} refused the Kerberos sign-in with LDAP result ${answer.resultCode}${why}`, { field: 'connection.auth' });
}

// MIT krb5 com_err codes (krb5_err.et, base -1765328384) in the minor status; the numbers were
// checked against krb5_get_error_message of MIT 1.20.
const KRB5 = -1765328384;
const minorCodes: Record<number, { code: WindowsCodeName; field: 'host' | 'client' | 'keytab' | 'cache' | 'kdc' }> = {
  [(KRB5 + 6) >>> 0]: { code: 'SEC_E_NO_CREDENTIALS', field: 'client' }, // KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN
  [(KRB5 + 7) >>> 0]: { code: 'SEC_E_TARGET_UNKNOWN', field: 'host' }, // KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN
  [(KRB5 + 24) >>> 0]: { code: 'SEC_E_LOGON_DENIED', field: 'keytab' }, // KRB5KDC_ERR_PREAUTH_FAILED
  [(KRB5 + 32) >>> 0]: { code: 'SEC_E_CONTEXT_EXPIRED', field: 'cache' }, // KRB5KRB_AP_ERR_TKT_EXPIRED
  [(KRB5 + 37) >>> 0]: { code: 'SEC_E_TIME_SKEW', field: 'kdc' }, // KRB5KRB_AP_ERR_SKEW
  [(KRB5 + 156) >>> 0]: { code: 'SEC_E_NO_AUTHENTICATING_AUTHORITY', field: 'kdc' }, // KRB5_KDC_UNREACH
  [(KRB5 + 195) >>> 0]: { code: 'SEC_E_NO_CREDENTIALS', field: 'cache' }, // KRB5_FCC_NOFILE
  [(KRB5 + 181) >>> 0]: { code: 'SEC_E_NO_CREDENTIALS', field: 'keytab' }, // KRB5_KT_NOTFOUND
};

/** A GSS or transport failure of the Kerberos bind as a ProvisioningError naming the setting at fault. */
function kerberosError(e: unknown, bind: KerberosBind): unknown {
  if (!(e instanceof GssError)) return e;
  const where = {
    host: { field: 'connection.url', hint: `the DC is named ${bind.host}: its service principal ldap/${bind.host} must be known to the KDC (name the DC by its DNS host name, not an address)` },
    client: { field: 'connection.bindUser', hint: 'the client principal is not known to the KDC' },
    keytab: {
      field: bind.credentials.keytab !== undefined ? 'connection.keytab' : 'connection.bindUser',
      hint: bind.credentials.keytab !== undefined ? `check the keytab ${bind.credentials.keytab} and the principal` : 'check the principal and its credentials',
    },
    cache: { field: 'KRB5CCNAME', hint: 'run kinit (or set KRB5CCNAME to a cache with a valid ticket), or use a keytab' },
    kdc: { field: 'KRB5_CONFIG', hint: 'check the KDC in krb5.conf and the clocks' },
  };
  const known = minorCodes[e.minor];
  if (known) {
    // With a keytab, a cache problem is the keytab's: it is what fills the (in-memory) cache.
    const w = known.field === 'cache' && bind.credentials.keytab !== undefined ? where.keytab : where[known.field];
    return new ProvisioningError(known.code, `Kerberos: ${e.text}; ${w.hint}`, { field: w.field });
  }
  const routine = e.major & 0x00ff0000;
  if (routine === GSS_S_CREDENTIALS_EXPIRED) return new ProvisioningError('SEC_E_CONTEXT_EXPIRED', `Kerberos: ${e.text}; ${where.cache.hint}`, { field: bind.credentials.keytab !== undefined ? 'connection.keytab' : 'KRB5CCNAME' });
  if (routine === GSS_S_NO_CRED) {
    const w = bind.credentials.keytab !== undefined ? where.keytab : where.cache;
    return new ProvisioningError('SEC_E_NO_CREDENTIALS', `Kerberos: ${e.text}; ${w.hint}`, { field: w.field });
  }
  if (routine === GSS_S_BAD_NAME) return new ProvisioningError('SEC_E_TARGET_UNKNOWN', `Kerberos: ${e.text}`, { field: 'connection.bindUser' });
  return new ProvisioningError('SEC_E_INTERNAL_ERROR', `Kerberos: ${e.text}`, { field: 'connection.auth' });
}
