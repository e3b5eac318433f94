// Certificates and policies in packages the LDAP backend makes against the real DC: enterprise
// root CAs (rootCaCerts), PFX files for certificate templates, GPOs by name (sysvolRoot) and
// Registry.pol files by path. Each new part passes ndrdump --validate, every combination still
// joins (Samba's requestodj + net ads testjoin), and each bad source fails before any account exists.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificationAuthoritiesDn } from '../provider/directory/certificates';
import { ProvisioningError } from '../provider/errors';
import {
  decodeProvisionData, encodeStructure, parsePackage, PartTypes, S_OP_CERT_PART, S_OP_POLICY_PART,
  type OpPackage, type OpPackagePartCollection, type PackageFacts,
} from '../provider/odj';
import { HKEY_LOCAL_MACHINE, parseRegistryPol, RegTypes } from '../provider/odj/registry-pol';
import { CERT_SYSTEM_STORE_LOCAL_MACHINE, sstCertificates } from '../provider/odj/sst';
import { provision } from '../provider/directory/backend';
import {
  caObjectAttributes, createGpo, deleteGpo, opensslPfx, opensslRootCa, polXml, sambaReadPol, sambaTool, sambaWritePol, tempDir, writeBytes,
} from './certs-policies-fixtures';
import { buildCli, dcArgs, runOdj } from './cli-run';
import { testDc } from './support/dc';
import { accountBySam, withLdap } from './support/ldap';
import { adminConnection, machineNames } from './support/ldap-backend';
import { ndrdump, requestOdjAndTestJoin } from './support/peers';

const names = machineNames('PC');
const tag = randomBytes(4).toString('hex');
const tmp = tempDir('cp');
const gpoName = `OdjPkg GPO ${tag}`;
let gpoGuid = '';
let caDn = '';
let configNc = '';
const ca = opensslRootCa(tmp.dir, `OdjPkgRoot-${tag}`);
const pfx = opensslPfx(tmp.dir, ca);
const policyFile = join(tmp.dir, 'Registry.pol');
const policyEntries = [
  { key: 'Software\\Policies\\OdjPkg', value: 'Enabled', type: RegTypes.REG_DWORD, values: ['1'] },
  { key: 'Software\\Policies\\OdjPkg', value: 'Motd', type: RegTypes.REG_SZ, values: [`hello ${tag}`] },
];
const dc = (): ReturnType<typeof testDc> => testDc();
const sysvolRoot = (): string => join(dc().dir, 'state', 'sysvol');

beforeAll(async () => {
  sambaWritePol(policyFile, polXml(policyEntries));
  gpoGuid = createGpo(gpoName);
  sambaTool(['gpo', 'manage', 'smb_conf', 'set', gpoGuid, 'apply group policies', 'yes']);
  configNc = await withLdap(async (c) => String((await c.search('', { scope: 'base', attributes: ['configurationNamingContext'] })).searchEntries[0].configurationNamingContext));
  caDn = `CN=OdjPkgRoot-${tag},${certificationAuthoritiesDn(configNc)}`;
  await withLdap((c) => c.add(caDn, caObjectAttributes([ca.der])));
});

afterAll(async () => {
  await names.cleanup();
  if (caDn) await withLdap((c) => c.del(caDn)).catch(() => undefined);
  if (gpoGuid) deleteGpo(gpoGuid);
  tmp.cleanup();
});

/** The part's own content, type-serialized alone, through ndrdump --validate. */
async function partAccepted(binary: Uint8Array, partType: string): Promise<string> {
  const tree = decodeProvisionData(binary);
  const pkg = tree.pBlobs![1].pBlob as OpPackage;
  const parts = (pkg.WrappedPartCollection.pBlob as OpPackagePartCollection).pParts!;
  const part = parts.find((p) => p.PartType === partType);
  expect(part, `part ${partType}`).toBeDefined();
  const s = partType === PartTypes.CERT_PROVIDER ? S_OP_CERT_PART : S_OP_POLICY_PART;
  const name = partType === PartTypes.CERT_PROVIDER ? 'OP_CERT_PART_serialized_ptr' : 'OP_POLICY_PART_serialized_ptr';
  const r = await ndrdump(name, encodeStructure(s, part!.Part.pBlob), { validate: true });
  expect(r.ok, r.output.slice(-1500)).toBe(true);
  return r.output;
}

