// The certificate and policy half of NETSETUP_PROVISIONING_PARAMS, validated once (no I/O here):
// rootCaCerts, certTemplateNames with the PFX files that stand in for enrollment on the LDAP
// backend, machinePolicyNames (with sysvolRoot) and machinePolicyPaths. What comes out is what
// directory/package-content.ts fetches and turns into CERT_PROVIDER and POLICY_PROVIDER parts.
import type { CertificateRequest, ProvisioningOptions, ProvisioningParams } from '../backend';
import { ProvisioningError } from '../errors';
import { Limits } from '../limits';
import type { PfxStore } from '../odj';
import { pfxBytesFrom, PfxFormatError, validatePfx } from '../odj/pfx';
import type { Problems } from './problems';

/** What the package must carry besides the join itself. */
export interface PackageContentRequest {
  rootCaCerts: boolean;
  pfxStores: PfxStore[];
  machinePolicyNames: string[];
  machinePolicyPaths: string[];
  sysvolRoot?: string;
}

/** Bounds on caller lists (limits.ts): far above real use, far below harm. */
const MAX_ENTRIES = Limits.listEntries;
const MAX_CHARS = Limits.listEntryChars;
/** X509PrivateKeyExportFlags: XCN_NCRYPT_ALLOW_EXPORT_FLAG 1 | PLAINTEXT_EXPORT 2 | ARCHIVING 4 | PLAINTEXT_ARCHIVING 8 */
const EXPORT_POLICY_BITS = 0x0f;
/** PolicyServerUrlFlags: PsfLocationGroupPolicy 1 | PsfLocationRegistry 2 | PsfUseClientId 4 | PsfAutoEnrollmentEnabled 16 | PsfAllowUnTrustedCA 32 */
const POLICY_SERVER_URL_FLAG_BITS = 0x37;

const invalid = (field: string, rule: string): ProvisioningError => new ProvisioningError('ERROR_INVALID_PARAMETER', rule, { field });

function stringList(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.trim() === '')) throw invalid(field, 'must be a list of non-empty strings');
  if (v.length > MAX_ENTRIES) throw invalid(field, `may hold at most ${MAX_ENTRIES} entries`);
  const long = v.findIndex((x: string) => x.length > MAX_CHARS || x.includes('\0'));
  if (long >= 0) throw invalid(field, `entry ${long} must be at most ${MAX_CHARS} characters without NUL`);
  return v as string[];
}

function optionalString(v: unknown, field: string): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || v.length > MAX_CHARS || v.includes('\0')) throw invalid(field, `must be a string of at most ${MAX_CHARS} characters`);
  return v;
}

function flags(v: unknown, field: string, allowed: number, name: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || (v & ~allowed) !== 0) {
    throw invalid(field, `must be a combination of the ${name} bits (0x${allowed.toString(16)})`);
  }
  return v;
}

function pfxStore(c: CertificateRequest, i: number): PfxStore {
  const f = `certificates[${i}]`;
  if (c === null || typeof c !== 'object') throw invalid(f, 'must be { templateName, pfx, … }');
  if (typeof c.templateName !== 'string' || c.templateName.trim() === '' || c.templateName.length > MAX_CHARS) {
    throw invalid(`${f}.templateName`, 'is required: the certificate template the PFX was issued from');
  }
  if (c.pfx === undefined || c.pfx === null || (typeof c.pfx !== 'string' && !(c.pfx instanceof Uint8Array))) {
    throw invalid(`${f}.pfx`, 'is required: the PKCS#12 file, as bytes or base64 text');
  }
  let pfx: Uint8Array;
  try {
    pfx = pfxBytesFrom(c.pfx);
    validatePfx(pfx);
  } catch (e) {
    // PfxFormatError messages carry offsets only, never PFX content.
    if (e instanceof PfxFormatError) throw new ProvisioningError('ERROR_INVALID_PARAMETER', e.message, { field: `${f}.pfx` });
    throw e;
  }
  return {
    templateName: c.templateName,
    privateKeyExportPolicy: flags(c.privateKeyExportPolicy, `${f}.privateKeyExportPolicy`, EXPORT_POLICY_BITS, 'X509PrivateKeyExportFlags'),
    policyServerUrl: optionalString(c.policyServerUrl, `${f}.policyServerUrl`),
    policyServerUrlFlags: flags(c.policyServerUrlFlags, `${f}.policyServerUrlFlags`, POLICY_SERVER_URL_FLAG_BITS, 'PolicyServerUrlFlags'),
    policyServerId: optionalString(c.policyServerId, `${f}.policyServerId`),
    pfx,
  };
}

