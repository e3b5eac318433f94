// Packages made live by Samba's `net offlinejoin provision` against the test DC: our codec reads
// every field as the DC itself states it (LDAP and the DC's LDAP ping are the truth, not values
// written here), re-encodes Samba's bytes exactly, and the packages really join, also rebuilt by us
// with JOIN_PROVIDER2, CERT and POLICY parts added.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildPackage, encodeProvisionData, packageToFileForm, packageToText, parsePackage, type ParsedPackage,
} from '../provider/odj';
import { testDc } from './support/dc';
import {
  accountBySam, deleteAccount, deleteTree, domainTruth, ensureOu, ldapPing,
  type AccountTruth, type DomainTruth, type LdapPing,
} from './support/ldap';
import { kinitWithPassword, requestOdjAndTestJoin, sambaProvision, type SambaPackage } from './support/peers';
import { sampleCertificates, sampleJoinProvider2, samplePolicies } from './odj-samples';

// DsRGetDCName adds these to the flags the DC advertises: the names it returns are DNS names.
const DS_DNS_CONTROLLER_FLAG = 0x20000000;
const DS_DNS_DOMAIN_FLAG = 0x40000000;
const DS_DNS_FOREST_FLAG = 0x80000000;

const run = randomBytes(3).toString('hex').toUpperCase();
const ouName = `OdjPkgTest${run}`;
let ouDn = '';

interface Variant {
  label: string;
  machineName: string;
  reuse?: boolean;
  defpwd?: boolean;
  inOu?: boolean;
}

const variants: Variant[] = [
  { label: 'plain', machineName: `SP${run}A` },
  { label: 'reuse of an existing account', machineName: `SP${run}R`, reuse: true },
  { label: 'defpwd', machineName: `SP${run}D`, defpwd: true },
  { label: 'machine_account_ou', machineName: `SP${run}O`, inOu: true },
];

interface Produced {
  pkg: SambaPackage;
  account: AccountTruth;
  /** the account before `reuse` took it over, and the package that made it (reuse variant only) */
  before?: AccountTruth;
  beforePkg?: SambaPackage;
}

const produced = new Map<string, Produced>();
let domain: DomainTruth;
let ping: LdapPing;

beforeAll(async () => {
  domain = await domainTruth();
  ping = await ldapPing();
  ouDn = await ensureOu(ouName);
  for (const v of variants) {
    let before: AccountTruth | undefined;
    let beforePkg: SambaPackage | undefined;
    if (v.reuse) {
      beforePkg = await sambaProvision({ machineName: v.machineName });
      before = (await accountBySam(`${v.machineName}$`)) ?? undefined;
    }
    const pkg = await sambaProvision({
      machineName: v.machineName,
      reuse: v.reuse,
      defpwd: v.defpwd,
      machineAccountOU: v.inOu ? ouDn : undefined,
    });
    const account = await accountBySam(`${v.machineName}$`);
    if (!account) throw new Error(`Samba reported success but ${v.machineName}$ is not in the directory`);
    produced.set(v.label, { pkg, account, before, beforePkg });
  }
});

afterAll(async () => {
  for (const v of variants) await deleteAccount(`${v.machineName}$`);
  if (ouDn) await deleteTree(ouDn);
});

