// The plain shapes the Pulumi engine stores for an OfflineJoinPackage (inputs and outputs, no
// Output wrappers), and the pure rules over them: which fields replace, which update, which only
// say how to reach the directory; where connection settings come from. No I/O except reading a CA
// file named by config or environment.
import type { AccountFacts, ConnectionSettings, DomainFacts, IssuedFacts, ProvisioningParams } from '../backend';
import { moveFields, rebuildFields, resetFields } from '../account/lifecycle';
import { dnEqual } from '../params/dn';
import { connectionEnvKeys, isTrueFlag, splitServerList } from '../connection-env';
import { readFileBounded } from '../bounded-read';
import { Limits } from '../limits';

/** The resolved inputs, as the engine hands them to the provider: the provisioning parameters and
 *  the connection settings flattened into one object (declared once, in backend.ts), plus the
 *  resource's own fields. certificates[].pfx arrives as base64 text (secret). */
export interface PackageInputs extends ProvisioningParams, ConnectionSettings {
  /** Any change to this map re-issues the package (new machine password) without other change. */
  rotationTriggers?: Record<string, string>;
  /** Set by the resource class (project/stack/type/name): marks the accounts it creates. Never a
   *  reason for a diff: it only matters between a failed create and its retry. */
  ownerTag?: string;
  /** Lets an update reset the password of an account that has logged on since its package was
   *  issued, or whose password was changed elsewhere (account/lifecycle.ts). Never a reason for a
   *  diff on its own: set it for the one update that needs it, then remove it. */
  allowPasswordResetAfterJoin?: boolean;
  /** Re-enable an account an administrator disabled, when the package is issued (create or a
   *  password reset). Without it, a disabled account stays disabled. */
  enableAccount?: boolean;
  /** Written by check: what an update with these inputs does (create, none, move, rebuild, reset,
   *  joined with '+'), so that the preview shows it. Never a reason for a diff. */
  plannedChange?: string;
}

/** What the provider returns and the engine stores as outputs. */
export interface PackageOutputs extends PackageInputs, AccountFacts {
  /** base64 package text, what unattend.xml's AccountData takes. Secret. Empty after an import. */
  packageText: string;
  domainFacts: DomainFacts | null;
  /** true when the package was made for an account that already existed */
  reused: boolean;
  /** pwdLastSet right after the password in packageText was set, and the DC that set it; absent
   *  after an import or in a state from before they were kept */
  issued?: IssuedFacts | null;
  /** Refreshed from the directory: the account's password is still the one in packageText. */
  packageCurrent?: boolean;
  /** Refreshed from the directory: the account has logged on since packageText was issued. */
  joined?: boolean;
  /** Refreshed from the directory: userAccountControl has no ACCOUNTDISABLE. */
  enabled?: boolean;
  /** 'create' (this resource made the account), 'reuse' (took it over with reuseAccount), 'import' */
  managedSince?: 'create' | 'reuse' | 'import';
  /** The owner marker this instance wrote or expects in the account's description (a hash;
   *  ownership.ts); destroy deletes only an account that still carries it or no other one. */
  ownerMarker?: string;
  /** the DC that holds the account (made it or last re-issued it): asked first by refresh,
   *  update and destroy; absent in state written before it existed (domainFacts.dcName then) */
  accountDc?: string;
}

/** A changed value here means another computer account: replace. */
const replaceFields = ['domain', 'machineName'] as const;
/** A changed value here means the same account, moved, rebuilt or reset: update in place
 *  (account/lifecycle.ts says which field does what). */
const updateFields = [...moveFields, ...rebuildFields, ...resetFields] as const;
/** How to reach the directory; a change here touches neither the account nor the package. */
export const connectionFields = ['url', 'startTls', 'bindUser', 'bindPassword', 'caCerts', 'insecureSkipTlsVerify', 'timeoutMs', 'auth', 'keytab', 'dnsServers'] as const;

const provisioningFields = [...replaceFields, ...updateFields.filter((f) => f !== 'rotationTriggers')] as const;

/** The engine's placeholder for a value not known during preview. */
export const unknownValue = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';

export function containsUnknown(v: unknown): boolean {
  if (v === unknownValue) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (v && typeof v === 'object') return Object.values(v).some(containsUnknown);
  return false;
}

