// A fault-injecting LDAPS proxy on loopback, between the code under test and the shared test DC.
// It terminates TLS with a certificate of its own (CN and SAN = the DC's name, from a CA made here
// with openssl), reads the LDAP messages, and forwards them to the real DC over verified TLS. A
// rule picks one request by operation (and occurrence) and breaks the exchange exactly there:
// before the DC sees it, or after the DC performed it but before its answer reaches the client.
// The DC is never paused or killed: other test files use it at the same time.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';

/** LDAP protocolOp tags ([APPLICATION n]) of requests, by name. */
export const RequestTags = { bind: 0x60, unbind: 0x42, search: 0x63, modify: 0x66, add: 0x68, del: 0x4a, modDn: 0x6c, extended: 0x77 } as const;
export type Op = keyof typeof RequestTags;
const opByTag = new Map<number, Op>(Object.entries(RequestTags).map(([k, v]) => [v, k as Op]));
/** The response tag that ends each request's exchange. */
const doneTag: Partial<Record<Op, number>> = { bind: 0x61, search: 0x65, modify: 0x67, add: 0x69, del: 0x6b, modDn: 0x6d, extended: 0x78 };

export type FaultAction =
  /** the request never reaches the DC and nothing is answered any more: a DC that stopped (SIGSTOP) */
  | 'hang-before'
  /** the DC performs the request; its answer and everything after are swallowed */
  | 'hang-after'
  /** the client's connection is reset when the request arrives: a DC killed before the write */
  | 'drop-before'
  /** the DC performs the request, then the client's connection is reset: a DC killed after the write */
  | 'drop-after'
  /** the proxy answers the request itself with LDAP result 51 (busy), without forwarding it */
  | 'busy'
  /** forwarded faithfully, but the test's hooks run first (e.g. to SIGSTOP or kill a private DC
   *  right before the DC gets the request, or right after it answered) */
  | 'hook';

export interface FaultRule {
  op: Op;
  /** which occurrence (of requests matching op and match) on a connection, counting from 1 (default 1) */
  nth?: number;
  /** extra condition on the raw request bytes (e.g. the DN it names) */
  match?: (request: Buffer) => boolean;
  action: FaultAction;
  /** for 'busy': how many times (default 1); other actions fire once per connection */
  times?: number;
  /** for 'hook': awaited before the request goes to the DC */
  beforeRequest?: () => Promise<void>;
  /** for 'hook': awaited before the DC's (final) answer goes to the client; `false` swallows the
   *  answer and freezes the exchange (a DC that did the write, then stopped before answering) */
  beforeReply?: () => Promise<void | boolean>;
}

export interface SeenRequest {
  connection: number;
  op: Op | 'unknown';
  messageId: number;
}

/** A write request (add, modify, del, modDn) as the guard sees it. */
export interface GuardedWrite {
  op: 'add' | 'modify' | 'del' | 'modDn';
  /** the entry it names, as the client sent it */
  dn: string;
  /** OIDs of the request's controls (e.g. tree delete 1.2.840.113556.1.4.805) */
  controls: string[];
  /** true when the guard refused it (the DC never saw it) */
  refused: boolean;
}

/** Decides per write whether it may reach the DC; a refused one is answered with LDAP result 50
 *  (insufficientAccessRights) by the proxy. For tests of what must never be written. */
export type WriteGuard = (w: Omit<GuardedWrite, 'refused'>) => boolean;

/** One BER TLV at `at`: its tag, where its content starts and how long it is. */
function tlvAt(buf: Buffer, at: number): { tag: number; start: number; length: number } {
  const tag = buf[at];
  const first = buf[at + 1];
  if (first < 0x80) return { tag, start: at + 2, length: first };
  const n = first & 0x7f;
  return { tag, start: at + 2 + n, length: buf.readUIntBE(at + 2, n) };
}

/** The DN and control OIDs of a write request message, or null for any other request. */
export function parseWrite(msg: Buffer): Omit<GuardedWrite, 'refused'> | null {
  const outer = tlvAt(msg, 0);
  const id = tlvAt(msg, outer.start);
  const opAt = id.start + id.length;
  const op = tlvAt(msg, opAt);
  const name = opByTag.get(op.tag);
  if (name !== 'add' && name !== 'modify' && name !== 'del' && name !== 'modDn') return null;
  // DelRequest is the DN itself; the others start with it as an OCTET STRING.
  const dn = name === 'del' ? msg.subarray(op.start, op.start + op.length).toString('utf8') : (() => {
    const d = tlvAt(msg, op.start);
    return msg.subarray(d.start, d.start + d.length).toString('utf8');
  })();
  const controls: string[] = [];
  const after = op.start + op.length;
  if (after < outer.start + outer.length && msg[after] === 0xa0) {
    const list = tlvAt(msg, after);
    for (let at = list.start; at < list.start + list.length; ) {
      const c = tlvAt(msg, at);
      const oid = tlvAt(msg, c.start);
      controls.push(msg.subarray(oid.start, oid.start + oid.length).toString('utf8'));
      at = c.start + c.length;
    }
  }
  return { op: name, dn, controls };
}

