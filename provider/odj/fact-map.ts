// Which wire member each fact (facts.ts) is, and how it converts: one table per structure gives
// buildPackage its tree and parsePackage its facts. The facts stay where they add meaning: camelCase
// names, a NULL string read as '', SIDs as text, UNICODE_STRING as its text.

import type { CertificateParts, DnsDomainInfo, DomainControllerInfo, JoinProvider2, PackageFacts, PfxStore, PolicyElement, PolicyElementList, SstStore } from './facts';
import { normalizeGuid, type Infer, type Obj, type StructType } from './ndr';
import { sidFromString, sidToString } from './sid';
import {
  DOMAIN_CONTROLLER_INFOW, ODJ_POLICY_DNS_DOMAIN_INFO, ODJ_WIN7BLOB, OP_CERT_PART, OP_CERT_PFX_STORE, OP_CERT_SST_STORE,
  OP_JOINPROV2_PART, OP_POLICY_ELEMENT, OP_POLICY_ELEMENT_LIST, type OdjSid, type OdjUnicodeString,
} from './structures';

/** How one fact is read from its member and written back (as is when not said). */
export interface Member<M extends string = string> {
  member: M;
  read?: (wire: unknown) => unknown;
  write?: (fact: unknown) => unknown;
  /** the member is a structure with facts of its own; `list`: an array of them, NULL read as [] */
  map?: FactMap<object>;
  list?: boolean;
}

export interface FactMap<Fact extends object, Wire = Obj> {
  /** per fact, its member */
  members: Record<string, Member>;
  read(wire: Wire): Fact;
  write(fact: Fact): Wire;
}

type MemberName<S extends StructType> = S['fields'][number]['name'];

const orNull = <T>(list: T[]): T[] | null => (list.length ? list : null);

function readMember(m: Member, v: unknown): unknown {
  if (m.map) return m.list ? ((v ?? []) as Obj[]).map((e) => m.map!.read(e)) : m.map.read(v as Obj);
  return m.read ? m.read(v) : v;
}

function writeMember(m: Member, v: unknown): unknown {
  if (m.map) return m.list ? orNull((v as object[]).map((e) => m.map!.write(e))) : m.map.write(v as object);
  return m.write ? m.write(v) : v;
}

/** The facts of structure `decl`: every fact of Fact names a member of decl (a name alone: as is). */
const factMap = <Fact extends object>() =>
  <S extends StructType>(_decl: S, table: { [K in keyof Fact]-?: MemberName<S> | Member<MemberName<S>> }): FactMap<Fact, Infer<S>> => {
    const members: Record<string, Member> = {};
    for (const [fact, spec] of Object.entries<string | Member>(table)) members[fact] = typeof spec === 'string' ? { member: spec } : spec;
    const entries = Object.entries(members);
    return {
      members,
      read: (wire) => Object.fromEntries(entries.map(([k, m]) => [k, readMember(m, (wire as Obj)[m.member])])) as Fact,
      write: (fact) => Object.fromEntries(entries.map(([k, m]) => [m.member, writeMember(m, (fact as Obj)[k])])) as Infer<S>,
    };
  };

// ---- conversions ----------------------------------------------------------------------------

/** A NULL string reads as ''. */
const text = <M extends string>(member: M): Member<M> => ({ member, read: (v) => v ?? '' });
/** NULL bytes read as empty bytes. */
const bytes = <M extends string>(member: M): Member<M> => ({ member, read: (v) => v ?? new Uint8Array(0) });
/** A GUID in any accepted form is written in its canonical lower-case form. */
const guidText = <M extends string>(member: M): Member<M> => ({ member, write: (v) => normalizeGuid(v as string) });
/** An ODJ_UNICODE_STRING as its text ('' for NULL). */
const unicodeText = <M extends string>(member: M): Member<M> => ({
  member,
  read: (v) => (v as OdjUnicodeString).Buffer ?? '',
  write: (v) => ({ Buffer: v }),
});
/** An ODJ_SID as S-1-5-21-… text, or null; `field` names the fact in a build error. */
const sidText = <M extends string>(member: M, field: string): Member<M> => ({
  member,
  read: (v) => (v ? sidToString(v as OdjSid) : null),
  write: (v) => (v === null ? null : sidFromString(v as string, field)),
});
const nested = <M extends string>(member: M, map: FactMap<object>): Member<M> => ({ member, map });
const listOf = <M extends string>(member: M, map: FactMap<object>): Member<M> => ({ member, map, list: true });