async function provisionAndJoin(extra: Record<string, unknown>): Promise<{ facts: PackageFacts; binary: Uint8Array; name: string }> {
  const name = names.next();
  const r = await provision({ domain: dc().domain, machineName: name, ...extra }, adminConnection());
  const whole = await ndrdump('ODJ_PROVISION_DATA_serialized_ptr', r.packageBinary, { validate: true });
  expect(whole.ok, whole.output.slice(-1500)).toBe(true);
  const joined = await requestOdjAndTestJoin(r.packageText, name);
  expect(joined.joined, joined.output).toBe(true);
  return { facts: parsePackage(r.packageBinary).facts, binary: r.packageBinary, name };
}

async function refusedWithoutAccount(extra: Record<string, unknown>): Promise<ProvisioningError> {
  const name = names.next();
  const e = await provision({ domain: dc().domain, machineName: name, ...extra }, adminConnection()).then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ProvisioningError);
  expect(await accountBySam(`${name}$`)).toBeNull();
  return e as ProvisioningError;
}

describe('packages with certificates and policies', () => {
  it('rootCaCerts: the published root CA comes back in a LocalMachine ROOT SST store, as the same DER', async () => {
    const { facts, binary } = await provisionAndJoin({ options: { rootCaCerts: true } });
    expect(facts.options & 0x10).toBe(0x10);
    expect(facts.certificates?.pfxStores).toEqual([]);
    expect(facts.certificates?.sstStores).toHaveLength(1);
    const store = facts.certificates!.sstStores[0];
    expect([store.storeLocation, store.storeName]).toEqual([CERT_SYSTEM_STORE_LOCAL_MACHINE, 'ROOT']);
    const ders = sstCertificates(store.sst).map((d) => Buffer.from(d).toString('base64'));
    expect(ders).toContain(ca.der.toString('base64'));
    const out = await partAccepted(binary, PartTypes.CERT_PROVIDER);
    expect(out).toMatch(/pStoreName\s+: 'ROOT'/);
    expect(out).toMatch(/StoreLocation\s+: 0x00020000 \(131072\)/);
  });

  it('certificates: a PFX for a template becomes a PFX store with its bytes and policy server fields', async () => {
    const { facts, binary } = await provisionAndJoin({
      certTemplateNames: ['Machine'],
      certificates: [{ templateName: 'Machine', pfx: pfx.toString('base64'), policyServerUrl: 'https://cep.odjtest.test/', policyServerId: `id-${tag}`, privateKeyExportPolicy: 1, policyServerUrlFlags: 1 }],
    });
    expect(facts.certificates?.sstStores).toEqual([]);
    const [store] = facts.certificates!.pfxStores;
    expect({ ...store, pfx: Buffer.from(store.pfx).equals(pfx) }).toEqual({
      templateName: 'Machine', privateKeyExportPolicy: 1, policyServerUrl: 'https://cep.odjtest.test/', policyServerUrlFlags: 1, policyServerId: `id-${tag}`, pfx: true,
    });
    const out = await partAccepted(binary, PartTypes.CERT_PROVIDER);
    expect(out).toMatch(/pTemplateName\s+: 'Machine'/);
  });

  it('machinePolicyNames: the GPO found by name, its values in the POLICY part', async () => {
    const { facts, binary } = await provisionAndJoin({ machinePolicyNames: [gpoName], sysvolRoot: sysvolRoot() });
    expect(facts.policies).toHaveLength(1);
    const [list] = facts.policies!;
    expect(list.rootKeyId).toBe(HKEY_LOCAL_MACHINE);
    expect(list.source).toMatch(new RegExp(`^\\\\\\\\.*\\\\Policies\\\\${gpoGuid.replace(/[{}]/g, '\\$&')}\\\\Machine\\\\Registry\\.pol$`, 'i'));
    const file = join(sysvolRoot(), dc().domain, 'Policies', gpoGuid, 'Machine', 'Registry.pol');
    expect(list.elements.map((e) => [e.keyPath, e.valueName, e.valueType])).toEqual(sambaReadPol(file).map((s) => [s.key, s.value, s.type]));
    const apply = list.elements.find((e) => e.valueName === 'apply group policies');
    expect(Buffer.from(apply!.data).readUInt32LE(0)).toBe(1);
    const out = await partAccepted(binary, PartTypes.POLICY_PROVIDER);
    expect(out).toMatch(/pValueName\s+: 'apply group policies'/);
    expect(out).toMatch(/ulRootKeyId\s+: 0x80000002/);
  });

  it('machinePolicyPaths: a Registry.pol Samba wrote decodes identically in the package', async () => {
    const { facts, binary } = await provisionAndJoin({ machinePolicyPaths: [policyFile] });
    expect(facts.policies).toEqual([{ source: policyFile, rootKeyId: HKEY_LOCAL_MACHINE, elements: parseRegistryPol(sambaWritePol(join(tmp.dir, 'again.pol'), polXml(policyEntries)), 'again.pol') }]);
    expect(facts.policies![0].elements.map((e) => [e.keyPath, e.valueName, e.valueType])).toEqual(sambaReadPol(policyFile).map((s) => [s.key, s.value, s.type]));
    await partAccepted(binary, PartTypes.POLICY_PROVIDER);
  });

  it('all four together: both parts, and the join still works', async () => {
    const { facts, binary } = await provisionAndJoin({
      options: { rootCaCerts: true },
      certTemplateNames: ['Machine'],
      certificates: [{ templateName: 'Machine', pfx }],
      machinePolicyNames: [gpoName],
      machinePolicyPaths: [policyFile],
      sysvolRoot: sysvolRoot(),
    });
    expect(parsePackage(binary).parts.map((p) => p.name)).toEqual(['JOIN_PROVIDER', 'JOIN_PROVIDER3', 'CERT_PROVIDER', 'POLICY_PROVIDER']);
    expect(facts.certificates!.pfxStores).toHaveLength(1);
    expect(facts.certificates!.sstStores).toHaveLength(1);
    expect(facts.policies!.map((l) => l.source)).toEqual([expect.stringMatching(/Machine\\Registry\.pol$/), policyFile]);
    await partAccepted(binary, PartTypes.CERT_PROVIDER);
    await partAccepted(binary, PartTypes.POLICY_PROVIDER);
  });
});

