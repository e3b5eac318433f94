// The lifecycle of an OfflineJoinPackage, run inside Pulumi's dynamic-provider host. The serialized
// provider in resource.ts only `require`s this module by path and forwards each call, so nothing
// here is ever serialized: it may import freely, and it holds the connection settings the engine
// configured (stack config), which must never reach the `__provider` string.
import type { CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult } from '@pulumi/pulumi/dynamic';
import type { AccountLocation, ConnectionSettings, JoinBackend, ProvisioningParams, ProvisionResult } from '../backend';
import { accountStatus, planSteps } from '../account/lifecycle';
import { updateAccount } from '../directory/update';
import { dnEqual, parentDn } from '../params/dn';
import { isOwnerMarker, ownerMarker } from '../directory/ownership';
import { ProvisioningError } from '../errors';
import { hasUrlCredentials, urlCredentialsRule } from '../credential-text';
import { deleteAccount, inspectAccount, LdapBackend } from '../directory/backend';
import { checkParams } from '../params/validation';
import { ProvisionOptionBits } from '../options';
import {
  changedFields,
  connectionFields,
  connectionFromConfig,
  connectionFromEnv,
  connectionOf,
  containsUnknown,
  instanceOwnerTag,
  isNetbiosDomainName,
  mergeConnection,
  toParams,
  unknownValue,
  type PackageInputs,
  type PackageOutputs,
} from './state';

let configured: Partial<ConnectionSettings> = {};

/** Called once per host process with the stack config. */
export function configure(get: (key: string) => unknown): void {
  configured = connectionFromConfig(get);
}

/** Operations that have the program's inputs: explicit inputs, then stack config, then environment.
 *  Without a url, provisioning goes to dcName or the DC the locator finds. */
function connectionForInputs(inputs: Partial<PackageInputs>): ConnectionSettings {
  return mergeConnection(connectionOf(inputs), configured, connectionFromEnv(process.env));
}

/** Operations that only have state (refresh, destroy): stack config and environment win over what
 *  was stored, so they still work after the bind password was rotated. */
function connectionForState(state: Partial<PackageOutputs>): ConnectionSettings {
  return mergeConnection(configured, connectionFromEnv(process.env), connectionOf(state));
}

/** The DC that holds the account, asked first about it (directory/account-dc.ts): the one recorded, else
 *  (state from before accountDc) the DC that set the package's password or made the package, else
 *  the named DC. */
function accountLocation(state: Partial<PackageOutputs>, onDc?: (dc: string) => void): AccountLocation {
  const home = (state.accountDc || state.issued?.dcName || state.domainFacts?.dcName || state.dcName || '').replace(/^\\\\/, '');
  return { domain: String(state.domain ?? ''), ...(home ? { homeDc: home } : {}), ...(onDc ? { onDc } : {}) };
}

/** The LDAP backend: it works from any OS and needs only a route to a writable DC. */
function backend(): JoinBackend {
  return new LdapBackend();
}

// ---- check ----

const stringFields = ['domain', 'machineName', 'machineAccountOU', 'dcName', 'netbiosName', 'siteName', 'primaryDnsDomain', 'sysvolRoot', 'url', 'bindUser', 'bindPassword', 'auth', 'keytab'] as const;
const listFields = ['certTemplateNames', 'machinePolicyNames', 'machinePolicyPaths', 'caCerts', 'dnsServers'] as const;
const boolFields = ['startTls', 'insecureSkipTlsVerify', 'allowPasswordResetAfterJoin', 'enableAccount'] as const;
const optionNames = Object.keys(ProvisionOptionBits);

