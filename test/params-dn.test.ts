// Hostile input: names that LDAP syntax would misread are rejected with the field named, and what
// must pass through (an OU's name) is escaped so the DC reads exactly what was meant.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Filter } from 'ldapts';
import { escapeDnValue, parseDn, domainToDn, isDnWithin, formatDn } from '../provider/params/dn';
import { ProvisioningError } from '../provider/errors';
import { provision } from '../provider/directory/backend';
import { validateParams } from '../provider/params/validation';
import { testDc } from './support/dc';
import { accountBySam, withLdap } from './support/ldap';
import { adminConnection, machineNames } from './support/ldap-backend';
import { requestOdjAndTestJoin } from './support/peers';

const names = machineNames('LX');
const hostileOus: string[] = [];
afterAll(async () => {
  await names.cleanup();
  for (const dn of hostileOus) await withLdap((c) => c.del(dn)).catch(() => undefined);
});

function rejected(f: () => unknown): ProvisioningError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ProvisioningError);
    return e as ProvisioningError;
  }
  throw new Error('expected a ProvisioningError');
}

describe('escaping and hostile input', () => {
  const domain = 'odjtest.test';

  it('rejects machine names with LDAP, DN or filter syntax and non-ASCII, naming the field', () => {
    for (const ch of ['*', '(', ')', '\\', ',', '=', '+', '<', '>', '#', ';', '"', ' ', '.', '/', '\0', 'é', '名', '\u{1F600}']) {
      for (const field of ['machineName', 'netbiosName'] as const) {
        const params = { domain, machineName: 'PC1', [field]: `PC${ch}1` };
        const e = rejected(() => validateParams(params));
        expect([e.code, e.errno, e.field]).toEqual(['ERROR_INVALID_PARAMETER', 87, field]);
      }
    }
    for (const bad of ['', '-PC1', 'PC1-', '1234', 'ABCDEFGHIJKLMNOP']) {
      expect(rejected(() => validateParams({ domain, machineName: bad })).field).toBe('machineName');
    }
    expect(validateParams({ domain, machineName: 'Pc-01' }).account.machineName).toBe('Pc-01');
  });

  it('rejects OUs outside the domain or not a DN, and the other documented misuses', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ machineAccountOU: 'OU=x,DC=other,DC=test' }, 'machineAccountOU'],
      [{ machineAccountOU: 'DC=odjtest,DC=test' }, 'machineAccountOU'], // the domain itself is no OU
      [{ machineAccountOU: 'OU=x,DC=odjtest,DC=test,DC=evil' }, 'machineAccountOU'],
      [{ machineAccountOU: 'OU=a\\,DC=odjtest\\,DC=test' }, 'machineAccountOU'], // one escaped RDN, not three
      [{ machineAccountOU: 'OU=x"y,DC=odjtest,DC=test' }, 'machineAccountOU'],
      [{ machineAccountOU: 'just words' }, 'machineAccountOU'],
      [{ options: { skipAccountSearch: true } }, 'options.skipAccountSearch'],
      [{ options: { persistentSite: true } }, 'options.persistentSite'],
      [{ options: { bogus: true } }, 'options.bogus'],
      [{ dcName: 'dc1.odjtest.test/x' }, 'dcName'],
      [{ domain: 'odj test.test' }, 'domain'],
      [{ domain: '' }, 'domain'],
      [{ siteName: 'a,b' }, 'siteName'],
      [{ primaryDnsDomain: 'a..b' }, 'primaryDnsDomain'],
    ];
    for (const [extra, field] of cases) {
      const e = rejected(() => validateParams({ domain, machineName: 'PC1', ...extra } as never));
      expect([e.code, e.field], JSON.stringify(extra)).toEqual(['ERROR_INVALID_PARAMETER', field]);
    }
  });

  it('escapes DN values per RFC 4514 and parses them back', () => {
    expect(escapeDnValue('a,b+c"d\\e<f>g;h=i')).toBe('a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h\\=i');
    expect(escapeDnValue('#lead and trail ')).toBe('\\#lead and trail\\ ');
    expect(escapeDnValue(' x')).toBe('\\ x');
    expect(escapeDnValue('nul\0')).toBe('nul\\00');
    const hostile = ' #odj *()\\,=+<>;" é名 ';
    const dn = `OU=${escapeDnValue(hostile)},${domainToDn(domain)}`;
    const rdns = parseDn(dn);
    expect(rdns[0]).toEqual([{ type: 'OU', value: hostile }]);
    expect(rdns.slice(1)).toEqual([[{ type: 'DC', value: 'odjtest' }], [{ type: 'DC', value: 'test' }]]);
    expect(parseDn(formatDn(rdns))).toEqual(rdns);
    expect(parseDn('OU=a\\2Cb,DC=x')[0][0].value).toBe('a,b');
    expect(parseDn('CN=a+UID=b,DC=x')[0]).toHaveLength(2);
    expect(isDnWithin(parseDn('OU=x,dc=ODJTEST,dc=Test'), parseDn('DC=odjtest,DC=test'))).toBe(true);
  });

  it('the DC reads an escaped hostile OU name exactly, and provisioning into it works', async () => {
    const dc = testDc();
    const hostile = `#odj *()\\,=+<>;" é名 ${randomBytes(3).toString('hex')} `;
    const ouDn = `OU=${escapeDnValue(hostile)},DC=odjtest,DC=test`;
    await withLdap((c) => c.add(ouDn, { objectClass: ['top', 'organizationalUnit'] }));
    hostileOus.push(ouDn);
    // The DC's own idea of the name: the ou attribute it derived from our DN.
    const found = await withLdap((c) => c.search('DC=odjtest,DC=test', { scope: 'one', filter: `(ou=${Filter.escape(hostile)})`, attributes: ['ou'] }));
    expect(found.searchEntries.map((e) => e.ou)).toEqual([hostile]);
    // A filter value with * inside matches only itself, not everything.
    const star = await withLdap((c) => c.search('DC=odjtest,DC=test', { scope: 'one', filter: `(ou=${Filter.escape('*')})`, attributes: ['ou'] }));
    expect(star.searchEntries).toEqual([]);

    const name = names.next();
    const r = await provision({ domain: dc.domain, machineName: name, machineAccountOU: ouDn }, adminConnection());
    const truth = await accountBySam(`${name}$`);
    expect(parseDn(truth!.dn)).toEqual(parseDn(`CN=${name},${ouDn}`));
    expect(parseDn(r.account.distinguishedName)).toEqual(parseDn(truth!.dn));
    expect((await requestOdjAndTestJoin(r.packageText, name)).joined).toBe(true);
    await names.cleanup();
  });
});
