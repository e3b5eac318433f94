// `odj inspect`: every field of a package, for a person or (with --json) a program. The machine
// password and PFX bytes stay redacted unless --show-secrets. Loads the codec only, and the
// directory code with --live (inspect-live.ts).
import { DsFlags } from '../directory/netlogon';
import { parsePackage, redactPackage, type PackageView } from '../odj';
import { describePolicyValue, describeSst } from '../odj/content-view';
import { bool, connectionOptions, nonEmpty, parse } from './args';
import { bindPassword, connectionFromArgs } from './connection';
import { readInput } from './io';
import { HELP, UsageError } from './usage';
import type { LiveVerdict } from './inspect-live';
import { Limits } from '../limits';

const C = 'inspect';

/** NETSETUP_PROVISION_* as djoin's documentation names them. */
const PROVISION_BITS: [number, string][] = [
  [0x1, 'DOWNLEVEL_PRIV_SUPPORT'],
  [0x2, 'REUSE_ACCOUNT'],
  [0x4, 'USE_DEFAULT_PASSWORD'],
  [0x8, 'SKIP_ACCOUNT_SEARCH'],
  [0x10, 'ROOT_CA_CERTS'],
  [0x20, 'PERSISTENTSITE'],
];
const DS_BITS: [number, string][] = Object.entries(DsFlags).map(([k, v]) => [v, k]);
const FORMATS: Record<number, string> = { 1: 'ODJ_WIN7_FORMAT', 2: 'ODJ_WIN8_FORMAT' };
const ADDRESS_TYPES: Record<number, string> = { 1: 'inet', 2: 'netbios' };
const ROOT_KEYS: Record<number, string> = { 0x80000001: 'HKCU', 0x80000002: 'HKLM' };

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

