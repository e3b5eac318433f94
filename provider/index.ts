// The public API: the Pulumi resource, unattend.xml rendering, the package codec, and the shared
// types and errors.
export { OfflineJoinPackage, type OfflineJoinPackageArgs } from './resource';
export { renderUnattendXml, renderUnattendXmlText, type UnattendArchitecture, type UnattendOptions } from './unattend';
export type { PackageInputs, PackageOutputs } from './resource-state';
export { configKeys, envKeys } from './resource-state';
export * from './backend';
export * from './errors';
export * from './odj';
