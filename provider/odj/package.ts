// The package a person deals in: build one from facts (the way Windows and Samba lay it out),
// parse one from any of its forms back into facts plus the full decoded tree.

import { PackageFormatError } from './errors';
import type {
  CertificateParts, DomainControllerInfo, JoinProvider2, PackageFacts, PolicyElementList,
} from './facts';
import { decodeTop, encodeSerialized, normalizeGuid } from './ndr';
import { sidFromString, sidToString } from './sid';
import {
  ODJ_WIN7_FORMAT, ODJ_WIN8_FORMAT, OPSPI_PACKAGE_PART_ESSENTIAL, PartTypes, S_ODJ_PROVISION_DATA,
  type OdjBlob, type OdjProvisionData, type OdjWin7Blob, type OpCertPart, type OpJoinProv2Part,
  type OpJoinProv3Part, type OpPackage, type OpPackagePart, type OpPolicyPart, type PartTypeName,
} from './structures';
import { REDACTED, withRedactedFace } from './redaction';
import { packageBinaryFrom } from './text';

/** Where the body of the outermost object starts: semantic errors point there. */
const BODY_OFFSET = 16;

export function encodeProvisionData(tree: OdjProvisionData): Uint8Array {
  return encodeSerialized(S_ODJ_PROVISION_DATA, tree);
}

/** The binary form only; parsePackage() also accepts the text and file forms. */
export function decodeProvisionData(bytes: Uint8Array): OdjProvisionData {
  return decodeTop(S_ODJ_PROVISION_DATA, bytes);
}

// ---- build ----------------------------------------------------------------------------------

function unicodeString(s: string): { Buffer: string } {
  return { Buffer: s };
}

function win7FromFacts(f: PackageFacts): OdjWin7Blob {
  const dc: DomainControllerInfo = f.dc;
  return {
    lpDomain: f.domain,
    lpMachineName: f.machineName,
    lpMachinePassword: f.machinePassword,
    DnsDomainInfo: {
      Name: unicodeString(f.domainInfo.name),
      DnsDomainName: unicodeString(f.domainInfo.dnsDomainName),
      DnsForestName: unicodeString(f.domainInfo.dnsForestName),
      DomainGuid: normalizeGuid(f.domainInfo.domainGuid),
      Sid: f.domainInfo.sid === null ? null : sidFromString(f.domainInfo.sid, 'domainInfo.sid'),
    },
    DcInfo: {
      DomainControllerName: dc.name,
      DomainControllerAddress: dc.address,
      DomainControllerAddressType: dc.addressType,
      DomainGuid: normalizeGuid(dc.domainGuid),
      DomainName: dc.domainName,
      DnsForestName: dc.forestName,
      Flags: dc.flags,
      DcSiteName: dc.dcSiteName,
      ClientSiteName: dc.clientSiteName,
    },
    Options: f.options,
  };
}

function part(type: string, flags: number, content: unknown): OpPackagePart {
  return { PartType: type, ulFlags: flags, Part: { pBlob: content as OpPackagePart['Part']['pBlob'] } };
}

const orNull = <T>(list: T[]): T[] | null => (list.length ? list : null);

function certPart(c: CertificateParts): OpCertPart {
  return {
    pPfxStores: orNull(c.pfxStores.map((s) => ({
      pTemplateName: s.templateName,
      ulPrivateKeyExportPolicy: s.privateKeyExportPolicy,
      pPolicyServerUrl: s.policyServerUrl,
      ulPolicyServerUrlFlags: s.policyServerUrlFlags,
      pPolicyServerId: s.policyServerId,
      pPfx: s.pfx,
    }))),
    pSstStores: orNull(c.sstStores.map((s) => ({ StoreLocation: s.storeLocation, pStoreName: s.storeName, pSst: s.sst }))),
  };
}

