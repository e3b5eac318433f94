// The pure rules of the account lifecycle (provider/account/lifecycle.ts), DN comparison as AD
// does it (params/dn.ts dnEqual), and the diff's canonical domain and OU forms. The engine-level
// behaviour against the DC is in resource-lifecycle.test.ts.
import { describe, expect, it } from 'vitest';
import { accountStatus, filetimeToIso, guardPackageStep, issuedFactsFrom, planSteps } from '../provider/account/lifecycle';
import type { LogonFacts } from '../provider/backend';
import { dnEqual, parentDn } from '../provider/params/dn';
import { ProvisioningError } from '../provider/errors';
import { check, diff } from '../provider/resource/lifecycle';
import { canonicalDomain, instanceOwnerTag } from '../provider/resource/state';

describe('dnEqual: DNs compared as AD compares them', () => {
  it.each([
    ['OU=Web,DC=corp,DC=example', 'ou=web,dc=CORP,dc=Example'],
    ['OU=Web,DC=corp,DC=example', 'OU=Web, DC=corp,  DC=example'],
    ['OU=a\\,b,DC=corp,DC=example', 'OU=a\\2Cb,DC=corp,DC=example'],
    ['OU=Äpfel,DC=corp,DC=example', 'OU=\\C3\\84pfel,DC=corp,DC=example'],
    ['OU=Äpfel,DC=corp,DC=example', 'ou=\\c3\\a4pfel,dc=corp,dc=example'],
  ])('%s = %s', (a, b) => expect(dnEqual(a, b)).toBe(true));

  it.each([
    ['OU=Web,DC=corp,DC=example', 'OU=Web2,DC=corp,DC=example'],
    ['OU=Web,DC=corp,DC=example', 'OU=Web,OU=X,DC=corp,DC=example'],
    ['OU=a\\,b,DC=corp,DC=example', 'OU=a,OU=b,DC=corp,DC=example'],
    ['OU=Web,DC=corp,DC=example', 'CN=Web,DC=corp,DC=example'],
    ['OU=Web,DC=corp', 'not a DN'],
  ])('%s ≠ %s', (a, b) => expect(dnEqual(a, b)).toBe(false));

  it('parentDn skips escaped separators', () => {
    expect(parentDn('CN=A\\,B,OU=x,DC=y')).toBe('OU=x,DC=y');
    expect(parentDn('CN=A')).toBe('');
  });
});

describe('planSteps', () => {
  it('an OU change alone is a move', () => expect(planSteps(['machineAccountOU'], false, true)).toEqual({ steps: ['move'], because: ['machineAccountOU'] }));
  it('package content is a rebuild; with an OU change, the move comes first', () => {
    expect(planSteps(['certificates', 'machinePolicyPaths'], false, true)).toEqual({ steps: ['rebuild'], because: ['certificates', 'machinePolicyPaths'] });
    expect(planSteps(['machineAccountOU', 'siteName'], false, true).steps).toEqual(['move', 'rebuild']);
  });
  it('rotationTriggers or useDefaultPassword is a reset, last', () => {
    expect(planSteps(['machineAccountOU', 'rotationTriggers', 'siteName'], false, true)).toEqual({ steps: ['move', 'reset'], because: ['rotationTriggers'] });
    expect(planSteps(['options'], true, true)).toEqual({ steps: ['reset'], because: ['options.useDefaultPassword'] });
  });
  it('without a package to rebuild from (an import), content changes need a reset', () => expect(planSteps(['netbiosName'], false, false).steps).toEqual(['reset']));
  it('nothing of the account changed: no step', () => expect(planSteps([], false, true).steps).toEqual([]));
});

const logon = (o: Partial<LogonFacts> = {}): LogonFacts => ({ pwdLastSet: '1000', lastLogon: '0', lastLogonTimestamp: '0', logonCount: 0, enabled: true, dcName: 'dc1.corp.example', ...o });
const issued = { pwdLastSet: '1000', dcName: 'dc1.corp.example' };

