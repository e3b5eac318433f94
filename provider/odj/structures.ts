// Every structure of Microsoft's published offline domain join IDL ("odj-idl"), plus
// DOMAIN_CONTROLLER_INFOW from dsgetdc.h, declared once as data for the NDR engine (ndr.ts).
// Member names are the IDL's. The TypeScript type of each structure is inferred from its
// declaration (Infer<>, at the end of this file); counts derived from their array and members with
// a default are optional on encode, and always present when decoded. A member marked `secret` (as
// Samba's IDL marks lpMachinePassword NDR_SECRET; we mark pPfx too) is redacted in every view of a
// package (fact-map.ts, redactPackage).

import {
  type Infer, type Obj, type Serialized, enum32, fixedBytes, guid, passedContent, ptr, serialized, sizedArrayPtr,
  sizedBytesPtr, struct, tailArray, u16, u32, u8, wchars, wstring,
} from './ndr';
import { isGuid, normalizeGuid, ZERO_GUID } from './ids';

// ---- part types and blob formats ------------------------------------------------------------

export const ODJ_WIN7_FORMAT = 1;
export const ODJ_WIN8_FORMAT = 2;

export const PartTypes = {
  JOIN_PROVIDER: '631c7621-5289-4321-bc9e-80f843f868c3',
  JOIN_PROVIDER2: '57bfc56b-52f9-480c-adcb-91b3f8a82317',
  JOIN_PROVIDER3: 'fc0ccf25-7ffa-474a-8611-69ffe269645f',
  CERT_PROVIDER: '9c0971e9-832f-4873-8e87-ef1419d4781e',
  POLICY_PROVIDER: '68fb602a-0c09-48ce-b75f-07b7bd58f7ec',
} as const;
export type PartTypeName = keyof typeof PartTypes;

/** OPSPI_PACKAGE_PART_ESSENTIAL: the consumer must understand the part. */
export const OPSPI_PACKAGE_PART_ESSENTIAL = 0x1;
/** OP_JP2_FLAG_PERSISTENTSITE */
export const OP_JP2_FLAG_PERSISTENTSITE = 0x1;

// ---- declarations ---------------------------------------------------------------------------

/** Default MaximumLength of a UNICODE_STRING: room for the terminator, as Windows and Samba write. */
const defaultMaximumLength = (self: Obj): number =>
  typeof self.Buffer === 'string' ? (self.Buffer.length + 1) * 2 : 0;

export const ODJ_UNICODE_STRING = struct('ODJ_UNICODE_STRING', [
  { name: 'Length', type: u16 },
  { name: 'MaximumLength', type: u16, default: defaultMaximumLength },
  { name: 'Buffer', type: ptr(wchars('MaximumLength', 'Length', 2)) },
]);

/** Conformant: SubAuthority's size is written before the structure. */
export const ODJ_SID = struct('ODJ_SID', [
  { name: 'Revision', type: u8 },
  { name: 'SubAuthorityCount', type: u8 },
  { name: 'IdentifierAuthority', type: fixedBytes(6) },
  { name: 'SubAuthority', type: tailArray(u32, 'SubAuthorityCount') },
]);

export const ODJ_POLICY_DNS_DOMAIN_INFO = struct('ODJ_POLICY_DNS_DOMAIN_INFO', [
  { name: 'Name', type: ODJ_UNICODE_STRING },
  { name: 'DnsDomainName', type: ODJ_UNICODE_STRING },
  { name: 'DnsForestName', type: ODJ_UNICODE_STRING },
  { name: 'DomainGuid', type: guid },
  { name: 'Sid', type: ptr(ODJ_SID) },
]);

/** dsgetdc.h */
export const DOMAIN_CONTROLLER_INFOW = struct('DOMAIN_CONTROLLER_INFOW', [
  { name: 'DomainControllerName', type: ptr(wstring) },
  { name: 'DomainControllerAddress', type: ptr(wstring) },
  { name: 'DomainControllerAddressType', type: u32 },
  { name: 'DomainGuid', type: guid },
  { name: 'DomainName', type: ptr(wstring) },
  { name: 'DnsForestName', type: ptr(wstring) },
  { name: 'Flags', type: u32 },
  { name: 'DcSiteName', type: ptr(wstring) },
  { name: 'ClientSiteName', type: ptr(wstring) },
]);