function shapeFailures(news: Record<string, unknown>): CheckFailure[] {
  const failures: CheckFailure[] = [];
  const fail = (property: string, reason: string) => failures.push({ property, reason });
  const known = (v: unknown) => v !== undefined && v !== null && !containsUnknown(v);
  for (const f of ['domain', 'machineName']) {
    if (news[f] === undefined || news[f] === null || news[f] === '') fail(f, `${f} is required`);
  }
  for (const f of stringFields) if (known(news[f]) && typeof news[f] !== 'string') fail(f, `${f} must be a string`);
  if (typeof news.domain === 'string' && news.domain !== unknownValue && isNetbiosDomainName(news.domain)) {
    // One spelling per domain, so that a respelling is never another account: the DNS name.
    fail('domain', `domain must be the DNS name of the domain (e.g. corp.example), not a NetBIOS domain name such as '${news.domain.trim().slice(0, 15)}'`);
  }
  for (const f of boolFields) if (known(news[f]) && typeof news[f] !== 'boolean') fail(f, `${f} must be a boolean`);
  for (const f of listFields) {
    const v = news[f];
    if (known(v) && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) fail(f, `${f} must be a list of strings`);
  }
  const certs = news.certificates;
  if (known(certs)) {
    if (!Array.isArray(certs)) fail('certificates', 'certificates must be a list of { templateName, pfx, … }');
    else {
      // Only shapes here (never a value: pfx is secret); validateParams judges the PFX itself.
      certs.forEach((c: unknown, i) => {
        if (c === null || typeof c !== 'object' || Array.isArray(c)) fail(`certificates[${i}]`, `certificates[${i}] must be { templateName, pfx, … }`);
        else if (known((c as Record<string, unknown>).pfx) && typeof (c as Record<string, unknown>).pfx !== 'string') {
          fail(`certificates[${i}].pfx`, `certificates[${i}].pfx must be the PKCS#12 file as base64 text`);
        }
      });
    }
  }
  const t = news.timeoutMs;
  if (known(t) && !(typeof t === 'number' && Number.isInteger(t) && t > 0)) fail('timeoutMs', 'timeoutMs must be a positive integer');
  const url = news.url;
  if (typeof url === 'string' && url !== unknownValue && hasUrlCredentials(url)) {
    fail('url', urlCredentialsRule('url'));
  } else if (typeof url === 'string' && url !== unknownValue && !/^ldaps?:\/\/[^/\s]+\/?$/i.test(url)) {
    fail('url', 'url must be ldaps://host[:port] or ldap://host[:port]');
  }
  const o = news.options;
  if (known(o)) {
    if (typeof o !== 'object' || Array.isArray(o)) fail('options', 'options must be a map of named flags');
    else {
      for (const [k, v] of Object.entries(o as object)) {
        if (!optionNames.includes(k)) fail(`options.${k}`, `unknown option; known: ${optionNames.join(', ')}`);
        else if (typeof v !== 'boolean') fail(`options.${k}`, `options.${k} must be a boolean`);
      }
    }
  }
  const r = news.rotationTriggers;
  if (known(r) && (typeof r !== 'object' || Array.isArray(r) || Object.values(r as object).some((v) => typeof v !== 'string'))) {
    fail('rotationTriggers', 'rotationTriggers must be a map of strings');
  }
  return failures;
}

/** `certificates[0].pfx` → ['certificates', 'pfx']: the input property a failure belongs to. */
function topOf(property: string): [string, string | undefined] {
  const [top, sub] = property.split('.');
  return [top.replace(/\[\d+\]$/, ''), sub];
}

/** The provisioning layer's own rules (names, DNs, option combinations, what is not supported),
 *  every violation at once; inputs not yet known are left out. */
function provisioningFailures(inputs: PackageInputs): CheckFailure[] {
  const params = toParams(inputs) as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(params)) {
    if (!containsUnknown(v)) continue;
    delete params[k];
    // Templates are judged against the PFX files given for them: without those, they go too.
    if (k === 'certificates') delete params.certTemplateNames;
  }
  return checkParams(params as unknown as ProvisioningParams).problems.map((e) => ({ property: e.field ?? '', reason: e.message }));
}

export async function check(olds: Record<string, unknown>, news: Record<string, unknown>): Promise<CheckResult> {
  const failures = shapeFailures(news);
  // The provisioning rules judge what is well-formed; a property already at fault is left out.
  const rest: Record<string, unknown> = { ...news };
  for (const f of failures) delete rest[topOf(f.property)[0]];
  // Templates are judged against the PFX files given for them: with those at fault, not at all.
  if (news.certificates !== undefined && rest.certificates === undefined) delete rest.certTemplateNames;
  const seen = new Set(failures.map((f) => f.property));
  if (typeof rest.domain === 'string' && typeof rest.machineName === 'string') {
    for (const f of provisioningFailures(rest as unknown as PackageInputs)) if (!seen.has(f.property)) failures.push(f);
  }
  // The preview shows inputs that changed: this one says what the update will do to the account.
  return { inputs: { ...news, plannedChange: plannedChange(olds, news) }, failures };
}

