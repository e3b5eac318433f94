// End to end: our LDAP backend provisions against the real DC, Samba joins with the package, and
// the DC accepts the password the package carries.
import { afterAll, describe, expect, it } from 'vitest';
import { provision, LdapBackend, findAccountByName } from '../provider/directory/backend';
import { parsePackage } from '../provider/odj';
import { testDc } from './support/dc';
import { accountBySam, domainTruth } from './support/ldap';
import { adminConnection, machineNames } from './support/ldap-backend';
import { kinitWithPassword, ndrdump, requestOdjAndTestJoin } from './support/peers';

const names = machineNames('LT');
afterAll(() => names.cleanup());

describe('provision over LDAP', () => {
  it('creates the account; Samba joins with the package and kinit accepts its password', async () => {
    const dc = testDc();
    const name = names.next();
    const r = await provision({ domain: dc.domain, machineName: name }, adminConnection());

    const truth = await accountBySam(`${name}$`);
    expect(truth).not.toBeNull();
    expect(r.account).toEqual({ distinguishedName: truth!.dn, objectGuid: truth!.guid, objectSid: truth!.sid, rid: truth!.rid, samAccountName: `${name}$`, enabled: true });
    expect(r.account.distinguishedName).toBe(`CN=${name},CN=Computers,DC=odjtest,DC=test`);
    expect(r.reused).toBe(false);
    expect(Buffer.from(r.packageBinary).toString('base64')).toBe(r.packageText);

    const dom = await domainTruth();
    expect(r.domain).toMatchObject({ dnsDomainName: dom.dnsDomainName, netbiosDomainName: dom.netbiosName, domainGuid: dom.guid, domainSid: dom.sid, dcName: dom.dcDnsHostName, dcAddress: '127.0.0.1' });

    const parsed = parsePackage(r.packageBinary);
    const password = parsed.facts.machinePassword;
    expect(password).toHaveLength(120);
    expect(parsed.facts.rid).toBe(truth!.rid);
    expect(parsed.facts.domainInfo.sid).toBe(dom.sid);

    const dump = await ndrdump('ODJ_PROVISION_DATA_serialized_ptr', r.packageBinary, { validate: true });
    expect(dump.ok, dump.output).toBe(true);

    const join = await requestOdjAndTestJoin(r.packageText, name);
    expect(join.joined, join.output).toBe(true);
    expect(await kinitWithPassword(`${name}$@${dc.realm}`, password)).toBe(true);
    expect(await kinitWithPassword(`${name}$@${dc.realm}`, password.slice(1))).toBe(false);
  });

  it('useDefaultPassword sets the lower-case machine name, as documented', async () => {
    const dc = testDc();
    const name = names.next();
    const r = await provision({ domain: dc.domain, machineName: name, options: { useDefaultPassword: true } }, adminConnection());
    const parsed = parsePackage(r.packageText);
    expect(parsed.facts.machinePassword).toBe(name.toLowerCase());
    expect(parsed.facts.options).toBe(4);
    expect(await kinitWithPassword(`${name}$@${dc.realm}`, name.toLowerCase())).toBe(true);
  });

  it('LdapBackend reads and deletes the account by objectGUID; deleting twice is fine', async () => {
    const dc = testDc();
    const name = names.next();
    const backend = new LdapBackend();
    const r = await backend.provision({ domain: dc.domain, machineName: name, dcName: dc.dcHost }, adminConnection());
    expect(await backend.readAccount(r.account.objectGuid, adminConnection())).toEqual(r.account);
    await backend.deleteAccount(r.account.objectGuid, adminConnection());
    expect(await accountBySam(`${name}$`)).toBeNull();
    expect(await backend.readAccount(r.account.objectGuid, adminConnection())).toBeNull();
    await backend.deleteAccount(r.account.objectGuid, adminConnection());
  });

  it('takes the domain by its NetBIOS name too, and finds the account by name for the native backend', async () => {
    const dc = testDc();
    const name = names.next();
    const r = await provision({ domain: dc.netbiosDomain, machineName: name }, adminConnection());
    expect(r.domain.dnsDomainName).toBe(dc.domain);
    expect(parsePackage(r.packageBinary).facts.domain).toBe(dc.domain);
    expect(await findAccountByName(`${name}$`, adminConnection({ url: undefined }), dc.dcHost)).toEqual(r.account);
    expect(await findAccountByName(`NOPE${name}$`.slice(0, 16), adminConnection(), dc.domain)).toBeNull();
  });
});
