// The package API beyond the wire: the redacted view, packages without the WIN8 blob, the layout
// buildPackage chooses, and what it refuses.
import { inspect } from 'node:util';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  buildPackage, decodeStructure, encodeProvisionData, encodeStructure, OP_CERT_SST_STORE, PackageFormatError, parsePackage,
  PartTypes, provisionDataFromFacts, redactPackage, REDACTED, S_OP_JOINPROV4_PART, type OpCertPart, type OpPackage,
  type OpPackagePartCollection, type PackageFacts,
} from '../provider/odj';
import * as odj from '../provider/odj';
import type { StructType } from '../provider/odj/ndr';
import { sampleCertificates, sampleFacts, sampleJoinProvider2, samplePolicies } from './odj-samples';

describe('the package API', () => {
  it('the redacted view hides the password and PFX bytes unless asked, and shows the rest', () => {
    const f = sampleFacts({ certificates: sampleCertificates, policies: samplePolicies, joinProvider2: sampleJoinProvider2 });
    const parsed = parsePackage(buildPackage(f));
    const view = redactPackage(parsed);
    expect(view.machinePassword).toBe(REDACTED);
    expect(view.certificates?.pfxStores[0].pfx).toBe(`${REDACTED} (301 bytes)`);
    expect(view.certificates?.sstStores[0].sst).toBe(Buffer.from(sampleCertificates.sstStores[0].sst).toString('base64'));
    expect(view.policies?.[0].elements[0].data).toBe('AQAAAA==');
    expect(view.joinProvider2).toEqual(sampleJoinProvider2);
    expect(view.parts.map((p) => p.name)).toEqual(['JOIN_PROVIDER', 'JOIN_PROVIDER2', 'JOIN_PROVIDER3', 'CERT_PROVIDER', 'POLICY_PROVIDER']);
    const pfxBase64 = Buffer.from(sampleCertificates.pfxStores[0].pfx).toString('base64');
    for (const shown of [JSON.stringify(view), JSON.stringify(parsed), inspect(parsed, { depth: 20 })]) {
      expect(shown.includes(f.machinePassword)).toBe(false);
      expect(shown.includes(pfxBase64)).toBe(false);
    }
    const open = redactPackage(parsed, { showSecrets: true });
    expect(open.machinePassword === f.machinePassword).toBe(true);
    expect(open.certificates?.pfxStores[0].pfx === pfxBase64).toBe(true);
  });

  it('hides exactly the members the declarations mark secret (NDR_SECRET), and nothing else', () => {
    const marked = (Object.values(odj) as unknown[])
      .filter((v): v is StructType => typeof v === 'object' && v !== null && (v as StructType).kind === 'struct')
      .flatMap((s) => s.fields.filter((f) => f.secret).map((f) => `${s.name}.${f.name}`));
    expect(marked.sort()).toEqual(['ODJ_WIN7BLOB.lpMachinePassword', 'OP_CERT_PFX_STORE.pPfx']);
    const parsed = parsePackage(buildPackage(sampleFacts({ certificates: sampleCertificates, policies: samplePolicies, joinProvider2: sampleJoinProvider2 })));
    const hidden = redactPackage(parsed);
    const open = redactPackage(parsed, { showSecrets: true });
    const differing = (a: unknown, b: unknown, path: string): string[] =>
      typeof a === 'object' && a !== null && typeof b === 'object' && b !== null
        ? Object.keys({ ...a, ...b }).flatMap((k) => differing((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k))
        : a === b ? [] : [path];
    expect(differing(hidden, open, '')).toEqual(['machinePassword', 'certificates.pfxStores.0.pfx']);
  });

  it('a decoded structure has the shape its declaration infers: every member, defaults and derived counts filled in', () => {
    const tree = parsePackage(buildPackage(sampleFacts({ certificates: sampleCertificates }))).tree;
    const parts = ((tree.pBlobs![1].pBlob as OpPackage).WrappedPartCollection.pBlob as OpPackagePartCollection).pParts!;
    const cert = parts.find((p) => p.PartType === PartTypes.CERT_PROVIDER)!.Part.pBlob as OpCertPart;
    const store = cert.pSstStores![0];
    // the types are checked by tsc -p tsconfig.test.json; the values here
    expectTypeOf(store).toEqualTypeOf<{ StoreLocation: number; pStoreName: string | null; cbSst?: number; pSst: Uint8Array | null }>();
    expect(Object.keys(store)).toEqual(OP_CERT_SST_STORE.fields.map((f) => f.name));
    expect(store.cbSst).toBe(store.pSst!.length);
    const jp4 = { Rid: 7, lpSid: 'S-1-5-21-1-2-3-7', ObjectGuid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0' };
    const decoded = decodeStructure(S_OP_JOINPROV4_PART, encodeStructure(S_OP_JOINPROV4_PART, jp4));
    expectTypeOf(decoded).toEqualTypeOf<{ Rid: number; lpSid: string | null; ObjectGuid: string }>();
    expect(decoded).toEqual(jp4);
    expect(cert.Extension).toEqual({ cbBlob: 0, pBlob: null });
  });

  it('the unencrypted OP_PACKAGE holds the same WIN7 blob as blob 1, flagged essential', () => {
    const tree = provisionDataFromFacts(sampleFacts());
    expect(tree.pBlobs?.map((b) => b.ulODJFormat)).toEqual([1, 2]);
    const pkg = parsePackage(encodeProvisionData(tree)).tree.pBlobs![1].pBlob as OpPackage;
    expect(pkg.EncryptionType).toBe('00000000-0000-0000-0000-000000000000');
    expect(pkg.EncryptionContext).toEqual({ cbBlob: 0, pBlob: null });
    expect(pkg.cbDecryptedPartCollection).toBe(0);
    const parts = (pkg.WrappedPartCollection.pBlob as OpPackagePartCollection).pParts!;
    expect(parts.map((p) => [p.PartType, p.ulFlags])).toEqual([[PartTypes.JOIN_PROVIDER, 1], [PartTypes.JOIN_PROVIDER3, 0]]);
    const blob1 = parsePackage(encodeProvisionData(tree)).tree.pBlobs![0].pBlob;
    expect(parts[0].Part.pBlob).toEqual(blob1);
  });

  it('a package with only the WIN7 blob (as Windows 7 made them) still gives its facts', () => {
    const tree = provisionDataFromFacts(sampleFacts());
    tree.pBlobs = tree.pBlobs!.slice(0, 1);
    const parsed = parsePackage(encodeProvisionData(tree));
    expect(parsed.facts.machineName).toBe(sampleFacts().machineName);
    expect(parsed.facts.rid).toBe(0);
    expect(parsed.accountSid).toBeNull();
    expect(parsed.parts).toEqual([]);
  });

  it('the JOIN_PROVIDER part alone is enough when there is no format 1 blob', () => {
    const tree = provisionDataFromFacts(sampleFacts());
    tree.pBlobs = tree.pBlobs!.slice(1);
    const parsed = parsePackage(encodeProvisionData(tree));
    expect(parsed.facts.domainInfo).toEqual(sampleFacts().domainInfo);
    expect(parsed.facts.rid).toBe(1234);
  });

  it('refuses facts without their parts, with a PackageFormatError', () => {
    expect(() => buildPackage({} as PackageFacts)).toThrow(PackageFormatError);
    expect(() => buildPackage({ ...sampleFacts(), dc: null } as unknown as PackageFacts)).toThrow(/domainInfo and dc/);
  });
});
