// Packages produced live by Samba's `net offlinejoin provision` against the test DC (plain, reuse,
// defpwd, in an OU): decoding and re-encoding gives Samba's bytes exactly, and so does building
// from the facts we read. (Comparing those facts with what the DC says is the Samba-vs-LDAP test's job.)
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackage, encodeProvisionData, packageToFileForm, parsePackage, type ParsedPackage } from '../provider/odj';
import { deleteAccount, deleteTree, ensureOu } from './support/ldap';
import { requestOdjAndTestJoin, sambaProvision, type SambaPackage } from './support/peers';
import { sampleCertificates, sampleJoinProvider2, samplePolicies } from './odj-samples';

const names: string[] = [];
const uniqueName = (): string => {
  const n = `T${randomBytes(5).toString('hex')}`; // 11 characters: within NetBIOS' 15
  names.push(n);
  return n;
};

/** Compares bytes without printing them (they hold a password): the first differing offset or -1. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

describe('packages made by Samba', () => {
  const made: { label: string; pkg: SambaPackage; machineName: string }[] = [];
  let ou: string | undefined;

  beforeAll(async () => {
    const plain = uniqueName();
    made.push({ label: 'plain', pkg: await sambaProvision({ machineName: plain }), machineName: plain });
    made.push({ label: 'reuse of an existing account', pkg: await sambaProvision({ machineName: plain, reuse: true }), machineName: plain });
    const defpwd = uniqueName();
    made.push({ label: 'defpwd', pkg: await sambaProvision({ machineName: defpwd, defpwd: true }), machineName: defpwd });
    ou = await ensureOu(`OdjCodec${randomBytes(4).toString('hex')}`);
    const inOu = uniqueName();
    made.push({ label: 'machine account OU', pkg: await sambaProvision({ machineName: inOu, machineAccountOU: ou }), machineName: inOu });
  });

  afterAll(async () => {
    for (const n of names) await deleteAccount(`${n}$`).catch(() => undefined);
    if (ou) await deleteTree(ou).catch(() => undefined);
  });

  it('re-encode to exactly Samba\'s bytes, from every form', () => {
    expect(made.length).toBe(4);
    for (const { label, pkg } of made) {
      const parsed = parsePackage(new Uint8Array(pkg.binary));
      expect(firstDifference(encodeProvisionData(parsed.tree), pkg.binary), label).toBe(-1);
      expect(parsePackage(pkg.text).tree, label).toEqual(parsed.tree);
      expect(parsePackage(new Uint8Array(pkg.fileForm)).tree, label).toEqual(parsed.tree);
      // our file form is byte for byte what Samba's savefile wrote
      expect(firstDifference(packageToFileForm(new Uint8Array(pkg.binary)), pkg.fileForm), label).toBe(-1);
    }
  });

  it('building from the facts read gives Samba\'s bytes: same layout, part order and referent ids', () => {
    for (const { label, pkg, machineName } of made) {
      const parsed: ParsedPackage = parsePackage(new Uint8Array(pkg.binary));
      expect(parsed.facts.machineName.toLowerCase(), label).toBe(machineName.toLowerCase());
      expect(parsed.parts.map((p) => p.name), label).toEqual(['JOIN_PROVIDER', 'JOIN_PROVIDER3']);
      expect(firstDifference(buildPackage(parsed.facts), pkg.binary), label).toBe(-1);
    }
  });

  it('reads each package\'s own password, and defpwd\'s default one', () => {
    const [plain, reused, defpwd] = made.slice(0, 3).map((m) => parsePackage(new Uint8Array(m.pkg.binary)).facts);
    expect(plain.machinePassword.length).toBeGreaterThan(0);
    expect(plain.machinePassword === reused.machinePassword).toBe(false);
    // Samba 4.17's defpwd uses the machine name as given (Windows documents the lower-case name)
    expect(defpwd.machinePassword === made[2].machineName).toBe(true);
    expect(plain.rid).toBe(reused.rid);
  });

  it('Samba, as the joining machine, accepts our rebuild with JOIN_PROVIDER2, CERT and POLICY parts added', async () => {
    const { pkg, machineName } = made[3]; // its password is the account's current one
    const facts = parsePackage(new Uint8Array(pkg.binary)).facts;
    const ours = buildPackage({ ...facts, joinProvider2: { ...sampleJoinProvider2, netbiosName: machineName }, certificates: sampleCertificates, policies: samplePolicies });
    const joined = await requestOdjAndTestJoin(Buffer.from(ours), machineName);
    expect(joined.joined, joined.output).toBe(true);
  });
});
