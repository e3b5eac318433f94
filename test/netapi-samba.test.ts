// The native backend through Samba's libnetapi.so.1 (koffi, UTF-8 flavour) against the test DC:
// every package must be joinable by Samba's own consumer, and every account fact must match what
// the directory itself says (read over LDAPS by test/support/ldap.ts, not by our code).
import { randomBytes } from 'node:crypto';
import { format, inspect } from 'node:util';
import { EqualityFilter } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountFacts, ConnectionSettings, ProvisioningParams } from '../provider/backend';
import { backendFor } from '../provider/backend-choice';
import { updateAccount } from '../provider/directory/update';
import { LdapBackend, readIssuedFacts } from '../provider/directory/backend';
import { NetapiBackend, type AccountDirectory } from '../provider/netapi';
import { parsePackage } from '../provider/odj';
import { REDACTED } from '../provider/secret';
import { testDc } from './support/dc';
import { accountBySam, deleteAccount, deleteTree, domainTruth, ensureOu, withLdap } from './support/ldap';
import { adminConnection } from './support/ldap-backend';
import { netapiClientFiles, type NetapiClientFiles } from './support/netapi-client';
import { kinitWithPassword, requestOdjAndTestJoin } from './support/peers';
import { rejection } from './support/rejection';

const created: string[] = [];
function machineName(): string {
  const name = `NA${randomBytes(4).toString('hex').toUpperCase()}`;
  created.push(name);
  return name;
}

let files: NetapiClientFiles;
let backend: NetapiBackend;
let plain: NetapiBackend;
let connection: ConnectionSettings;

const asFacts = (t: NonNullable<Awaited<ReturnType<typeof accountBySam>>>): AccountFacts => ({
  distinguishedName: t.dn,
  objectGuid: t.guid,
  objectSid: t.sid,
  rid: t.rid,
  samAccountName: t.sAMAccountName,
});

/** The directory lookups NetApi cannot do, answered by the DC over LDAPS (test-side code). */
const directory: AccountDirectory = {
  async findBySamAccountName(sam) {
    const t = await accountBySam(sam);
    return t ? asFacts(t) : null;
  },
  async findByGuid(guid) {
    // objectGUID on the wire: Data1, Data2, Data3 little-endian, then Data4 as is.
    const h = guid.replace(/-/g, '');
    const bytes = Buffer.concat([
      Buffer.from(h.slice(0, 8), 'hex').reverse(),
      Buffer.from(h.slice(8, 12), 'hex').reverse(),
      Buffer.from(h.slice(12, 16), 'hex').reverse(),
      Buffer.from(h.slice(16), 'hex'),
    ]);
    // A filter object: ldapts mangles bytes above 0x7f given as backslash-hex escapes in a string.
    const filter = new EqualityFilter({ attribute: 'objectGUID', value: bytes });
    const sam = await withLdap(async (c) => {
      const root = (await c.search('', { scope: 'base', attributes: ['defaultNamingContext'] })).searchEntries[0];
      const e = (await c.search(String(root.defaultNamingContext), { scope: 'sub', filter, attributes: ['sAMAccountName'] })).searchEntries[0];
      return e ? String(e.sAMAccountName) : null;
    });
    return sam ? directory.findBySamAccountName(sam, connection, '') : null;
  },
};

beforeAll(() => {
  const dc = testDc();
  files = netapiClientFiles();
  const { configFile, krb5Config } = files;
  backend = new NetapiBackend({ configFile, krb5Config, directory });
  plain = new NetapiBackend({ configFile, krb5Config });
  connection = { bindUser: dc.adminUser, bindPassword: dc.adminPassword };
});

let ouDn: string | undefined;
const moreOus: string[] = [];

afterAll(async () => {
  for (const n of created) await deleteAccount(`${n}$`);
  if (ouDn) await deleteTree(ouDn);
  for (const ou of moreOus) await deleteTree(ou);
  files?.cleanup();
});

const params = (name: string, extra: object = {}) => ({ domain: testDc().domain, machineName: name, dcName: testDc().dcHost, ...extra });

