// The provider's check and diff rules, and where connection settings come from. These run in the
// dynamic-provider host; here they are called directly (the engine-level suite goes through gRPC).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { check, diff } from '../provider/resource/lifecycle';
import { connectionFromConfig, connectionFromEnv, mergeConnection, unknownValue } from '../provider/resource/state';
import { opensslPfx, opensslRootCa, tempDir } from './certs-policies-fixtures';

const base = { domain: 'odjtest.test', machineName: 'WEB01', __provider: 'exports.handler = …' };

// A real PKCS#12 file (OpenSSL) for the certificates input.
const tmp = tempDir('rcd');
afterAll(() => tmp.cleanup());
const pfx = opensslPfx(tmp.dir, opensslRootCa(tmp.dir, 'OdjResourceCheck')).toString('base64');

describe('check', () => {
  it('passes good inputs through unchanged, adding only what the update will do', async () => {
    const news = { ...base, machineAccountOU: 'OU=Web,DC=odjtest,DC=test', options: { reuseAccount: true }, rotationTriggers: { a: '1' } };
    const r = await check({}, news);
    expect(r.failures).toEqual([]);
    expect(r.inputs).toEqual({ ...news, plannedChange: 'create' });
  });

  it('reports each failure on its own property', async () => {
    const r = await check({}, {
      __provider: 'x',
      machineAccountOU: 5,
      startTls: 'yes',
      certTemplateNames: ['a', 3],
      timeoutMs: -1,
      url: 'http://dc1',
      options: { reuseAccount: 'true', bogus: true },
      rotationTriggers: { a: 1 },
    });
    const byProperty = Object.fromEntries((r.failures ?? []).map((f) => [f.property, f.reason]));
    expect(Object.keys(byProperty).sort()).toEqual(
      ['certTemplateNames', 'domain', 'machineAccountOU', 'machineName', 'options.bogus', 'options.reuseAccount', 'rotationTriggers', 'startTls', 'timeoutMs', 'url'].sort(),
    );
    expect(byProperty.domain).toMatch(/required/);
    expect(byProperty['options.bogus']).toMatch(/unknown option/);
  });

  it("reports the provisioning layer's rules on every property at fault", async () => {
    const r = await check({}, {
      ...base,
      machineAccountOU: 'OU=Web,DC=elsewhere,DC=test',
      siteName: 'bad site!',
      options: { persistentSite: true },
      certTemplateNames: ['Machine'], // no PFX for it: the LDAP backend cannot enroll (ERROR_NOT_SUPPORTED)
    });
    const props = (r.failures ?? []).map((f) => f.property).sort();
    expect(props).toEqual(['certTemplateNames', 'machineAccountOU', 'options.persistentSite', 'siteName'].sort());
    for (const f of r.failures ?? []) expect(f.reason).toMatch(/^ERROR_(INVALID_PARAMETER \(87\)|NOT_SUPPORTED \(50\))/);
    const bad = await check({}, { ...base, machineName: 'NAME-LONGER-THAN-15' });
    expect(bad.failures?.map((f) => f.property)).toEqual(['machineName']);
  });

  it('never echoes a bind password in a failure', async () => {
    const r = await check({}, { ...base, bindPassword: 12345678, url: 'ldaps://Pa55-w0rd-in-url/x' });
    expect(r.failures?.map((f) => f.property).sort()).toEqual(['bindPassword', 'url']);
    expect(JSON.stringify(r.failures)).not.toContain('12345678');
    expect(JSON.stringify(r.failures)).not.toContain('Pa55');
  });

  it('takes certificates (a PFX per template) and sysvolRoot with machinePolicyNames', async () => {
    const news = {
      ...base,
      certTemplateNames: ['Machine'],
      certificates: [{ templateName: 'Machine', pfx, policyServerUrl: 'https://cep.odjtest.test/', privateKeyExportPolicy: 1 }],
      machinePolicyNames: ['Default Domain Policy'],
      sysvolRoot: '/srv/sysvol',
    };
    const r = await check({}, news);
    expect(r.failures).toEqual([]);
    expect(r.inputs).toEqual({ ...news, plannedChange: 'create' });
  });

  it('reports a bad PFX on its entry, without its content, and not again as a template without one', async () => {
    const notPfx = Buffer.from('this is not a PKCS#12 file, only some text').toString('base64');
    const r = await check({}, { ...base, certTemplateNames: ['Machine'], certificates: [{ templateName: 'Machine', pfx: notPfx }] });
    expect(r.failures?.map((f) => f.property)).toEqual(['certificates[0].pfx']);
    expect(r.failures![0].reason).toMatch(/^ERROR_INVALID_PARAMETER \(87\)/);
    expect(JSON.stringify(r.failures)).not.toContain(notPfx);
    const shapes = await check({}, { ...base, certTemplateNames: ['Machine'], certificates: [{ templateName: 'Machine', pfx: 12345678 }, 'x'] });
    expect(shapes.failures?.map((f) => f.property).sort()).toEqual(['certificates[0].pfx', 'certificates[1]']);
    expect(JSON.stringify(shapes.failures)).not.toContain('12345678');
    expect((await check({}, { ...base, certificates: 'x' })).failures?.map((f) => f.property)).toEqual(['certificates']);
  });

  it('sysvolRoot: a string, and only with machinePolicyNames', async () => {
    expect((await check({}, { ...base, sysvolRoot: 5 })).failures?.map((f) => f.property)).toEqual(['sysvolRoot']);
    const alone = await check({}, { ...base, sysvolRoot: '/srv/sysvol' });
    expect(alone.failures?.map((f) => [f.property, f.reason])).toEqual([['sysvolRoot', expect.stringMatching(/only used with machinePolicyNames/)]]);
  });

  it('a PFX not known during preview leaves its templates unjudged too', async () => {
    const r = await check({}, { ...base, certTemplateNames: ['Machine'], certificates: [{ templateName: 'Machine', pfx: unknownValue }] });
    expect(r.failures).toEqual([]);
  });

  it('leaves values unknown during preview unjudged', async () => {
    const r = await check({}, { ...base, machineAccountOU: unknownValue, options: unknownValue, url: unknownValue });
    expect(r.failures).toEqual([]);
  });
});

