// What a routine `pulumi up` may do to an account whose machine has joined (issue 16) and what
// it must never take over, delete or undo (issue 17), through the real dynamic-provider host
// against the test DC. Joins are proven by Samba (`requestodj` + `testjoin`); the directory's word
// (pwdLastSet, uSNChanged, userAccountControl, DN, SID) comes from test/support/ldap.ts.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRepoRoot, loadNative, runProgram, startHost, type ProviderHost, type Props } from '../examples/runner/engine';
import { parsePackage } from '../provider/odj';
import { RegTypes } from '../provider/odj/registry-pol';
import { polXml, sambaWritePol, tempDir } from './certs-policies-fixtures';
import { testDc } from './support/dc';
import { FaultProxy } from './support/fault-proxy';
import { accountBySam, deleteAccount, deleteTree, ensureOu, withLdap } from './support/ldap';
import { requestOdjAndTestJoin, sambaProvision } from './support/peers';
import { buildAndProbe } from './support/provider-probe';

const root = findRepoRoot();
const outDir = join(root, 'dist', '.test-resource-lifecycle');
const dc = testDc();
const names: string[] = [];
const packages: string[] = [];
const hosts: ProviderHost[] = [];
let providerText = '';
let main = '';
let h: ProviderHost;
let ouA = '';
let ouB = '';
let ouOdd = '';
const tmp = tempDir('u16');

function machineName(): string {
  const n = `U16${randomBytes(4).toString('hex').toUpperCase()}`;
  names.push(n);
  return n;
}

async function host(config: Record<string, string>): Promise<ProviderHost> {
  const started = await startHost({ cwd: join(root, 'examples', 'basic') });
  hosts.push(started);
  await started.configure(config);
  return started;
}

interface Truth {
  dn: string;
  sid: string;
  pwdLastSet: string;
  uSNChanged: string;
  userAccountControl: number;
  description: string | undefined;
}

/** The account as the directory has it (our own LDAP helper, not the product's). */
async function truth(sam: string): Promise<Truth | null> {
  const a = await accountBySam(sam);
  if (!a) return null;
  return withLdap(async (c) => {
    const e = (await c.search(a.dn, { scope: 'base', attributes: ['pwdLastSet', 'uSNChanged', 'userAccountControl', 'description'] })).searchEntries[0];
    return {
      dn: a.dn,
      sid: a.sid,
      pwdLastSet: String(e.pwdLastSet),
      uSNChanged: String(e.uSNChanged),
      userAccountControl: Number(e.userAccountControl),
      description: e.description === undefined ? undefined : String(e.description),
    };
  });
}

async function joins(pkg: string, name: string): Promise<boolean> {
  const r = await requestOdjAndTestJoin(pkg, name);
  return r.joined;
}

/** The machine password a package carries (compared, never printed). */
const passwordOf = (pkg: string): string => parsePackage(Buffer.from(pkg, 'base64')).facts.machinePassword;

/** check, then update, as the engine does for one `pulumi up` of changed inputs. */
async function up(name: string, id: string, olds: Props, news: Props): Promise<Props> {
  const checked = await h.check(name, olds, news);
  expect(checked.failures).toEqual([]);
  return h.update(name, id, olds, checked.inputs);
}

async function create(name: string, extra: Props = {}): Promise<{ id: string; props: Props; inputs: Props }> {
  const machine = machineName();
  const inputs: Props = { __provider: providerText, domain: dc.domain, machineName: machine, ownerTag: `odj/test/odj:OfflineJoinPackage/${name}`, ...extra };
  const checked = await h.check(name, {}, inputs);
  expect(checked.failures).toEqual([]);
  const created = await h.create(name, checked.inputs);
  packages.push(String(created.props.packageText));
  return { ...created, inputs: checked.inputs };
}

