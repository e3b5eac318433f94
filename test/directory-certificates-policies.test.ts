// Certificate and policy sources read from the real test DC: enterprise root CAs published in the
// configuration partition, GPOs made by `samba-tool gpo create` with settings written by
// `samba-tool gpo manage smb_conf set`, read through a sysvolRoot. Objects added here are removed.
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, readFileSync, renameSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificationAuthoritiesDn, readEnterpriseRootCas } from '../provider/directory/certificates';
import { openDirectory, type DirectoryConnection } from '../provider/directory/connection';
import { readRootDse, type RootDse } from '../provider/directory/discovery';
import { findGpoByName, MAX_REGISTRY_POL_BYTES, readGpoMachinePolicy, readPolicyPath } from '../provider/directory/policies';
import { ProvisioningError } from '../provider/errors';
import { HKEY_LOCAL_MACHINE, RegTypes } from '../provider/odj/registry-pol';
import { caObjectAttributes, createGpo, deleteGpo, opensslRootCa, sambaReadPol, sambaTool, tempDir } from './certs-policies-fixtures';
import { testDc } from './support/dc';
import { adminConnection } from './support/ldap-backend';
import { withLdap } from './support/ldap';
import { Attribute, Change } from 'ldapts';

const tag = randomBytes(4).toString('hex');
const tmp = tempDir('dcsrc');
let conn: DirectoryConnection;
let root: RootDse;