describe('diff', () => {
  const olds = {
    ...base,
    machineAccountOU: 'OU=A,DC=odjtest,DC=test',
    url: 'ldaps://dc1.odjtest.test',
    bindUser: 'Administrator@odjtest.test',
    bindPassword: 'old',
    packageText: 'AAAA',
    objectGuid: '0d6f…',
  };
  const d = (news: Record<string, unknown>) => diff('id', olds, { ...olds, ...news });

  it('sees no change when nothing changed, whatever the outputs', async () => {
    const { packageText, objectGuid, ...inputs } = olds;
    void packageText;
    void objectGuid;
    expect(await diff('id', olds, inputs)).toMatchObject({ changes: false, replaces: [] });
  });

  it('replaces on a new domain or machine name, but not on a case change', async () => {
    expect(await d({ machineName: 'WEB02' })).toMatchObject({ changes: true, replaces: ['machineName'] });
    expect(await d({ domain: 'other.test' })).toMatchObject({ changes: true, replaces: ['domain'] });
    expect(await d({ machineName: 'web01', domain: 'ODJTEST.TEST' })).toMatchObject({ changes: false, replaces: [] });
    expect(await d({ machineName: unknownValue })).toMatchObject({ changes: true, replaces: ['machineName'] });
  });

  it('updates in place for OU, DC, options, certificates, policies and rotation triggers', async () => {
    for (const news of [
      { machineAccountOU: 'OU=B,DC=odjtest,DC=test' },
      { dcName: 'dc1.odjtest.test' },
      { options: { reuseAccount: true } },
      { certTemplateNames: ['Machine'] },
      { certificates: [{ templateName: 'Machine', pfx }] },
      { machinePolicyNames: ['Default'] },
      { sysvolRoot: '/srv/sysvol' },
      { machinePolicyPaths: ['/p/Registry.pol'] },
      { netbiosName: 'WEB01X' },
      { siteName: 'Default-First-Site-Name' },
      { primaryDnsDomain: 'corp.test' },
      { rotationTriggers: { generation: '2' } },
    ]) {
      expect(await d(news), JSON.stringify(news)).toMatchObject({ changes: true, replaces: [] });
    }
  });

  it('a new PFX, template or policy server for a certificate, or another sysvolRoot, updates in place', async () => {
    const withCert = { ...olds, certTemplateNames: ['Machine'], certificates: [{ templateName: 'Machine', pfx }], machinePolicyNames: ['Default'], sysvolRoot: '/a' };
    const dc = (news: Record<string, unknown>) => diff('id', withCert, { ...withCert, ...news });
    expect(await dc({})).toMatchObject({ changes: false });
    // The same values in another key order, as the engine may hand them back, are no change.
    expect(await dc({ certificates: [{ pfx, templateName: 'Machine' }] })).toMatchObject({ changes: false });
    const otherPfx = opensslPfx(tmp.dir, opensslRootCa(tmp.dir, 'OdjResourceCheck2')).toString('base64');
    for (const news of [
      { certificates: [{ templateName: 'Machine', pfx: otherPfx }] },
      { certificates: [{ templateName: 'Machine', pfx, policyServerId: 'cep-2' }] },
      { certificates: [{ templateName: 'Machine', pfx: unknownValue }] },
      { certificates: [] },
      { sysvolRoot: '/b' },
    ]) {
      expect(await dc(news), Object.keys(news).join()).toMatchObject({ changes: true, replaces: [] });
    }
  });

  it('treats absent, empty and false alike', async () => {
    expect(await d({ options: { reuseAccount: false }, certTemplateNames: [], rotationTriggers: {} })).toMatchObject({ changes: false });
  });

  it('connection-only changes are an update that replaces nothing', async () => {
    expect(await d({ bindPassword: 'new' })).toMatchObject({ changes: true, replaces: [] });
    expect(await d({ url: 'ldaps://127.0.0.1:636', timeoutMs: 5000 })).toMatchObject({ changes: true, replaces: [] });
  });
});

