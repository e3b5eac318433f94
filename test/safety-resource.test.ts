// Issue 18, the Pulumi resource through the real dynamic-provider host (gRPC, as the engine drives
// it): import (read with inputs) and delete take plain computer accounts only, and Check refuses
// credentials in `url`. The host reaches the DC through a proxy in this process that refuses and
// records every write to an object this file did not create, so a wrong product cannot harm the
// DC; the tests assert that none was attempted.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRepoRoot, startHost, type ProviderHost, type Props } from '../examples/runner/engine';
import { buildAndProbe } from './support/provider-probe';
import { testDc } from './support/dc';
import { FaultProxy } from './support/fault-proxy';
import { accountBySam, guidToString, withLdap } from './support/ldap';
import { scratch } from './cli-run';

const root = findRepoRoot();
const outDir = join(root, 'dist', '.test-safety-resource');
const dc = testDc();
const tmp = scratch('safety-resource');
const domainDn = dc.domain.split('.').map((p) => `DC=${p}`).join(',');
let providerText = '';
let proxy: FaultProxy;
let h: ProviderHost;

beforeAll(async () => {
  ({ providerText } = await buildAndProbe(outDir));
  proxy = await FaultProxy.start({ upstream: { host: dc.dcIp, port: 636, servername: dc.dcHost, ca: readFileSync(dc.caFile, 'utf8') }, hostname: dc.dcHost });
  // This file creates nothing: every write is refused and recorded.
  proxy.setGuard(() => false);
  const ca = join(tmp.dir, 'proxy-ca.pem');
  writeFileSync(ca, proxy.caPem);
  h = await startHost({ cwd: join(root, 'examples', 'basic') });
  await h.configure({ 'odj:ldapUrl': `ldaps://${dc.dcHost}:${proxy.port}`, 'odj:caFile': ca, 'odj:bindUser': dc.adminUser, 'odj:bindPassword': dc.adminPassword });
});

afterAll(async () => {
  h?.stop();
  await proxy?.close();
  tmp.cleanup();
  rmSync(outDir, { recursive: true, force: true });
});

async function guidOf(dn: string): Promise<string> {
  return withLdap(async (c) => guidToString((await c.search(dn, { scope: 'base', attributes: ['objectGUID'], explicitBufferAttributes: ['objectGUID'] })).searchEntries[0].objectGUID as Buffer));
}

describe('the resource through the dynamic-provider host', () => {
  it('import and delete of a user, a group, krbtgt and the DC are refused, saying what each is; nothing is written', async () => {
    const dcSam = `${dc.dcHost.split('.')[0].toUpperCase()}$`;
    const dcDn = (await accountBySam(dcSam))!.dn;
    const cases: [string, string][] = [
      [`CN=Administrator,CN=Users,${domainDn}`, 'is a user account'],
      [`CN=Domain Admins,CN=Users,${domainDn}`, 'is a group'],
      [`CN=krbtgt,CN=Users,${domainDn}`, 'is a user account'],
      [dcDn, 'is a domain controller'],
    ];
    for (const [dn, kind] of cases) {
      const guid = await guidOf(dn);
      const inputs: Props = { __provider: providerText, domain: dc.domain, machineName: 'S18IMPORT' };
      await expect(h.read('imp', guid, {}, inputs), dn).rejects.toThrow(`${kind}; refusing to read it`);
      await expect(h.read('imp', guid, {}, inputs)).rejects.toThrow(/ERROR_NO_TRUST_SAM_ACCOUNT \(1787\)/);
      // A state that (wrongly) holds that GUID: destroy refuses too.
      const state: Props = { ...inputs, objectGuid: guid, objectSid: 'S-1-5-21-1-2-3-500', distinguishedName: dn };
      await expect(h.delete('imp', guid, state), dn).rejects.toThrow(`${kind}; refusing to delete it`);
    }
    expect(await accountBySam('Administrator')).not.toBeNull();
    expect(await accountBySam(dcSam)).not.toBeNull();
    expect(proxy.writes, 'writes attempted').toEqual([]);
  });

  it('Check refuses credentials in url without repeating them', async () => {
    const r = await h.check('u', {}, { __provider: providerText, domain: dc.domain, machineName: 'S18URL', url: `ldaps://someone:S3cret-in-url@${dc.dcHost}` });
    expect(r.failures.map((f) => f.property)).toEqual(['url']);
    expect(r.failures[0].reason).toMatch(/must not carry a user name or password/);
    expect(JSON.stringify(r.failures)).not.toMatch(/S3cret-in-url|someone/);
  });
});