async function provisioningError(p: Promise<unknown>): Promise<ProvisioningError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ProvisioningError) return e;
    throw new Error(`expected ProvisioningError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
  throw new Error('expected ProvisioningError, but it succeeded');
}

beforeAll(async () => {
  conn = await openDirectory(adminConnection(), { host: testDc().dcHost, unreachableCode: 'ERROR_DS_SERVER_DOWN', unreachableField: 'connection.url' });
  root = await readRootDse(conn);
});
afterAll(async () => {
  await conn?.close();
  tmp.cleanup();
});

/** Publish a certificationAuthority object the way `certutil -dspublish -f x.crt RootCA` does. */
async function publishCa(cn: string, values: Buffer[]): Promise<string> {
  const dn = `CN=${cn},${certificationAuthoritiesDn(root.configurationNamingContext)}`;
  await withLdap((c) => c.add(dn, caObjectAttributes(values)));
  return dn;
}
const unpublish = (dn: string): Promise<void> => withLdap((c) => c.del(dn)).catch(() => undefined);

describe('enterprise root CAs', () => {
  it('an OpenSSL root CA published in the configuration partition comes back with the same DER', async () => {
    const before = await readEnterpriseRootCas(conn, root.configurationNamingContext);
    const ca = opensslRootCa(tmp.dir, `OdjRoot-${tag}`);
    const dn = await publishCa(`OdjRoot-${tag}`, [ca.der]);
    try {
      const after = await readEnterpriseRootCas(conn, root.configurationNamingContext);
      expect(after).toHaveLength(before.length + 1);
      const mine = after.find((c) => c.dn.toLowerCase() === dn.toLowerCase());
      expect(mine).toBeDefined();
      expect(Buffer.from(mine!.der)).toEqual(ca.der);
      expect(mine!.subject).toContain(`CN=OdjRoot-${tag}`);
      expect(mine!.thumbprint).toMatch(/^[0-9A-F]{40}$/);
    } finally {
      await unpublish(dn);
    }
    expect(await readEnterpriseRootCas(conn, root.configurationNamingContext)).toHaveLength(before.length);
  });

  it('two values on one object (a renewed CA) give two certificates; the same certificate twice gives one', async () => {
    const a = opensslRootCa(tmp.dir, `OdjRenewA-${tag}`);
    const b = opensslRootCa(tmp.dir, `OdjRenewB-${tag}`);
    const dn1 = await publishCa(`OdjRenew-${tag}`, [a.der, b.der]);
    const dn2 = await publishCa(`OdjCopy-${tag}`, [a.der]);
    try {
      const found = (await readEnterpriseRootCas(conn, root.configurationNamingContext)).filter((c) => [dn1, dn2].map((d) => d.toLowerCase()).includes(c.dn.toLowerCase()));
      expect(found.map((c) => Buffer.from(c.der).toString('base64')).sort()).toEqual([a.der, b.der].map((d) => d.toString('base64')).sort());
    } finally {
      await unpublish(dn1);
      await unpublish(dn2);
    }
  });

  it.each([
    ['random bytes', randomBytes(64)],
    ['a DER SEQUENCE that is no certificate', Buffer.from('3003020101', 'hex')],
    ['PEM text instead of DER', Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')],
  ])('a cACertificate value that is %s: ERROR_INVALID_DATA naming the object', async (_what, value) => {
    const dn = await publishCa(`OdjBad-${tag}`, [value]);
    try {
      const e = await provisioningError(readEnterpriseRootCas(conn, root.configurationNamingContext));
      expect(e.code).toBe('ERROR_INVALID_DATA');
      expect(e.errno).toBe(13);
      expect(e.field).toBe('options.rootCaCerts');
      expect(e.message).toMatch(new RegExp(`CN=OdjBad-${tag},CN=Certification Authorities.*cACertificate value 0 is not an X\\.509 certificate`, 'i'));
    } finally {
      await unpublish(dn);
    }
  });
});

describe('group policy objects by display name', () => {
  const name = `OdjTest GPO (${tag}) *`;
  const emptyName = `OdjTest Empty ${tag}`;
  const made: string[] = [];
  let guid: string;

  beforeAll(() => {
    guid = createGpo(name);
    made.push(guid);
    sambaTool(['gpo', 'manage', 'smb_conf', 'set', guid, 'apply group policies', 'yes']);
    sambaTool(['gpo', 'manage', 'smb_conf', 'set', guid, 'ldap timeout', '7']);
    made.push(createGpo(emptyName));
  });
  afterAll(() => {
    for (const g of made) deleteGpo(g);
  });

  const sysvolRoot = (): string => join(testDc().dir, 'state', 'sysvol');
  const registryPol = (): string => join(sysvolRoot(), testDc().domain, 'Policies', guid, 'Machine', 'Registry.pol');

  it('is found by name (filter characters escaped), and its Machine/Registry.pol is read under sysvolRoot', async () => {
    const gpo = await findGpoByName(conn, root.defaultNamingContext, name, 'machinePolicyNames[0]');
    expect(gpo.name.toUpperCase()).toBe(guid.toUpperCase());
    expect(gpo.displayName).toBe(name);
    expect(gpo.fileSysPath).toMatch(/^\\\\/);
    const list = await readGpoMachinePolicy(gpo, { sysvolRoot: sysvolRoot() }, 'machinePolicyNames[0]');
    expect(list.rootKeyId).toBe(HKEY_LOCAL_MACHINE);
    expect(list.source).toBe(`${gpo.fileSysPath}\\Machine\\Registry.pol`);
    // the values samba-tool wrote, as Samba's own parser reads the same file
    const samba = sambaReadPol(registryPol());
    expect(list.elements.map((e) => [e.keyPath, e.valueName, e.valueType])).toEqual(samba.map((s) => [s.key, s.value, s.type]));
    const byName = new Map(list.elements.map((e) => [e.valueName, e]));
    expect(byName.get('apply group policies')?.valueType).toBe(RegTypes.REG_DWORD);
    expect(Buffer.from(byName.get('apply group policies')!.data).readUInt32LE(0)).toBe(1);
    expect(Buffer.from(byName.get('ldap timeout')!.data).readUInt32LE(0)).toBe(7);
    expect(byName.get('apply group policies')?.keyPath).toBe('Software\\Policies\\Samba\\smb_conf');
  });

  it('the same file through machinePolicyPaths decodes identically (source: the path)', async () => {
    const gpo = await findGpoByName(conn, root.defaultNamingContext, name, 'machinePolicyNames[0]');
    const byName = await readGpoMachinePolicy(gpo, { sysvolRoot: sysvolRoot() }, 'machinePolicyNames[0]');
    const byPath = await readPolicyPath(registryPol(), 'machinePolicyPaths[0]');
    expect(byPath.source).toBe(registryPol());
    expect(byPath.elements).toEqual(byName.elements);
  });

  it('a copied SYSVOL with other letter case is read too', async () => {
    const copy = join(tmp.dir, 'sysvol-copy');
    cpSync(join(sysvolRoot(), testDc().domain, 'Policies', guid), join(copy, testDc().domain.toUpperCase(), 'POLICIES', guid.toLowerCase()), { recursive: true });
    renameSync(join(copy, testDc().domain.toUpperCase(), 'POLICIES', guid.toLowerCase(), 'Machine'), join(copy, testDc().domain.toUpperCase(), 'POLICIES', guid.toLowerCase(), 'MACHINE'));
    const gpo = await findGpoByName(conn, root.defaultNamingContext, name, 'machinePolicyNames[0]');
    const list = await readGpoMachinePolicy(gpo, { sysvolRoot: copy }, 'machinePolicyNames[0]');
    expect(list.elements.length).toBe(sambaReadPol(registryPol()).length);
  });

  it('a malformed Registry.pol in the SYSVOL copy: ERROR_INVALID_DATA naming the file and offset', async () => {
    const copy = join(tmp.dir, 'sysvol-bad');
    const dir = join(copy, testDc().domain, 'Policies', guid, 'Machine');
    cpSync(join(sysvolRoot(), testDc().domain, 'Policies', guid), join(copy, testDc().domain, 'Policies', guid), { recursive: true });
    const bytes = readFileSync(join(dir, 'Registry.pol'));
    writeFileSync(join(dir, 'Registry.pol'), bytes.subarray(0, bytes.length - 3));
    const gpo = await findGpoByName(conn, root.defaultNamingContext, name, 'machinePolicyNames[2]');
    const e = await provisioningError(readGpoMachinePolicy(gpo, { sysvolRoot: copy }, 'machinePolicyNames[2]'));
    expect(e.code).toBe('ERROR_INVALID_DATA');
    expect(e.field).toBe('machinePolicyNames[2]');
    expect(e.message).toContain(join(dir, 'Registry.pol'));
    expect(e.message).toMatch(/not a valid Registry\.pol file at byte \d+/);
  });

  it('a name no GPO has: ERROR_NOT_FOUND', async () => {
    const e = await provisioningError(findGpoByName(conn, root.defaultNamingContext, `No Such GPO ${tag}`, 'machinePolicyNames[1]'));
    expect(e.code).toBe('ERROR_NOT_FOUND');
    expect(e.field).toBe('machinePolicyNames[1]');
    expect(e.message).toContain(`No Such GPO ${tag}`);
  });

  it('a name two GPOs have: ERROR_INVALID_PARAMETER listing both', async () => {
    const twin = createGpo(`OdjTwin ${tag}`);
    made.push(twin);
    const twin2 = createGpo(`OdjTwin2 ${tag}`);
    made.push(twin2);
    // samba-tool refuses a duplicate name, so the second one is renamed over LDAP
    await withLdap((c) =>
      c.modify(`CN=${twin2},CN=Policies,CN=System,${root.defaultNamingContext}`, [
        new Change({ operation: 'replace', modification: new Attribute({ type: 'displayName', values: [`OdjTwin ${tag}`] }) }),
      ]),
    );
    const e = await provisioningError(findGpoByName(conn, root.defaultNamingContext, `OdjTwin ${tag}`, 'machinePolicyNames[0]'));
    expect(e.code).toBe('ERROR_INVALID_PARAMETER');
    expect(e.message).toMatch(/2 group policy objects are named/);
    expect(e.message.toUpperCase()).toContain(twin.toUpperCase());
    expect(e.message.toUpperCase()).toContain(twin2.toUpperCase());
  });

  it('a GPO with no machine registry settings: ERROR_FILE_NOT_FOUND saying so', async () => {
    const gpo = await findGpoByName(conn, root.defaultNamingContext, emptyName, 'machinePolicyNames[0]');
    expect(existsSync(join(sysvolRoot(), testDc().domain, 'Policies', gpo.name))).toBe(true);
    const e = await provisioningError(readGpoMachinePolicy(gpo, { sysvolRoot: sysvolRoot() }, 'machinePolicyNames[0]'));
    expect(e.code).toBe('ERROR_FILE_NOT_FOUND');
    expect(e.message).toMatch(/Machine\/Registry\.pol of the group policy object "OdjTest Empty/);
  });

  it('without sysvolRoot off Windows: ERROR_NOT_SUPPORTED saying to pass sysvolRoot', async () => {
    const gpo = await findGpoByName(conn, root.defaultNamingContext, name, 'machinePolicyNames[0]');
    const e = await provisioningError(readGpoMachinePolicy(gpo, { platform: 'linux' }, 'machinePolicyNames[0]'));
    expect(e.code).toBe('ERROR_NOT_SUPPORTED');
    expect(e.field).toBe('machinePolicyNames[0]');
    expect(e.message).toMatch(/pass sysvolRoot/);
  });
});

describe('policy files by path: what is not a readable Registry.pol', () => {
  it('a directory, a device, a file over the size bound, a missing file: each a clear error', async () => {
    const dirErr = await provisioningError(readPolicyPath(tmp.dir, 'machinePolicyPaths'));
    expect([dirErr.code, dirErr.field]).toEqual(['ERROR_INVALID_PARAMETER', 'machinePolicyPaths']);
    expect(dirErr.message).toMatch(/is a directory/);
    const dev = await provisioningError(readPolicyPath('/dev/null', 'machinePolicyPaths'));
    expect(dev.message).toMatch(/\/dev\/null is not a regular file/);
    const big = join(tmp.dir, 'big.pol');
    writeFileSync(big, Buffer.from('5052656701000000', 'hex'));
    truncateSync(big, MAX_REGISTRY_POL_BYTES + 1);
    const bigErr = await provisioningError(readPolicyPath(big, 'machinePolicyPaths'));
    expect([bigErr.code, bigErr.errno]).toEqual(['ERROR_INVALID_DATA', 13]);
    expect(bigErr.message).toMatch(/at most \d+/);
    const missing = await provisioningError(readPolicyPath(join(tmp.dir, 'nope.pol'), 'machinePolicyPaths'));
    expect([missing.code, missing.errno]).toEqual(['ERROR_FILE_NOT_FOUND', 2]);
    // a link to a good file is read as that file
    const good = join(tmp.dir, 'good.pol');
    writeFileSync(good, Buffer.from('5052656701000000', 'hex'));
    symlinkSync(good, join(tmp.dir, 'link.pol'));
    expect((await readPolicyPath(join(tmp.dir, 'link.pol'), 'machinePolicyPaths')).elements).toEqual([]);
  });
});