describe('connection settings', () => {
  it('reads stack config in the odj namespace', () => {
    const dir = tmp.dir; // removed with the file's other temp files (afterAll)
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const cfg: Record<string, string> = {
      'odj:ldapUrl': 'ldaps://dc1.odjtest.test:636',
      'odj:bindUser': 'u@r',
      'odj:bindPassword': 'pw',
      'odj:caFile': join(dir, 'ca.pem'),
      'odj:startTls': 'false',
      'odj:timeoutMs': '5000',
    };
    expect(connectionFromConfig((k) => cfg[k])).toEqual({
      url: 'ldaps://dc1.odjtest.test:636',
      bindUser: 'u@r',
      bindPassword: 'pw',
      caCerts: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'],
      startTls: false,
      timeoutMs: 5000,
    });
    expect(connectionFromConfig((k) => (k === 'odj:caCerts' ? '["A","B"]' : undefined))).toEqual({ caCerts: ['A', 'B'] });
  });

  it('reads ODJ_* environment variables', () => {
    expect(connectionFromEnv({ ODJ_LDAP_URL: 'ldaps://x', ODJ_BIND_USER: 'u', ODJ_BIND_PASSWORD: 'p', ODJ_INSECURE_SKIP_TLS_VERIFY: '1' })).toEqual({
      url: 'ldaps://x',
      bindUser: 'u',
      bindPassword: 'p',
      insecureSkipTlsVerify: true,
    });
  });

  it('merges field by field, the first layer that sets a field winning', () => {
    expect(mergeConnection({ bindPassword: 'config' }, { bindPassword: 'env', bindUser: 'envuser' }, { bindPassword: 'state', bindUser: 'stateuser', url: 'ldaps://state' })).toEqual({
      bindPassword: 'config',
      bindUser: 'envuser',
      url: 'ldaps://state',
    });
  });
});
