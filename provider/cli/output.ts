// How the CLI says things: errors with their Windows name and number and the flag at fault, and
// the account facts a provisioning leaves behind. Nothing here ever prints a secret.
import type { ProvisionResult } from '../backend';
import type { ProvisioningError } from '../errors';

/** Field names of ProvisioningParams/ConnectionSettings → the flag a CLI user typed. */
const FLAG_OF: Record<string, string> = {
  domain: '--domain',
  machineName: '--machine',
  machineAccountOU: '--machineou',
  dcName: '--dcname',
  netbiosName: '--netbios',
  siteName: '--psite/--dsite',
  primaryDnsDomain: '--primarydns',
  certTemplateNames: '--certtemplate',
  machinePolicyNames: '--policynames',
  machinePolicyPaths: '--policypaths',
  certificates: '--certpfx',
  sysvolRoot: '--sysvolroot',
  ownerTag: '--owner-tag',
  enableAccount: '--enable',
  savefile: '--savefile',
  'options.reuseAccount': '--reuse',
  'options.useDefaultPassword': '--defpwd',
  'options.skipAccountSearch': '--nosearch',
  'options.rootCaCerts': '--rootcacerts',
  'options.downlevelPrivSupport': '--downlevel',
  'options.persistentSite': '--psite',
  'connection.url': '--url',
  'connection.startTls': '--starttls',
  'connection.bindUser': '--user',
  'connection.bindPassword': '--password-file',
  'connection.caCerts': '--cafile',
  objectGuid: '--guid',
};

/** `NERR_UserExists (2224): machineName: … [--machine]` */
export function describeError(e: ProvisioningError): string {
  // `[3].machineName` (a batch line) and `certificates[0].pfx` (a list entry) both map by their list.
  const field = e.field?.replace(/^\[\d+\]\./, '').replace(/\[\d+\](\..*)?$/, '');
  const flag = field ? FLAG_OF[field] : undefined;
  return flag ? `${e.message} [${flag}]` : e.message;
}

/** Account and DC facts, one per line, for a person. */
export function describeResult(r: ProvisionResult, where?: string): string {
  const lines = [
    `${r.reused ? 'Reused' : 'Created'} ${r.account.samAccountName} in ${r.domain.dnsDomainName}`,
    `  account  ${r.account.distinguishedName}`,
    `  guid     ${r.account.objectGuid}`,
    `  sid      ${r.account.objectSid}`,
    `  dc       ${r.domain.dcName} (${r.domain.dcAddress})`,
  ];
  // Someone disabled the account on purpose: reusing it did not undo that, and the user must know.
  if (r.account.enabled === false) lines.push('  state    disabled: kept disabled (the machine cannot log on until it is enabled; --enable does that)');
  if (where) lines.push(`  package  ${where}`);
  return lines.join('\n') + '\n';
}

/** The same, as JSON-ready data (no package, no password). */
export function resultFacts(r: ProvisionResult, savefile?: string): Record<string, unknown> {
  return { reused: r.reused, account: r.account, domain: r.domain, ...(savefile ? { savefile } : {}), ...(r.issued ? { issued: r.issued } : {}), ...(r.warnings ? { warnings: r.warnings } : {}) };
}