/** Canonical form for comparison: absent, null, false, empty list and empty map all mean "not set"
 *  (Pulumi drops some of these on the way, and none of them changes what is provisioned). */
function canonical(v: unknown): unknown {
  if (v === undefined || v === null || v === false || v === '') return undefined;
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.map(canonical);
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      const c = canonical((v as Record<string, unknown>)[k]);
      if (c !== undefined) out[k] = c;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return v;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** Names compare without regard to case: AD does, so a case-only change is not another account. */
function sameName(a: unknown, b: unknown): boolean {
  return typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : sameValue(a, b);
}

/** The one form a DNS domain name is compared in: trimmed, no trailing dot, lower case. */
export function canonicalDomain(domain: string): string {
  return domain.trim().replace(/\.$/, '').toLowerCase();
}

/** True when the text names a domain by its NetBIOS name (no dot), which the resource refuses. */
export function isNetbiosDomainName(domain: string): boolean {
  const c = canonicalDomain(domain);
  return c !== '' && !c.includes('.');
}

/** Same domain: the canonical forms are equal, or the state says the old (NetBIOS) spelling is the
 *  new DNS name's domain (states written before NetBIOS names were refused). */
function sameDomain(olds: Partial<PackageOutputs>, news: Partial<PackageInputs>): boolean {
  const [a, b] = [olds.domain, news.domain];
  if (typeof a !== 'string' || typeof b !== 'string') return sameValue(a, b);
  if (canonicalDomain(a) === canonicalDomain(b)) return true;
  const f = olds.domainFacts;
  return !!f && canonicalDomain(a) === f.netbiosDomainName.toLowerCase() && canonicalDomain(b) === canonicalDomain(f.dnsDomainName);
}

/** OUs compare as AD compares DNs (params/dn.ts dnEqual): a respelling is no move. */
function sameOu(a: unknown, b: unknown): boolean {
  return typeof a === 'string' && typeof b === 'string' && a !== '' && b !== '' ? dnEqual(a, b) : sameValue(a, b);
}

export interface InputChanges {
  replaces: string[];
  updates: string[];
  connection: string[];
}

export function changedFields(olds: Partial<PackageOutputs>, news: Partial<PackageInputs>): InputChanges {
  const changed = (f: keyof PackageInputs, same: (a: unknown, b: unknown) => boolean) =>
    containsUnknown(news[f]) || !same(olds[f], news[f]);
  return {
    replaces: replaceFields.filter((f) => (f === 'domain' ? containsUnknown(news.domain) || !sameDomain(olds, news) : changed(f, sameName))),
    updates: updateFields.filter((f) => changed(f, f === 'machineAccountOU' ? sameOu : sameValue)),
    connection: connectionFields.filter((f) => changed(f, sameValue)),
  };
}

export function toParams(i: PackageInputs): ProvisioningParams {
  const p: ProvisioningParams = { domain: i.domain, machineName: i.machineName };
  for (const f of provisioningFields) {
    const v = i[f];
    if (v !== undefined && v !== null) (p as unknown as Record<string, unknown>)[f] = v;
  }
  if (typeof i.ownerTag === 'string' && i.ownerTag !== '') p.ownerTag = instanceOwnerTag(i.ownerTag, i.domain, i.machineName);
  // Passed on for the backend that knows it (re-enabling is explicit; see PackageInputs).
  if (i.enableAccount === true) (p as unknown as Record<string, unknown>).enableAccount = true;
  return p;
}

/**
 * The owner tag of one resource instance: the resource's own tag (project/stack/type/name) with the
 * canonical domain and the machine name it creates. The account's marker is a hash of it, so a
 * replacement (another machineName, or another domain) never carries the marker of the account it
 * replaces and cannot adopt it, while a create retried after an interruption (same inputs, no state:
 * the engine gives dynamic providers no URN) still finds its own account.
 */
export function instanceOwnerTag(ownerTag: string, domain: string, machineName: string): string {
  return `${ownerTag}|${canonicalDomain(domain)}|${machineName.toUpperCase()}`;
}

/** The connection settings written in the inputs or state. */
export function connectionOf(i: Partial<PackageInputs>): ConnectionSettings {
  const c: Record<string, unknown> = {};
  for (const f of connectionFields) {
    const v = i[f];
    if (v !== undefined && v !== null) c[f] = v;
  }
  return c as ConnectionSettings;
}

/** Stack config keys, in the `odj` namespace (`pulumi config set --secret odj:bindPassword …`). */
export const configKeys = {
  url: 'odj:ldapUrl',
  startTls: 'odj:startTls',
  bindUser: 'odj:bindUser',
  bindPassword: 'odj:bindPassword',
  caCerts: 'odj:caCerts',
  caFile: 'odj:caFile',
  insecureSkipTlsVerify: 'odj:insecureSkipTlsVerify',
  timeoutMs: 'odj:timeoutMs',
  auth: 'odj:auth',
  keytab: 'odj:keytab',
  dnsServers: 'odj:dnsServers',
} as const;

/** Environment variables, for CI: the same settings as the config keys. */
export const envKeys = connectionEnvKeys;

function asBool(v: unknown): boolean | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'boolean') return v;
  return isTrueFlag(String(v));
}

