// Backend choice (provider/backend-choice.ts): what each choice means per platform, that choosing
// loads nothing native, and one package made through the public API with backend 'netapi'
// (Samba's libnetapi here), judged by the directory and by Samba's own join.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendFor, LdapBackend, NetapiBackend, ProvisioningError, resolveBackendChoice } from '../provider/index';
import { testDc } from './support/dc';
import { accountBySam } from './support/ldap';
import { adminConnection, machineNames } from './support/ldap-backend';
import { netapiClientFiles, type NetapiClientFiles } from './support/netapi-client';
import { requestOdjAndTestJoin } from './support/peers';

async function rejection(p: Promise<unknown>): Promise<ProvisioningError> {
  const e = await p.then(
    () => new Error('expected a ProvisioningError'),
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ProvisioningError);
  return e as ProvisioningError;
}

describe('resolveBackendChoice', () => {
  it('auto is the native backend on Windows and LDAP elsewhere; the explicit names stand', () => {
    expect(resolveBackendChoice('auto', 'win32')).toBe('netapi');
    expect(resolveBackendChoice('auto', 'linux')).toBe('ldap');
    expect(resolveBackendChoice('auto', 'darwin')).toBe('ldap');
    expect(resolveBackendChoice(undefined, 'win32')).toBe('netapi');
    expect(resolveBackendChoice(undefined, 'linux')).toBe('ldap');
    for (const platform of ['win32', 'linux'] as const) {
      expect(resolveBackendChoice('ldap', platform)).toBe('ldap');
      expect(resolveBackendChoice('netapi', platform)).toBe('netapi');
    }
  });

  it('anything else is ERROR_INVALID_PARAMETER on backend', () => {
    for (const bad of ['native', 'LDAP', 'windows', 1, {}]) {
      let e: unknown;
      try {
        resolveBackendChoice(bad, 'linux');
      } catch (err) {
        e = err;
      }
      expect(e).toBeInstanceOf(ProvisioningError);
      expect([(e as ProvisioningError).code, (e as ProvisioningError).field]).toEqual(['ERROR_INVALID_PARAMETER', 'backend']);
    }
  });

  it('backendFor builds the backend the choice means, with the LDAP lookups for the native one', () => {
    expect(backendFor('ldap')).toBeInstanceOf(LdapBackend);
    expect(backendFor('auto', {}, 'linux')).toBeInstanceOf(LdapBackend);
    const native = backendFor('auto', { libraryPath: '/x/libnetapi.so.1' }, 'win32');
    expect(native).toBeInstanceOf(NetapiBackend);
    const opts = (native as unknown as { options: Record<string, unknown> }).options;
    expect(opts.libraryPath).toBe('/x/libnetapi.so.1');
    expect(typeof (opts.directory as { findByGuid?: unknown }).findByGuid).toBe('function');
  });

  it('choosing the native backend loads nothing native', () => {
    backendFor('netapi');
    expect(Object.keys(require.cache).filter((k) => /[\\/]node_modules[\\/]koffi[\\/]/.test(k))).toEqual([]);
  });
});

describe("backend 'netapi' through the public API, against the test DC", () => {
  const names = machineNames('BC');
  let files: NetapiClientFiles;
  beforeAll(() => {
    files = netapiClientFiles();
  });
  afterAll(async () => {
    await names.cleanup();
    files?.cleanup();
  });
  const params = (machineName: string) => ({ domain: testDc().domain, machineName, dcName: testDc().dcHost });

  it('provisions with Samba libnetapi: the directory has the account, the facts match, Samba joins', async () => {
    const b = backendFor('netapi', { configFile: files.configFile, krb5Config: files.krb5Config });
    const name = names.next();
    const r = await b.provision(params(name), adminConnection());
    const t = await accountBySam(`${name}$`);
    expect(t).not.toBeNull();
    expect(r.account).toEqual({ distinguishedName: t!.dn, objectGuid: t!.guid, objectSid: t!.sid, rid: t!.rid, samAccountName: t!.sAMAccountName });
    expect((await requestOdjAndTestJoin(r.packageText, name)).joined).toBe(true);
    // By GUID through the LDAP lookups backendFor wired in, then gone.
    expect(await b.readAccount(t!.guid, adminConnection())).toMatchObject({ objectSid: t!.sid, samAccountName: t!.sAMAccountName });
    await b.deleteAccount(t!.guid, adminConnection());
    expect(await accountBySam(`${name}$`)).toBeNull();
  });

  it('the native path is the one taken: its own configuration and library errors come back', async () => {
    const noConfig = await rejection(backendFor('netapi', { configFile: '/nonexistent/smb.conf' }).provision(params(names.next()), adminConnection()));
    expect([noConfig.code, noConfig.field]).toEqual(['ERROR_FILE_NOT_FOUND', 'configFile']);
    const noLibrary = await rejection(backendFor('netapi', { libraryPath: 'libnetapi-not-installed.so.1' }).provision(params(names.next()), adminConnection()));
    expect([noLibrary.code, noLibrary.field]).toEqual(['ERROR_NOT_SUPPORTED', 'backend']);
    expect(noLibrary.message).toContain('samba-libs');
    expect(noLibrary.message).toContain("'ldap' backend");
  });
});