/** `0x00000006 (REUSE_ACCOUNT, USE_DEFAULT_PASSWORD)`, unknown bits shown as hex. */
function bits(n: number, names: [number, string][]): string {
  const parts: string[] = [];
  let rest = n >>> 0;
  for (const [bit, name] of names) {
    if ((rest & bit) >>> 0 === bit) {
      parts.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest) parts.push(hex(rest));
  return parts.length ? `${hex(n)} (${parts.join(', ')})` : hex(n);
}

const show = (v: string | null | undefined): string => (v === null || v === undefined ? '(none)' : v === '' ? '""' : v);

/** A section of `label  value` lines, labels aligned. */
function section(title: string, rows: [string, string][]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return `${title}\n${rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n')}\n`;
}

function renderView(v: PackageView): string {
  const out: string[] = [];
  out.push(section('Package', [
    ['machine name', show(v.machineName)],
    ['domain', show(v.domain)],
    ['machine password', v.machinePassword],
    ['account SID', show(v.accountSid)],
    ['RID', String(v.rid)],
    ['options', bits(v.options, PROVISION_BITS)],
    ['blobs', v.blobFormats.map((f) => `${f} (${FORMATS[f] ?? 'unknown'})`).join(', ') || '(none)'],
  ]));
  const d = v.domainInfo;
  out.push(section('Domain', [
    ['NetBIOS name', show(d.name)],
    ['DNS name', show(d.dnsDomainName)],
    ['forest', show(d.dnsForestName)],
    ['GUID', d.domainGuid],
    ['SID', show(d.sid)],
  ]));
  const c = v.dc;
  out.push(section('Domain controller', [
    ['name', show(c.name)],
    ['address', `${show(c.address)} (type ${c.addressType}${ADDRESS_TYPES[c.addressType] ? `, ${ADDRESS_TYPES[c.addressType]}` : ''})`],
    ['domain GUID', c.domainGuid],
    ['domain', show(c.domainName)],
    ['forest', show(c.forestName)],
    ['flags', bits(c.flags, DS_BITS)],
    ['DC site', show(c.dcSiteName)],
    ['client site', show(c.clientSiteName)],
  ]));
  if (v.parts.length) {
    out.push(section('Parts (OP_PACKAGE)', v.parts.map((p, i) => [`${i + 1}`, `${p.name ?? 'unknown'} ${p.partType} flags ${hex(p.flags)}${p.flags & 1 ? ' (essential)' : ''}`])));
  }
  if (v.joinProvider2) {
    const j = v.joinProvider2;
    out.push(section('Join provider 2', [
      ['flags', `${hex(j.flags)}${j.flags & 1 ? ' (PERSISTENTSITE)' : ''}`],
      ['NetBIOS name', show(j.netbiosName)],
      ['site', show(j.siteName)],
      ['primary DNS domain', show(j.primaryDnsDomain)],
    ]));
  }
  if (v.certificates) {
    const rows: [string, string][] = [];
    v.certificates.pfxStores.forEach((s, i) => {
      rows.push([`pfx ${i + 1} template`, show(s.templateName)]);
      rows.push([`pfx ${i + 1} export policy`, hex(s.privateKeyExportPolicy)]);
      rows.push([`pfx ${i + 1} policy server`, `${show(s.policyServerUrl)} (flags ${hex(s.policyServerUrlFlags)}, id ${show(s.policyServerId)})`]);
      rows.push([`pfx ${i + 1} pfx`, s.pfx]);
    });
    v.certificates.sstStores.forEach((s, i) => {
      rows.push([`sst ${i + 1} store`, `${show(s.storeName)} (location ${hex(s.storeLocation)})`]);
      const sst = Buffer.from(s.sst, 'base64');
      rows.push([`sst ${i + 1} sst`, `${sst.length} bytes`]);
      describeSst(sst).forEach((line, k) => rows.push([`sst ${i + 1} entry ${k + 1}`, line]));
    });
    out.push(section('Certificates', rows.length ? rows : [['stores', '(none)']]));
  }
  if (v.policies) {
    const rows: [string, string][] = [];
    v.policies.forEach((l, i) => {
      rows.push([`list ${i + 1} source`, `${show(l.source)} (root ${ROOT_KEYS[l.rootKeyId] ?? hex(l.rootKeyId)})`]);
      l.elements.forEach((e, k) => {
        rows.push([`list ${i + 1} value ${k + 1}`, `${e.keyPath}\\${show(e.valueName)} = ${describePolicyValue(e.valueType, Buffer.from(e.data, 'base64'))}`]);
      });
    });
    out.push(section('Policies', rows.length ? rows : [['lists', '(none)']]));
  }
  return out.join('\n');
}

export async function run(args: string[]): Promise<number> {
  const p = parse(
    C,
    args,
    { json: { type: 'boolean' }, 'show-secrets': { type: 'boolean' }, live: { type: 'boolean' }, issued: { type: 'string' }, dcname: { type: 'string' }, ...connectionOptions },
    true,
  );
  if (bool(p, 'help')) {
    process.stdout.write(HELP.inspect + '\n');
    return 0;
  }
  if (p.positionals.length !== 1) throw new UsageError('give one package: a FILE, or - for stdin', C);
  const live = bool(p, 'live');
  const issued = nonEmpty(p, 'issued', C);
  if (!live && (issued !== undefined || p.values.dcname !== undefined || p.values.user !== undefined || p.values.url !== undefined)) {
    throw new UsageError('--issued, --dcname and the connection flags go with --live', C);
  }
  if (issued !== undefined && !/^\d{1,20}$/.test(issued)) throw new UsageError('--issued takes the pwdLastSet recorded at issue (a decimal FILETIME)', C);
  const input = await readInput(p.positionals[0], C, Limits.packageFileBytes, 'a package file');
  const parsed = parsePackage(new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
  const view = redactPackage(parsed, { showSecrets: bool(p, 'show-secrets') });
  let verdict: LiveVerdict | undefined;
  if (live) {
    const connection = connectionFromArgs(p, C);
    connection.bindPassword = await bindPassword(p, connection.bindUser as string, C);
    // The DC that made the package is the first one asked (it set the password; others may lag).
    const dcName = nonEmpty(p, 'dcname', C);
    const host = dcName ?? parsed.facts.dc.name.replace(/^\\\\/, '');
    // Loaded only with --live: plain inspect needs the codec alone.
    const { liveVerdict } = require('./inspect-live') as typeof import('./inspect-live');
    verdict = await liveVerdict(parsed.facts, connection, { host: host || parsed.facts.domain, field: dcName ? 'dcName' : 'domain' }, issued);
  }
  if (bool(p, 'json')) process.stdout.write(JSON.stringify(verdict ? { ...view, live: verdict } : view, null, 2) + '\n');
  else process.stdout.write(renderView(view) + (verdict ? `\n${renderVerdict(verdict)}` : ''));
  return 0;
}

function renderVerdict(v: LiveVerdict): string {
  const rows: [string, string][] = [['account', v.account === 'present' ? `${v.distinguishedName}${v.sameAccount ? '' : ' (another account)'}` : 'absent']];
  if (v.passwordSet) rows.push(['password set', v.passwordSet]);
  if (v.lastLogon) rows.push(['last logon', `${v.lastLogon}${v.loggedOnSincePasswordSet ? ' (since the password was set)' : ''}`]);
  rows.push(['current', `${v.current === null ? 'unknown' : v.current ? 'yes' : 'no'}: ${v.reason}`]);
  return section('Live (directory)', rows);
}