describe('netapi backend through Samba libnetapi', () => {
  it('provisions a new account: facts match the directory, Samba joins with the package', async () => {
    const name = machineName();
    const r = await backend.provision(params(name), connection);
    const truth = await accountBySam(`${name}$`);
    expect(truth).not.toBeNull();
    expect(r.reused).toBe(false);
    expect(r.account).toEqual({ ...asFacts(truth!), enabled: true });

    const dom = await domainTruth();
    expect(r.domain).toMatchObject({
      dnsDomainName: dom.dnsDomainName,
      netbiosDomainName: dom.netbiosName,
      forestName: dom.forestName,
      domainGuid: dom.guid,
      domainSid: dom.sid,
      dcName: dom.dcDnsHostName,
      dcSiteName: dom.dcSiteName,
    });
    // The text is the base64 of the binary, and our codec reads the same account out of it.
    expect(Buffer.from(r.packageText, 'base64')).toEqual(Buffer.from(r.packageBinary));
    const parsed = parsePackage(r.packageBinary);
    expect(parsed.facts.machineName.toUpperCase()).toBe(name);
    expect(parsed.accountSid).toBe(truth!.sid);

    const join = await requestOdjAndTestJoin(r.packageText, name);
    expect(join.joined, join.output).toBe(true);
  });

  it('creates the account in the OU given, and the package joins', async () => {
    const name = machineName();
    ouDn = await ensureOu(`NetapiTest${randomBytes(3).toString('hex')}`);
    const r = await backend.provision(params(name, { machineAccountOU: ouDn }), connection);
    expect(r.account.distinguishedName).toBe(`CN=${name},${ouDn}`);
    expect((await accountBySam(`${name}$`))?.dn).toBe(`CN=${name},${ouDn}`);
    expect((await requestOdjAndTestJoin(r.packageText, name)).joined).toBe(true);
  });

  it('useDefaultPassword: the package carries the password Samba sets, and the KDC takes it', async () => {
    const name = machineName();
    const r = await backend.provision(params(name, { options: { useDefaultPassword: true } }), connection);
    const password = parsePackage(r.packageBinary).facts.machinePassword;
    // Samba 4.17 sets the machine name as given (Windows documents the lower-cased name).
    expect(password.toLowerCase()).toBe(name.toLowerCase());
    expect(await kinitWithPassword(`${name}$@${testDc().realm}`, password)).toBe(true);
    expect(await kinitWithPassword(`${name}$@${testDc().realm}`, `${password}-not`)).toBe(false);
  });

  it('refuses an existing account with NERR_UserExists and leaves it alone', async () => {
    const name = machineName();
    const first = await backend.provision(params(name), connection);
    const e = await rejection(backend.provision(params(name), connection));
    expect(e.code).toBe('NERR_UserExists');
    expect(e.errno).toBe(2224);
    expect(e.field).toBe('machineName');
    expect((await accountBySam(`${name}$`))?.sid).toBe(first.account.objectSid);
  });

  it('reuses an existing account: same SID, and the new package carries the current password', async () => {
    const name = machineName();
    const first = await backend.provision(params(name), connection);
    const second = await backend.provision(params(name, { options: { reuseAccount: true } }), connection);
    const third = await backend.provision(params(name, { options: { reuseAccount: true } }), connection);
    for (const r of [second, third]) {
      expect(r.reused).toBe(true);
      expect(r.account).toEqual(first.account);
    }
    // The DC still accepts the previous password, so only a package two re-issues old must fail.
    expect((await requestOdjAndTestJoin(third.packageText, name)).joined).toBe(true);
    const stale = await requestOdjAndTestJoin(first.packageText, name);
    expect(stale.joined, stale.output).toBe(false);
  });

  it('reads an account by name and by GUID, and says null for one that does not exist', async () => {
    const name = machineName();
    const r = await backend.provision(params(name), connection);
    const truth = asFacts((await accountBySam(`${name}$`))!);

    const byName = await plain.readAccountByName(`${name}$`, connection, testDc().dcHost);
    expect(byName?.objectSid).toBe(truth.objectSid);
    expect(byName?.rid).toBe(truth.rid);
    // UF_WORKSTATION_TRUST_ACCOUNT: it is a computer account.
    expect(byName!.userAccountControl & 0x1000).toBe(0x1000);

    expect(await backend.readAccount(r.account.objectGuid, { ...connection, url: `ldaps://${testDc().dcHost}` })).toEqual({ ...truth, enabled: true });
    expect(await plain.readAccountByName(`NOPE${randomBytes(4).toString('hex')}$`, connection, testDc().dcHost)).toBeNull();
  });

  it('deletes an account by GUID; deleting it again is not an error', async () => {
    const name = machineName();
    const r = await backend.provision(params(name), connection);
    const conn = { ...connection, url: `ldaps://${testDc().dcHost}` };
    await backend.deleteAccount(r.account.objectGuid, conn);
    expect(await accountBySam(`${name}$`)).toBeNull();
    await backend.deleteAccount(r.account.objectGuid, conn);
    expect(await plain.deleteAccountByName(`${name}$`, connection, testDc().dcHost)).toBe(false);
  });

  // Both paths: our account search (NetUserGetInfo, whose status libnetapi reduces to
  // ERROR_CAN_NOT_COMPLETE and prints the NTSTATUS) and NetProvisionComputerAccount itself.
  // Given as DOMAIN\user: with a user@realm name Samba 4.17 answers a wrong password with
  // ERROR_NOT_FOUND (1168) instead, a quirk of its NTLM fallback (noted in provider/netapi/backend.ts).
  it.each([
    ['our account search', {}],
    ['NetProvisionComputerAccount', { options: { skipAccountSearch: true } }],
  ])('bad credentials come back as ERROR_LOGON_FAILURE from %s, without the password', async (_, extra) => {
    const dc = testDc();
    const name = machineName();
    const wrong = `Wrong-${randomBytes(6).toString('hex')}`;
    const e = await rejection(
      backend.provision(params(name, extra), { bindUser: `${dc.netbiosDomain}\\Administrator`, bindPassword: wrong }),
    );
    expect([e.code, e.errno]).toEqual(['ERROR_LOGON_FAILURE', 1326]);
    expect(e.message).not.toContain(wrong);
    expect(await accountBySam(`${name}$`)).toBeNull();
  });

  it('a DC that does not answer: ERROR_CAN_NOT_COMPLETE, quickly, and nothing done', async () => {
    const name = machineName();
    // 127.0.0.9 is loopback with nothing listening: the connection is refused at once. (Not
    // 127.0.0.2: reliability-private-dc runs its own DC there, possibly at the same time.)
    const e = await rejection(backend.provision(params(name, { dcName: '127.0.0.9' }), connection));
    expect([e.code, e.errno]).toEqual(['ERROR_CAN_NOT_COMPLETE', 1003]);
    expect(await accountBySam(`${name}$`)).toBeNull();
  });

  it('refuses what Samba cannot put in a package with ERROR_NOT_SUPPORTED naming the field', async () => {
    const pfxText = randomBytes(48).toString('base64');
    const cases: Array<[object, string]> = [
      [{ certTemplateNames: ['Machine'] }, 'certTemplateNames'],
      [{ machinePolicyNames: ['Default Domain Policy'] }, 'machinePolicyNames'],
      [{ machinePolicyPaths: ['C:\\policy\\Registry.pol'] }, 'machinePolicyPaths'],
      [{ siteName: 'Default-First-Site-Name' }, 'siteName'],
      [{ netbiosName: 'WS01' }, 'netbiosName'],
      [{ primaryDnsDomain: 'odjtest.test' }, 'primaryDnsDomain'],
      [{ options: { rootCaCerts: true } }, 'options.rootCaCerts'],
      // persistentSite needs a site (the core's rule, checked first); with one, siteName is refused first.
      [{ siteName: 'Default-First-Site-Name', options: { persistentSite: true } }, 'siteName'],
      // LDAP-backend inputs: a PFX made elsewhere, and a SYSVOL copy for machinePolicyNames.
      [{ certificates: [{ templateName: 'Machine', pfx: pfxText }] }, 'certificates'],
      [{ sysvolRoot: '/srv/sysvol' }, 'sysvolRoot'],
      // lmjoin.h: an OU is not supported with downlevel privilege support (any flavour).
      [{ machineAccountOU: 'CN=Computers,DC=odjtest,DC=test', options: { downlevelPrivSupport: true } }, 'machineAccountOU'],
    ];
    for (const [extra, field] of cases) {
      const name = machineName();
      const e = await rejection(backend.provision(params(name, extra), connection));
      expect([e.code, e.errno, e.field]).toEqual(['ERROR_NOT_SUPPORTED', 50, field]);
      expect(e.message).not.toContain(pfxText);
      expect(await accountBySam(`${name}$`)).toBeNull();
    }
  });

  it('runs the core validation of both backends first: the same code and field as the ldap backend', async () => {
    const cases: Array<[object, string, string]> = [
      [{ options: { persistentSite: true } }, 'ERROR_INVALID_PARAMETER', 'options.persistentSite'],
      [{ machineAccountOU: 'OU=Elsewhere,DC=other,DC=test' }, 'ERROR_INVALID_PARAMETER', 'machineAccountOU'],
      [{ machineName: 'ws01.odjtest.test' }, 'ERROR_INVALID_PARAMETER', 'machineName'],
      [{ options: { bogus: true } }, 'ERROR_INVALID_PARAMETER', 'options.bogus'],
    ];
    for (const [extra, code, field] of cases) {
      const p = { ...params(machineName(), {}), ...extra } as ProvisioningParams;
      const native = await rejection(backend.provision(p, connection));
      const ldap = await rejection(new LdapBackend().provision(p, connection));
      expect([native.code, native.field]).toEqual([code, field]);
      expect([ldap.code, ldap.field, ldap.message]).toEqual([native.code, native.field, native.message]);
    }
  });

  it('a configFile that does not exist: ERROR_FILE_NOT_FOUND on configFile', async () => {
    const e = await rejection(new NetapiBackend({ configFile: '/nonexistent/smb.conf' }).provision(params(machineName()), connection));
    expect([e.code, e.errno, e.field]).toEqual(['ERROR_FILE_NOT_FOUND', 2, 'configFile']);
  });

  it('a missing library is a clear ERROR_NOT_SUPPORTED that says what to install', async () => {
    const missing = new NetapiBackend({ libraryPath: 'libnetapi-not-installed.so.1' });
    const e = await rejection(missing.provision(params(machineName()), connection));
    expect(e.code).toBe('ERROR_NOT_SUPPORTED');
    expect(e.field).toBe('backend');
    expect(e.message).toContain('samba-libs');
    expect(e.message).toContain("'ldap' backend");
  });

  it('the backend object is plain data (a Pulumi provider can serialize it)', () => {
    const b = new NetapiBackend({ configFile: '/x/smb.conf', krb5Config: '/x/krb5.conf' });
    expect(JSON.parse(JSON.stringify(b))).toEqual({ options: { configFile: '/x/smb.conf', krb5Config: '/x/krb5.conf' } });
  });
});