/** Samba writes FFFFFFFF there; its authors found Windows rejects 0. */
const WIN7BLOB_QUIRK_DEFAULT = 0xffffffff;

export const ODJ_WIN7BLOB = struct('ODJ_WIN7BLOB', [
  { name: 'lpDomain', type: ptr(wstring) },
  { name: 'lpMachineName', type: ptr(wstring) },
  { name: 'lpMachinePassword', type: ptr(wstring), secret: true },
  // Not in the published IDL: 4 bytes that Windows and Samba both write here, with nothing
  // deferred behind them. Kept as read (Windows writes a pointer-like value) so re-encoding is exact.
  { name: 'Quirk', type: u32, default: () => WIN7BLOB_QUIRK_DEFAULT },
  { name: 'DnsDomainInfo', type: ODJ_POLICY_DNS_DOMAIN_INFO },
  { name: 'DcInfo', type: DOMAIN_CONTROLLER_INFOW },
  { name: 'Options', type: u32 },
]);

export const OP_JOINPROV2_PART = struct('OP_JOINPROV2_PART', [
  { name: 'dwFlags', type: u32 },
  { name: 'lpNetbiosName', type: ptr(wstring) },
  { name: 'lpSiteName', type: ptr(wstring) },
  { name: 'lpPrimaryDNSDomain', type: ptr(wstring) },
  { name: 'dwReserved', type: u32, default: () => 0 },
  { name: 'lpReserved', type: ptr(wstring), default: () => null },
]);

export const OP_JOINPROV3_PART = struct('OP_JOINPROV3_PART', [
  { name: 'Rid', type: u32 },
  { name: 'lpSid', type: ptr(wstring) },
]);

/** Published, but no part type GUID is published for it: usable on its own, never chosen by GUID. */
export const OP_JOINPROV4_PART = struct('OP_JOINPROV4_PART', [
  { name: 'Rid', type: u32 },
  { name: 'lpSid', type: ptr(wstring) },
  { name: 'ObjectGuid', type: guid },
]);

export const OP_POLICY_ELEMENT = struct('OP_POLICY_ELEMENT', [
  { name: 'pKeyPath', type: ptr(wstring) },
  { name: 'pValueName', type: ptr(wstring) },
  { name: 'ulValueType', type: enum32('REG_TYPE') },
  { name: 'cbValueData', type: u32 },
  { name: 'pValueData', type: sizedBytesPtr('cbValueData') },
]);

export const OP_POLICY_ELEMENT_LIST = struct('OP_POLICY_ELEMENT_LIST', [
  { name: 'pSource', type: ptr(wstring) },
  { name: 'ulRootKeyId', type: u32 },
  { name: 'cElements', type: u32 },
  { name: 'pElements', type: sizedArrayPtr(OP_POLICY_ELEMENT, 'cElements') },
]);

/** OP_BLOB holding a serialized C: what it holds, when known, the enclosing member passes down as `arg`. */
const opBlob = <C extends Serialized = never>() => struct('OP_BLOB', [
  { name: 'cbBlob', type: u32 },
  { name: 'pBlob', type: sizedBytesPtr('cbBlob', passedContent<C>()), pass: (_s, arg) => arg },
]);
/** OP_BLOB: bytes, in the members where nothing is known about what they hold. */
export const OP_BLOB = opBlob();

export const OP_POLICY_PART = struct('OP_POLICY_PART', [
  { name: 'cElementLists', type: u32 },
  { name: 'pElementLists', type: sizedArrayPtr(OP_POLICY_ELEMENT_LIST, 'cElementLists') },
  { name: 'Extension', type: OP_BLOB, default: emptyBlob },
]);