describe('accountStatus', () => {
  it('current and not joined right after the issue', () => expect(accountStatus(logon(), issued, true)).toEqual({ packageCurrent: true, joined: false, enabled: true }));
  it('a logon after the issue (either timestamp) is joined', () => {
    expect(accountStatus(logon({ lastLogon: '1001', logonCount: 1 }), issued, true).joined).toBe(true);
    expect(accountStatus(logon({ lastLogonTimestamp: '1500' }), issued, true).joined).toBe(true);
    expect(accountStatus(logon({ lastLogon: '999', logonCount: 3 }), issued, true).joined).toBe(false);
  });
  it('another pwdLastSet is not current', () => expect(accountStatus(logon({ pwdLastSet: '2000' }), issued, true).packageCurrent).toBe(false));
  it('without issue facts nothing is current and any logon counts', () => {
    expect(accountStatus(logon(), undefined, true)).toMatchObject({ packageCurrent: false, joined: false });
    expect(accountStatus(logon({ logonCount: 2 }), undefined, false)).toMatchObject({ packageCurrent: false, joined: true });
  });
  it("the producer's own logon at issue (Samba logs on when it provisions) is not a join; a later one is", () => {
    const samba = { ...issued, seenLogon: '1002' };
    expect(accountStatus(logon({ lastLogon: '1002', logonCount: 2 }), samba, true).joined).toBe(false);
    expect(accountStatus(logon({ lastLogon: '1003', logonCount: 3 }), samba, true).joined).toBe(true);
    expect(issuedFactsFrom(logon({ lastLogon: '1002', lastLogonTimestamp: '1001' }))).toEqual(samba);
    expect(issuedFactsFrom(logon())).toEqual(issued);
  });
  it('disabled shows', () => expect(accountStatus(logon({ enabled: false }), issued, true).enabled).toBe(false));
});

