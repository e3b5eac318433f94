// Round-trip properties over generated values (seeded, so a failure names its replayable seed):
// facts → package → facts; trees with unknown parts and formats, NULL pointers, raw blobs and odd
// strings → bytes → the same tree → the same bytes; and ndrdump agrees on a sample of them.
import { describe, expect, it } from 'vitest';
import {
  buildPackage, decodeProvisionData, decodeStructure, encodeProvisionData, encodeStructure, parsePackage,
  PartTypes, S_OP_JOINPROV4_PART, type OdjBlob, type OdjProvisionData, type OdjWin7Blob,
  type OpPackagePart, type PackageFacts,
} from '../provider/odj';
import { ndrdump } from './support/peers';
import { Prng } from './odj-samples';

const SEEDS = 300;

function guid(r: Prng): string {
  const h = (n: number): string => Array.from({ length: n }, () => r.int(16).toString(16)).join('');
  return `${h(8)}-${h(4)}-${h(4)}-${h(4)}-${h(12)}`;
}

function sid(r: Prng): string {
  const subs = Array.from({ length: 1 + r.int(5) }, () => r.next());
  return `S-1-${r.pick([5, 0, 1, 16, 2 ** 40])}-${subs.join('-')}`;
}

function randomFacts(r: Prng): PackageFacts {
  const f: PackageFacts = {
    domain: r.string(),
    machineName: r.string(15),
    machinePassword: r.string(120),
    domainInfo: {
      name: r.string(15),
      dnsDomainName: r.string(),
      dnsForestName: r.string(),
      domainGuid: guid(r),
      sid: r.chance(0.2) ? null : sid(r),
    },
    dc: {
      name: r.string(),
      address: r.string(),
      addressType: r.pick([1, 2]),
      domainGuid: guid(r),
      domainName: r.string(),
      forestName: r.string(),
      flags: r.next(),
      dcSiteName: r.maybeString(),
      clientSiteName: r.maybeString(),
    },
    options: r.next(),
    rid: r.next(),
  };
  if (r.chance(0.4)) {
    f.joinProvider2 = { flags: r.int(4), netbiosName: r.maybeString(15), siteName: r.maybeString(), primaryDnsDomain: r.maybeString() };
  }
  if (r.chance(0.4)) {
    f.certificates = {
      pfxStores: Array.from({ length: r.int(4) }, () => ({
        templateName: r.maybeString(),
        privateKeyExportPolicy: r.next(),
        policyServerUrl: r.maybeString(),
        policyServerUrlFlags: r.next(),
        policyServerId: r.maybeString(),
        pfx: r.bytes(300),
      })),
      sstStores: Array.from({ length: r.int(4) }, () => ({ storeLocation: r.next(), storeName: r.maybeString(), sst: r.bytes(100) })),
    };
  }
  if (r.chance(0.4)) {
    f.policies = Array.from({ length: r.int(4) }, () => ({
      source: r.maybeString(),
      rootKeyId: r.next(),
      elements: Array.from({ length: r.int(6) }, () => ({
        keyPath: r.string(),
        valueName: r.maybeString(),
        valueType: r.int(12),
        data: r.bytes(40),
      })),
    }));
  }
  return f;
}

/** A string that also holds lone surrogates and NULs: code units must survive as they are. */
function rawString(r: Prng): string {
  let s = r.string(10);
  if (r.chance(0.3)) s += String.fromCharCode(0xd800 + r.int(0x800));
  if (r.chance(0.2)) s = `\u0000${s}`;
  return s;
}

function rawBlob(r: Prng): { pBlob: Uint8Array | null } {
  return { pBlob: r.chance(0.3) ? null : r.bytes(64) };
}

