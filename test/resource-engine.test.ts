// The way the engine does it: the provider is serialized by @pulumi/pulumi's own serializer (the
// `__provider` that dynamic.Resource registers), loaded by the SDK's real dynamic-provider plugin
// process, and driven over gRPC (Configure, Check, Diff, Create, Read, Update, Delete) against the
// test DC. Joins are proven by Samba (`net offlinejoin requestodj` + `net ads testjoin`); the
// directory's own word comes from test/support/ldap.ts, not from the product's LDAP code.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Attribute, Change } from 'ldapts';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRepoRoot, loadNative, startHost, type ProviderHost, type Props } from '../examples/runner/engine';
import { buildAndProbe } from './support/provider-probe';
import { testDc } from './support/dc';
import { accountBySam, deleteAccount, deleteTree, ensureOu, withLdap } from './support/ldap';
import { Filter } from 'ldapts';
import { requestOdjAndTestJoin } from './support/peers';
import { parsePackage } from '../provider/odj';
import { RegTypes } from '../provider/odj/registry-pol';
import { opensslPfx, opensslRootCa, polXml, sambaWritePol, tempDir } from './certs-policies-fixtures';

const root = findRepoRoot();
const outDir = join(root, 'dist', '.test-resource-engine');
const dc = testDc();
const names: string[] = [];
const packages: string[] = [];
const hosts: ProviderHost[] = [];
let providerText = '';
let ouA = '';
let ouB = '';

function machineName(): string {
  const n = `RE${randomBytes(4).toString('hex').toUpperCase()}`;
  names.push(n);
  return n;
}

/** Stack config as the engine passes it to Configure: connection in the provider's `odj` namespace. */
const stackConfig = (extra: Record<string, string> = {}) => ({ 'odj:ldapUrl': dc.ldapUrl, 'odj:caFile': dc.caFile, ...extra });

async function host(config: Record<string, string>): Promise<ProviderHost> {
  const h = await startHost({ cwd: join(root, 'examples', 'basic') });
  hosts.push(h);
  await h.configure(config);
  return h;
}

/** uSNChanged: any write to the object moves it. */
async function usnChanged(dn: string): Promise<string> {
  return withLdap(async (c) => {
    const e = (await c.search(dn, { scope: 'base', attributes: ['uSNChanged'] })).searchEntries[0];
    return String(e.uSNChanged);
  });
}

async function ldapSearchSam(sam: string): Promise<number> {
  return withLdap(async (c) => (await c.search(dn0(), { scope: 'sub', filter: `(sAMAccountName=${Filter.escape(sam)})`, attributes: ['1.1'] })).searchEntries.length);
}
const dn0 = () => dc.domain.split('.').map((p) => `DC=${p}`).join(',');

beforeAll(async () => {
  // Register a resource as a program would; the mock monitor sees the `__provider` that
  // dynamic.Resource produced with the SDK's serializer.
  ({ providerText } = await buildAndProbe(outDir));
  ouA = await ensureOu('OdjResEngineA');
  ouB = await ensureOu('OdjResEngineB');
});

afterAll(async () => {
  for (const h of hosts) h.stop();
  for (const n of names) await deleteAccount(`${n}$`).catch(() => undefined);
  for (const ou of [ouA, ouB]) if (ou) await deleteTree(ou).catch(() => undefined);
});

