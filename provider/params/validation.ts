// The core's check of NetCreateProvisioningPackage's parameters, for every backend and face: each
// violation names the field and the rule; the OU comes back re-escaped, the option bits named.
import type { ProvisioningOptions, ProvisioningParams } from '../backend';
import { DnSyntaxError, domainToDn, formatDn, isDnWithin, parseDn } from './dn';
import { Limits } from '../limits';
import { ProvisioningError } from '../errors';
import { checkContentParams, type PackageContentRequest } from './content';
import { Problems } from './problems';
import { optionBits, ProvisionOptionBits } from '../options';
import type { JoinProvider2 } from '../odj';

/**
 * ODJ_WIN7BLOB.Options. Microsoft's IDL page says "must be set to zero"; Samba writes 6 with a
 * comment that Windows Server 2019 "always sets 6"; the Windows Server 2019 package in our test
 * vectors, made with the default-password option alone, carries 4 = NETSETUP_PROVISION_USE_DEFAULT_PASSWORD.
 * So Windows writes the dwProvisionOptions of the call (Samba's 6 is what a reuse + default
 * password call gives). We do what Windows does: the caller's documented option bits. Samba's
 * consumer ignores the field, so joins work either way; this keeps our packages telling the truth.
 */
export function win7Options(options: ProvisioningOptions = {}): number {
  return optionBits(options);
}

export const invalid = (field: string, rule: string): ProvisioningError => new ProvisioningError('ERROR_INVALID_PARAMETER', rule, { field });

const DNS_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

function isDnsName(name: string): boolean {
  const n = name.replace(/\.$/, '');
  return n.length > 0 && n.length <= Limits.dnsNameChars && n.split('.').every((l) => DNS_LABEL.test(l));
}

/** A computer name both NetBIOS and DNS accept: 1–15 letters, digits and inner hyphens, not all
 *  digits. Stricter than NetBIOS alone on purpose: the name becomes a DNS host name and SPNs too. */
export function checkMachineName(name: unknown, field = 'machineName'): string {
  if (typeof name !== 'string' || name.length === 0) throw invalid(field, 'is required');
  // NAME$ is the account's sAMAccountName; the computer name is NAME.
  if (/^[A-Za-z0-9-]{1,15}\$$/.test(name)) throw invalid(field, `is the computer's name without the $ of its account name: ${name.slice(0, -1)}, not ${name}`);
  if (name.length > Limits.machineNameChars) throw invalid(field, `must be at most ${Limits.machineNameChars} characters (a NetBIOS computer name)`);
  if (!DNS_LABEL.test(name)) throw invalid(field, 'may hold only ASCII letters, digits and inner hyphens');
  if (/^[0-9]+$/.test(name)) throw invalid(field, 'must not be all digits');
  return name;
}

/** An OU DN holds containers only (OU, CN, DC), one attribute per RDN, bounded (limits.ts), no
 *  control characters: anything else is not where computer accounts go, and may be an injection. */