describe('guardPackageStep', () => {
  const facts = (l: LogonFacts, allowed = false, iss: typeof issued | null = issued) => ({
    account: 'WS1$ (CN=WS1,DC=x)',
    logon: l,
    issued: iss ?? undefined,
    status: accountStatus(l, iss ?? undefined, true),
    allowed,
  });
  const refused = (f: () => unknown): ProvisioningError => {
    try {
      f();
    } catch (e) {
      return e as ProvisioningError;
    }
    throw new Error('not refused');
  };
  it('a rebuild of a current package goes ahead even when joined: the password stays', () =>
    expect(guardPackageStep('rebuild', 'siteName', facts(logon({ lastLogon: '5000' })))).toBe('rebuild'));
  it('a reset of a joined account is refused, naming the field, the account, the times and the way out', () => {
    const e = refused(() => guardPackageStep('reset', 'rotationTriggers', facts(logon({ lastLogon: '116444736000000000' }))));
    expect([e.code, e.field]).toEqual(['ERROR_DS_UNWILLING_TO_PERFORM', 'rotationTriggers']);
    expect(e.message).toMatch(/WS1\$ .*logged on since \(last logon 1970-01-01T00:00:00.000Z .*trust relationship.*allowPasswordResetAfterJoin: true/);
  });
  it('with the explicit input the reset goes ahead', () => expect(guardPackageStep('reset', 'rotationTriggers', facts(logon({ lastLogon: '5000' }), true))).toBe('reset'));
  it('a rebuild of a package that is not current is refused; with the input it becomes a reset', () => {
    expect(refused(() => guardPackageStep('rebuild', 'certificates', facts(logon({ pwdLastSet: '3000' })))).message).toMatch(/rebuild the package .*no longer the one in the package/);
    expect(guardPackageStep('rebuild', 'certificates', facts(logon({ pwdLastSet: '3000' }), true))).toBe('reset');
  });
  it('a password changed with no logon since (an interrupted update) may be reset: that is how it heals', () =>
    expect(guardPackageStep('reset', 'rotationTriggers', facts(logon({ pwdLastSet: '3000' })))).toBe('reset'));
  it('without issue facts and no logon ever, a rebuild becomes a reset without asking', () =>
    expect(guardPackageStep('rebuild', 'siteName', facts(logon(), false, null))).toBe('reset'));
  it('filetimes read as ISO times', () => {
    expect(filetimeToIso('0')).toBe('never');
    expect(filetimeToIso('116444736000000000')).toBe('1970-01-01T00:00:00.000Z');
  });
});

describe('identity: canonical domain, instance owner tag', () => {
  const olds = { domain: 'corp.example', machineName: 'WS1', machineAccountOU: 'OU=a\\,b,DC=corp,DC=example', domainFacts: { netbiosDomainName: 'CORP', dnsDomainName: 'corp.example' } };
  it.each(['corp.example.', 'CORP.EXAMPLE', ' corp.example', 'corp.example '])('domain %j is no change', async (domain) =>
    expect(await diff('id', olds as never, { ...olds, domain } as never)).toMatchObject({ changes: false, replaces: [] }));
  it('an OU respelled is no change; another OU is an update', async () => {
    expect(await diff('id', olds as never, { ...olds, machineAccountOU: 'ou=A\\2Cb, dc=corp, dc=example' } as never)).toMatchObject({ changes: false });
    expect(await diff('id', olds as never, { ...olds, machineAccountOU: 'OU=b,DC=corp,DC=example' } as never)).toMatchObject({ changes: true, replaces: [] });
  });
  it('a state with the NetBIOS name moving to the DNS name is no replacement; another domain is', async () => {
    expect(await diff('id', { ...olds, domain: 'CORP' } as never, olds as never)).toMatchObject({ replaces: [] });
    expect(await diff('id', olds as never, { ...olds, domain: 'other.example' } as never)).toMatchObject({ replaces: ['domain'] });
  });
  it('the instance owner tag holds the canonical domain and the machine name', () => {
    expect(canonicalDomain(' Corp.Example. ')).toBe('corp.example');
    expect(instanceOwnerTag('p/s/t/n', 'Corp.Example.', 'ws1')).toBe(instanceOwnerTag('p/s/t/n', 'corp.example', 'WS1'));
    expect(instanceOwnerTag('p/s/t/n', 'corp.example', 'WS1')).not.toBe(instanceOwnerTag('p/s/t/n', 'corp.example', 'WS2'));
  });
});

describe('check: what the preview shows (plannedChange) and the NetBIOS domain refusal', () => {
  const olds = { domain: 'corp.example', machineName: 'WS1', rotationTriggers: { g: '1' } };
  it.each([
    [{}, 'none'],
    [{ bindUser: 'other@corp.example' }, 'none'],
    [{ machineAccountOU: 'OU=Web,DC=corp,DC=example' }, 'move'],
    [{ siteName: 'Site2' }, 'rebuild'],
    [{ machineAccountOU: 'OU=Web,DC=corp,DC=example', machinePolicyPaths: ['/x.pol'] }, 'move+rebuild'],
    [{ rotationTriggers: { g: '2' } }, 'reset'],
    [{ options: { useDefaultPassword: true } }, 'reset'],
    [{ machineName: 'WS2' }, 'replace'],
  ])('%j → %s', async (change, planned) => expect((await check(olds, { ...olds, ...change })).inputs.plannedChange).toBe(planned));
  it('a new resource is a create', async () => expect((await check({}, olds)).inputs.plannedChange).toBe('create'));
  it('a NetBIOS domain name is refused on domain, saying to use the DNS name', async () => {
    const r = await check({}, { ...olds, domain: ' CORP ' });
    expect(r.failures).toEqual([{ property: 'domain', reason: expect.stringMatching(/must be the DNS name of the domain .* not a NetBIOS domain name such as 'CORP'/) }]);
  });
});
