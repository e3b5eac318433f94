// `odj provision` opens its TLS connection to the DC while the rest of the code loads
// (../directory/early-tls.ts): the flags are read here with the command's own table and the same
// functions the command uses, so the connection it later takes is the one it would have opened.
import { resolveUrl, tlsOptionsFor } from '../directory/endpoint';
import { startEarlyTls } from '../directory/early-tls';
import { bool, nonEmpty, parse } from './args';
import { connectionFromArgs, willPrompt } from './connection';
import { provisionOptions } from './provision-options';

const C = 'provision';
/** Longest wait for the TCP connection before loading goes on (the handshake continues anyway). */
const CONNECT_WAIT_MS = 20;

/** Best effort: at any doubt (bad flags, --help, StartTLS, a prompt for the password, an unreadable
 *  CA file) there is no early connection, and the command reports what is wrong as usual. */
export async function startEarlyConnection(args: string[]): Promise<void> {
  let socket: ReturnType<typeof startEarlyTls>;
  try {
    const p = parse(C, args, provisionOptions, false);
    // With a prompt, the user's typing would dwarf the gain; the DC might drop the idle socket.
    if (bool(p, 'help') || willPrompt(p)) return;
    // The DirectoryTarget host, as validateParams derives it.
    const host = nonEmpty(p, 'dcname', C)?.replace(/^\\\\/, '') || nonEmpty(p, 'domain', C)?.trim().replace(/\.$/, '');
    if (!host) return;
    const settings = connectionFromArgs(p, C, process.env, false);
    const target = resolveUrl(settings, host);
    if (target.startTls || !target.url.startsWith('ldaps:')) return;
    socket = startEarlyTls(target.url, target.host, tlsOptionsFor(settings, target.host));
  } catch {
    return;
  }
  // Let the name lookup and the TCP connect happen, so the ClientHello is out before loading the
  // command blocks the event loop; the DC then works on its part of the handshake meanwhile.
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      socket.off('connect', done);
      socket.off('close', done);
      setImmediate(resolve);
    };
    const timer = setTimeout(done, CONNECT_WAIT_MS);
    socket.once('connect', done);
    socket.once('close', done);
  });
}
