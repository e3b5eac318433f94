// Discovery against the real DC: the LDAP ping answer parsed (compressed names included), the
// domain SID and GUID, the well-known computers container, and the DC address, each compared
// with what the directory itself says.
import { afterEach, describe, expect, it } from 'vitest';
import { DirectoryConnection } from '../provider/directory/connection';
import { COMPUTERS_CONTAINER_GUID, checkPingAnswer, completeDiscovery, ldapPing, pingDomainController, readDomainHead, readRootDse } from '../provider/directory/discovery';
import { DsFlags, parseNetlogonResponseEx } from '../provider/directory/netlogon';
import { ProvisioningError } from '../provider/errors';
import { testDc } from './support/dc';
import { domainTruth, withLdap } from './support/ldap';
import { adminConnection } from './support/ldap-backend';

let conn: DirectoryConnection | undefined;
afterEach(async () => {
  await conn?.close();
  conn = undefined;
});

function open(): DirectoryConnection {
  conn = new DirectoryConnection(adminConnection(), { host: testDc().dcHost, unreachableCode: 'ERROR_NO_SUCH_DOMAIN', unreachableField: 'domain' });
  return conn;
}

describe('discovery against the DC', () => {
  it('the LDAP ping (anonymous, over TLS) answers with the domain the directory describes', async () => {
    const dc = testDc();
    const truth = await domainTruth();
    const c = open();
    await c.connect();
    const ping = await ldapPing(c, dc.domain);
    expect(ping).not.toBeNull();
    expect(ping!.opcode).toBe(0x17);
    expect(ping).toMatchObject({
      domainGuid: truth.guid,
      dnsDomainName: truth.dnsDomainName,
      dnsForestName: truth.forestName,
      dnsHostName: truth.dcDnsHostName,
      netbiosDomainName: truth.netbiosName,
      netbiosComputerName: dc.dcHost.split('.')[0].toUpperCase(),
      dcSiteName: truth.dcSiteName,
    });
    for (const f of [DsFlags.LDAP, DsFlags.DS, DsFlags.WRITABLE, DsFlags.KDC]) expect(ping!.flags & f).toBe(f);
    // By NetBIOS name too; and nothing for a domain it does not hold.
    expect((await ldapPing(c, dc.netbiosDomain))?.dnsDomainName).toBe(truth.dnsDomainName);
    expect(await ldapPing(c, 'other.test')).toBeNull();
    expect(c.client.isBound).toBe(false);
  });

  it('parses the raw Netlogon answer, following compression pointers', async () => {
    const raw = await withLdap(async (c) => {
      const r = await c.search('', { scope: 'base', filter: '(&(DnsDomain=odjtest.test)(NtVer=\\06\\00\\00\\00))', attributes: ['Netlogon'], explicitBufferAttributes: ['Netlogon', 'netlogon'] });
      const e = r.searchEntries[0];
      return (e.Netlogon ?? e.netlogon) as Buffer;
    });
    // The DC compresses: some name ends in a pointer (two top bits set) back into the answer.
    expect(raw.subarray(24).some((b, i, a) => (b & 0xc0) === 0xc0 && i + 1 < a.length)).toBe(true);
    const p = parseNetlogonResponseEx(raw);
    expect(p.dnsHostName).toBe('dc1.odjtest.test');
    expect(p.dnsDomainName).toBe('odjtest.test');
    expect(() => parseNetlogonResponseEx(raw.subarray(0, 30))).toThrow();
    const badOpcode = Buffer.from(raw);
    badOpcode[0] = 0x13;
    expect(() => parseNetlogonResponseEx(badOpcode)).toThrow(/opcode/);
    const loop = Buffer.from(raw);
    loop[24] = 0xc0;
    loop[25] = 24; // a pointer to itself
    expect(() => parseNetlogonResponseEx(loop)).toThrow();
  });

  it('root DSE, domain SID and the computers container from wellKnownObjects', async () => {
    const truth = await domainTruth();
    const c = open();
    await c.connect();
    const ping = await pingDomainController(c, { domain: testDc().domain });
    await c.bind();
    const d = await completeDiscovery(c, ping);
    expect(d.rootDse.defaultNamingContext).toBe(truth.domainDn);
    expect(d.rootDse.isSynchronized).toBe(true);
    expect(d.head.sid).toBe(truth.sid);
    expect(d.head.guid).toBe(truth.guid);
    const wko = await withLdap((l) => l.search(truth.domainDn, { scope: 'base', attributes: ['wellKnownObjects'] }));
    const published = (wko.searchEntries[0].wellKnownObjects as string[]).find((v) => v.toUpperCase().includes(COMPUTERS_CONTAINER_GUID))!;
    expect(d.head.computersContainer).toBe(published.split(':').slice(3).join(':'));
    expect(d.domainFacts.dcAddress).toBe(testDc().dcIp);
    expect(d.dcInfo.name).toBe(`\\\\${truth.dcDnsHostName}`);
    expect(d.dcInfo.address).toBe(`\\\\${testDc().dcIp}`);
    // DsGetDcName's three DNS-name bits on top of the ping flags, as Samba and Windows packages carry.
    expect(d.dcInfo.flags >>> 0).toBe((ping.flags | 0xe0000000) >>> 0);
    expect(await readRootDse(c)).toEqual(d.rootDse);
    await expect(readDomainHead(c, 'DC=nowhere,DC=test')).rejects.toBeInstanceOf(ProvisioningError);
  });

  it('a named DC that is another host → ERROR_INVALID_DOMAIN_ROLE before any bind', async () => {
    const c = open();
    await c.connect();
    const e = await pingDomainController(c, { domain: testDc().domain, dcName: 'dc2.odjtest.test' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ProvisioningError);
    expect((e as ProvisioningError).code).toBe('ERROR_INVALID_DOMAIN_ROLE');
    expect(c.client.isBound).toBe(false);
  });

  it('the DC\'s own answer with the writable bit cleared (a read-only DC) is refused; so is a non-LDAP one', async () => {
    const c = open();
    await c.connect();
    const ping = (await ldapPing(c, testDc().domain))!;
    const opts = { domain: testDc().domain };
    expect(checkPingAnswer(ping, opts, c.url)).toBe(ping);
    const rodc = { ...ping, flags: ping.flags & ~DsFlags.WRITABLE };
    expect(() => checkPingAnswer(rodc, opts, c.url)).toThrow(/read-only DC; provisioning needs a writable DC/);
    expect(() => checkPingAnswer({ ...ping, flags: ping.flags & ~DsFlags.LDAP }, opts, c.url)).toThrow(/NERR_LDAPCapableDCRequired/);
    expect(() => checkPingAnswer(null, opts, c.url)).toThrow(/ERROR_NO_SUCH_DOMAIN/);
    expect(() => checkPingAnswer(null, { ...opts, dcName: testDc().dcHost }, c.url)).toThrow(/ERROR_INVALID_DOMAIN_ROLE/);
  });
});
