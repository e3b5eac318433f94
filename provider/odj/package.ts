// The package a person deals in: build one from facts (the way Windows and Samba lay it out),
// parse one from any of its forms back into facts plus the full decoded tree.

import { PackageFormatError } from './errors';
import { certificateFacts, joinProvider2Facts, packageFactMembers, policyListFacts, viewOf, win7Facts, type Viewed } from './fact-map';
import type { PackageFacts } from './facts';
import { decodeStructure, encodeStructure } from './ndr';
import {
  ODJ_WIN7_FORMAT, ODJ_WIN8_FORMAT, OPSPI_PACKAGE_PART_ESSENTIAL, PartTypes, S_ODJ_PROVISION_DATA,
  type OdjBlob, type OdjProvisionData, type OdjWin7Blob, type OpPackage, type OpPackagePart, type OpPartContent,
  type PartContentOf, type PartTypeName,
} from './structures';
import { withRedactedFace } from './redaction';
import { packageBinaryFrom } from './text';

/** Where the body of the outermost object starts: semantic errors point there. */
const BODY_OFFSET = 16;

export function encodeProvisionData(tree: OdjProvisionData): Uint8Array {
  return encodeStructure(S_ODJ_PROVISION_DATA, tree);
}

/** The binary form only; parsePackage() also accepts the text and file forms. */
export function decodeProvisionData(bytes: Uint8Array): OdjProvisionData {
  return decodeStructure(S_ODJ_PROVISION_DATA, bytes);
}

// ---- build ----------------------------------------------------------------------------------

function part(type: string, flags: number, content: OpPartContent): OpPackagePart {
  return { PartType: type, ulFlags: flags, Part: { pBlob: content } };
}

/** The decoded tree buildPackage() encodes: exposed so callers and tests can inspect or adjust it. */
export function provisionDataFromFacts(facts: PackageFacts): OdjProvisionData {
  if (typeof facts !== 'object' || facts === null || typeof facts.domainInfo !== 'object' || typeof facts.dc !== 'object'
    || facts.domainInfo === null || facts.dc === null) {
    throw new PackageFormatError(-1, 'package facts with domainInfo and dc objects');
  }
  const win7 = win7Facts.write(facts);
  const sidText = facts.domainInfo.sid === null ? null : `${facts.domainInfo.sid}-${facts.rid}`;
  // Samba's order: the JOIN_PROVIDER part (essential), then JOIN_PROVIDER3. The optional parts are
  // placed in the order their GUIDs are documented; no producer on hand shows Windows' order.
  const parts: OpPackagePart[] = [part(PartTypes.JOIN_PROVIDER, OPSPI_PACKAGE_PART_ESSENTIAL, win7)];
  if (facts.joinProvider2) parts.push(part(PartTypes.JOIN_PROVIDER2, 0, joinProvider2Facts.write(facts.joinProvider2)));
  parts.push(part(PartTypes.JOIN_PROVIDER3, 0, { Rid: facts.rid, lpSid: sidText }));
  if (facts.certificates) parts.push(part(PartTypes.CERT_PROVIDER, 0, certificateFacts.write(facts.certificates)));
  if (facts.policies) {
    const lists = facts.policies.map((l) => policyListFacts.write(l));
    parts.push(part(PartTypes.POLICY_PROVIDER, 0, { pElementLists: lists.length ? lists : null }));
  }
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

/** The decoded content of the first part of this type; undefined when absent (or kept as bytes). */
function content<K extends PartTypeName>(parts: OpPackagePart[], name: K): PartContentOf<K> | undefined {
  const p = parts.find((x) => x.PartType === PartTypes[name]);
  // The decoder chose the structure by this part type (structures.ts), so the content has its shape.
  return p && isObject(p.Part.pBlob) ? (p.Part.pBlob as PartContentOf<K>) : undefined;
}

function win7Of(blobs: OdjBlob[], parts: OpPackagePart[]): OdjWin7Blob {
  const blob = blobs.find((b) => b.ulODJFormat === ODJ_WIN7_FORMAT && isObject(b.pBlob));
  const win7 = (blob?.pBlob as OdjWin7Blob | undefined) ?? content(parts, 'JOIN_PROVIDER');
  if (!win7) throw new PackageFormatError(BODY_OFFSET, 'an ODJ_WIN7BLOB (a format 1 blob or a JOIN_PROVIDER part)');
  return win7;
}

function factsOf(tree: OdjProvisionData): { facts: PackageFacts; accountSid: string | null } {
  const parts = packageParts(tree);
  const jp3 = content(parts, 'JOIN_PROVIDER3');
  const facts: PackageFacts = { ...win7Facts.read(win7Of(tree.pBlobs ?? [], parts)), rid: jp3?.Rid ?? 0 };
  const jp2 = content(parts, 'JOIN_PROVIDER2');
  if (jp2) facts.joinProvider2 = joinProvider2Facts.read(jp2);
  const cert = content(parts, 'CERT_PROVIDER');
  if (cert) facts.certificates = certificateFacts.read(cert);
  const policy = content(parts, 'POLICY_PROVIDER');
  if (policy) facts.policies = (policy.pElementLists ?? []).map((l) => policyListFacts.read(l));
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
  /** Show the secret members (machine password, PFX bytes). Only when a person asked for them explicitly. */
  showSecrets?: boolean;
}

/** JSON-friendly view of a package: bytes as base64, secrets replaced unless asked for. */
export interface PackageView extends Viewed<PackageFacts> {
  accountSid: string | null;
  blobFormats: number[];
  parts: PackagePartInfo[];
}

/** The view of a package; which facts are secret comes from the `secret` marks in structures.ts. */
export function redactPackage(parsed: ParsedPackage, options: RedactOptions = {}): PackageView {
  const { domain, machineName, machinePassword, rid, options: bits, domainInfo, dc, ...optional } =
    viewOf(packageFactMembers, parsed.facts, options.showSecrets === true);
  return {
    domain, machineName, machinePassword, accountSid: parsed.accountSid, rid, options: bits, domainInfo, dc,
    blobFormats: [...parsed.blobFormats], parts: parsed.parts.map((p) => ({ ...p })), ...optional,
  };
}