interface Pki {
  dir: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

function makePki(hostname: string): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'odj-fault-pki-'));
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=odj fault proxy test CA']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'dc.key', '-out', 'dc.csr', '-subj', `/CN=${hostname}`]);
  const ext = join(dir, 'ext.cnf');
  writeFileSync(ext, `subjectAltName=DNS:${hostname}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`);
  run(['x509', '-req', '-in', 'dc.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'dc.pem', '-days', '2', '-extfile', ext]);
  return { dir, caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'), certPem: readFileSync(join(dir, 'dc.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'dc.key'), 'utf8') };
}

/** Length of one complete BER element at the start of buf, or 0 when more bytes are needed. */
function berElementLength(buf: Buffer): number {
  if (buf.length < 2) return 0;
  const first = buf[1];
  if (first < 0x80) return buf.length >= 2 + first ? 2 + first : 0;
  const n = first & 0x7f;
  if (n === 0 || n > 4) throw new Error('unsupported BER length');
  if (buf.length < 2 + n) return 0;
  const len = buf.readUIntBE(2, n);
  return buf.length >= 2 + n + len ? 2 + n + len : 0;
}

/** messageID and protocolOp tag of one LDAPMessage. */
function parseMessage(msg: Buffer): { messageId: number; tag: number } {
  let i = 1;
  const l = msg[i++];
  if (l & 0x80) i += l & 0x7f;
  if (msg[i] !== 0x02) throw new Error('messageID expected');
  const idLen = msg[i + 1];
  const messageId = msg.readUIntBE(i + 2, idLen);
  return { messageId, tag: msg[i + 2 + idLen] };
}

function berLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), berLength(body.length), body]);

/** An LDAPResult answer with the given code, as the DC would send it. */
function resultMessage(messageId: number, responseTag: number, code: number, text: string): Buffer {
  const idBytes = Buffer.from([(messageId >> 24) & 0xff, (messageId >> 16) & 0xff, (messageId >> 8) & 0xff, messageId & 0xff]);
  let k = 0;
  while (k < 3 && idBytes[k] === 0 && idBytes[k + 1] < 0x80) k++;
  const body = Buffer.concat([tlv(0x0a, Buffer.from([code])), tlv(0x04, Buffer.alloc(0)), tlv(0x04, Buffer.from(text))]);
  return tlv(0x30, Buffer.concat([tlv(0x02, idBytes.subarray(k)), tlv(responseTag, body)]));
}

/** Splits a byte stream into complete LDAP messages. */
class MessageReader {
  private buf = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      const n = berElementLength(this.buf);
      if (n === 0) break;
      out.push(this.buf.subarray(0, n));
      this.buf = this.buf.subarray(n);
    }
    return out;
  }
}

export interface FaultProxyOptions {
  /** the real DC */
  upstream: { host: string; port: number; servername: string; ca: string };
  /** the name clients connect to (the certificate's CN/SAN) */
  hostname: string;
  /** accept TCP and never speak: a TLS endpoint that hangs in the handshake */
  silent?: boolean;
  /** the loopback address to listen on: the one `hostname` resolves to (default 127.0.0.1) */
  listenHost?: string;
}