beforeAll(async () => {
  ({ providerText, main } = await buildAndProbe(outDir));
  [ouA, ouB] = await Promise.all([ensureOu('OdjU16A'), ensureOu('OdjU16B')]);
  // An OU whose name needs escaping (a comma) and holds a non-ASCII letter: spelled several ways below.
  ouOdd = await withLdap(async (c) => {
    const dn = `OU=OdjU16\\,Ä,${ouA.slice(ouA.indexOf(',') + 1)}`;
    await c.add(dn, { objectClass: ['top', 'organizationalUnit'], ou: 'OdjU16,Ä' }).catch(() => undefined);
    return dn;
  });
  h = await host({ 'odj:ldapUrl': dc.ldapUrl, 'odj:caFile': dc.caFile, 'odj:bindUser': dc.adminUser, 'odj:bindPassword': dc.adminPassword });
});

afterAll(async () => {
  for (const x of hosts) x.stop();
  for (const n of names) await deleteAccount(`${n}$`).catch(() => undefined);
  for (const ou of [ouOdd, ouA, ouB]) if (ou) await deleteTree(ou).catch(() => undefined);
  tmp.cleanup();
});

describe('issue 16: updates that respect a consumed package', () => {
  it('OU changed twice on a joined account: moved (same SID), no password reset, same package, the workstation still works; refresh writes nothing', async () => {
    const r = await create('ou');
    const sam = String(r.props.samAccountName);
    const name = String(r.inputs.machineName);
    const pkg = String(r.props.packageText);
    expect(await joins(pkg, name)).toBe(true);
    const t0 = (await truth(sam))!;
    expect(r.props.issued).toEqual({ pwdLastSet: t0.pwdLastSet, dcName: expect.stringMatching(new RegExp(dc.dcHost, 'i')) });

    // Refresh of the joined machine: outputs only, nothing written.
    const refreshed = await h.read('ou', r.id, r.props);
    expect(refreshed.props).toMatchObject({ packageCurrent: true, joined: true, enabled: true, packageText: pkg });
    expect((await truth(sam))!.uSNChanged).toBe(t0.uSNChanged);

    const out1 = await up('ou', r.id, refreshed.props, { ...r.inputs, machineAccountOU: ouA });
    const out2 = await up('ou', r.id, out1, { ...r.inputs, machineAccountOU: ouB });
    const t2 = (await truth(sam))!;
    expect(t2).toMatchObject({ dn: `CN=${name},${ouB}`, sid: t0.sid, pwdLastSet: t0.pwdLastSet });
    expect(out1).toMatchObject({ plannedChange: 'move', packageText: pkg, distinguishedName: `CN=${name},${ouA}` });
    expect(out2).toMatchObject({ plannedChange: 'move', packageText: pkg, distinguishedName: `CN=${name},${ouB}`, objectSid: t0.sid, issued: r.props.issued });
    // The workstation's password is the package's, unchanged: it still authenticates.
    expect(await joins(pkg, name)).toBe(true);
  });

  it('policies changed on a joined account: the rebuilt package carries the new part and the same password; no reset; old and new packages both join', async () => {
    const policy = (gen: string): string => {
      const file = join(tmp.dir, `u16-${gen}-${randomBytes(3).toString('hex')}.pol`);
      sambaWritePol(file, polXml([{ key: 'Software\\Policies\\OdjU16', value: 'Generation', type: RegTypes.REG_DWORD, values: [gen] }]));
      return file;
    };
    const [pol1, pol2] = [policy('1'), policy('2')];
    const r = await create('pol', { machinePolicyPaths: [pol1] });
    const sam = String(r.props.samAccountName);
    const name = String(r.inputs.machineName);
    const pkg1 = String(r.props.packageText);
    expect(await joins(pkg1, name)).toBe(true);
    const t0 = (await truth(sam))!;
    const checked = await h.check('pol', r.props, { ...r.inputs, machinePolicyPaths: [pol2] });
    expect(checked.inputs.plannedChange).toBe('rebuild');
    const out = await h.update('pol', r.id, r.props, checked.inputs);
    const pkg2 = String(out.packageText);
    packages.push(pkg2);
    expect(pkg2).not.toBe(pkg1);
    const generation = (p: string) => parsePackage(Buffer.from(p, 'base64')).facts.policies!.map((l) => Buffer.from(l.elements[0].data).readUInt32LE(0));
    expect([generation(pkg1), generation(pkg2)]).toEqual([[1], [2]]);
    expect(passwordOf(pkg2) === passwordOf(pkg1)).toBe(true);
    // Nothing written: no password reset, not even a touch of the object.
    expect(await truth(sam)).toMatchObject({ pwdLastSet: t0.pwdLastSet, uSNChanged: t0.uSNChanged });
    expect(out).toMatchObject({ objectSid: t0.sid, packageCurrent: true, issued: r.props.issued });
    expect(await joins(pkg1, name)).toBe(true); // the joined workstation
    expect(await joins(pkg2, name)).toBe(true); // a second, unjoined machine with the new package
  });

  it('rotationTriggers: an unjoined account is reset and its new package joins; a joined one is refused without allowPasswordResetAfterJoin, reset with it', async () => {
    const r = await create('rot', { rotationTriggers: { g: '1' } });
    const sam = String(r.props.samAccountName);
    const name = String(r.inputs.machineName);
    const pkg1 = String(r.props.packageText);
    const t0 = (await truth(sam))!;
    // Unjoined: the reset goes ahead.
    const out2 = await up('rot', r.id, r.props, { ...r.inputs, rotationTriggers: { g: '2' } });
    const pkg2 = String(out2.packageText);
    packages.push(pkg2);
    const t2 = (await truth(sam))!;
    expect(t2.pwdLastSet).not.toBe(t0.pwdLastSet);
    expect(out2).toMatchObject({ plannedChange: 'reset', issued: { pwdLastSet: t2.pwdLastSet }, packageCurrent: true, joined: false });
    expect(passwordOf(pkg2) === passwordOf(pkg1)).toBe(false);
    expect(await joins(pkg2, name)).toBe(true);
    const t2j = (await truth(sam))!; // the first logon wrote lastLogonTimestamp (uSNChanged moved)

    // Joined now: refused, and nothing written.
    const news3 = { ...r.inputs, rotationTriggers: { g: '3' } };
    const e = await up('rot', r.id, out2, news3).then(
      () => null,
      (x: Error) => x,
    );
    expect(e?.message).toMatch(/ERROR_DS_UNWILLING_TO_PERFORM \(8245\): rotationTriggers: refusing to reset the password of .* it has logged on since .*allowPasswordResetAfterJoin: true/);
    expect(await truth(sam)).toMatchObject({ pwdLastSet: t2.pwdLastSet, uSNChanged: t2j.uSNChanged });
    // With the explicit input: reset. The consequence documented: the joined machine keeps working
    // only while the DC still accepts its (now previous) password; one more reset and it is out.
    const out3 = await up('rot', r.id, out2, { ...news3, allowPasswordResetAfterJoin: true });
    const pkg3 = String(out3.packageText);
    packages.push(pkg3);
    expect((await truth(sam))!.pwdLastSet).not.toBe(t2.pwdLastSet);
    expect(await joins(pkg3, name)).toBe(true);
    const out4 = await up('rot', r.id, out3, { ...news3, rotationTriggers: { g: '4' }, allowPasswordResetAfterJoin: true });
    packages.push(String(out4.packageText));
    expect(await joins(pkg2, name)).toBe(false);
  });

  it('a password reset out of band: refresh shows packageCurrent false; a content change is refused unless forced, which resets', async () => {
    const r = await create('oob', { siteName: 'Default-First-Site-Name' });
    const sam = String(r.props.samAccountName);
    const name = String(r.inputs.machineName);
    await withLdap((c) =>
      c.modify(String(r.props.distinguishedName), [
        new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${randomBytes(24).toString('base64')}"`, 'utf16le')] }) }),
      ]),
    );
    const refreshed = await h.read('oob', r.id, r.props);
    expect(refreshed.props).toMatchObject({ packageCurrent: false, joined: false });
    const t1 = (await truth(sam))!;
    const news = { ...r.inputs, netbiosName: name };
    await expect(up('oob', r.id, refreshed.props, news)).rejects.toThrow(/ERROR_DS_UNWILLING_TO_PERFORM \(8245\): netbiosName: refusing to rebuild the package .* no longer the one in the package/);
    expect(await truth(sam)).toMatchObject({ pwdLastSet: t1.pwdLastSet, uSNChanged: t1.uSNChanged });
    const forced = await up('oob', r.id, refreshed.props, { ...news, allowPasswordResetAfterJoin: true });
    packages.push(String(forced.packageText));
    expect((await truth(sam))!.pwdLastSet).not.toBe(t1.pwdLastSet);
    expect(forced).toMatchObject({ packageCurrent: true });
    expect(await joins(String(forced.packageText), name)).toBe(true);
  });
});