function policyPart(lists: PolicyElementList[]): OpPolicyPart {
  return {
    pElementLists: orNull(lists.map((l) => ({
      pSource: l.source,
      ulRootKeyId: l.rootKeyId,
      pElements: orNull(l.elements.map((e) => ({
        pKeyPath: e.keyPath,
        pValueName: e.valueName,
        ulValueType: e.valueType,
        pValueData: e.data,
      }))),
    }))),
  };
}

/** The decoded tree buildPackage() encodes: exposed so callers and tests can inspect or adjust it. */
export function provisionDataFromFacts(facts: PackageFacts): OdjProvisionData {
  if (typeof facts !== 'object' || facts === null || typeof facts.domainInfo !== 'object' || typeof facts.dc !== 'object'
    || facts.domainInfo === null || facts.dc === null) {
    throw new PackageFormatError(-1, 'package facts with domainInfo and dc objects');
  }
  const win7 = win7FromFacts(facts);
  const sidText = facts.domainInfo.sid === null ? null : `${facts.domainInfo.sid}-${facts.rid}`;
  // Samba's order: the JOIN_PROVIDER part (essential), then JOIN_PROVIDER3. The optional parts are
  // placed in the order their GUIDs are documented; no producer on hand shows Windows' order.
  const parts: OpPackagePart[] = [part(PartTypes.JOIN_PROVIDER, OPSPI_PACKAGE_PART_ESSENTIAL, win7)];
  if (facts.joinProvider2) {
    const jp2: OpJoinProv2Part = {
      dwFlags: facts.joinProvider2.flags,
      lpNetbiosName: facts.joinProvider2.netbiosName,
      lpSiteName: facts.joinProvider2.siteName,
      lpPrimaryDNSDomain: facts.joinProvider2.primaryDnsDomain,
    };
    parts.push(part(PartTypes.JOIN_PROVIDER2, 0, jp2));
  }
  const jp3: OpJoinProv3Part = { Rid: facts.rid, lpSid: sidText };
  parts.push(part(PartTypes.JOIN_PROVIDER3, 0, jp3));
  if (facts.certificates) parts.push(part(PartTypes.CERT_PROVIDER, 0, certPart(facts.certificates)));
  if (facts.policies) parts.push(part(PartTypes.POLICY_PROVIDER, 0, policyPart(facts.policies)));
  const pkg: OpPackage = { WrappedPartCollection: { pBlob: { pParts: parts } } };
  return {
    pBlobs: [
      { ulODJFormat: ODJ_WIN7_FORMAT, pBlob: win7 },
      { ulODJFormat: ODJ_WIN8_FORMAT, pBlob: pkg },
    ],
  };
}

/** The binary form of the package Windows' NetProvisionComputerAccount and Samba make from these facts. */
export function buildPackage(facts: PackageFacts): Uint8Array {
  return encodeProvisionData(provisionDataFromFacts(facts));
}

// ---- parse ----------------------------------------------------------------------------------

export interface PackagePartInfo {
  /** lower-case GUID */
  partType: string;
  /** our name for a known part type, null for an unknown one (kept as bytes) */
  name: PartTypeName | null;
  flags: number;
}

export interface ParsedPackage {
  facts: PackageFacts;
  /** OP_JOINPROV3_PART.lpSid: the account's SID; null when the package has no JOIN_PROVIDER3 part
   *  (then facts.rid is 0) */
  accountSid: string | null;
  /** blob formats in order (1 = WIN7, 2 = WIN8/OP_PACKAGE, others kept as bytes) */
  blobFormats: number[];
  /** the parts of the first OP_PACKAGE, in order; empty without one */
  parts: PackagePartInfo[];
  /** the whole decoded tree: encodeProvisionData(tree) gives the binary form back (Samba's
   *  referent ids, every other byte as read) */
  tree: OdjProvisionData;
}

const partNames = new Map<string, PartTypeName>(
  Object.entries(PartTypes).map(([k, v]) => [v, k as PartTypeName]),
);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array);
}

