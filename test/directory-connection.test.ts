// The connection: every wait has a timeout, and every path (success or any failure) closes the socket.
import * as net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { DirectoryConnection, resolveUrl, withDirectory } from '../provider/directory/connection';
import { ProvisioningError } from '../provider/errors';
import { provision } from '../provider/directory/backend';
import { testDc } from './support/dc';
import { adminConnection, machineNames } from './support/ldap-backend';
import { useSilentServer } from './support/silent-server';

const names = machineNames('LC');
const silent = useSilentServer();

afterAll(async () => {
  await names.cleanup();
});

const openSockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TLSWrap').length;

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 50));
}

describe('connection', () => {
  it('a silent server: connect (ldaps) and StartTLS give up after the timeout, typed and naming the URL', async () => {
    const t0 = Date.now();
    let e = await provision({ domain: testDc().domain, machineName: names.next() }, adminConnection({ url: `ldaps://127.0.0.1:${silent.port()}`, timeoutMs: 400 })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ProvisioningError);
    expect((e as ProvisioningError).field).toBe('connection.url');
    e = await provision({ domain: testDc().domain, machineName: names.next() }, adminConnection({ url: `ldap://127.0.0.1:${silent.port()}`, startTls: true, timeoutMs: 400 })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ProvisioningError);
    // TCP is accepted but nothing answers StartTLS: no LDAP server there, as far as anyone can tell.
    expect([(e as ProvisioningError).code, (e as ProvisioningError).field]).toEqual(['ERROR_NO_SUCH_DOMAIN', 'connection.url']);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('leaves no socket open after successes and after each kind of failure', async () => {
    silent.dropConnections();
    await settle();
    const before = openSockets();
    const dc = testDc();
    const attempts = [
      () => provision({ domain: dc.domain, machineName: names.next() }, adminConnection()),
      () => provision({ domain: dc.domain, machineName: names.next() }, adminConnection({ bindPassword: 'wrong-Password-1' })),
      () => provision({ domain: dc.domain, machineName: names.next() }, adminConnection({ caCerts: undefined })),
      () => provision({ domain: 'other.test', machineName: names.next(), dcName: dc.dcHost }, adminConnection()),
      () => provision({ domain: dc.domain, machineName: names.next(), machineAccountOU: 'OU=gone,DC=odjtest,DC=test' }, adminConnection()),
      () => provision({ domain: dc.domain, machineName: names.next() }, adminConnection({ url: `ldaps://127.0.0.1:${silent.port()}`, timeoutMs: 300 })),
      () => withDirectory(adminConnection(), { host: dc.dcHost, unreachableCode: 'ERROR_DS_SERVER_DOWN', unreachableField: 'connection.url' }, async () => {
        throw new Error('the caller failed');
      }),
    ];
    for (const a of attempts) await a().catch(() => undefined);
    // The silent server's own ends of its connections live in this process too.
    silent.dropConnections();
    await settle();
    expect(openSockets()).toBe(before);
  });

  it('refuses a second socket: a dropped connection is never silently reopened without TLS or bind', async () => {
    const c = new DirectoryConnection(adminConnection(), { host: testDc().dcHost, unreachableCode: 'ERROR_DS_SERVER_DOWN', unreachableField: 'connection.url' });
    try {
      await c.connect();
      await c.bind();
      expect(c.encrypted).toBe(true);
      expect(c.remoteAddress).toBe('127.0.0.1');
      // Drop the socket under ldapts; its next operation would reconnect.
      (c as unknown as { socket: net.Socket }).socket.destroy();
      await settle();
      const e = await c.run({ action: 'searching' }, () => c.client.search('', { scope: 'base', attributes: ['1.1'] })).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ProvisioningError);
      expect(c.client.isBound).toBe(false);
    } finally {
      await c.close();
    }
  });

  it('resolves URLs: ldaps:// by default from the host; ldap:// only with StartTLS', () => {
    expect(resolveUrl({}, 'dc1.odjtest.test')).toEqual({ url: 'ldaps://dc1.odjtest.test', host: 'dc1.odjtest.test', startTls: false });
    expect(resolveUrl({ url: 'ldap://dc1:389', startTls: true }, 'x').startTls).toBe(true);
    expect(() => resolveUrl({ url: 'ldap://dc1:389' }, 'x')).toThrow(/startTls/);
    expect(() => resolveUrl({ url: 'ldaps://dc1', startTls: true }, 'x')).toThrow(/startTls/);
    expect(() => resolveUrl({ url: 'http://dc1' }, 'x')).toThrow(/ldaps/);
  });
});