describe('issue 17: never delete, take over or undo what is not the resource own', () => {
  it('domain respelled (trailing dot, case, leading space): no change; a NetBIOS domain name is refused in check; the account stays', async () => {
    const r = await create('dom');
    for (const domain of [`${dc.domain}.`, dc.domain.toUpperCase(), ` ${dc.domain}`]) {
      expect(await h.diff('dom', r.id, r.props, { ...r.inputs, domain })).toEqual({ changes: 'none', replaces: [], deleteBeforeReplace: false });
    }
    const nb = await h.check('dom', r.props, { ...r.inputs, domain: dc.netbiosDomain });
    expect(nb.failures).toEqual([{ property: 'domain', reason: expect.stringMatching(/DNS name of the domain .*not a NetBIOS domain name/) }]);
    // A state written with the NetBIOS name (before it was refused) moving to the DNS name: no replacement.
    expect(await h.diff('dom', r.id, { ...r.props, domain: dc.netbiosDomain }, r.inputs)).toMatchObject({ replaces: [] });
    expect((await accountBySam(String(r.props.samAccountName)))?.guid).toBe(r.id);
  });

  it('renamed out of band, then machineName changed: the replacement does not adopt it; with reuseAccount it takes it over and the old resource then leaves it in place', async () => {
    const r = await create('ren');
    const other = machineName();
    await withLdap((c) =>
      c.modify(String(r.props.distinguishedName), new Change({ operation: 'replace', modification: new Attribute({ type: 'sAMAccountName', values: [`${other}$`] }) })),
    );
    const news = { ...r.inputs, machineName: other };
    expect(await h.diff('ren', r.id, r.props, news)).toMatchObject({ replaces: ['machineName'], deleteBeforeReplace: false });
    // create-before-delete: the replacement's create (same resource name, so the same ownerTag).
    const checked = await h.check('ren', {}, news);
    await expect(h.create('ren', checked.inputs)).rejects.toThrow(/NERR_UserExists \(2224\)/);
    expect((await accountBySam(`${other}$`))?.guid).toBe(r.id);
    // Taking it over explicitly marks it as the new resource's; the old one's delete leaves it.
    const taken = await h.create('ren', { ...checked.inputs, options: { reuseAccount: true } });
    packages.push(String(taken.props.packageText));
    expect(taken.id).toBe(r.id);
    expect(taken.props.managedSince).toBe('reuse');
    const before = h.stderr.length;
    await h.delete('ren', r.id, r.props);
    expect((await accountBySam(`${other}$`))?.guid).toBe(r.id);
    expect(h.stderr.slice(before)).toMatch(/left the computer account .* in place: another resource or caller has taken it over/);
    // The resource that owns it now deletes it.
    await h.delete('ren', taken.id, taken.props);
    expect(await accountBySam(`${other}$`)).toBeNull();
  });

  it('disabled out of band, then routine updates (move, rebuild, reset): still disabled; refresh shows enabled false; enableAccount re-enables', async () => {
    const r = await create('dis', { siteName: 'Default-First-Site-Name' });
    const sam = String(r.props.samAccountName);
    const t0 = (await truth(sam))!;
    await withLdap((c) =>
      c.modify(t0.dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [String(t0.userAccountControl | 2)] }) })),
    );
    const refreshed = await h.read('dis', r.id, r.props);
    expect(refreshed.props).toMatchObject({ enabled: false, packageCurrent: true });
    const moved = await up('dis', r.id, refreshed.props, { ...r.inputs, machineAccountOU: ouA });
    const rebuilt = await up('dis', r.id, moved, { ...r.inputs, machineAccountOU: ouA, netbiosName: String(r.inputs.machineName) });
    packages.push(String(rebuilt.packageText));
    expect(rebuilt).toMatchObject({ enabled: false });
    expect((await truth(sam))!.userAccountControl & 2).toBe(2);
    expect((await h.read('dis', r.id, rebuilt)).props).toMatchObject({ enabled: false });
    // A reset (no machine has logged on, so no guard) sets a new password and keeps it disabled;
    // only the explicit enableAccount re-enables it.
    const inputs = { ...r.inputs, machineAccountOU: ouA, netbiosName: String(r.inputs.machineName) };
    const reset = await up('dis', r.id, rebuilt, { ...inputs, rotationTriggers: { dis: '1' } });
    packages.push(String(reset.packageText));
    expect(passwordOf(String(reset.packageText))).not.toBe(passwordOf(String(rebuilt.packageText)));
    expect((await truth(sam))!.userAccountControl & 2).toBe(2);
    expect(reset).toMatchObject({ enabled: false });
    const enabled = await up('dis', r.id, reset, { ...inputs, rotationTriggers: { dis: '2' }, enableAccount: true });
    packages.push(String(enabled.packageText));
    expect((await truth(sam))!.userAccountControl & 2).toBe(0);
    expect((await h.read('dis', r.id, enabled)).props).toMatchObject({ enabled: true });
  });

  it('an OU in an equivalent spelling (case, spaces after commas, \\2C for \\, and hex UTF-8): created there, no update after refresh', async () => {
    const [, ...rest] = ouOdd.split(/(?<!\\),/);
    const spelled = `ou=odju16\\2c\\c3\\84, ${rest.map((p) => p.toLowerCase()).join(', ')}`;
    const r = await create('odd', { machineAccountOU: spelled });
    const sam = String(r.props.samAccountName);
    expect((await truth(sam))!.dn.toLowerCase()).toBe(`cn=${String(r.inputs.machineName).toLowerCase()},${ouOdd.toLowerCase()}`);
    const refreshed = await h.read('odd', r.id, r.props);
    expect(refreshed.props.machineAccountOU).toBe(spelled);
    expect(await h.diff('odd', r.id, refreshed.props, r.inputs)).toMatchObject({ changes: 'none' });
    // Another spelling in the program is no change either.
    expect(await h.diff('odd', r.id, refreshed.props, { ...r.inputs, machineAccountOU: ouOdd.toUpperCase().replace('\\,', '\\2C') })).toMatchObject({ changes: 'none' });
  });

  it('an update interrupted after its password write heals: refresh shows not current, the next up issues a current package without the guard', async () => {
    const proxy = await FaultProxy.start({
      upstream: { host: dc.dcIp, port: 636, servername: dc.dcHost, ca: readFileSync(dc.caFile, 'utf8') },
      hostname: dc.dcHost,
    });
    try {
      const via = await host({ 'odj:ldapUrl': `ldaps://${dc.dcHost}:${proxy.port}`, 'odj:caCerts': proxy.caPem, 'odj:bindUser': dc.adminUser, 'odj:bindPassword': dc.adminPassword });
      const machine = machineName();
      const inputs: Props = { __provider: providerText, domain: dc.domain, machineName: machine, ownerTag: 'odj/test/odj:OfflineJoinPackage/heal', rotationTriggers: { g: '1' } };
      const created = await via.create('heal', (await via.check('heal', {}, inputs)).inputs);
      packages.push(String(created.props.packageText));
      const t0 = (await truth(`${machine}$`))!;
      const news = (await via.check('heal', created.props, { ...inputs, machineAccountOU: ouB, rotationTriggers: { g: '2' } })).inputs;
      expect(news.plannedChange).toBe('move+reset');
      // The DC performs the password write; its answer never comes back (a host killed right then).
      proxy.setFault({ op: 'modify', action: 'drop-after', match: (m) => m.includes(Buffer.from('unicodePwd')) });
      // The host keeps its connections (pool.ts); the fault applies to new ones.
      proxy.dropConnections();
      await expect(via.update('heal', created.id, created.props, news)).rejects.toThrow();
      proxy.setFault(null);
      const t1 = (await truth(`${machine}$`))!;
      expect(t1.dn).toBe(`CN=${machine},${ouB}`); // the move came first
      expect(t1.pwdLastSet).not.toBe(t0.pwdLastSet); // the reset happened, unreported
      const refreshed = await via.read('heal', created.id, created.props);
      expect(refreshed.props).toMatchObject({ packageCurrent: false, joined: false });
      const healed = await via.update('heal', created.id, refreshed.props, news);
      packages.push(String(healed.packageText));
      expect(healed).toMatchObject({ packageCurrent: true, distinguishedName: `CN=${machine},${ouB}` });
      expect(await joins(String(healed.packageText), machine)).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('an imported account that has logged on (made and used elsewhere) is under the guard from the start', async () => {
    const name = machineName();
    const made = await sambaProvision({ machineName: name }); // Samba's provisioning logs on with the new password
    packages.push(made.text);
    const acct = (await accountBySam(`${name}$`))!;
    const inputs: Props = { __provider: providerText, domain: dc.domain, machineName: name, rotationTriggers: { g: '1' } };
    const imported = await h.read('imp', acct.guid, {}, inputs);
    expect(imported.props).toMatchObject({ managedSince: 'import', packageText: '', issued: null, packageCurrent: false, joined: true });
    const t0 = (await truth(`${name}$`))!;
    await expect(up('imp', acct.guid, imported.props, { ...inputs, rotationTriggers: { g: '2' } })).rejects.toThrow(/ERROR_DS_UNWILLING_TO_PERFORM \(8245\): rotationTriggers: refusing to reset the password .*imported/);
    expect(await truth(`${name}$`)).toMatchObject({ pwdLastSet: t0.pwdLastSet, uSNChanged: t0.uSNChanged });
  });

  it('the engine stand-in strips secrets for a host that does not accept them, as the engine does', async () => {
    expect(h.acceptsSecrets).toBe(false);
    const name = machineName();
    // bindPassword is wrapped as a secret by the resource class; Check must see a plain string.
    const run = await runProgram(
      () => {
        const { OfflineJoinPackage } = loadNative(main) as typeof import('../provider/index');
        new OfflineJoinPackage('sec', { domain: dc.domain, machineName: name, bindUser: dc.adminUser, bindPassword: dc.adminPassword });
        return {};
      },
      { config: {}, project: 'odj', preview: false, host: h, packageMain: main },
    );
    const r = run.resources.find((x) => x.name === 'sec')!;
    packages.push(String(r.outputs!.packageText));
    expect(r.id).toBe((await accountBySam(`${name}$`))?.guid);
    expect(r.outputs!.bindPassword).toBe(dc.adminPassword);
  });

  it('no secret reached the host logs', () => {
    const logs = hosts.map((x) => x.stderr).join('\n');
    expect(logs).not.toContain(dc.adminPassword);
    for (const p of packages) expect(logs).not.toContain(p);
  });
});
