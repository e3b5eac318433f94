// The public API: the Pulumi resource, the provisioning library (LDAP and native backends),
// unattend.xml rendering, the package codec, and the shared types and errors.
export { OfflineJoinPackage, type OfflineJoinPackageArgs } from './resource/resource';
export { provision, provisionMany, readAccount, deleteAccount, LdapBackend, type BatchOutcome } from './directory/backend';
export { openSession, type DirectorySession } from './directory/session';
export { closePool, IDLE_MS } from './directory/pool';
export { DISCOVERY_TTL_MS, forgetDomains } from './directory/borrow';
export { checkParams, validateParams, type ParamsCheck, type ValidatedParams } from './params/validation';
export { optionBits, optionsFromBits, ProvisionOptionBits } from './options';
export { inspectAccount, readIssuedFacts, rebuildPackage, moveAccountInto, type LiveAccount } from './directory/backend';
export { updateAccount, type IssuedPackage, type UpdateRequest, type UpdateOutcome } from './directory/update';
export { planSteps, accountStatus, guardPackageStep, ALLOW_RESET_INPUT, type UpdateStep, type UpdatePlan, type AccountStatus } from './account/lifecycle';
export { NetapiBackend, type NetapiBackendOptions } from './netapi';
export { locateDc, orderSrv, srvName, type LocateOptions, type LocatedDc, type DcAttempt, type DcCandidate } from './directory/locator';
export { backendFor, resolveBackendChoice, backendChoices, type BackendChoice } from './backend-choice';
export { renderUnattendXml, renderUnattendXmlText, type UnattendArchitecture, type UnattendOptions } from './unattend';
export type { PackageInputs, PackageOutputs } from './resource/state';
export { configKeys, envKeys } from './resource/state';
export * from './backend';
export * from './errors';
// The one rule on what may be touched, for callers that want to check an object themselves.
export { whatItIs, UacBits, DELETABLE_CHILD_CLASSES, type ObjectKind } from './account/safety';
export * from './odj';
export { summarizeSst, describeSst, describePolicyValue, type CertificateSummary, type SstSummary } from './odj/content-view';
