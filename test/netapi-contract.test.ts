// One suite of the JoinBackend contract, run against both backends where both apply here: the
// LDAP backend, and the native backend through Samba's libnetapi as the public API's
// backendFor('netapi') builds it (with the LDAP lookups directory/backend.ts offers it for DNs and
// GUIDs). The directory's own word (support/ldap.ts) and Samba's join are the judges; both
// backends must also report the same domain facts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JoinBackend, ProvisionResult } from '../provider/backend';
import { backendFor } from '../provider/index';
import { LdapBackend } from '../provider/directory/backend';
import { testDc } from './support/dc';
import { accountBySam, domainTruth } from './support/ldap';
import { adminConnection, machineNames } from './support/ldap-backend';
import { netapiClientFiles, type NetapiClientFiles } from './support/netapi-client';
import { requestOdjAndTestJoin } from './support/peers';
import { rejection } from './support/rejection';

const names = machineNames('NC');
let files: NetapiClientFiles;
beforeAll(() => {
  files = netapiClientFiles();
});
afterAll(async () => {
  await names.cleanup();
  files?.cleanup();
});

const backends: Array<[string, () => JoinBackend]> = [
  ['ldap', () => new LdapBackend()],
  ['netapi (Samba libnetapi)', () => backendFor('netapi', { configFile: files.configFile, krb5Config: files.krb5Config })],
];

const params = (machineName: string, extra: object = {}) => ({ domain: testDc().domain, machineName, dcName: testDc().dcHost, ...extra });

describe.each(backends)('JoinBackend contract: %s', (_, make) => {
  it('provision: the account the directory has, and a package Samba joins with', async () => {
    const name = names.next();
    const r = await make().provision(params(name), adminConnection());
    const t = await accountBySam(`${name}$`);
    // A new account is enabled (both backends read it back: AccountFacts.enabled).
    expect(r.account).toEqual({ distinguishedName: t!.dn, objectGuid: t!.guid, objectSid: t!.sid, rid: t!.rid, samAccountName: t!.sAMAccountName, enabled: true });
    expect(r.reused).toBe(false);
    const dom = await domainTruth();
    expect(r.domain).toMatchObject({ dnsDomainName: dom.dnsDomainName, netbiosDomainName: dom.netbiosName, domainGuid: dom.guid, domainSid: dom.sid });
    expect((await requestOdjAndTestJoin(r.packageText, name)).joined).toBe(true);
  });

  it('an existing account without reuseAccount: NERR_UserExists on machineName', async () => {
    const name = names.next();
    const b = make();
    await b.provision(params(name), adminConnection());
    const e = await rejection(b.provision(params(name), adminConnection()));
    expect([e.code, e.errno, e.field]).toEqual(['NERR_UserExists', 2224, 'machineName']);
  });

  it('reuseAccount: the same account, reused, and a package that joins', async () => {
    const name = names.next();
    const b = make();
    const first = await b.provision(params(name), adminConnection());
    const again = await b.provision(params(name, { options: { reuseAccount: true } }), adminConnection());
    expect(again.reused).toBe(true);
    expect(again.account).toEqual(first.account);
    expect((await requestOdjAndTestJoin(again.packageText, name)).joined).toBe(true);
  });

  it('readAccount and deleteAccount by objectGUID; gone is null, and deleting twice is fine', async () => {
    const name = names.next();
    const b = make();
    const r = await b.provision(params(name), adminConnection());
    expect(await b.readAccount(r.account.objectGuid, adminConnection())).toEqual(r.account);
    await b.deleteAccount(r.account.objectGuid, adminConnection());
    expect(await accountBySam(`${name}$`)).toBeNull();
    expect(await b.readAccount(r.account.objectGuid, adminConnection())).toBeNull();
    await b.deleteAccount(r.account.objectGuid, adminConnection());
  });

  it('a wrong password: ERROR_LOGON_FAILURE, and no account', async () => {
    const name = names.next();
    const dc = testDc();
    const e = await rejection(
      make().provision(params(name), adminConnection({ bindUser: `${dc.netbiosDomain}\\Administrator`, bindPassword: 'not-the-password' })),
    );
    expect([e.code, e.errno]).toEqual(['ERROR_LOGON_FAILURE', 1326]);
    expect(await accountBySam(`${name}$`)).toBeNull();
  });
});

describe('both backends against the same DC', () => {
  it('report the same domain and DC facts', async () => {
    const results: ProvisionResult[] = [];
    for (const [, make] of backends) results.push(await make().provision(params(names.next()), adminConnection()));
    expect(results[1].domain).toEqual(results[0].domain);
  });
});