function packageParts(tree: OdjProvisionData): OpPackagePart[] {
  for (const blob of tree.pBlobs ?? []) {
    if (blob.ulODJFormat !== ODJ_WIN8_FORMAT || !isObject(blob.pBlob)) continue;
    const collection = (blob.pBlob as OpPackage).WrappedPartCollection.pBlob;
    if (collection && !(collection instanceof Uint8Array)) return collection.pParts ?? [];
  }
  return [];
}

function content<T>(parts: OpPackagePart[], type: string): T | undefined {
  const p = parts.find((x) => x.PartType === type);
  return p && isObject(p.Part.pBlob) ? (p.Part.pBlob as T) : undefined;
}

function win7Of(blobs: OdjBlob[], parts: OpPackagePart[]): OdjWin7Blob {
  const blob = blobs.find((b) => b.ulODJFormat === ODJ_WIN7_FORMAT && isObject(b.pBlob));
  const win7 = (blob?.pBlob as OdjWin7Blob | undefined) ?? content<OdjWin7Blob>(parts, PartTypes.JOIN_PROVIDER);
  if (!win7) throw new PackageFormatError(BODY_OFFSET, 'an ODJ_WIN7BLOB (a format 1 blob or a JOIN_PROVIDER part)');
  return win7;
}

function factsOf(tree: OdjProvisionData): { facts: PackageFacts; accountSid: string | null } {
  const parts = packageParts(tree);
  const w = win7Of(tree.pBlobs ?? [], parts);
  const d = w.DnsDomainInfo;
  const c = w.DcInfo;
  const jp3 = content<OpJoinProv3Part>(parts, PartTypes.JOIN_PROVIDER3);
  const facts: PackageFacts = {
    domain: w.lpDomain ?? '',
    machineName: w.lpMachineName ?? '',
    machinePassword: w.lpMachinePassword ?? '',
    domainInfo: {
      name: d.Name.Buffer ?? '',
      dnsDomainName: d.DnsDomainName.Buffer ?? '',
      dnsForestName: d.DnsForestName.Buffer ?? '',
      domainGuid: d.DomainGuid,
      sid: d.Sid ? sidToString(d.Sid) : null,
    },
    dc: {
      name: c.DomainControllerName ?? '',
      address: c.DomainControllerAddress ?? '',
      addressType: c.DomainControllerAddressType,
      domainGuid: c.DomainGuid,
      domainName: c.DomainName ?? '',
      forestName: c.DnsForestName ?? '',
      flags: c.Flags,
      dcSiteName: c.DcSiteName,
      clientSiteName: c.ClientSiteName,
    },
    options: w.Options,
    rid: jp3?.Rid ?? 0,
  };
  const jp2 = content<OpJoinProv2Part>(parts, PartTypes.JOIN_PROVIDER2);
  if (jp2) {
    const v: JoinProvider2 = {
      flags: jp2.dwFlags,
      netbiosName: jp2.lpNetbiosName,
      siteName: jp2.lpSiteName,
      primaryDnsDomain: jp2.lpPrimaryDNSDomain,
    };
    facts.joinProvider2 = v;
  }
  const cert = content<OpCertPart>(parts, PartTypes.CERT_PROVIDER);
  if (cert) {
    facts.certificates = {
      pfxStores: (cert.pPfxStores ?? []).map((s) => ({
        templateName: s.pTemplateName,
        privateKeyExportPolicy: s.ulPrivateKeyExportPolicy,
        policyServerUrl: s.pPolicyServerUrl,
        policyServerUrlFlags: s.ulPolicyServerUrlFlags,
        policyServerId: s.pPolicyServerId,
        pfx: s.pPfx ?? new Uint8Array(0),
      })),
      sstStores: (cert.pSstStores ?? []).map((s) => ({
        storeLocation: s.StoreLocation,
        storeName: s.pStoreName,
        sst: s.pSst ?? new Uint8Array(0),
      })),
    };
  }
  const policy = content<OpPolicyPart>(parts, PartTypes.POLICY_PROVIDER);
  if (policy) {
    facts.policies = (policy.pElementLists ?? []).map((l) => ({
      source: l.pSource,
      rootKeyId: l.ulRootKeyId,
      elements: (l.pElements ?? []).map((e) => ({
        keyPath: e.pKeyPath ?? '',
        valueName: e.pValueName,
        valueType: e.ulValueType,
        data: e.pValueData ?? new Uint8Array(0),
      })),
    }));
  }
  return { facts, accountSid: jp3?.lpSid ?? null };
}