function asNumber(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function asCertList(v: unknown): string[] | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (Array.isArray(v)) return v.map(String);
  const s = String(v);
  if (s.trimStart().startsWith('[')) return (JSON.parse(s) as unknown[]).map(String);
  return [s];
}

/** A list of DNS server addresses: a YAML list, JSON text of one, or comma-separated text. */
function asServerList(v: unknown): string[] | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (Array.isArray(v)) return v.map(String);
  const s = String(v);
  if (s.trimStart().startsWith('[')) return (JSON.parse(s) as unknown[]).map(String);
  return splitServerList(s);
}

function caFile(path: string | undefined): string[] | undefined {
  // Bounded (bounded-read.ts): a wrong path such as /dev/zero fails at once.
  return path ? [readFileBounded(path, Limits.caCertTotalBytes).toString('utf8')] : undefined;
}

function defined(c: Record<string, unknown>): Partial<ConnectionSettings> {
  return Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) as Partial<ConnectionSettings>;
}

/** Connection settings from the stack config the engine passed to Configure. */
export function connectionFromConfig(get: (key: string) => unknown): Partial<ConnectionSettings> {
  const s = (k: string) => {
    const v = get(k);
    return v === undefined || v === null || v === '' ? undefined : String(v);
  };
  return defined({
    url: s(configKeys.url),
    startTls: asBool(get(configKeys.startTls)),
    bindUser: s(configKeys.bindUser),
    bindPassword: s(configKeys.bindPassword),
    caCerts: asCertList(get(configKeys.caCerts)) ?? caFile(s(configKeys.caFile)),
    insecureSkipTlsVerify: asBool(get(configKeys.insecureSkipTlsVerify)),
    timeoutMs: asNumber(get(configKeys.timeoutMs)),
    auth: s(configKeys.auth),
    keytab: s(configKeys.keytab),
    dnsServers: asServerList(get(configKeys.dnsServers)),
  });
}

/** Connection settings from environment variables. */
export function connectionFromEnv(env: NodeJS.ProcessEnv): Partial<ConnectionSettings> {
  const s = (k: string) => env[k] || undefined;
  return defined({
    url: s(envKeys.url),
    startTls: asBool(env[envKeys.startTls]),
    bindUser: s(envKeys.bindUser),
    bindPassword: s(envKeys.bindPassword),
    caCerts: caFile(s(envKeys.caFile)),
    insecureSkipTlsVerify: asBool(env[envKeys.insecureSkipTlsVerify]),
    timeoutMs: asNumber(env[envKeys.timeoutMs]),
    auth: s(envKeys.auth),
    keytab: s(envKeys.keytab),
    dnsServers: asServerList(s(envKeys.dnsServers)),
  });
}

/** Field by field, the first layer that sets a field wins. */
export function mergeConnection(...layers: Partial<ConnectionSettings>[]): ConnectionSettings {
  const out: Record<string, unknown> = {};
  for (const layer of layers.slice().reverse()) Object.assign(out, defined(layer as Record<string, unknown>));
  return out as ConnectionSettings;
}