describe('the serialized provider', () => {
  it('is what the SDK serializer makes of the provider object, and holds no secret', async () => {
    const pulumi = loadNative('@pulumi/pulumi') as typeof import('@pulumi/pulumi');
    const { offlineJoinProvider } = loadNative(join(outDir, 'provider', 'resource', 'resource.js')) as typeof import('../provider/resource/resource');
    // Exactly dynamic.Resource's call (its variable is named `provider` too).
    const provider = offlineJoinProvider;
    const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
    expect(sf.containsSecrets).toBe(false);
    expect(providerText).toContain('exports.handler');
    expect(providerText).not.toContain(dc.adminPassword);
    expect(providerText).not.toContain(dc.ldapUrl);
    // Only the lifecycle module's location is captured, no module graph.
    expect(providerText).toContain(`var __lifecycleModules = ["${join(outDir, 'provider', 'resource-provider.js')}", "pulumi-offline-join/dist/provider/resource-provider.js"];`);
    expect(providerText).not.toMatch(/ldapts|koffi|Client\(|require\("\.\//);
    // dynamic.Resource registered exactly what the public serializer gives.
    expect(sf.text).toBe(providerText);
  });
});

describe('OfflineJoinPackage through the dynamic-provider host', () => {
  it('create → no-op diff → OU move (same SID, same package) → rotation refused on a joined account, then forced → credentials-only change → gone out of band → delete', async () => {
    const h = await host(stackConfig());
    const name = machineName();
    const sam = `${name}$`;
    const news0: Props = {
      __provider: providerText,
      domain: dc.domain,
      machineName: name,
      bindUser: dc.adminUser,
      bindPassword: dc.adminPassword,
      rotationTriggers: { generation: '1' },
    };

    // ---- create
    const checked = await h.check('web', {}, news0);
    expect(checked.failures).toEqual([]);
    const created = await h.create('web', checked.inputs);
    const truth1 = await accountBySam(sam);
    expect(truth1).not.toBeNull();
    expect(created.id).toBe(truth1!.guid);
    const out1 = created.props;
    expect(out1).toMatchObject({ objectGuid: truth1!.guid, objectSid: truth1!.sid, rid: truth1!.rid, samAccountName: sam, distinguishedName: truth1!.dn, reused: false });
    expect(out1.__provider).toBe(providerText);
    expect((out1.domainFacts as Record<string, unknown>).dnsDomainName).toBe(dc.domain);
    const pkg1 = String(out1.packageText);
    packages.push(pkg1);
    const join1 = await requestOdjAndTestJoin(pkg1, name);
    expect(join1.joined, join1.output).toBe(true);

    // ---- no-op diff
    expect(await h.diff('web', created.id, out1, checked.inputs)).toEqual({ changes: 'none', replaces: [], deleteBeforeReplace: false });

    // ---- OU change: update in place, same account, moved; the package (no DN in it) stays
    const news2 = { ...checked.inputs, machineAccountOU: ouA };
    expect(await h.diff('web', created.id, out1, news2)).toMatchObject({ changes: 'some', replaces: [] });
    const checked2 = await h.check('web', out1, news2);
    expect(checked2.inputs.plannedChange).toBe('move');
    const out2 = await h.update('web', created.id, out1, checked2.inputs);
    const truth2 = await accountBySam(sam);
    expect(truth2).toMatchObject({ guid: truth1!.guid, sid: truth1!.sid, dn: `CN=${name},${ouA}` });
    expect(out2).toMatchObject({ objectGuid: truth1!.guid, objectSid: truth1!.sid, distinguishedName: `CN=${name},${ouA}`, reused: false, packageText: pkg1, issued: out1.issued });
    const join2 = await requestOdjAndTestJoin(pkg1, name);
    expect(join2.joined, join2.output).toBe(true);

    // ---- rotation trigger on a joined account: refused without the explicit input, then reset with it
    const news3 = { ...checked2.inputs, rotationTriggers: { generation: '2' } };
    expect(await h.diff('web', created.id, out2, news3)).toMatchObject({ changes: 'some', replaces: [] });
    await expect(h.update('web', created.id, out2, news3)).rejects.toThrow(/ERROR_DS_UNWILLING_TO_PERFORM \(8245\): rotationTriggers: refusing to reset the password .*logged on since.*allowPasswordResetAfterJoin/);
    const out3 = await h.update('web', created.id, out2, { ...news3, allowPasswordResetAfterJoin: true });
    expect(out3).toMatchObject({ objectGuid: truth1!.guid, objectSid: truth1!.sid, packageCurrent: true, joined: false });
    const pkg3 = String(out3.packageText);
    packages.push(pkg3);
    expect(pkg3).not.toBe(pkg1);
    const join3 = await requestOdjAndTestJoin(pkg3, name);
    expect(join3.joined, join3.output).toBe(true);

    // ---- credentials-only change: nothing written to the directory, no new package
    const usnBefore = await usnChanged(truth2!.dn);
    const news4 = { ...news3, bindUser: `${dc.netbiosDomain}\\Administrator`, timeoutMs: 20000 };
    expect(await h.diff('web', created.id, out3, news4)).toMatchObject({ changes: 'some', replaces: [] });
    const out4 = await h.update('web', created.id, out3, news4);
    expect(out4.packageText).toBe(pkg3);
    expect(out4).toMatchObject({ bindUser: `${dc.netbiosDomain}\\Administrator`, timeoutMs: 20000, objectSid: truth1!.sid });
    expect(await usnChanged(truth2!.dn)).toBe(usnBefore);

    // ---- machine name change: the engine is told to replace
    expect(await h.diff('web', created.id, out4, { ...news4, machineName: `${name}X`.slice(0, 15) })).toMatchObject({ changes: 'some', replaces: ['machineName'] });

    // ---- refresh while present: outputs follow a move made out of band; the package stays
    await withLdap((c) => c.modifyDN(`CN=${name},${ouA}`, `CN=${name},${ouB}`));
    const refreshed = await h.read('web', created.id, out4);
    expect(refreshed.id).toBe(truth1!.guid);
    expect(refreshed.props).toMatchObject({ distinguishedName: `CN=${name},${ouB}`, machineAccountOU: ouB, packageText: pkg3 });

    // ---- deleted out of band: refresh reports it gone, delete of a gone account succeeds
    expect(await deleteAccount(sam)).toBe(true);
    const gone = await h.read('web', created.id, refreshed.props);
    expect(gone.id).toBe('');
    await h.delete('web', created.id, refreshed.props);
    expect(await ldapSearchSam(sam)).toBe(0);
  });

  it('create reuses an existing account only when asked; import by objectGUID; delete removes the object', async () => {
    const h = await host(stackConfig({ 'odj:bindUser': dc.adminUser, 'odj:bindPassword': dc.adminPassword }));
    const name = machineName();
    const sam = `${name}$`;
    // Connection entirely from stack config: no credentials in the inputs, so none in state.
    const inputs: Props = { __provider: providerText, domain: dc.domain, machineName: name };
    const first = await h.create('a', inputs);
    expect(first.props).not.toHaveProperty('bindPassword');

    // Another resource for the same name: refused unless reuse was asked for.
    await expect(h.create('b', inputs)).rejects.toThrow(/NERR_UserExists \(2224\)/);
    const reused = await h.create('b', { ...inputs, options: { reuseAccount: true } });
    expect(reused.id).toBe(first.id);
    expect(reused.props).toMatchObject({ reused: true, objectSid: first.props.objectSid });

    // Import: the engine reads by id with the program's inputs only.
    const imported = await h.read('imp', first.id, {}, { ...inputs, rotationTriggers: { generation: '1' } });
    expect(imported.id).toBe(first.id);
    expect(imported.props).toMatchObject({ objectGuid: first.id, objectSid: first.props.objectSid, samAccountName: sam, packageText: '', domainFacts: null });
    expect(imported.props.machineName).toBe(name);
    // Importing that GUID under another machineName: the outputs say the real name, so the engine sees a difference.
    const misnamed = await h.read('imp2', first.id, {}, { ...inputs, machineName: 'SOMEONEELSE' });
    expect(misnamed.props.machineName).toBe(name);
    expect(await h.diff('imp2', first.id, misnamed.props, { ...inputs, machineName: 'SOMEONEELSE' })).toMatchObject({ changes: 'some', replaces: ['machineName'] });
    // The next update issues the package for the imported account.
    const issued = await h.update('imp', first.id, imported.props, { ...inputs, rotationTriggers: { generation: '2' } });
    expect(issued.objectGuid).toBe(first.id);
    const join = await requestOdjAndTestJoin(String(issued.packageText), name);
    expect(join.joined, join.output).toBe(true);
    packages.push(String(first.props.packageText), String(reused.props.packageText), String(issued.packageText));

    await h.delete('imp', first.id, issued);
    expect(await accountBySam(sam)).toBeNull();
  });

  it('refresh and destroy use the stack config over a stale bind password in state', async () => {
    const name = machineName();
    const fresh = await host(stackConfig());
    const created = await fresh.create('r', { __provider: providerText, domain: dc.domain, machineName: name, bindUser: dc.adminUser, bindPassword: dc.adminPassword });
    packages.push(String(created.props.packageText));
    // The password in state has since been rotated away.
    const stale = { ...created.props, bindPassword: 'Rotated-Away-1' };
    await expect(fresh.read('r', created.id, stale)).rejects.toThrow(/ERROR_LOGON_FAILURE \(1326\)/);
    const configured = await host(stackConfig({ 'odj:bindPassword': dc.adminPassword }));
    expect((await configured.read('r', created.id, stale)).id).toBe(created.id);
    await configured.delete('r', created.id, stale);
    expect(await accountBySam(`${name}$`)).toBeNull();
  });

  it('takes the connection from ODJ_* environment variables when neither inputs nor config give it', async () => {
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ODJ_'))), ODJ_LDAP_URL: dc.ldapUrl, ODJ_BIND_USER: dc.adminUser, ODJ_BIND_PASSWORD: dc.adminPassword, ODJ_CA_FILE: dc.caFile };
    const h = await startHost({ cwd: join(root, 'examples', 'basic'), env });
    hosts.push(h);
    await h.configure({});
    const name = machineName();
    const created = await h.create('e', { __provider: providerText, domain: dc.domain, machineName: name });
    packages.push(String(created.props.packageText));
    expect((await accountBySam(`${name}$`))?.guid).toBe(created.id);
    for (const k of ['url', 'bindUser', 'bindPassword', 'caCerts']) expect(created.props).not.toHaveProperty(k);
    await h.delete('e', created.id, created.props);
    expect(await accountBySam(`${name}$`)).toBeNull();
  });

  it('an update refuses an account renamed or deleted out of band and writes nothing; refresh follows the rename', async () => {
    const h = await host(stackConfig({ 'odj:bindUser': dc.adminUser, 'odj:bindPassword': dc.adminPassword }));
    const name = machineName();
    const other = machineName();
    const inputs: Props = { __provider: providerText, domain: dc.domain, machineName: name, rotationTriggers: { g: '1' } };
    const created = await h.create('n', inputs);
    packages.push(String(created.props.packageText));
    const dn = String(created.props.distinguishedName);
    await withLdap((c) => c.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'sAMAccountName', values: [`${other}$`] }) })));
    await expect(h.update('n', created.id, created.props, { ...inputs, rotationTriggers: { g: '2' } })).rejects.toThrow(/ERROR_INVALID_PARAMETER \(87\): machineName: .*now named/);
    expect(await accountBySam(`${name}$`)).toBeNull();
    const refreshed = await h.read('n', created.id, created.props);
    expect(refreshed.props).toMatchObject({ samAccountName: `${other}$`, objectGuid: created.id, packageText: created.props.packageText });

    expect(await deleteAccount(`${other}$`)).toBe(true);
    await expect(h.update('n', created.id, created.props, { ...inputs, rotationTriggers: { g: '3' } })).rejects.toThrow(/NERR_UserNotFound \(2221\)/);
    expect(await accountBySam(`${name}$`)).toBeNull();
  });

  it('a state written from another checkout finds the provider by package name from the program folder', async () => {
    // The absolute path in `__provider` no longer exists; the program folder has the package installed.
    const moved = providerText.replace(join(outDir, 'provider', 'resource-provider.js'), '/nonexistent/checkout/dist/provider/resource-provider.js');
    expect(moved).not.toBe(providerText);
    const program = join(outDir, 'program-elsewhere');
    const pkgDir = join(program, 'node_modules', 'pulumi-offline-join');
    mkdirSync(pkgDir, { recursive: true });
    writeFileSync(join(pkgDir, 'package.json'), JSON.stringify({ name: 'pulumi-offline-join', main: 'dist/provider/index.js' }));
    symlinkSync(outDir, join(pkgDir, 'dist'));
    const h = await startHost({ cwd: program });
    hosts.push(h);
    await h.configure(stackConfig());
    const r = await h.check('m', {}, { __provider: moved, domain: dc.domain, machineName: 'THIS-NAME-IS-TOO-LONG' });
    expect(r.failures.map((f) => f.property)).toEqual(['machineName']);
    // And with neither location available, the error says which module was missing.
    const lost = await startHost({ cwd: tmpdir() });
    hosts.push(lost);
    await lost.configure({});
    await expect(lost.check('m', {}, { __provider: moved, domain: dc.domain, machineName: 'M1' })).rejects.toThrow(/Cannot find module 'pulumi-offline-join\/dist\/provider\/resource-provider.js'/);
    rmSync(program, { recursive: true, force: true }); // its symlink points back into the build
  });

  it('check failures reach the engine per property', async () => {
    const h = await host(stackConfig());
    const r = await h.check('bad', {}, { __provider: providerText, domain: dc.domain, machineName: 'THIS-NAME-IS-TOO-LONG', options: { bogus: true } });
    expect(r.failures.map((f) => f.property).sort()).toEqual(['machineName', 'options.bogus']);
    const r2 = await h.check('bad', {}, { __provider: providerText, domain: dc.domain, machineName: 'THIS-NAME-IS-TOO-LONG' });
    expect(r2.failures).toEqual([{ property: 'machineName', reason: expect.stringMatching(/^ERROR_INVALID_PARAMETER \(87\): machineName: /) }]);
  });

  it('certificates and a policy path: the package carries them, a new policy file updates in place (same SID), both packages join', async () => {
    const h = await host(stackConfig({ 'odj:bindUser': dc.adminUser, 'odj:bindPassword': dc.adminPassword }));
    const tmp = tempDir('re');
    try {
      const ca = opensslRootCa(tmp.dir, `OdjResEngine-${randomBytes(3).toString('hex')}`);
      const pfx = opensslPfx(tmp.dir, ca);
      const pfxText = pfx.toString('base64');
      packages.push(pfxText); // a secret too: never in a host log
      const policy = (gen: string): string => {
        const file = join(tmp.dir, `gen${gen}.pol`);
        sambaWritePol(file, polXml([{ key: 'Software\\Policies\\OdjResEngine', value: 'Generation', type: RegTypes.REG_DWORD, values: [gen] }]));
        return file;
      };
      const [pol1, pol2] = [policy('1'), policy('2')];
      const name = machineName();
      const news: Props = {
        __provider: providerText,
        domain: dc.domain,
        machineName: name,
        certTemplateNames: ['Machine'],
        certificates: [{ templateName: 'Machine', pfx: pfxText, policyServerId: 'cep-odj' }],
        machinePolicyPaths: [pol1],
      };
      const checked = await h.check('cp', {}, news);
      expect(checked.failures).toEqual([]);
      const created = await h.create('cp', checked.inputs);
      const pkg1 = String(created.props.packageText);
      packages.push(pkg1);
      const facts1 = parsePackage(Buffer.from(pkg1, 'base64')).facts;
      expect(facts1.certificates!.pfxStores.map((s) => [s.templateName, s.policyServerId, Buffer.from(s.pfx).equals(pfx)])).toEqual([['Machine', 'cep-odj', true]]);
      const generation = (f: typeof facts1) => f.policies!.map((l) => [l.source, l.elements.map((e) => [e.valueName, Buffer.from(e.data).readUInt32LE(0)])]);
      expect(generation(facts1)).toEqual([[pol1, [['Generation', 1]]]]);
      const join1 = await requestOdjAndTestJoin(pkg1, name);
      expect(join1.joined, join1.output).toBe(true);

      const news2 = { ...checked.inputs, machinePolicyPaths: [pol2] };
      expect(await h.diff('cp', created.id, created.props, news2)).toMatchObject({ changes: 'some', replaces: [] });
      const out2 = await h.update('cp', created.id, created.props, (await h.check('cp', created.props, news2)).inputs);
      expect(out2).toMatchObject({ objectGuid: created.id, objectSid: created.props.objectSid, reused: true });
      const pkg2 = String(out2.packageText);
      packages.push(pkg2);
      const facts2 = parsePackage(Buffer.from(pkg2, 'base64')).facts;
      expect(generation(facts2)).toEqual([[pol2, [['Generation', 2]]]]);
      expect(facts2.certificates!.pfxStores).toHaveLength(1);
      const join2 = await requestOdjAndTestJoin(pkg2, name);
      expect(join2.joined, join2.output).toBe(true);

      await h.delete('cp', created.id, out2);
      expect(await accountBySam(`${name}$`)).toBeNull();
    } finally {
      tmp.cleanup();
    }
  });

  it('no secret reached the host logs', () => {
    const logs = hosts.map((h) => h.stderr).join('\n');
    expect(logs).not.toContain(dc.adminPassword);
    for (const p of packages) expect(logs).not.toContain(p);
  });
});