// ---- diff ----

/** What an update from olds to news does: 'create' (no olds), 'replace', 'none', or its steps
 *  joined with '+' (move, rebuild, reset; account/lifecycle.ts). */
function plannedChange(olds: Partial<PackageOutputs>, news: Partial<PackageInputs>): string {
  if (olds.domain === undefined && olds.machineName === undefined) return 'create';
  const c = changedFields(olds, news);
  if (c.replaces.length > 0) return 'replace';
  // Check gets the old inputs, not the outputs: whether a package exists to rebuild from is not
  // known here, so the plan assumes one (the update's guard may still turn a rebuild into a reset).
  const steps = planOf({ packageText: 'issued', ...olds }, news, c).steps;
  return steps.length > 0 ? steps.join('+') : 'none';
}

function planOf(olds: Partial<PackageOutputs>, news: Partial<PackageInputs>, c = changedFields(olds, news)) {
  const udp = (o: Partial<PackageInputs>) => o.options?.useDefaultPassword === true;
  return planSteps(c.updates, udp(olds) !== udp(news), typeof olds.packageText === 'string' && olds.packageText !== '');
}

export async function diff(_id: string, olds: Partial<PackageOutputs>, news: Partial<PackageInputs>): Promise<DiffResult> {
  const c = changedFields(olds, news);
  return {
    changes: c.replaces.length + c.updates.length + c.connection.length > 0,
    replaces: c.replaces,
    // A new name or domain is another account; the old one can go once the new one exists.
    deleteBeforeReplace: false,
  };
}

// ---- create / update ----

/** Drops undefined values: the engine's protobuf Struct has no undefined. */
function plain<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function outputsOf(inputs: PackageInputs, r: ProvisionResult): PackageOutputs {
  return {
    ...inputs,
    ...r.account,
    packageText: r.packageText,
    domainFacts: r.domain,
    reused: r.reused,
    accountDc: r.domain.dcName,
  };
}

/** The owner marker of this instance (see instanceOwnerTag), when the inputs carry an ownerTag. */
function instanceMarker(i: Partial<PackageInputs>): string | undefined {
  return typeof i.ownerTag === 'string' && i.ownerTag !== '' && typeof i.domain === 'string' && typeof i.machineName === 'string'
    ? ownerMarker(instanceOwnerTag(i.ownerTag, i.domain, i.machineName))
    : undefined;
}

export async function create(inputs: PackageInputs): Promise<CreateResult> {
  const result = await backend().provision(toParams(inputs), connectionForInputs(inputs));
  const outs: PackageOutputs = plain({
    ...outputsOf(inputs, result),
    issued: result.issued ?? null,
    // Just issued: current, and no logon can have used it yet.
    packageCurrent: result.issued !== undefined,
    joined: false,
    managedSince: result.reused ? ('reuse' as const) : ('create' as const),
    ownerMarker: instanceMarker(inputs),
  });
  return { id: result.account.objectGuid, outs };
}

export async function update(id: string, olds: PackageOutputs, news: PackageInputs): Promise<UpdateResult> {
  const c = changedFields(olds, news);
  if (c.replaces.length > 0) {
    // The engine replaces on these; an update here would be a bug in the engine or in diff.
    throw new ProvisioningError('ERROR_INVALID_PARAMETER', 'a changed domain or machine name needs a replacement, not an update', { field: c.replaces[0] });
  }
  const plan = planOf(olds, news, c);
  if (plan.steps.length === 0) {
    // Only connection settings changed: nothing in the directory, and the issued package stays.
    return { outs: withConnectionOf(olds, news) };
  }
  const udp = (o: Partial<PackageInputs>) => o.options?.useDefaultPassword === true;
  const done = await updateAccount(
    backend(),
    { objectGuid: olds.objectGuid ?? id, packageText: typeof olds.packageText === 'string' ? olds.packageText : '', issued: olds.issued ?? undefined },
    toParams(news),
    connectionForInputs(news),
    { changed: c.updates, useDefaultPasswordChanged: udp(olds) !== udp(news), allowPasswordResetAfterJoin: news.allowPasswordResetAfterJoin === true },
    accountLocation(olds),
  );
  const kept = {
    managedSince: olds.managedSince ?? (olds.reused ? 'reuse' : 'create'),
    // An imported account was never marked by this resource: no marker is expected of it.
    ownerMarker: olds.ownerMarker ?? (olds.managedSince === 'import' ? undefined : instanceMarker(olds)),
    issued: done.issued ?? null,
    packageCurrent: done.status.packageCurrent,
    joined: done.status.joined,
    enabled: done.status.enabled,
  } as const;
  if (!done.result) {
    // Only the OU: the package carries no DN, so the one issued stays valid as it is.
    return { outs: plain({ ...withConnectionOf(olds, news), ...news, ...done.account, ...kept }) };
  }
  return { outs: plain({ ...outputsOf(news, done.result), ...kept }) };
}

