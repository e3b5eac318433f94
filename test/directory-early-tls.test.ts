// The CLI's early TLS connection (directory/early-tls.ts), against the test DC: a connection made
// to the same URL with the same TLS options is the one the DirectoryConnection uses; one made with
// other options, or whose certificate check failed, is closed and never used (the usual connect
// reports the failure); a silent endpoint fails within the connection's timeout.
import type { TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import type { ConnectionSettings } from '../provider/backend';
import { DirectoryConnection } from '../provider/directory/connection';
import { startEarlyTls } from '../provider/directory/early-tls';
import { resolveUrl, tlsOptionsFor } from '../provider/directory/endpoint';
import { pingDomainController } from '../provider/directory/discovery';
import { ProvisioningError } from '../provider/errors';
import { testDc } from './support/dc';
import { adminConnection } from './support/ldap-backend';
import { useSilentServer } from './support/silent-server';

const dc = testDc();
const target = { host: dc.dcHost, unreachableCode: 'ERROR_NO_SUCH_DOMAIN' as const, unreachableField: 'connection.url' };

const silent = useSilentServer();

/** Starts the early connection as the CLI does, for these settings. */
function early(settings: ConnectionSettings): TLSSocket {
  const t = resolveUrl(settings, target.host);
  return startEarlyTls(t.url, t.host, tlsOptionsFor(settings, t.host));
}

/** The socket a DirectoryConnection ended up using (private; read for the test only). */
const socketOf = (c: DirectoryConnection): unknown => (c as unknown as { socket?: unknown }).socket;

describe('early TLS connection', () => {
  it('same URL and TLS options: the connection uses it, and the LDAP ping, bind and close work over it', async () => {
    const settings = adminConnection();
    const socket = early(settings);
    const conn = new DirectoryConnection(settings, target);
    try {
      await conn.connect();
      const ping = await pingDomainController(conn, { domain: dc.domain });
      expect(ping.dnsHostName.toLowerCase()).toBe(dc.dcHost.toLowerCase());
      expect(socketOf(conn)).toBe(socket);
      expect(conn.encrypted).toBe(true);
      await conn.bind();
    } finally {
      await conn.close();
    }
    expect(socket.destroyed).toBe(true);
  });

  it('other TLS options (verification off): not used, closed; the connection opens its own', async () => {
    const socket = early({ ...adminConnection(), insecureSkipTlsVerify: true, caCerts: undefined });
    const conn = new DirectoryConnection(adminConnection(), target);
    try {
      await conn.connect();
      await pingDomainController(conn, { domain: dc.domain });
      expect(socket.destroyed).toBe(true);
      expect(socketOf(conn)).not.toBe(socket);
      expect(conn.encrypted).toBe(true);
    } finally {
      await conn.close();
    }
  });

  it("a failed certificate check is not used: the usual connect reports it (SEC_E_UNTRUSTED_ROOT)", async () => {
    const untrusted = adminConnection({ caCerts: undefined });
    const socket = early(untrusted);
    const conn = new DirectoryConnection(untrusted, target);
    try {
      await conn.connect();
      const e = await pingDomainController(conn, { domain: dc.domain }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ProvisioningError);
      expect([(e as ProvisioningError).code, (e as ProvisioningError).field]).toEqual(['SEC_E_UNTRUSTED_ROOT', 'connection.caCerts']);
      expect(socket.destroyed).toBe(true);
      expect(socketOf(conn)).not.toBe(socket);
    } finally {
      await conn.close();
    }
  });

  it('a silent endpoint: connect() fails within the timeout, typed and naming the URL', async () => {
    const settings = adminConnection({ url: `ldaps://127.0.0.1:${silent.port()}`, timeoutMs: 400 });
    const socket = early(settings);
    const conn = new DirectoryConnection(settings, target);
    const t0 = Date.now();
    const e = await conn.connect().catch((x: unknown) => x);
    await conn.close();
    expect(Date.now() - t0).toBeLessThan(400 + 500);
    expect(e).toBeInstanceOf(ProvisioningError);
    expect([(e as ProvisioningError).code, (e as ProvisioningError).field]).toEqual(['ERROR_NO_SUCH_DOMAIN', 'connection.url']);
    expect((e as Error).message).toContain(`ldaps://127.0.0.1:${silent.port()}`);
    expect(socket.destroyed).toBe(true);
  });

  it('without an early connection nothing changes, and one is taken once only', async () => {
    const settings = adminConnection();
    const socket = early(settings);
    const first = new DirectoryConnection(settings, target);
    const second = new DirectoryConnection(settings, target);
    try {
      await first.connect();
      await second.connect();
      await Promise.all([pingDomainController(first, { domain: dc.domain }), pingDomainController(second, { domain: dc.domain })]);
      expect(socketOf(first)).toBe(socket);
      expect(socketOf(second)).not.toBe(socket);
    } finally {
      await first.close();
      await second.close();
    }
  });
});
