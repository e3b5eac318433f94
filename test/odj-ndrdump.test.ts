// Samba's ndrdump, an independent decoder of the ODJ IDL, reads everything we encode: it decodes
// without error or unread bytes, and with --validate its own re-encoding equals our bytes. Its
// print-out must also show the values we put in.
import { describe, expect, it } from 'vitest';
import {
  buildPackage, encodeProvisionData, encodeStructure, parsePackage, provisionDataFromFacts, serialized, ODJ_WIN7BLOB,
  OP_PACKAGE_PART, PartTypes, S_OP_CERT_PART, S_OP_JOINPROV2_PART, S_OP_JOINPROV3_PART,
  S_OP_PACKAGE, S_OP_PACKAGE_PART_COLLECTION, S_OP_POLICY_PART,
  type OdjWin7Blob, type OpPackage, type OpPackagePartCollection, type PackageFacts,
} from '../provider/odj';
import { ndrdump } from './support/peers';
import { sampleCertificates, sampleFacts, sampleJoinProvider2, samplePolicies } from './odj-samples';

/** Every value ndrdump printed for a member name, e.g. `lpMachineName : 'X'` gives `'X'`
 *  (a pointer prints `*` on its own line before its referent: those lines are skipped). */
function printed(output: string, member: string): string[] {
  const re = new RegExp(`^\\s*${member}\\s+: (.*)$`, 'gm');
  return [...output.matchAll(re)].map((m) => m[1].trim()).filter((v) => v !== '*');
}

const hex8 = (n: number): string => `0x${n.toString(16).padStart(8, '0')} (${n})`;

async function accepted(structName: string, bytes: Uint8Array): Promise<string> {
  const r = await ndrdump(structName, bytes, { validate: true });
  expect(r.ok, `ndrdump ${structName} --validate:\n${r.output.slice(-2000)}`).toBe(true);
  expect(r.output).toMatch(/push returned Success/);
  return r.output;
}

function checkCommonFields(out: string, f: PackageFacts): void {
  // The WIN7 blob appears twice: as blob 1 and as the JOIN_PROVIDER part.
  expect(printed(out, 'lpMachineName')).toEqual([`'${f.machineName}'`, `'${f.machineName}'`]);
  expect(printed(out, 'lpDomain')).toEqual([`'${f.domain}'`, `'${f.domain}'`]);
  expect(printed(out, 'lpMachinePassword')).toEqual(['<REDACTED SECRET VALUE>', '<REDACTED SECRET VALUE>']);
  expect(printed(out, '_pad')).toEqual([hex8(0xffffffff), hex8(0xffffffff)]);
  expect(printed(out, 'Sid')).toEqual([f.domainInfo.sid, f.domainInfo.sid]);
  expect(printed(out, 'dc_unc')).toEqual([`'${f.dc.name}'`, `'${f.dc.name}'`]);
  expect(printed(out, 'domain_guid')).toEqual([f.dc.domainGuid, f.dc.domainGuid]);
  expect(printed(out, 'dc_flags')).toEqual([hex8(f.dc.flags), hex8(f.dc.flags)]);
  expect(printed(out, 'Options')).toEqual([hex8(f.options), hex8(f.options)]);
  expect(printed(out, 'Rid')).toEqual([hex8(f.rid)]);
  expect(printed(out, 'lpSid')).toEqual([`'${f.domainInfo.sid}-${f.rid}'`]);
  expect(printed(out, 'ulODJFormat')).toEqual(['ODJ_WIN7_FORMAT (1)', 'ODJ_WIN8_FORMAT (2)']);
  expect(printed(out, 'EncryptionType')).toEqual(['00000000-0000-0000-0000-000000000000']);
}