// ---- the tables -----------------------------------------------------------------------------

export const dnsDomainInfoFacts = factMap<DnsDomainInfo>()(ODJ_POLICY_DNS_DOMAIN_INFO, {
  name: unicodeText('Name'),
  dnsDomainName: unicodeText('DnsDomainName'),
  dnsForestName: unicodeText('DnsForestName'),
  domainGuid: guidText('DomainGuid'),
  sid: sidText('Sid', 'domainInfo.sid'),
});

export const dcInfoFacts = factMap<DomainControllerInfo>()(DOMAIN_CONTROLLER_INFOW, {
  name: text('DomainControllerName'),
  address: text('DomainControllerAddress'),
  addressType: 'DomainControllerAddressType',
  domainGuid: guidText('DomainGuid'),
  domainName: text('DomainName'),
  forestName: text('DnsForestName'),
  flags: 'Flags',
  dcSiteName: 'DcSiteName',
  clientSiteName: 'ClientSiteName',
});

/** The facts the WIN7 blob holds; the rest of PackageFacts comes from the parts. */
export type Win7Facts = Pick<PackageFacts, 'domain' | 'machineName' | 'machinePassword' | 'domainInfo' | 'dc' | 'options'>;
export const win7Facts = factMap<Win7Facts>()(ODJ_WIN7BLOB, {
  domain: text('lpDomain'),
  machineName: text('lpMachineName'),
  machinePassword: text('lpMachinePassword'),
  domainInfo: nested('DnsDomainInfo', dnsDomainInfoFacts),
  dc: nested('DcInfo', dcInfoFacts),
  options: 'Options',
});

export const joinProvider2Facts = factMap<JoinProvider2>()(OP_JOINPROV2_PART, {
  flags: 'dwFlags',
  netbiosName: 'lpNetbiosName',
  siteName: 'lpSiteName',
  primaryDnsDomain: 'lpPrimaryDNSDomain',
});

const pfxStoreFacts = factMap<PfxStore>()(OP_CERT_PFX_STORE, {
  templateName: 'pTemplateName',
  privateKeyExportPolicy: 'ulPrivateKeyExportPolicy',
  policyServerUrl: 'pPolicyServerUrl',
  policyServerUrlFlags: 'ulPolicyServerUrlFlags',
  policyServerId: 'pPolicyServerId',
  pfx: bytes('pPfx'),
});

const sstStoreFacts = factMap<SstStore>()(OP_CERT_SST_STORE, {
  storeLocation: 'StoreLocation',
  storeName: 'pStoreName',
  sst: bytes('pSst'),
});

export const certificateFacts = factMap<CertificateParts>()(OP_CERT_PART, {
  pfxStores: listOf('pPfxStores', pfxStoreFacts),
  sstStores: listOf('pSstStores', sstStoreFacts),
});

const policyElementFacts = factMap<PolicyElement>()(OP_POLICY_ELEMENT, {
  keyPath: text('pKeyPath'),
  valueName: 'pValueName',
  valueType: 'ulValueType',
  data: bytes('pValueData'),
});

export const policyListFacts = factMap<PolicyElementList>()(OP_POLICY_ELEMENT_LIST, {
  source: 'pSource',
  rootKeyId: 'ulRootKeyId',
  elements: listOf('pElements', policyElementFacts),
});
