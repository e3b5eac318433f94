// The wire format of offline domain join packages: build, parse, text and file forms, and the
// NDR codec underneath. No I/O here.
//
// Limits: a package is at most MAX_PACKAGE_BYTES (16 MiB) in binary form, its text at most
// MAX_PACKAGE_TEXT_CHARS; serialized objects nest at most MAX_NESTING deep. Every count is checked
// against the bytes that remain before anything is allocated, so decoding time and memory grow
// linearly with the input. All bad input raises PackageFormatError (offset, expected).

export { PackageFormatError } from './errors';
export type * from './facts';
export {
  buildPackage, parsePackage, redactPackage, provisionDataFromFacts, encodeProvisionData, decodeProvisionData,
  type ParsedPackage, type PackagePartInfo, type PackageView, type RedactOptions,
} from './package';
export { REDACTED } from './redaction';
export { packageToText, packageToFileForm, packageBinaryFrom, MAX_PACKAGE_TEXT_CHARS } from './text';
export { MAX_PACKAGE_BYTES, MAX_NESTING, encodeStructure, decodeStructure, serialized, type Serialized } from './ndr';
export { sidFromString, sidToString, isSidString } from './sid';
export * from './structures';
export {
  decodeSst, encodeSst, sstCertificates, SerializedStoreError, CERT_SYSTEM_STORE_LOCAL_MACHINE, SstContextPropIds,
  type SstEntry, type SstProperty, type SstContextKind,
} from './sst';
export {
  parseRegistryPol, encodeRegistryPol, describeRegistryValue, regTypeName, RegistryPolError, RegTypes, HKEY_LOCAL_MACHINE,
  type RegistryPolEntry,
} from './registry-pol';
export { validatePfx, pfxBytesFrom, PfxFormatError, MAX_PFX_BYTES, type PfxSummary } from './pfx';