describe('ndrdump accepts the packages we build', () => {
  it('a plain package (JOIN_PROVIDER and JOIN_PROVIDER3), with the fields we wrote', async () => {
    const f = sampleFacts();
    const out = await accepted('ODJ_PROVISION_DATA_serialized_ptr', buildPackage(f));
    checkCommonFields(out, f);
    expect(printed(out, 'PartType')).toEqual([PartTypes.JOIN_PROVIDER, PartTypes.JOIN_PROVIDER3]);
    expect(printed(out, 'ulFlags')).toEqual([hex8(1), hex8(0)]);
  });

  it('a package with JOIN_PROVIDER2, CERT_PROVIDER and POLICY_PROVIDER parts', async () => {
    const f = sampleFacts({ joinProvider2: sampleJoinProvider2, certificates: sampleCertificates, policies: samplePolicies });
    const out = await accepted('ODJ_PROVISION_DATA_serialized_ptr', buildPackage(f));
    checkCommonFields(out, f);
    expect(printed(out, 'PartType')).toEqual([
      PartTypes.JOIN_PROVIDER, PartTypes.JOIN_PROVIDER2, PartTypes.JOIN_PROVIDER3, PartTypes.CERT_PROVIDER, PartTypes.POLICY_PROVIDER,
    ]);
    expect(printed(out, 'lpNetbiosName')).toEqual([`'${sampleJoinProvider2.netbiosName}'`]);
    expect(printed(out, 'lpSiteName')).toEqual([`'${sampleJoinProvider2.siteName}'`]);
    expect(printed(out, 'lpPrimaryDNSDomain')).toEqual([`'${sampleJoinProvider2.primaryDnsDomain}'`]);
    expect(printed(out, 'pTemplateName')).toEqual(["'Machine'"]);
    expect(printed(out, 'cbPfx')).toEqual([hex8(301)]);
    expect(printed(out, 'pStoreName')).toEqual(["'Root'", 'NULL']);
    expect(printed(out, 'cbSst')).toEqual([hex8(77), hex8(0)]);
    expect(printed(out, 'pSource')).toEqual([`'${samplePolicies[0].source}'`, 'NULL']);
    expect(printed(out, 'pKeyPath')).toEqual(samplePolicies[0].elements.map((e) => `'${e.keyPath}'`));
    expect(printed(out, 'pValueName')).toEqual(["'EnableSmartScreen'", 'NULL']);
    expect(printed(out, 'cElements')).toEqual([hex8(2), hex8(0)]);
    // and our own decoder reads back what we built
    const back = parsePackage(buildPackage(f)).facts;
    expect(back.joinProvider2).toEqual(f.joinProvider2);
    expect(back.policies).toEqual(f.policies);
    expect(back.certificates?.sstStores).toEqual(f.certificates?.sstStores);
    expect(back.certificates?.pfxStores[0].templateName).toBe('Machine');
  });

  it('each nested structure on its own, in its serialized_ptr form', async () => {
    const f = sampleFacts({ joinProvider2: sampleJoinProvider2, certificates: sampleCertificates, policies: samplePolicies });
    const tree = provisionDataFromFacts(f);
    const pkg = tree.pBlobs![1].pBlob as OpPackage;
    const collection = pkg.WrappedPartCollection.pBlob as OpPackagePartCollection;
    const parts = collection.pParts!;
    const win7 = parts[0].Part.pBlob as OdjWin7Blob;

    await accepted('OP_PACKAGE_serialized_ptr', encodeStructure(S_OP_PACKAGE, pkg));
    const coll = await accepted('OP_PACKAGE_PART_COLLECTION_serialized_ptr', encodeStructure(S_OP_PACKAGE_PART_COLLECTION, collection));
    expect(printed(coll, 'cParts')).toEqual([hex8(5)]);
    for (const p of parts) await accepted('OP_PACKAGE_PART_serialized_ptr', encodeStructure(serialized(OP_PACKAGE_PART, true), p));
    // In a package the WIN7 blob has no top-level pointer; ndrdump knows only the pointer form.
    const w7 = await accepted('ODJ_WIN7BLOB_serialized_ptr', encodeStructure(serialized(ODJ_WIN7BLOB, true), win7));
    expect(printed(w7, 'lpMachineName')).toEqual([`'${f.machineName}'`]);
    const jp2 = await accepted('OP_JOINPROV2_PART_serialized_ptr', encodeStructure(S_OP_JOINPROV2_PART, parts[1].Part.pBlob));
    expect(printed(jp2, 'dwFlags')).toEqual([hex8(1)]);
    const jp3 = await accepted('OP_JOINPROV3_PART_serialized_ptr', encodeStructure(S_OP_JOINPROV3_PART, parts[2].Part.pBlob));
    expect(printed(jp3, 'Rid')).toEqual([hex8(f.rid)]);
    await accepted('OP_CERT_PART_serialized_ptr', encodeStructure(S_OP_CERT_PART, parts[3].Part.pBlob));
    await accepted('OP_POLICY_PART_serialized_ptr', encodeStructure(S_OP_POLICY_PART, parts[4].Part.pBlob));
  });

  it('edge values: NULL and empty strings, no domain SID, empty part lists', async () => {
    const f = sampleFacts({
      machinePassword: '',
      domainInfo: { ...sampleFacts().domainInfo, sid: null, name: '' },
      dc: { ...sampleFacts().dc, dcSiteName: null, clientSiteName: '' },
      certificates: { pfxStores: [], sstStores: [] },
      policies: [],
      joinProvider2: { flags: 0, netbiosName: null, siteName: '', primaryDnsDomain: null },
    });
    const out = await accepted('ODJ_PROVISION_DATA_serialized_ptr', buildPackage(f));
    expect(printed(out, 'dc_site_name')).toEqual(['NULL', 'NULL']);
    expect(printed(out, 'lpSid')).toEqual(['NULL']);
    expect(printed(out, 'Sid')).toEqual(['NULL', 'NULL']);
  });

  it('the check can fail: truncated NDR, and bytes ndrdump would encode differently', async () => {
    const bytes = buildPackage(sampleFacts());
    const r = await ndrdump('ODJ_PROVISION_DATA_serialized_ptr', bytes.subarray(0, bytes.length - 40), { validate: true });
    expect(r.ok).toBe(false);
    // ndrdump exits 0 and prints "dump OK" even when its re-encoding differs; only its WARNING
    // lines tell, and the runner treats them as failure.
    const tree = provisionDataFromFacts(sampleFacts());
    (tree.pBlobs![0].pBlob as OdjWin7Blob).Quirk = 0x12345678;
    const differs = await ndrdump('ODJ_PROVISION_DATA_serialized_ptr', encodeProvisionData(tree), { validate: true });
    expect(differs.output).toMatch(/dump OK/);
    expect(differs.output).toMatch(/WARNING! orig and validated differ/);
    expect(differs.ok).toBe(false);
  });
});