describe('bad sources fail clearly, before any account is made', () => {
  it('a template without a PFX: ERROR_NOT_SUPPORTED that says why and what to do', async () => {
    const e = await refusedWithoutAccount({ certTemplateNames: ['Machine'] });
    expect([e.code, e.errno, e.field]).toEqual(['ERROR_NOT_SUPPORTED', 50, 'certTemplateNames']);
    expect(e.message).toMatch(/LDAP backend cannot enroll a certificate from template "Machine".*give a PFX issued from that template in certificates\[\]/);
  });

  it('a PFX that is not one: ERROR_INVALID_PARAMETER naming certificates[0].pfx, without its content', async () => {
    const e = await refusedWithoutAccount({ certificates: [{ templateName: 'Machine', pfx: ca.der }] });
    expect([e.code, e.field]).toEqual(['ERROR_INVALID_PARAMETER', 'certificates[0].pfx']);
    expect(e.message).toMatch(/not a PKCS#12 \(PFX\) file at byte \d+/);
    const truncated = await refusedWithoutAccount({ certificates: [{ templateName: 'Machine', pfx: pfx.subarray(0, 100) }] });
    expect(truncated.field).toBe('certificates[0].pfx');
    expect(truncated.message).not.toContain(pfx.subarray(0, 24).toString('base64'));
  });

  it('a malformed Registry.pol: ERROR_INVALID_DATA naming the file and the offset', async () => {
    const bad = writeBytes(join(tmp.dir, 'bad.pol'), Buffer.from('5052656701000000', 'hex').subarray(0, 6));
    const e = await refusedWithoutAccount({ machinePolicyPaths: [bad] });
    expect([e.code, e.errno, e.field]).toEqual(['ERROR_INVALID_DATA', 13, 'machinePolicyPaths']);
    expect(e.message).toContain(`${bad}: not a valid Registry.pol file at byte 0`);
  });

  it('a policy file that does not exist, a GPO name nobody has, no sysvolRoot', async () => {
    const missing = await refusedWithoutAccount({ machinePolicyPaths: [join(tmp.dir, 'none.pol')] });
    expect([missing.code, missing.field]).toEqual(['ERROR_FILE_NOT_FOUND', 'machinePolicyPaths']);
    const unknown = await refusedWithoutAccount({ machinePolicyNames: [`Nobody ${tag}`], sysvolRoot: sysvolRoot() });
    expect([unknown.code, unknown.field]).toEqual(['ERROR_NOT_FOUND', 'machinePolicyNames']);
    const noSysvol = await refusedWithoutAccount({ machinePolicyNames: [gpoName] });
    expect([noSysvol.code, noSysvol.field]).toEqual(['ERROR_NOT_SUPPORTED', 'machinePolicyNames']);
    expect(noSysvol.message).toMatch(/pass sysvolRoot/);
  });

  it('a cACertificate value that is not a certificate: ERROR_INVALID_DATA naming the object', async () => {
    const badDn = `CN=OdjPkgBad-${tag},${certificationAuthoritiesDn(configNc)}`;
    await withLdap((c) => c.add(badDn, caObjectAttributes([randomBytes(40)])));
    try {
      const e = await refusedWithoutAccount({ options: { rootCaCerts: true } });
      expect([e.code, e.field]).toEqual(['ERROR_INVALID_DATA', 'options.rootCaCerts']);
      expect(e.message).toMatch(new RegExp(`CN=OdjPkgBad-${tag}.*is not an X\\.509 certificate`, 'i'));
    } finally {
      await withLdap((c) => c.del(badDn)).catch(() => undefined);
    }
  });

  it('bad shapes of the new params: ERROR_INVALID_PARAMETER naming the field', async () => {
    for (const [extra, field] of [
      [{ certificates: [{ pfx }] }, 'certificates[0].templateName'],
      [{ certificates: [{ templateName: 'Machine' }] }, 'certificates[0].pfx'],
      [{ certificates: [{ templateName: 'Machine', pfx, privateKeyExportPolicy: 0x100 }] }, 'certificates[0].privateKeyExportPolicy'],
      [{ certificates: [{ templateName: 'Machine', pfx: 'not base64!' }] }, 'certificates[0].pfx'],
      [{ machinePolicyPaths: [''] }, 'machinePolicyPaths'],
      [{ sysvolRoot: '/x' }, 'sysvolRoot'],
    ] as const) {
      const e = await refusedWithoutAccount(extra);
      expect([e.code, e.field]).toEqual(['ERROR_INVALID_PARAMETER', field]);
    }
  });
});

describe('the odj CLI carries them too', () => {
  let cli: Awaited<ReturnType<typeof buildCli>> | undefined;
  beforeAll(async () => {
    cli = await buildCli();
  });
  afterAll(() => cli?.cleanup());

  it('--rootcacerts --policypaths: the package joins, and inspect shows the CA and the values readably', async () => {
    const name = names.next();
    const file = join(tmp.dir, `${name}.txt`);
    const { args, env } = dcArgs();
    const r = await runOdj(cli!.bin, ['provision', ...args, '--machine', name, '--savefile', file, '--rootcacerts', '--policypaths', policyFile], { env });
    expect(r.code, r.stderr).toBe(0);
    const joined = await requestOdjAndTestJoin(readFileSync(file), name);
    expect(joined.joined, joined.output).toBe(true);
    const shown = await runOdj(cli!.bin, ['inspect', file], { env });
    expect(shown.code, shown.stderr).toBe(0);
    const thumbprint = (await import('node:crypto')).createHash('sha1').update(ca.der).digest('hex').toUpperCase();
    expect(shown.stdout).toMatch(new RegExp(`sst 1 entry \\d+\\s+CN=OdjPkgRoot-${tag}, O=ODJ tests \\(thumbprint ${thumbprint}, expires [A-Z][a-z]{2} .+ GMT\\)`));
    expect(shown.stdout).toContain('Software\\Policies\\OdjPkg\\Enabled = REG_DWORD 1');
    expect(shown.stdout).toContain(`Software\\Policies\\OdjPkg\\Motd = REG_SZ "hello ${tag}"`);
    expect(shown.stdout).toMatch(/sst 1 store\s+ROOT \(location 0x00020000\)/);
  });

  it('--certtemplate --certpfx and --policynames --sysvolroot: the package joins, inspect shows both', async () => {
    const name = names.next();
    const file = join(tmp.dir, `${name}.txt`);
    const pfxFile = writeBytes(join(tmp.dir, `${name}.pfx`), pfx);
    const { args, env } = dcArgs();
    const r = await runOdj(cli!.bin, [
      'provision', ...args, '--machine', name, '--savefile', file,
      '--certtemplate', 'Machine', '--certpfx', `Machine=${pfxFile}`, '--policynames', gpoName, '--sysvolroot', sysvolRoot(),
    ], { env });
    expect(r.code, r.stderr).toBe(0);
    const joined = await requestOdjAndTestJoin(readFileSync(file), name);
    expect(joined.joined, joined.output).toBe(true);
    const facts = parsePackage(new Uint8Array(readFileSync(file))).facts;
    expect(Buffer.from(facts.certificates!.pfxStores[0].pfx).equals(pfx)).toBe(true);
    const shown = await runOdj(cli!.bin, ['inspect', file], { env });
    expect(shown.stdout).toMatch(/pfx 1 template\s+Machine/);
    expect(shown.stdout).toMatch(/pfx 1 pfx\s+<redacted/i);
    expect(shown.stdout).toContain('Software\\Policies\\Samba\\smb_conf\\apply group policies = REG_DWORD 1');
  });

  it('a bad --certpfx file, and --policynames without --sysvolroot: exit 1 naming the flag, no account', async () => {
    const { args, env } = dcArgs();
    const name = names.next();
    const notPfx = writeBytes(join(tmp.dir, 'not.pfx'), ca.der);
    const bad = await runOdj(cli!.bin, ['provision', ...args, '--machine', name, '--printblob', '--certtemplate', 'Machine', '--certpfx', `Machine=${notPfx}`], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^odj: ERROR_INVALID_PARAMETER \(87\): certificates\[0\]\.pfx: not a PKCS#12 \(PFX\) file at byte \d+.*\[--certpfx\]\n$/);
    const noRoot = await runOdj(cli!.bin, ['provision', ...args, '--machine', name, '--printblob', '--policynames', gpoName], { env });
    expect(noRoot.code).toBe(1);
    expect(noRoot.stderr).toMatch(/ERROR_NOT_SUPPORTED \(50\): .*pass sysvolRoot.*\[--policynames\]\n$/);
    expect(await accountBySam(`${name}$`)).toBeNull();
  });
});