describe.each(variants)('Samba package: $label', (v) => {
  const get = (): Produced => {
    const p = produced.get(v.label);
    if (!p) throw new Error(`no package for ${v.label}`);
    return p;
  };

  it('parses from all three forms to the same tree and facts', () => {
    const { pkg } = get();
    const fromFile = parsePackage(pkg.fileForm);
    // Trees compared from plain Uint8Arrays (a Buffer's fields would differ in type only).
    const tree = parsePackage(new Uint8Array(pkg.binary)).tree;
    expect(parsePackage(pkg.text).tree).toEqual(tree);
    expect(parsePackage(new Uint8Array(pkg.fileForm)).tree).toEqual(tree);
    expect(parsePackage(pkg.text).facts).toEqual(fromFile.facts);
    expect(parsePackage(pkg.binary).facts).toEqual(fromFile.facts);
  });

  it('carries what the directory says about the domain, the DC and the account', () => {
    const { pkg, account, before, beforePkg } = get();
    const dc = testDc();
    const parsed: ParsedPackage = parsePackage(pkg.fileForm);
    const f = parsed.facts;

    expect(f.machineName).toBe(v.machineName);
    expect(f.domain).toBe(domain.dnsDomainName);

    expect(f.domainInfo.name).toBe(domain.netbiosName);
    expect(f.domainInfo.dnsDomainName).toBe(domain.dnsDomainName);
    expect(f.domainInfo.dnsForestName).toBe(domain.forestName);
    expect(f.domainInfo.domainGuid).toBe(domain.guid);
    expect(f.domainInfo.sid).toBe(domain.sid);

    expect(f.rid).toBe(account.rid);
    expect(parsed.accountSid).toBe(account.sid);
    expect(account.sid).toBe(`${domain.sid}-${account.rid}`);
    if (before) expect(account.sid).toBe(before.sid); // reuse keeps the account, hence its RID
    if (v.inOu) expect(account.dn.toLowerCase()).toBe(`cn=${v.machineName},${ouDn}`.toLowerCase());

    expect(f.dc.name).toBe(`\\\\${domain.dcDnsHostName}`);
    expect(f.dc.address).toBe(`\\\\${dc.dcIp}`);
    expect(f.dc.addressType).toBe(1); // DS_INET_ADDRESS
    expect(f.dc.domainGuid).toBe(domain.guid);
    expect(f.dc.domainName).toBe(domain.dnsDomainName);
    expect(f.dc.forestName).toBe(domain.forestName);
    expect(f.dc.dcSiteName).toBe(domain.dcSiteName);
    expect(f.dc.dcSiteName).toBe(ping.dcSiteName);
    expect(f.dc.clientSiteName).toBe(ping.clientSiteName);
    // Every flag the DC advertises in its ping, plus the three DNS flags of a DNS-named answer.
    // (Over TCP Samba advertises fewer DS_* bits than in the CLDAP answer DsRGetDCName uses.)
    expect((f.dc.flags & ping.flags) >>> 0).toBe(ping.flags);
    const dnsFlags = (DS_DNS_CONTROLLER_FLAG | DS_DNS_DOMAIN_FLAG | DS_DNS_FOREST_FLAG) >>> 0;
    expect((f.dc.flags & dnsFlags) >>> 0).toBe(dnsFlags);

    // Samba's layout: a WIN7 blob, then an OP_PACKAGE with JOIN_PROVIDER (essential) and JOIN_PROVIDER3.
    expect(parsed.blobFormats).toEqual([1, 2]);
    expect(parsed.parts.map((p) => [p.name, p.flags])).toEqual([
      ['JOIN_PROVIDER', 1],
      ['JOIN_PROVIDER3', 0],
    ]);
    // Samba writes 6 whatever the provisioning options (peers.md).
    expect(f.options).toBe(6);
    expect(f.joinProvider2).toBeUndefined();
    expect(f.certificates).toBeUndefined();
    expect(f.policies).toBeUndefined();
    if (v.defpwd) expect(f.machinePassword).toBe(v.machineName); // Samba 4.17: the name as given
    expect(f.machinePassword.length).toBeGreaterThan(0);
    if (beforePkg) {
      // reuse: the same account (RID), a new password
      const old = parsePackage(beforePkg.fileForm).facts;
      expect(old.rid).toBe(f.rid);
      expect(old.machinePassword === f.machinePassword).toBe(false);
    }
  });

  it("re-encodes to Samba's bytes exactly, and builds them again from the facts", () => {
    const { pkg } = get();
    const parsed = parsePackage(pkg.fileForm);
    expect(Buffer.from(encodeProvisionData(parsed.tree)).equals(pkg.binary)).toBe(true);
    expect(Buffer.from(buildPackage(parsed.facts)).equals(pkg.binary)).toBe(true);
    expect(packageToText(pkg.binary)).toBe(pkg.text);
    expect(Buffer.from(packageToFileForm(pkg.binary)).equals(pkg.fileForm)).toBe(true);
  });

  it("holds the account's current password: the KDC accepts it", async () => {
    const { pkg } = get();
    const { machinePassword } = parsePackage(pkg.fileForm).facts;
    expect(await kinitWithPassword(`${v.machineName}$@${testDc().realm}`, machinePassword)).toBe(true);
  });

  it('joins: Samba as the client takes our re-encoded package and testjoin says the join is OK', async () => {
    const { pkg } = get();
    const ours = packageToFileForm(buildPackage(parsePackage(pkg.fileForm).facts));
    const join = await requestOdjAndTestJoin(Buffer.from(ours), v.machineName);
    expect(join.joined, join.output).toBe(true);
    // testjoin does not look at these: compare what the joined machine kept with the directory.
    expect(join.stored).toEqual({ domainSid: domain.sid, domainGuid: domain.guid });
  });
});

describe('our rebuild of a Samba package', () => {
  it('Samba, as the joining machine, accepts it with JOIN_PROVIDER2, CERT and POLICY parts added', async () => {
    const v = variants.find((x) => x.inOu)!;
    const p = produced.get(v.label);
    if (!p) throw new Error(`no package for ${v.label}`);
    const facts = parsePackage(p.pkg.fileForm).facts; // its password is the account's current one
    const ours = buildPackage({ ...facts, joinProvider2: { ...sampleJoinProvider2, netbiosName: v.machineName }, certificates: sampleCertificates, policies: samplePolicies });
    const joined = await requestOdjAndTestJoin(Buffer.from(ours), v.machineName);
    expect(joined.joined, joined.output).toBe(true);
  });
});
