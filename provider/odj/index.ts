// The wire format of offline domain join packages: build, parse, text and file forms, and the
// NDR codec underneath. No I/O here.

export { PackageFormatError } from './errors';
export type * from './facts';
export {
  buildPackage, parsePackage, redactPackage, provisionDataFromFacts, encodeProvisionData, decodeProvisionData,
  REDACTED, type ParsedPackage, type PackagePartInfo, type PackageView, type RedactOptions,
} from './package';
export { packageToText, packageToFileForm, packageBinaryFrom, MAX_PACKAGE_TEXT_CHARS } from './text';
export { MAX_PACKAGE_BYTES, MAX_NESTING, encodeSerialized as encodeStructure, decodeTop as decodeStructure, serialized, type Serialized } from './ndr';
export { sidFromString, sidToString, isSidString } from './sid';
export * from './structures';
