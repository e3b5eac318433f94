// A loopback TCP server that accepts connections and never says a word (neither TLS nor LDAP):
// the peer for "the DC stops answering" timeout tests. Started and stopped for the calling file.
import * as net from 'node:net';
import { afterAll, beforeAll } from 'vitest';

export interface SilentServer {
  /** its port on 127.0.0.1 (after beforeAll) */
  port(): number;
  /** destroys the server's own ends of the connections it holds (they live in this process too) */
  dropConnections(): void;
}

export function useSilentServer(): SilentServer {
  let server: net.Server | undefined;
  let port = 0;
  const held: net.Socket[] = [];
  const dropConnections = (): void => {
    for (const s of held.splice(0)) s.destroy();
  };
  beforeAll(async () => {
    const s = net.createServer((socket) => {
      held.push(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    server = s;
    port = (s.address() as net.AddressInfo).port;
  });
  afterAll(() => {
    dropConnections();
    server?.close();
  });
  return { port: () => port, dropConnections };
}
