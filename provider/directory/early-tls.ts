// A TLS connection opened before the code that uses it has loaded. Loading the LDAP client and
// the package codec takes a one-shot `odj provision` tens of milliseconds; the TLS handshake
// (the DC's RSA signature, two round trips) can run meanwhile. DirectoryConnection.connect()
// takes the connection only when it was made to the same URL with identical TLS options and its
// handshake, certificate check included, succeeded; anything else is closed and forgotten.
// Nothing is sent over it before that: no LDAP request, let alone a password.
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';

interface Early {
  key: string;
  socket: TLSSocket;
  /** true once the handshake succeeded, false when it failed or the socket closed first */
  ready: Promise<boolean>;
}

let pending: Early | undefined;

/** What makes two connections interchangeable: where to, and every TLS option. */
function keyOf(url: string, options: ConnectionOptions): string {
  const { rejectUnauthorized, minVersion, servername, ca } = options;
  return JSON.stringify([url, rejectUnauthorized, minVersion, servername ?? null, ca ?? null]);
}

/** Starts the TLS connection to an ldaps:// URL (as endpoint.ts resolved it). It never keeps the
 *  process alive, and its failures are only remembered (the real connect reports them). */
export function startEarlyTls(url: string, host: string, options: ConnectionOptions): TLSSocket {
  pending?.socket.destroy();
  const port = Number(new URL(url).port || 636);
  const socket = connect(port, host, options);
  socket.unref();
  const ready = new Promise<boolean>((resolve) => {
    socket.once('secureConnect', () => resolve(true));
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
  // Errors after the handshake belong to whoever adopts the socket; until then, nobody listens.
  socket.on('error', () => undefined);
  pending = { key: keyOf(url, options), socket, ready };
  return socket;
}

/** The early connection for this URL and these options, once its handshake succeeded; undefined
 *  when there is none, it is for elsewhere, or it failed; 'timeout' when it is still not
 *  through after timeoutMs. Either way it is taken: a second call finds nothing. */
export async function takeEarlyTls(url: string, options: ConnectionOptions, timeoutMs: number): Promise<TLSSocket | 'timeout' | undefined> {
  const early = pending;
  pending = undefined;
  if (!early) return undefined;
  if (early.key !== keyOf(url, options)) {
    early.socket.destroy();
    return undefined;
  }
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([early.ready, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)))]);
  clearTimeout(timer);
  // The no-op error listener stays until the LDAP client puts its own (it removes all first).
  if (outcome === true && !early.socket.destroyed) return early.socket;
  early.socket.destroy();
  return outcome === 'timeout' ? 'timeout' : undefined;
}