function checkOuRdns(ou: ReturnType<typeof parseDn>): void {
  if (ou.length > Limits.ouDnRdns) throw invalid('machineAccountOU', `must have at most ${Limits.ouDnRdns} components`);
  for (const rdn of ou) {
    if (rdn.length !== 1) throw invalid('machineAccountOU', "must not use multi-valued RDNs ('+')");
    const [{ type, value }] = rdn;
    if (!/^(OU|CN|DC)$/i.test(type)) throw invalid('machineAccountOU', `may name only OU=, CN= and DC= components, not ${type.slice(0, 20)}=`);
    if (value === '' || value.length > Limits.rdnValueChars) throw invalid('machineAccountOU', `component values must be 1 to ${Limits.rdnValueChars} characters`);
    if (/[\u0000-\u001f\u007f]/.test(value)) throw invalid('machineAccountOU', 'must not contain control characters');
  }
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** ownerTag: any non-empty text up to Limits.ownerTagChars; only its hash reaches the directory. */
function checkOwnerTag(tag: unknown): string | undefined {
  if (tag === undefined || tag === null) return undefined;
  if (typeof tag !== 'string' || tag.length === 0 || tag.length > Limits.ownerTagChars) {
    throw invalid('ownerTag', `must be a string of 1 to ${Limits.ownerTagChars} characters`);
  }
  return tag;
}

/** machineAccountOU checked (a DN inside the domain, containers only, bounded) and re-escaped:
 *  what goes on the wire is the DN as we parsed it, never the caller's text, which a server might
 *  parse differently from us. */
export function checkOu(raw: unknown, domain: string): string {
  if (typeof raw !== 'string') throw invalid('machineAccountOU', 'must be a DN');
  if (raw.length > Limits.ouDnChars) throw invalid('machineAccountOU', `must be at most ${Limits.ouDnChars} characters`);
  // A lone surrogate would silently become U+FFFD on the way to UTF-8: another DN than the one given.
  if (LONE_SURROGATE.test(raw)) throw invalid('machineAccountOU', 'is not well-formed Unicode');
  let ou;
  try {
    ou = parseDn(raw);
  } catch (e) {
    if (e instanceof DnSyntaxError) throw invalid('machineAccountOU', `is not a valid DN (${e.message})`);
    throw e;
  }
  if (domain.includes('.')) {
    const base = parseDn(domainToDn(domain));
    if (ou.length <= base.length || !isDnWithin(ou, base)) throw invalid('machineAccountOU', `must be a full DN inside the domain (ending in ${domainToDn(domain)})`);
  }
  checkOuRdns(ou);
  return formatDn(ou);
}

/** Where to provision: the domain, and the DC when one is named. */
export interface DomainRequest {
  domain: string;
  dcName?: string;
  /** without url and dcName, the locator asks this site's DCs first (the new machine's site: its
   *  first logon finds the account there without waiting for replication) */
  site?: string;
}

/** One machine, validated. */
export interface AccountRequest {
  machineName: string;
  machineAccountOU?: string;
  reuseAccount: boolean;
  /** with reuse: clear ACCOUNTDISABLE (otherwise a disabled account stays disabled) */
  enableAccount?: boolean;
  useDefaultPassword: boolean;
  skipAccountSearch: boolean;
  /** the value for ODJ_WIN7BLOB.Options */
  win7Options: number;
  joinProvider2?: JoinProvider2;
  /** ties the account to its caller (a Pulumi resource passes its URN): written as a hashed marker
   *  on create, and an account carrying it that we created is adopted by a retry (ownership.ts) */
  ownerTag?: string;
  /** certificates and policies the package carries */
  content?: PackageContentRequest;
}

export interface ValidatedParams {
  domain: DomainRequest;
  account: AccountRequest;
  options: ProvisioningOptions;
}

export interface ParamsCheck {
  /** every violation, in the order the rules run; empty when `value` is set */
  problems: ProvisioningError[];
  value?: ValidatedParams;
}

export interface CheckScope {
  /** the backend enrolls certificates from certTemplateNames itself (Windows' NetApi) */
  enrolls?: boolean;
}

/** Check params as NetCreateProvisioningPackage documents them, for every backend: each violation
 *  is ERROR_INVALID_PARAMETER (or ERROR_NOT_SUPPORTED for what is not done) naming the field, and
 *  all of them are reported. */
export function checkParams(params: ProvisioningParams, scope: CheckScope = {}): ParamsCheck {
  const p = new Problems();
  if (params === null || typeof params !== 'object') {
    p.check(() => {
      throw invalid('params', 'is required');
    });
    return { problems: p.list };
  }
  const domain = p.check(() => checkDomain(params.domain));
  const machineName = p.check(() => checkMachineName(params.machineName));
  const options = params.options ?? {};
  for (const [k, v] of Object.entries(options)) p.check(() => checkOption(k, v));
  const dcGiven = params.dcName !== undefined && params.dcName !== null && params.dcName !== '';
  const dcName = dcGiven ? p.check(() => checkDcName(params.dcName)) : undefined;
  if (options.skipAccountSearch && !dcGiven) p.check(() => fail('options.skipAccountSearch', 'is only valid with dcName'));
  const ouGiven = params.machineAccountOU !== undefined && params.machineAccountOU !== null && params.machineAccountOU !== '';
  // Inside which domain is unknown while the domain is at fault.
  const machineAccountOU = ouGiven && domain !== undefined ? p.check(() => checkOu(params.machineAccountOU, domain)) : undefined;
  if (ouGiven && options.downlevelPrivSupport) {
    // lmjoin.h: lpMachineAccountOU is not supported with NETSETUP_PROVISION_DOWNLEVEL_PRIV_SUPPORT.
    p.check(() => {
      throw new ProvisioningError('ERROR_NOT_SUPPORTED', 'an OU cannot be combined with downlevelPrivSupport', { field: 'machineAccountOU' });
    });
  }
  const ownerTag = p.check(() => checkOwnerTag(params.ownerTag));
  if (params.enableAccount !== undefined && params.enableAccount !== null && typeof params.enableAccount !== 'boolean') p.check(() => fail('enableAccount', 'must be true or false'));
  // Certificates and policies: checked here, fetched after discovery (directory/package-content.ts).
  const content = checkContentParams(params, options, p, scope.enrolls);
  const joinProvider2 = checkJoinProvider2(params, options, p);
  if (p.list.length > 0 || domain === undefined || machineName === undefined) return { problems: p.list };
  const { siteName } = params;
  const value: ValidatedParams = {
    domain: { domain, dcName, ...(typeof siteName === 'string' ? { site: siteName } : {}) },
    options,
    account: {
      machineName,
      machineAccountOU,
      reuseAccount: !!options.reuseAccount,
      enableAccount: params.enableAccount === true,
      useDefaultPassword: !!options.useDefaultPassword,
      skipAccountSearch: !!options.skipAccountSearch,
      win7Options: win7Options(options),
      ...(joinProvider2 ? { joinProvider2 } : {}),
      ...(ownerTag !== undefined ? { ownerTag } : {}),
      ...(content ? { content } : {}),
    },
  };
  return { problems: [], value };
}

/** checkParams for callers that stop at the first violation: it is thrown. */
export function validateParams(params: ProvisioningParams, scope: CheckScope = {}): ValidatedParams {
  const { problems, value } = checkParams(params, scope);
  if (!value) throw problems[0];
  return value;
}

function fail(field: string, rule: string): never {
  throw invalid(field, rule);
}

/** The domain as the core compares it: trimmed, no trailing dot; a DNS or NetBIOS domain name. */
export function checkDomain(raw: unknown): string {
  const domain = typeof raw === 'string' ? raw.trim().replace(/\.$/, '') : '';
  if (!domain) fail('domain', 'is required');
  const isNetbiosDomain = !domain.includes('.');
  if (isNetbiosDomain ? !/^[A-Za-z0-9][A-Za-z0-9-]{0,14}$/.test(domain) : !isDnsName(domain)) {
    fail('domain', 'must be a DNS domain name or a NetBIOS domain name');
  }
  return domain;
}

function checkOption(name: string, value: unknown): void {
  if (!(name in ProvisionOptionBits)) fail(`options.${name}`, 'is not a provisioning option');
  if (value !== undefined && typeof value !== 'boolean') fail(`options.${name}`, 'must be true or false');
}

/** A DC host name or IPv4 address; the UNC prefix (\\dc) djoin accepts is dropped. */
export function checkDcName(raw: unknown): string {
  const dcName = String(raw).replace(/^\\\\/, '');
  if (!isDnsName(dcName) && !/^\d{1,3}(\.\d{1,3}){3}$/.test(dcName)) fail('dcName', 'must be a DC host name or IPv4 address');
  return dcName;
}

/** OP_JOINPROV2_PART's fields (NetBIOS name, site, primary DNS domain), or undefined when none is given. */
function checkJoinProvider2(params: ProvisioningParams, options: ProvisioningOptions, p: Problems): JoinProvider2 | undefined {
  const { netbiosName, siteName, primaryDnsDomain } = params;
  if (netbiosName !== undefined && netbiosName !== null) p.check(() => checkMachineName(netbiosName, 'netbiosName'));
  // Site names are RDN values under CN=Sites; keep them to what AD's site dialog accepts.
  const siteOk = typeof siteName === 'string' && /^[A-Za-z0-9-]{1,63}$/.test(siteName);
  if (siteName !== undefined && siteName !== null && !siteOk) p.check(() => fail('siteName', 'must be 1–63 letters, digits or hyphens'));
  if (primaryDnsDomain !== undefined && primaryDnsDomain !== null && (typeof primaryDnsDomain !== 'string' || !isDnsName(primaryDnsDomain))) {
    p.check(() => fail('primaryDnsDomain', 'must be a DNS domain name'));
  }
  if (options.persistentSite && !siteOk) p.check(() => fail('options.persistentSite', 'needs siteName'));
  if (!(netbiosName || siteName || primaryDnsDomain || options.persistentSite)) return undefined;
  return {
    flags: options.persistentSite ? 1 : 0, // OP_JP2_FLAG_PERSISTENTSITE
    netbiosName: netbiosName ?? null,
    siteName: siteName ?? null,
    primaryDnsDomain: primaryDnsDomain ?? null,
  };
}