export class FaultProxy {
  readonly seen: SeenRequest[] = [];
  /** every write request seen while a guard was set, refused or not */
  readonly writes: GuardedWrite[] = [];
  private guard: WriteGuard | null = null;
  private rule: FaultRule | null = null;
  private busyLeft = 0;
  private connections = 0;
  private readonly sockets = new Set<net.Socket>();
  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    readonly caPem: string,
    private readonly pki: Pki | null,
  ) {}

  static async start(opts: FaultProxyOptions): Promise<FaultProxy> {
    const pki = opts.silent ? null : makePki(opts.hostname);
    let proxy!: FaultProxy;
    const server = opts.silent
      ? net.createServer((s) => {
          proxy.track(s);
          // Read and discard, so that the client's FIN is seen (a paused socket never ends).
          s.resume();
        })
      : tls.createServer({ cert: pki!.certPem, key: pki!.keyPem, minVersion: 'TLSv1.2' }, (s) => proxy.handle(s, opts));
    if (!opts.silent) server.on('connection', (s: net.Socket) => proxy.track(s));
    await new Promise<void>((resolve) => server.listen(0, opts.listenHost ?? '127.0.0.1', resolve));
    proxy = new FaultProxy(server, (server.address() as net.AddressInfo).port, pki?.caPem ?? '', pki);
    return proxy;
  }

  /** The fault for connections from now on (null: a faithful proxy). */
  setFault(rule: FaultRule | null): void {
    this.rule = rule;
    this.busyLeft = rule?.action === 'busy' ? (rule.times ?? 1) : 0;
  }

  /** Cut every connection open now (client and DC side), as a network fault would: a client that
   *  keeps connections (the pool) must notice and make new ones, which get the current fault. */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** Writes from now on pass only when `guard` says so (null: no guard). */
  setGuard(guard: WriteGuard | null): void {
    this.guard = guard;
  }

  /** Connections currently open through the proxy (client side). */
  get openConnections(): number {
    return [...this.sockets].filter((s) => !s.destroyed).length;
  }

  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => undefined);
  }

  private handle(client: tls.TLSSocket, opts: FaultProxyOptions): void {
    const id = ++this.connections;
    const rule = this.rule;
    const counts = new Map<Op, number>();
    let frozen = false; // nothing moves in either direction any more
    let fired = false;
    let cutAfter: { messageId: number; action: 'hang-after' | 'drop-after' | 'hook'; doneTag: number } | null = null;
    // Messages are handled one at a time, in order, even while a hook is awaited.
    let clientChain = Promise.resolve();
    let dcChain = Promise.resolve();
    const pending: Buffer[] = [];
    const upstream = tls.connect({ host: opts.upstream.host, port: opts.upstream.port, servername: opts.upstream.servername, ca: opts.upstream.ca });
    let upstreamReady = false;
    upstream.on('secureConnect', () => {
      upstreamReady = true;
      for (const m of pending.splice(0)) upstream.write(m);
    });
    const shut = (): void => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', shut);
    client.on('error', shut);
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    const toDc = (m: Buffer): void => {
      if (upstreamReady) upstream.write(m);
      else pending.push(m);
    };

    const fromClient = new MessageReader();
    const onClientMessage = async (m: Buffer): Promise<void> => {
      if (frozen) return;
      const { messageId, tag } = parseMessage(m);
      const op = opByTag.get(tag) ?? 'unknown';
      this.seen.push({ connection: id, op, messageId });
      const write = this.guard ? parseWrite(m) : null;
      if (write && this.guard) {
        const refused = !this.guard(write);
        this.writes.push({ ...write, refused });
        if (refused) {
          client.write(resultMessage(messageId, doneTag[write.op] ?? 0x78, 50, 'fault proxy guard: this test may not write there'));
          return;
        }
      }
      // Occurrences count the requests that match both the op and the condition.
      const candidate = rule !== null && op === rule.op && (!rule.match || rule.match(m));
      if (candidate) counts.set(rule.op, (counts.get(rule.op) ?? 0) + 1);
      const hit = rule && candidate && !fired && counts.get(rule.op) === (rule.nth ?? 1);
      if (hit && rule.action === 'busy') {
        if (this.busyLeft > 0) {
          this.busyLeft--;
          counts.set(op as Op, (counts.get(op as Op) ?? 1) - 1); // the retry counts as the same occurrence
          client.write(resultMessage(messageId, doneTag[op as Op] ?? 0x78, 51, 'fault proxy: busy'));
          return;
        }
      } else if (hit) {
        fired = true;
        if (rule.action === 'hang-before') {
          frozen = true;
          return;
        }
        if (rule.action === 'drop-before') {
          shut();
          return;
        }
        if (rule.action === 'hook') await rule.beforeRequest?.();
        cutAfter = { messageId, action: rule.action as 'hang-after' | 'drop-after' | 'hook', doneTag: doneTag[op as Op] ?? 0x78 };
      }
      toDc(m);
    };
    client.on('data', (chunk: Buffer) => {
      for (const m of fromClient.push(chunk)) clientChain = clientChain.then(() => onClientMessage(m)).catch(shut);
    });

    const fromDc = new MessageReader();
    const onDcMessage = async (m: Buffer): Promise<void> => {
      if (frozen) return;
      const { messageId, tag } = parseMessage(m);
      if (cutAfter && messageId === cutAfter.messageId && tag === cutAfter.doneTag) {
        if (cutAfter.action === 'hook') {
          if ((await rule?.beforeReply?.()) === false) {
            frozen = true;
            return;
          }
        } else {
          // The DC has done it; the client never hears so.
          if (cutAfter.action === 'drop-after') shut();
          else frozen = true;
          return;
        }
      }
      if (!frozen) client.write(m);
    };
    upstream.on('data', (chunk: Buffer) => {
      for (const m of fromDc.push(chunk)) dcChain = dcChain.then(() => onDcMessage(m)).catch(shut);
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.pki) rmSync(this.pki.dir, { recursive: true, force: true });
  }
}
