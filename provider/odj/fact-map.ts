// Which wire member each fact (facts.ts) is, and how it converts: one table per structure gives
// buildPackage its tree, parsePackage its facts and redactPackage its view. The facts stay where they
// add meaning: camelCase names, a NULL string read as '', SIDs as text, UNICODE_STRING as its text.
// A fact is secret when the declaration marks its member `secret` (like Samba's NDR_SECRET).

import type { CertificateParts, DnsDomainInfo, DomainControllerInfo, JoinProvider2, PackageFacts, PfxStore, PolicyElement, PolicyElementList, SstStore } from './facts';
import { normalizeGuid } from './ids';
import type { Infer, Obj, StructType } from './ndr';
import { REDACTED } from './redaction';
import { sidFromString, sidToString } from './sid';
import {
  DOMAIN_CONTROLLER_INFOW, ODJ_POLICY_DNS_DOMAIN_INFO, ODJ_WIN7BLOB, OP_CERT_PART, OP_CERT_PFX_STORE, OP_CERT_SST_STORE,
  OP_JOINPROV2_PART, OP_POLICY_ELEMENT, OP_POLICY_ELEMENT_LIST, type OdjSid, type OdjUnicodeString,
} from './structures';

/** How one fact is read from its member and written back (as is when not said). */
interface Member<M extends string = string> {
  member: M;
  read?: (wire: unknown) => unknown;
  write?: (fact: unknown) => unknown;
  /** the member is a structure with facts of its own; `list`: an array of them, NULL read as [] */
  map?: FactMap<object>;
  list?: boolean;
  /** set from the declaration: the member is marked secret */
  secret?: boolean;
}

interface FactMap<Fact extends object, Wire = Obj> {
  /** per fact, its member */
  members: Record<string, Member>;
  read(wire: Wire): Fact;
  write(fact: Fact): Wire;
}

type MemberName<S extends StructType> = S['fields'][number]['name'];
/** The members of wire shape W whose type is exactly V: those a fact of type V can be as is. */
type SameTypeMember<W, V> = { [M in keyof W]-?: [W[M]] extends [V] ? ([V] extends [W[M]] ? M : never) : never }[keyof W];

const orNull = <T>(list: T[]): T[] | null => (list.length ? list : null);

function readMember(m: Member, v: unknown): unknown {
  if (m.map) return m.list ? ((v ?? []) as Obj[]).map((e) => m.map!.read(e)) : m.map.read(v as Obj);
  return m.read ? m.read(v) : v;
}

function writeMember(m: Member, v: unknown): unknown {
  if (m.map) return m.list ? orNull((v as object[]).map((e) => m.map!.write(e))) : m.map.write(v as object);
  return m.write ? m.write(v) : v;
}

/** The facts of structure `decl`: every fact of Fact names a member of decl (a name alone: as is,
 *  so the member must have the fact's type). */
const factMap = <Fact extends object>() =>
  <S extends StructType>(
    decl: S,
    table: { [K in keyof Fact]-?: SameTypeMember<Infer<S>, Fact[K]> | Member<MemberName<S>> },
  ): FactMap<Fact, Infer<S>> => {
    const members: Record<string, Member> = {};
    for (const [fact, spec] of Object.entries(table as Record<string, string | Member>)) {
      const m = typeof spec === 'string' ? { member: spec } : spec;
      members[fact] = { ...m, secret: decl.fields.some((f) => f.name === m.member && f.secret === true) };
    }
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

const dnsDomainInfoFacts = factMap<DnsDomainInfo>()(ODJ_POLICY_DNS_DOMAIN_INFO, {
  name: unicodeText('Name'),
  dnsDomainName: unicodeText('DnsDomainName'),
  dnsForestName: unicodeText('DnsForestName'),
  domainGuid: guidText('DomainGuid'),
  sid: sidText('Sid', 'domainInfo.sid'),
});

const dcInfoFacts = factMap<DomainControllerInfo>()(DOMAIN_CONTROLLER_INFOW, {
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
type Win7Facts = Pick<PackageFacts, 'domain' | 'machineName' | 'machinePassword' | 'domainInfo' | 'dc' | 'options'>;
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

/** Every fact of a package, for its view: the WIN7 blob's, then those of the parts (by part type). */
export const packageFactMembers: Record<string, Member> = {
  ...win7Facts.members,
  joinProvider2: nested('JOIN_PROVIDER2', joinProvider2Facts),
  certificates: nested('CERT_PROVIDER', certificateFacts),
  policies: listOf('POLICY_PROVIDER', policyListFacts),
};

// ---- the view -------------------------------------------------------------------------------

/** A fact as a view shows it: bytes as base64 (or the redaction), everything else as is. */
export type Viewed<V> =
  V extends Uint8Array ? string : V extends (infer E)[] ? Viewed<E>[] : V extends object ? { [K in keyof V]: Viewed<V[K]> } : V;

/** A copy of `fact` for people and logs: a secret member's value becomes REDACTED (with its size for
 *  bytes) unless `showSecrets`, bytes become base64. */
export function viewOf<Fact extends object>(members: Record<string, Member>, fact: Fact, showSecrets: boolean): Viewed<Fact> {
  const show = (m: Member | undefined, v: unknown): unknown => {
    if (m?.secret && !showSecrets) return v instanceof Uint8Array ? `${REDACTED} (${v.length} bytes)` : REDACTED;
    if (m?.map) return m.list ? (v as object[]).map((e) => viewOf(m.map!.members, e, showSecrets)) : viewOf(m.map.members, v as object, showSecrets);
    return v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v;
  };
  return Object.fromEntries(Object.entries(fact).map(([k, v]) => [k, show(members[k], v)])) as Viewed<Fact>;
}