/**
 * Reads a package in binary, text (base64) or file form (UTF-16LE, with or without BOM and NUL).
 * Throws PackageFormatError for anything malformed. Logging the result shows the redacted view.
 */
export function parsePackage(input: Uint8Array | string): ParsedPackage {
  const tree = decodeProvisionData(packageBinaryFrom(input));
  const { facts, accountSid } = factsOf(tree);
  const parsed: ParsedPackage = {
    facts,
    accountSid,
    blobFormats: (tree.pBlobs ?? []).map((b) => b.ulODJFormat),
    parts: packageParts(tree).map((p) => ({ partType: p.PartType, name: partNames.get(p.PartType) ?? null, flags: p.ulFlags })),
    tree,
  };
  // A package holds a password: printing or serializing the object gives the redacted view.
  return withRedactedFace(parsed, () => redactPackage(parsed));
}

// ---- redacted view --------------------------------------------------------------------------

export interface RedactOptions {
  /** Show the machine password and PFX bytes. Only when a person asked for them explicitly. */
  showSecrets?: boolean;
}

/** JSON-friendly view of a package: bytes as base64, secrets replaced unless asked for. */
export interface PackageView {
  domain: string;
  machineName: string;
  machinePassword: string;
  accountSid: string | null;
  rid: number;
  options: number;
  domainInfo: PackageFacts['domainInfo'];
  dc: DomainControllerInfo;
  blobFormats: number[];
  parts: PackagePartInfo[];
  joinProvider2?: JoinProvider2;
  certificates?: {
    pfxStores: (Omit<CertificateParts['pfxStores'][number], 'pfx'> & { pfx: string })[];
    sstStores: (Omit<CertificateParts['sstStores'][number], 'sst'> & { sst: string })[];
  };
  policies?: (Omit<PolicyElementList, 'elements'> & {
    elements: (Omit<PolicyElementList['elements'][number], 'data'> & { data: string })[];
  })[];
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

export function redactPackage(parsed: ParsedPackage, options: RedactOptions = {}): PackageView {
  const show = options.showSecrets === true;
  const f = parsed.facts;
  const view: PackageView = {
    domain: f.domain,
    machineName: f.machineName,
    machinePassword: show ? f.machinePassword : REDACTED,
    accountSid: parsed.accountSid,
    rid: f.rid,
    options: f.options,
    domainInfo: { ...f.domainInfo },
    dc: { ...f.dc },
    blobFormats: [...parsed.blobFormats],
    parts: parsed.parts.map((p) => ({ ...p })),
  };
  if (f.joinProvider2) view.joinProvider2 = { ...f.joinProvider2 };
  if (f.certificates) {
    view.certificates = {
      pfxStores: f.certificates.pfxStores.map((s) => ({ ...s, pfx: show ? b64(s.pfx) : `${REDACTED} (${s.pfx.length} bytes)` })),
      sstStores: f.certificates.sstStores.map((s) => ({ ...s, sst: b64(s.sst) })),
    };
  }
  if (f.policies) {
    view.policies = f.policies.map((l) => ({ ...l, elements: l.elements.map((e) => ({ ...e, data: b64(e.data) })) }));
  }
  return view;
}