function withConnectionOf(olds: PackageOutputs, news: PackageInputs): PackageOutputs {
  // Settings absent from the new inputs are dropped from state too (none may be left undefined:
  // the engine's protobuf Struct has no undefined).
  const out: Record<string, unknown> = { ...olds };
  for (const f of connectionFields) delete out[f];
  return { ...(out as unknown as PackageOutputs), ...connectionOf(news) };
}

// ---- read / delete ----

/** Refresh (state in props) and import (only the program's inputs in props). Searches only:
 *  refresh never writes to the directory. */
export async function read(id: string, props: Partial<PackageOutputs>): Promise<ReadResult> {
  const guid = props.objectGuid ?? id;
  let answered: string | undefined;
  const live = await inspectAccount(guid, connectionForState(props), 'read', accountLocation(props, (dc) => (answered = dc)));
  if (!live) return { id: '', props: {} };
  const importing = props.objectGuid === undefined;
  // The description (where owner markers live) is not an output.
  const { logon, description, ...facts } = live;
  const outs: Partial<PackageOutputs> = { ...props, ...facts };
  // Moved out of band: the declared OU follows, so the next `pulumi up` shows the move back. An
  // equivalent spelling of the same DN is no move.
  const parent = parentDn(facts.distinguishedName);
  if (props.machineAccountOU && !dnEqual(parent, props.machineAccountOU)) outs.machineAccountOU = parent;
  if (importing) {
    // The account's own name, so that importing under another machineName shows as a difference.
    const name = facts.samAccountName.replace(/\$$/, '');
    if (name.toLowerCase() !== String(props.machineName ?? '').toLowerCase()) outs.machineName = name;
    // An imported account has no package yet: the next update (e.g. a rotationTriggers change)
    // issues one, under the joined-machine guard from the start (no issue facts: any logon counts).
    outs.packageText = '';
    outs.domainFacts = null;
    outs.reused = true;
    outs.issued = null;
    outs.managedSince = 'import';
    if (answered) outs.accountDc = answered;
  }
  const status = accountStatus(logon, outs.issued ?? undefined, typeof outs.packageText === 'string' && outs.packageText !== '');
  outs.packageCurrent = status.packageCurrent;
  outs.joined = status.joined;
  outs.enabled = status.enabled;
  return { id: facts.objectGuid, props: plain(outs) };
}

/** Destroy: the account goes only while it is still this instance's. One that carries another
 *  owner's marker (taken over with reuseAccount by another resource or caller) stays, and a
 *  warning says so. */
export async function del(id: string, props: Partial<PackageOutputs>): Promise<void> {
  const guid = props.objectGuid ?? id;
  const ours = [props.ownerMarker, instanceMarker(props), props.ownerTag ? ownerMarker(props.ownerTag) : undefined].filter((m): m is string => !!m);
  // One visit to the DC: the owner check sees the account as the delete finds it.
  await deleteAccount(guid, connectionForState(props), accountLocation(props), (live) => {
    if (!isOwnerMarker(live.description) || ours.includes(live.description!)) return false;
    console.warn(
      `odj: left the computer account ${live.samAccountName} (${live.distinguishedName}, ${guid}) in place: another resource or caller has taken it over (its owner marker is not this resource's)`,
    );
    return true;
  });
}