/**
 * Check the certificate and policy params; each violation goes to `problems`. A backend that cannot
 * enroll (the LDAP backend) needs, for every certTemplateNames entry, a `certificates` entry with a
 * PFX for that template; a template without one is ERROR_NOT_SUPPORTED saying so. Returns null
 * when the package carries neither.
 */
export function checkContentParams(params: ProvisioningParams, options: ProvisioningOptions, problems: Problems, enrolls = false): PackageContentRequest | null {
  const templates = problems.check(() => stringList(params.certTemplateNames, 'certTemplateNames'));
  const machinePolicyNames = problems.check(() => stringList(params.machinePolicyNames, 'machinePolicyNames')) ?? [];
  const machinePolicyPaths = problems.check(() => stringList(params.machinePolicyPaths, 'machinePolicyPaths')) ?? [];
  const certs = problems.check(() => certificateList(params.certificates)) ?? [];
  const pfxStores = certs.map((c, i) => problems.check(() => pfxStore(c, i)));
  const stores = pfxStores.filter((s): s is PfxStore => s !== undefined);
  // Templates are judged against the PFX files given for them: with those at fault, not at all.
  if (!enrolls && templates && stores.length === pfxStores.length) problems.check(() => checkTemplatesCovered(templates, stores));
  let sysvolRoot: string | undefined;
  if (params.sysvolRoot !== undefined && params.sysvolRoot !== null && params.sysvolRoot !== '') {
    sysvolRoot = problems.check(() => checkSysvolRoot(params.sysvolRoot, machinePolicyNames));
  }
  const rootCaCerts = !!options.rootCaCerts;
  if (!rootCaCerts && stores.length === 0 && machinePolicyNames.length === 0 && machinePolicyPaths.length === 0) return null;
  return { rootCaCerts, pfxStores: stores, machinePolicyNames, machinePolicyPaths, ...(sysvolRoot ? { sysvolRoot } : {}) };
}

function certificateList(certs: unknown): CertificateRequest[] {
  if (certs === undefined || certs === null) return [];
  if (!Array.isArray(certs)) throw invalid('certificates', 'must be a list of { templateName, pfx, … }');
  if (certs.length > MAX_ENTRIES) throw invalid('certificates', `may hold at most ${MAX_ENTRIES} entries`);
  return certs as CertificateRequest[];
}

function checkTemplatesCovered(templates: string[], stores: PfxStore[]): void {
  const covered = new Set(stores.map((s) => s.templateName!.toLowerCase()));
  const missing = templates.findIndex((t) => !covered.has(t.toLowerCase()));
  if (missing < 0) return;
  throw new ProvisioningError(
    'ERROR_NOT_SUPPORTED',
    `the LDAP backend cannot enroll a certificate from template "${templates[missing]}" (only Windows enrolls, when the package is made with NetProvisionComputerAccount); ` +
      'give a PFX issued from that template in certificates[] with the same templateName, or use the Windows backend',
    { field: 'certTemplateNames' },
  );
}

function checkSysvolRoot(v: unknown, machinePolicyNames: string[]): string {
  if (typeof v !== 'string' || v.length > MAX_CHARS || v.includes('\0')) throw invalid('sysvolRoot', 'must be a directory path');
  if (machinePolicyNames.length === 0) throw invalid('sysvolRoot', 'is only used with machinePolicyNames');
  return v;
}
