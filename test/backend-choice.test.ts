// Backend choice (provider/backend-choice.ts): what each choice means per platform, that choosing
// loads nothing native, and that backend 'netapi' really takes the native path. (What the backend
// backendFor('netapi') builds does against the DC is netapi-contract.test.ts's job.)
import { afterAll, describe, expect, it } from 'vitest';
import { backendFor, LdapBackend, NetapiBackend, ProvisioningError, resolveBackendChoice } from '../provider/index';
import { testDc } from './support/dc';
import { adminConnection, machineNames } from './support/ldap-backend';
import { rejection } from './support/rejection';

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
  afterAll(async () => {
    await names.cleanup();
  });
  const params = (machineName: string) => ({ domain: testDc().domain, machineName, dcName: testDc().dcHost });

  it('the native path is the one taken: its own configuration and library errors come back', async () => {
    const noConfig = await rejection(backendFor('netapi', { configFile: '/nonexistent/smb.conf' }).provision(params(names.next()), adminConnection()));
    expect([noConfig.code, noConfig.field]).toEqual(['ERROR_FILE_NOT_FOUND', 'configFile']);
    const noLibrary = await rejection(backendFor('netapi', { libraryPath: 'libnetapi-not-installed.so.1' }).provision(params(names.next()), adminConnection()));
    expect([noLibrary.code, noLibrary.field]).toEqual(['ERROR_NOT_SUPPORTED', 'backend']);
    expect(noLibrary.message).toContain('samba-libs');
    expect(noLibrary.message).toContain("'ldap' backend");
  });
});