export const OP_CERT_PFX_STORE = struct('OP_CERT_PFX_STORE', [
  { name: 'pTemplateName', type: ptr(wstring) },
  { name: 'ulPrivateKeyExportPolicy', type: u32 },
  { name: 'pPolicyServerUrl', type: ptr(wstring) },
  { name: 'ulPolicyServerUrlFlags', type: u32 },
  { name: 'pPolicyServerId', type: ptr(wstring) },
  { name: 'cbPfx', type: u32 },
  { name: 'pPfx', type: sizedBytesPtr('cbPfx'), secret: true }, // holds a private key
]);

export const OP_CERT_SST_STORE = struct('OP_CERT_SST_STORE', [
  { name: 'StoreLocation', type: u32 },
  { name: 'pStoreName', type: ptr(wstring) },
  { name: 'cbSst', type: u32 },
  { name: 'pSst', type: sizedBytesPtr('cbSst') },
]);

export const OP_CERT_PART = struct('OP_CERT_PART', [
  { name: 'cPfxStores', type: u32 },
  { name: 'pPfxStores', type: sizedArrayPtr(OP_CERT_PFX_STORE, 'cPfxStores') },
  { name: 'cSstStores', type: u32 },
  { name: 'pSstStores', type: sizedArrayPtr(OP_CERT_SST_STORE, 'cSstStores') },
  { name: 'Extension', type: OP_BLOB, default: emptyBlob },
]);

// Serialized forms: which nested objects carry a top-level unique pointer (see odj-format.md).
export const S_ODJ_WIN7BLOB = serialized(ODJ_WIN7BLOB, false);
export const S_OP_JOINPROV2_PART = serialized(OP_JOINPROV2_PART, true);
export const S_OP_JOINPROV3_PART = serialized(OP_JOINPROV3_PART, true);
export const S_OP_JOINPROV4_PART = serialized(OP_JOINPROV4_PART, true);
export const S_OP_CERT_PART = serialized(OP_CERT_PART, true);
export const S_OP_POLICY_PART = serialized(OP_POLICY_PART, true);

/** The structure each known part type holds. */
const partContents = {
  JOIN_PROVIDER: S_ODJ_WIN7BLOB,
  JOIN_PROVIDER2: S_OP_JOINPROV2_PART,
  JOIN_PROVIDER3: S_OP_JOINPROV3_PART,
  CERT_PROVIDER: S_OP_CERT_PART,
  POLICY_PROVIDER: S_OP_POLICY_PART,
} satisfies Record<PartTypeName, Serialized>;
type PartContent = (typeof partContents)[PartTypeName];
/** The decoded content of a part of type K. */
export type PartContentOf<K extends PartTypeName> = Infer<(typeof partContents)[K]>;
const partContent = new Map<string, PartContent>(
  Object.entries(partContents).map(([name, s]) => [PartTypes[name as PartTypeName], s]),
);

/** The structure a part of this type holds, or null for a type we do not know (kept as bytes). */
function partContentFor(partType: unknown): PartContent | null {
  return isGuid(partType) ? partContent.get(normalizeGuid(partType)) ?? null : null;
}

export const OP_PACKAGE_PART = struct('OP_PACKAGE_PART', [
  { name: 'PartType', type: guid },
  { name: 'ulFlags', type: u32 },
  { name: 'Part', type: opBlob<PartContent>(), pass: (self) => partContentFor(self.PartType) },
  { name: 'Extension', type: OP_BLOB, default: emptyBlob },
]);

export const OP_PACKAGE_PART_COLLECTION = struct('OP_PACKAGE_PART_COLLECTION', [
  { name: 'cParts', type: u32 },
  { name: 'pParts', type: sizedArrayPtr(OP_PACKAGE_PART, 'cParts') },
  { name: 'Extension', type: OP_BLOB, default: emptyBlob },
]);
export const S_OP_PACKAGE_PART_COLLECTION = serialized(OP_PACKAGE_PART_COLLECTION, true);

