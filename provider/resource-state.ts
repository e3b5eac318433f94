// The plain shapes the Pulumi engine stores for an OfflineJoinPackage (inputs and outputs, no
// Output wrappers), and the pure rules over them: which fields replace, which update, which only
// say how to reach the directory; where connection settings come from. No I/O except reading a CA
// file named by config or environment.
import type { AccountFacts, ConnectionSettings, DomainFacts, ProvisioningParams } from './backend';
import { connectionEnvKeys, isTrueFlag } from './connection-env';
import { readFileBounded } from './bounded-read';
import { Limits } from './limits';

/** The resolved inputs, as the engine hands them to the provider: the provisioning parameters and
 *  the connection settings flattened into one object (declared once, in backend.ts), plus the
 *  resource's own fields. certificates[].pfx arrives as base64 text (secret). */
export interface PackageInputs extends ProvisioningParams, ConnectionSettings {
  /** Any change to this map re-issues the package (new machine password) without other change. */
  rotationTriggers?: Record<string, string>;
  /** Set by the resource class (project/stack/type/name): marks the accounts it creates. Never a
   *  reason for a diff: it only matters between a failed create and its retry. */
  ownerTag?: string;
}

/** What the provider returns and the engine stores as outputs. */
export interface PackageOutputs extends PackageInputs, AccountFacts {
  /** base64 package text, what unattend.xml's AccountData takes. Secret. Empty after an import. */
  packageText: string;
  domainFacts: DomainFacts | null;
  /** true when the package was made for an account that already existed */
  reused: boolean;
}

/** A changed value here means another computer account: replace. */
export const replaceFields = ['domain', 'machineName'] as const;
/** A changed value here means the same account, moved or re-issued: update in place. */
export const updateFields = [
  'machineAccountOU',
  'dcName',
  'options',
  'certTemplateNames',
  'certificates',
  'machinePolicyNames',
  'machinePolicyPaths',
  // Where the GPOs' files are read: another copy may hold other values, so the package is re-issued.
  'sysvolRoot',
  'netbiosName',
  'siteName',
  'primaryDnsDomain',
  'rotationTriggers',
] as const;
/** How to reach the directory; a change here touches neither the account nor the package. */
export const connectionFields = ['url', 'startTls', 'bindUser', 'bindPassword', 'caCerts', 'insecureSkipTlsVerify', 'timeoutMs'] as const;

export const provisioningFields = [...replaceFields, ...updateFields.filter((f) => f !== 'rotationTriggers')] as const;

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

export function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** Names compare without regard to case: AD does, so a case-only change is not another account. */
function sameName(a: unknown, b: unknown): boolean {
  return typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : sameValue(a, b);
}

export interface InputChanges {
  replaces: string[];
  updates: string[];
  connection: string[];
}

export function changedFields(olds: Partial<PackageInputs>, news: Partial<PackageInputs>): InputChanges {
  const changed = (f: keyof PackageInputs, same: (a: unknown, b: unknown) => boolean) =>
    containsUnknown(news[f]) || !same(olds[f], news[f]);
  return {
    replaces: replaceFields.filter((f) => changed(f, sameName)),
    updates: updateFields.filter((f) => changed(f, sameValue)),
    connection: connectionFields.filter((f) => changed(f, sameValue)),
  };
}

export function toParams(i: PackageInputs): ProvisioningParams {
  const p: ProvisioningParams = { domain: i.domain, machineName: i.machineName };
  for (const f of provisioningFields) {
    const v = i[f];
    if (v !== undefined && v !== null) (p as unknown as Record<string, unknown>)[f] = v;
  }
  if (typeof i.ownerTag === 'string' && i.ownerTag !== '') p.ownerTag = i.ownerTag;
  return p;
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
  });
}

/** Field by field, the first layer that sets a field wins. */
export function mergeConnection(...layers: Partial<ConnectionSettings>[]): ConnectionSettings {
  const out: Record<string, unknown> = {};
  for (const layer of layers.slice().reverse()) Object.assign(out, defined(layer as Record<string, unknown>));
  return out as ConnectionSettings;
}