/** pwdLastSet as the directory states it: unchanged means no password was re-issued. */
async function pwdLastSet(dn: string): Promise<string> {
  return withLdap(async (c) => String((await c.search(dn, { scope: 'base', attributes: ['pwdLastSet'] })).searchEntries[0]?.pwdLastSet));
}

describe('netapi backend: reuseAccount with machineAccountOU (Samba leaves a reused account where it is)', () => {
  async function newOu(): Promise<string> {
    const ou = await ensureOu(`NetapiMove${randomBytes(3).toString('hex')}`);
    moreOus.push(ou);
    return ou;
  }

  it('without a directory that can move it: ERROR_NOT_SUPPORTED on machineAccountOU before anything is done', async () => {
    const name = machineName();
    await plain.provision(params(name), connection);
    const before = (await accountBySam(`${name}$`))!;
    const setBefore = await pwdLastSet(before.dn);
    const ou = await newOu();
    const reuse = { machineAccountOU: ou, options: { reuseAccount: true } };
    // No directory, a directory without moveAccount, and skipAccountSearch (existence unknown).
    for (const [b, extra] of [
      [plain, reuse],
      [backend, reuse],
      [plain, { ...reuse, options: { reuseAccount: true, skipAccountSearch: true } }],
    ] as const) {
      const e = await rejection(b.provision(params(name, extra), connection));
      expect([e.code, e.errno, e.field]).toEqual(['ERROR_NOT_SUPPORTED', 50, 'machineAccountOU']);
    }
    const after = (await accountBySam(`${name}$`))!;
    expect([after.dn, after.sid, after.guid]).toEqual([before.dn, before.sid, before.guid]);
    expect(await pwdLastSet(after.dn)).toBe(setBefore);
  });

  it('without a directory, reuseAccount with an OU still creates a new account in that OU', async () => {
    const name = machineName();
    const ou = await newOu();
    const r = await plain.provision(params(name, { machineAccountOU: ou, options: { reuseAccount: true } }), connection);
    expect(r.reused).toBe(false);
    expect((await accountBySam(`${name}$`))?.dn).toBe(`CN=${name},${ou}`);
  });

  it("with the directory backendFor wires in: moved into the OU first, same account, and the package joins", async () => {
    const b = backendFor('netapi', { configFile: files.configFile, krb5Config: files.krb5Config });
    const conn = adminConnection();
    const name = machineName();
    const first = await b.provision(params(name), conn);
    expect(first.account.distinguishedName).not.toContain(',OU=');
    const ou = await newOu();
    for (let i = 0; i < 2; i++) {
      // The second time it is already there: nothing to move.
      const r = await b.provision(params(name, { machineAccountOU: ou, options: { reuseAccount: true } }), conn);
      const truth = (await accountBySam(`${name}$`))!;
      expect(truth.dn).toBe(`CN=${name},${ou}`);
      expect(r.reused).toBe(true);
      expect(r.account).toEqual({ ...first.account, distinguishedName: truth.dn });
      expect((await requestOdjAndTestJoin(r.packageText, name)).joined).toBe(true);
    }
  });
  it('updates under the core lifecycle: a move keeps password and package, a rebuild is our codec around the same password, a reset of a joined account is refused unless allowed', async () => {
    const b = backendFor('netapi', { configFile: files.configFile, krb5Config: files.krb5Config });
    const conn = adminConnection();
    const name = machineName();
    const pwdLastSet = async () =>
      withLdap(async (c) => String((await c.search((await accountBySam(`${name}$`))!.dn, { scope: 'base', attributes: ['pwdLastSet'] })).searchEntries[0].pwdLastSet));
    const first = await b.provision(params(name), conn);
    // NetApi cannot tell when it set the password; read from the directory (Samba's own logon included).
    const issued = (await readIssuedFacts(first.account.objectGuid, conn))!;
    expect(issued.pwdLastSet).toBe(await pwdLastSet());
    const previous = { objectGuid: first.account.objectGuid, packageText: first.packageText, issued };
    const ou = await newOu();
    const moved = await updateAccount(b, previous, params(name, { machineAccountOU: ou }), conn, { changed: ['machineAccountOU'] });
    expect(moved).toMatchObject({ steps: ['move'], result: null, status: { packageCurrent: true, joined: false } });
    expect((await accountBySam(`${name}$`))!.dn).toBe(`CN=${name},${ou}`);
    expect(await pwdLastSet()).toBe(issued.pwdLastSet);

    const rebuilt = await updateAccount(b, previous, params(name, { machineAccountOU: ou, siteName: 'Default-First-Site-Name' }), conn, { changed: ['siteName'] });
    expect(rebuilt.steps).toEqual(['rebuild']);
    const [f1, f2] = [first, rebuilt.result!].map((r) => parsePackage(r.packageBinary).facts);
    expect(f2.machinePassword === f1.machinePassword).toBe(true);
    expect(f2.joinProvider2?.siteName).toBe('Default-First-Site-Name');
    expect(await pwdLastSet()).toBe(issued.pwdLastSet);
    const joined = await requestOdjAndTestJoin(Buffer.from(rebuilt.result!.packageBinary), name);
    expect(joined.joined, joined.output).toBe(true);

    const refused = await rejection(updateAccount(b, previous, params(name, { machineAccountOU: ou }), conn, { changed: ['rotationTriggers'] }));
    expect([refused.code, refused.field]).toEqual(['ERROR_DS_UNWILLING_TO_PERFORM', 'rotationTriggers']);
    expect(await pwdLastSet()).toBe(issued.pwdLastSet);
    const reset = await updateAccount(b, previous, params(name, { machineAccountOU: ou }), conn, { changed: ['rotationTriggers'], allowPasswordResetAfterJoin: true });
    expect(reset).toMatchObject({ steps: ['reset'], account: { objectSid: first.account.objectSid }, status: { packageCurrent: true, joined: false } });
    expect(reset.issued!.pwdLastSet).toBe(await pwdLastSet());
    expect(reset.issued!.pwdLastSet).not.toBe(issued.pwdLastSet);
    const rejoined = await requestOdjAndTestJoin(Buffer.from(reset.result!.packageBinary), name);
    expect(rejoined.joined, rejoined.output).toBe(true);
  });
});

describe('netapi backend results print redacted', () => {
  it('inspect, JSON and %o show no package and no password; the fields still hold them', async () => {
    const name = machineName();
    const r = await plain.provision(params(name), connection);
    const password = parsePackage(r.packageBinary).facts.machinePassword;
    const hex = Buffer.from(r.packageBinary).toString('hex');
    expect(r.packageText).toBe(Buffer.from(r.packageBinary).toString('base64'));
    expect(password.length).toBeGreaterThan(0);
    for (const shown of [inspect(r, { depth: 10 }), JSON.stringify(r), format('%o', r), format('%j', r)]) {
      // Booleans only: a failing expectation must not print the secret it found.
      expect([shown.includes(r.packageText), shown.includes(password), shown.includes(hex)]).toEqual([false, false, false]);
      expect(shown).toContain(REDACTED);
      expect(shown).toContain(r.account.objectSid);
    }
  });
});