export const OP_PACKAGE = struct('OP_PACKAGE', [
  { name: 'EncryptionType', type: guid, default: () => ZERO_GUID },
  { name: 'EncryptionContext', type: OP_BLOB, default: emptyBlob },
  // Only an unencrypted collection (EncryptionType zero) can be read; otherwise it stays bytes.
  {
    name: 'WrappedPartCollection',
    type: opBlob<typeof S_OP_PACKAGE_PART_COLLECTION>(),
    pass: (self) =>
      isGuid(self.EncryptionType) && normalizeGuid(self.EncryptionType) === ZERO_GUID ? S_OP_PACKAGE_PART_COLLECTION : null,
  },
  { name: 'cbDecryptedPartCollection', type: u32, default: () => 0 },
  { name: 'Extension', type: OP_BLOB, default: emptyBlob },
]);
export const S_OP_PACKAGE = serialized(OP_PACKAGE, true);

type BlobContent = typeof S_ODJ_WIN7BLOB | typeof S_OP_PACKAGE;
const blobContent = new Map<number, BlobContent>([
  [ODJ_WIN7_FORMAT, S_ODJ_WIN7BLOB],
  [ODJ_WIN8_FORMAT, S_OP_PACKAGE],
]);

export const ODJ_BLOB = struct('ODJ_BLOB', [
  { name: 'ulODJFormat', type: enum32('ODJFormat') },
  { name: 'cbBlob', type: u32 },
  {
    name: 'pBlob',
    type: sizedBytesPtr('cbBlob', passedContent<BlobContent>()),
    pass: (self) => blobContent.get(self.ulODJFormat as number) ?? null,
  },
]);

export const ODJ_PROVISION_DATA = struct('ODJ_PROVISION_DATA', [
  { name: 'ulVersion', type: u32, default: () => 1 },
  { name: 'ulcBlobs', type: u32 },
  { name: 'pBlobs', type: sizedArrayPtr(ODJ_BLOB, 'ulcBlobs') },
]);
export const S_ODJ_PROVISION_DATA = serialized(ODJ_PROVISION_DATA, true);

function emptyBlob(): OpBlob {
  return { cbBlob: 0, pBlob: null };
}

// ---- decoded value shapes, inferred from the declarations -------------------------------------

export type OdjUnicodeString = Infer<typeof ODJ_UNICODE_STRING>;
export type OdjSid = Infer<typeof ODJ_SID>;
export type OdjPolicyDnsDomainInfo = Infer<typeof ODJ_POLICY_DNS_DOMAIN_INFO>;
export type DomainControllerInfoW = Infer<typeof DOMAIN_CONTROLLER_INFOW>;
export type OdjWin7Blob = Infer<typeof ODJ_WIN7BLOB>;
/** An OP_BLOB whose bytes hold a serialized C when its kind is known, else raw bytes. */
export type OpBlob<C extends Serialized = never> = Infer<ReturnType<typeof opBlob<C>>>;
export type OpJoinProv2Part = Infer<typeof OP_JOINPROV2_PART>;
export type OpJoinProv3Part = Infer<typeof OP_JOINPROV3_PART>;
export type OpJoinProv4Part = Infer<typeof OP_JOINPROV4_PART>;
export type OpPolicyElement = Infer<typeof OP_POLICY_ELEMENT>;
export type OpPolicyElementList = Infer<typeof OP_POLICY_ELEMENT_LIST>;
export type OpPolicyPart = Infer<typeof OP_POLICY_PART>;
export type OpCertPfxStore = Infer<typeof OP_CERT_PFX_STORE>;
export type OpCertSstStore = Infer<typeof OP_CERT_SST_STORE>;
export type OpCertPart = Infer<typeof OP_CERT_PART>;
export type OpPartContent = Infer<PartContent>;
export type OpPackagePart = Infer<typeof OP_PACKAGE_PART>;
export type OpPackagePartCollection = Infer<typeof OP_PACKAGE_PART_COLLECTION>;
export type OpPackage = Infer<typeof OP_PACKAGE>;
export type OdjBlob = Infer<typeof ODJ_BLOB>;
export type OdjProvisionData = Infer<typeof ODJ_PROVISION_DATA>;