/** A tree beyond what buildPackage makes: unknown parts and formats, NULLs, raw blobs, odd strings. */
function randomTree(r: Prng): OdjProvisionData {
  const win7 = (): OdjWin7Blob => ({
    lpDomain: r.chance(0.2) ? null : rawString(r),
    lpMachineName: r.chance(0.2) ? null : rawString(r),
    lpMachinePassword: r.chance(0.2) ? null : rawString(r),
    Quirk: r.next(),
    DnsDomainInfo: {
      // MaximumLength is free (at least Length): keep what was given
      Name: { Buffer: rawString(r), MaximumLength: 2 * (40 + r.int(10)) },
      DnsDomainName: r.chance(0.3) ? { Buffer: null, MaximumLength: 2 * r.int(5) } : { Buffer: rawString(r) },
      DnsForestName: { Buffer: '' },
      DomainGuid: guid(r),
      Sid: r.chance(0.3) ? null : { Revision: r.int(256), IdentifierAuthority: Uint8Array.from({ length: 6 }, () => r.int(256)), SubAuthority: Array.from({ length: r.int(16) }, () => r.next()) },
    },
    DcInfo: {
      DomainControllerName: r.chance(0.3) ? null : rawString(r),
      DomainControllerAddress: r.chance(0.3) ? null : rawString(r),
      DomainControllerAddressType: r.next(),
      DomainGuid: guid(r),
      DomainName: r.chance(0.3) ? null : rawString(r),
      DnsForestName: r.chance(0.3) ? null : rawString(r),
      Flags: r.next(),
      DcSiteName: r.chance(0.3) ? null : rawString(r),
      ClientSiteName: r.chance(0.3) ? null : rawString(r),
    },
    Options: r.next(),
  });
  const part = (): OpPackagePart => {
    switch (r.int(5)) {
      case 0: return { PartType: PartTypes.JOIN_PROVIDER, ulFlags: r.next(), Part: { pBlob: win7() }, Extension: rawBlob(r) };
      case 1: return { PartType: PartTypes.JOIN_PROVIDER3, ulFlags: r.next(), Part: { pBlob: { Rid: r.next(), lpSid: r.chance(0.3) ? null : rawString(r) } } };
      // a known part type without content
      case 2: return { PartType: PartTypes.JOIN_PROVIDER2, ulFlags: 0, Part: { pBlob: null } };
      // a known part type whose top-level pointer is NULL: kept as the bytes they are
      case 3: return { PartType: PartTypes.CERT_PROVIDER, ulFlags: 0, Part: { pBlob: Uint8Array.of(1, 0x10, 8, 0, 0xcc, 0xcc, 0xcc, 0xcc, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) } };
      default: return { PartType: guid(r), ulFlags: r.next(), Part: rawBlob(r), Extension: rawBlob(r) };
    }
  };
  const blobs: OdjBlob[] = [];
  const nBlobs = r.int(5);
  for (let i = 0; i < nBlobs; i++) {
    const kind = r.int(4);
    if (kind === 0) blobs.push({ ulODJFormat: 1, pBlob: win7() });
    else if (kind === 1) {
      blobs.push({
        ulODJFormat: 2,
        pBlob: {
          EncryptionContext: rawBlob(r),
          WrappedPartCollection: { pBlob: { pParts: r.chance(0.1) ? null : Array.from({ length: r.int(40) }, part), Extension: rawBlob(r) } },
          cbDecryptedPartCollection: r.next(),
          Extension: rawBlob(r),
        },
      });
    } else if (kind === 2) {
      // an encrypted package: the wrapped collection stays bytes
      blobs.push({ ulODJFormat: 2, pBlob: { EncryptionType: guid(r), WrappedPartCollection: rawBlob(r) } });
    } else blobs.push({ ulODJFormat: 3 + r.int(100), pBlob: r.chance(0.2) ? null : r.bytes(80) });
  }
  return { ulVersion: r.next(), pBlobs: r.chance(0.1) ? null : blobs };
}

describe('generated round trips', () => {
  it(`facts → package → the same facts, and the same bytes again (${SEEDS} seeds)`, () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const facts = randomFacts(new Prng(seed));
      const bytes = buildPackage(facts);
      const parsed = parsePackage(bytes);
      // compared field by field so a failure names the seed without printing a password
      const { machinePassword, ...rest } = parsed.facts;
      const { machinePassword: expectedPassword, ...expectedRest } = facts;
      expect(machinePassword === expectedPassword, `seed ${seed}: password`).toBe(true);
      expect(rest, `seed ${seed}`).toEqual(expectedRest);
      expect(parsed.accountSid, `seed ${seed}`).toBe(facts.domainInfo.sid === null ? null : `${facts.domainInfo.sid}-${facts.rid}`);
      expect(Buffer.compare(Buffer.from(encodeProvisionData(parsed.tree)), Buffer.from(bytes)), `seed ${seed}`).toBe(0);
    }
  });

  it(`trees with unknown parts and formats, NULLs, raw blobs, lone surrogates survive (${SEEDS} seeds)`, () => {
    let unknownParts = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const tree = randomTree(new Prng(seed));
      const bytes = encodeProvisionData(tree);
      const back = decodeProvisionData(bytes);
      expect(back, `seed ${seed}`).toMatchObject(tree as unknown as Record<string, unknown>);
      expect(Buffer.compare(Buffer.from(encodeProvisionData(back)), Buffer.from(bytes)), `seed ${seed}`).toBe(0);
      unknownParts += JSON.stringify(back, (_k, v) => (v instanceof Uint8Array ? null : v)).split('"PartType"').length - 1;
    }
    expect(unknownParts).toBeGreaterThan(SEEDS); // many parts were generated, not a vacuous run
  });

  it('OP_JOINPROV4_PART (published, no part GUID) round-trips on its own', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const r = new Prng(seed);
      const v = { Rid: r.next(), lpSid: r.chance(0.2) ? null : rawString(r), ObjectGuid: guid(r) };
      const bytes = encodeStructure(S_OP_JOINPROV4_PART, v);
      expect(decodeStructure(S_OP_JOINPROV4_PART, bytes)).toEqual(v);
    }
  });

  it('ndrdump --validate accepts packages built from generated facts', async () => {
    for (let seed = 1000; seed < 1012; seed++) {
      const r = await ndrdump('ODJ_PROVISION_DATA_serialized_ptr', buildPackage(randomFacts(new Prng(seed))), { validate: true });
      expect(r.ok, `seed ${seed}: ${r.output.slice(-1500)}`).toBe(true);
    }
  });
});
