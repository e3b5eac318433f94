// What the package needs to know about the domain and the DC, asked of the DC itself: the LDAP ping
// (its answer's format in netlogon.ts), the root DSE and the domain head object.
import type { DomainFacts } from '../backend';
import { ProvisioningError } from '../errors';
import type { DnsDomainInfo, DomainControllerInfo } from '../odj/facts';
import { sidFromBytes, guidFromBytes } from '../odj/ids';
import { DsFlags, OPCODE_SAM_PAUSE_RESPONSE_EX, parseNetlogonResponseEx, type NetlogonSamLogonResponseEx } from './netlogon';
import type { DirectoryConnection } from './connection';
import { escapeFilter } from 'ldapts';
import { domainToDn } from '../params/dn';

/** NETLOGON_NT_VERSION_5 | NETLOGON_NT_VERSION_5EX: ask for the _EX answer. */
const NT_VERSION = 0x00000006;
/** GUID_COMPUTERS_CONTAINER_W, the well-known object that names the default computers container. */
export const COMPUTERS_CONTAINER_GUID = 'AA312825768811D1ADED00C04FD8D5CD';

/** The LDAP ping's search: a base search of the root DSE for `Netlogon` with the domain and
 *  NtVer in the filter ([MS-ADTS] 6.3.3). */
export function pingSearch(domain: string): { filter: string; attributes: string[]; explicitBufferAttributes: string[] } {
  const ntVer = Buffer.from([NT_VERSION, 0, 0, 0]);
  // A NetBIOS name cannot go in DnsDomain; ask without it and compare the answer instead. The ping
  // filter must be an AND (Samba ignores a bare NtVer).
  const filter = domain.includes('.') ? escapeFilter`(&(DnsDomain=${domain})(NtVer=${ntVer}))` : escapeFilter`(&(NtVer=${ntVer}))`;
  return { filter, attributes: ['Netlogon'], explicitBufferAttributes: ['Netlogon', 'netlogon'] };
}

/** The ping's answer from the root DSE entry: null when there is none for that domain. */
export function pingAnswer(entry: Record<string, unknown> | undefined, domain: string): NetlogonSamLogonResponseEx | null {
  const value = entry ? (entry.Netlogon ?? entry.netlogon) : undefined;
  if (!value || (Array.isArray(value) && value.length === 0)) return null;
  const bytes = Array.isArray(value) ? value[0] : value;
  if (!Buffer.isBuffer(bytes)) return null;
  let parsed: NetlogonSamLogonResponseEx;
  try {
    parsed = parseNetlogonResponseEx(bytes);
  } catch (e) {
    throw new ProvisioningError('NERR_LDAPCapableDCRequired', `the DC's LDAP ping answer is not understood (${(e as Error).message})`, { field: 'dcName' });
  }
  const wanted = domain.replace(/\.$/, '').toLowerCase();
  if (parsed.dnsDomainName.toLowerCase() !== wanted && parsed.netbiosDomainName.toLowerCase() !== wanted) return null;
  return parsed;
}

/** The LDAP ping over the connection: null when the DC does not answer for that domain. */
export async function ldapPing(conn: DirectoryConnection, domain: string): Promise<NetlogonSamLogonResponseEx | null> {
  const { filter, ...rest } = pingSearch(domain);
  const result = await conn.run({ action: 'LDAP ping' }, () => conn.client.search('', { scope: 'base', filter, ...rest }));
  return pingAnswer(result.searchEntries[0], domain);
}

export interface RootDse {
  defaultNamingContext: string;
  configurationNamingContext: string;
  dnsHostName: string;
  isSynchronized: boolean;
  domainFunctionality: number;
  domainControllerFunctionality: number;
}

const str = (v: unknown): string => (Array.isArray(v) ? String(v[0] ?? '') : v === undefined ? '' : String(v));

export async function readRootDse(conn: DirectoryConnection): Promise<RootDse> {
  const attrs = ['defaultNamingContext', 'configurationNamingContext', 'dnsHostName', 'isSynchronized', 'domainFunctionality', 'domainControllerFunctionality'];
  const r = await conn.run({ action: 'reading the root DSE' }, () => conn.client.search('', { scope: 'base', attributes: attrs }));
  const e = r.searchEntries[0] ?? {};
  return {
    defaultNamingContext: str(e.defaultNamingContext),
    configurationNamingContext: str(e.configurationNamingContext),
    dnsHostName: str(e.dnsHostName),
    isSynchronized: str(e.isSynchronized).toUpperCase() === 'TRUE',
    domainFunctionality: Number(str(e.domainFunctionality) || 0),
    domainControllerFunctionality: Number(str(e.domainControllerFunctionality) || 0),
  };
}

export interface DomainHead {
  dn: string;
  sid: string;
  guid: string;
  computersContainer: string;
  machineAccountQuota?: number;
}

/** The domain head: its SID, GUID, and where computers go by default (wellKnownObjects). */
export async function readDomainHead(conn: DirectoryConnection, domainDn: string): Promise<DomainHead> {
  const r = await conn.run({ action: 'reading the domain object' }, () =>
    conn.client.search(domainDn, {
      scope: 'base',
      attributes: ['objectSid', 'objectGUID', 'wellKnownObjects', 'ms-DS-MachineAccountQuota'],
      explicitBufferAttributes: ['objectSid', 'objectGUID'],
    }),
  );
  const e = r.searchEntries[0];
  if (!e || !Buffer.isBuffer(e.objectSid) || !Buffer.isBuffer(e.objectGUID)) {
    throw new ProvisioningError('ERROR_NO_SUCH_DOMAIN', `the domain object ${domainDn} could not be read`, { field: 'domain' });
  }
  const wko = (Array.isArray(e.wellKnownObjects) ? e.wellKnownObjects : [e.wellKnownObjects]).map(String);
  const prefix = `B:32:${COMPUTERS_CONTAINER_GUID}:`;
  const computers = wko.find((v) => v.toUpperCase().startsWith(prefix));
  if (!computers) {
    throw new ProvisioningError('ERROR_DS_NO_SUCH_OBJECT', 'the domain publishes no well-known computers container; pass machineAccountOU', { field: 'machineAccountOU' });
  }
  const quota = str(e['ms-DS-MachineAccountQuota']);
  return {
    dn: domainDn,
    sid: sidFromBytes(e.objectSid),
    guid: guidFromBytes(e.objectGUID),
    computersContainer: computers.slice(prefix.length),
    machineAccountQuota: quota === '' ? undefined : Number(quota),
  };
}

/** Everything discovery found, in the shapes the package and the outputs need. */
export interface Discovery {
  ping: NetlogonSamLogonResponseEx;
  rootDse: RootDse;
  head: DomainHead;
  dcInfo: DomainControllerInfo;
  domainInfo: DnsDomainInfo;
  domainFacts: DomainFacts;
}

export interface DiscoverOptions {
  domain: string;
  dcName?: string;
}

const sameHost = (a: string, b: string): boolean => a.replace(/^\\\\/, '').replace(/\.$/, '').toLowerCase() === b.replace(/^\\\\/, '').replace(/\.$/, '').toLowerCase();

/** Step 1, before the bind: is this a writable DC of that domain? */
export async function pingDomainController(conn: DirectoryConnection, opts: DiscoverOptions): Promise<NetlogonSamLogonResponseEx> {
  return checkPingAnswer(await ldapPing(conn, opts.domain), opts, conn.url);
}

/** The checks on a ping answer (null: no answer for that domain), apart from the I/O. */
export function checkPingAnswer(ping: NetlogonSamLogonResponseEx | null, opts: DiscoverOptions, url: string): NetlogonSamLogonResponseEx {
  if (!ping) {
    if (opts.dcName) {
      throw new ProvisioningError('ERROR_INVALID_DOMAIN_ROLE', `${opts.dcName} is not a domain controller of ${opts.domain}`, { field: 'dcName' });
    }
    throw new ProvisioningError('ERROR_NO_SUCH_DOMAIN', `no domain controller answered for ${opts.domain}`, { field: 'domain' });
  }
  if (opts.dcName && !/^[0-9.:[\]]+$/.test(opts.dcName) && !sameHost(opts.dcName, ping.dnsHostName) && !sameHost(opts.dcName, ping.netbiosComputerName)) {
    throw new ProvisioningError('ERROR_INVALID_DOMAIN_ROLE', `the DC reached at ${url} is ${ping.dnsHostName}, not ${opts.dcName}`, { field: 'dcName' });
  }
  if (ping.opcode === OPCODE_SAM_PAUSE_RESPONSE_EX) {
    throw new ProvisioningError('ERROR_DS_UNAVAILABLE', `${ping.dnsHostName} answers that its Netlogon service is paused`, { field: 'dcName' });
  }
  if (!(ping.flags & DsFlags.LDAP) || !(ping.flags & DsFlags.DS)) {
    throw new ProvisioningError('NERR_LDAPCapableDCRequired', `${ping.dnsHostName} is not an LDAP-capable directory DC`, { field: 'dcName' });
  }
  if (!(ping.flags & DsFlags.WRITABLE)) {
    // Provisioning writes the account; a read-only DC would refer the write elsewhere or refuse it.
    throw new ProvisioningError('ERROR_INVALID_DOMAIN_ROLE', `${ping.dnsHostName} is a read-only DC; provisioning needs a writable DC`, { field: 'dcName' });
  }
  return ping;
}

/** Step 2, after the bind: root DSE and domain head, together. */
export async function completeDiscovery(conn: DirectoryConnection, ping: NetlogonSamLogonResponseEx): Promise<Discovery> {
  const domainDn = domainToDn(ping.dnsDomainName);
  const [rootDse, head] = await Promise.all([readRootDse(conn), readDomainHead(conn, domainDn)]);
  if (rootDse.defaultNamingContext.toLowerCase() !== domainDn.toLowerCase()) {
    throw new ProvisioningError('ERROR_INVALID_DOMAIN_ROLE', `${ping.dnsHostName} holds ${rootDse.defaultNamingContext}, not ${domainDn}`, { field: 'dcName' });
  }
  if (!rootDse.isSynchronized) {
    throw new ProvisioningError('ERROR_DS_UNAVAILABLE', `${ping.dnsHostName} has not finished its initial synchronization`, { field: 'dcName' });
  }
  // NetProvisionComputerAccount needs a Windows Server 2008 (level 3) DC or later.
  if (rootDse.domainControllerFunctionality < 3) {
    throw new ProvisioningError('NERR_DS8DCRequired', `${ping.dnsHostName} runs functional level ${rootDse.domainControllerFunctionality}; 3 (2008) or later is required`, { field: 'dcName' });
  }
  const address = conn.remoteAddress ?? ping.dcAddress;
  if (!address) throw new ProvisioningError('ERROR_DS_SERVER_DOWN', 'the DC address is unknown', { field: 'dcName' });
  // DsGetDcName adds these three when the names it returns are DNS names, as ours are; Windows and
  // Samba packages both carry them (0xe0000000 on top of the ping flags).
  const flags = (ping.flags | DsFlags.DNS_CONTROLLER | DsFlags.DNS_DOMAIN | DsFlags.DNS_FOREST) >>> 0;
  const dcInfo: DomainControllerInfo = {
    name: `\\\\${ping.dnsHostName}`,
    address: `\\\\${address}`,
    addressType: 1, // DS_INET_ADDRESS
    domainGuid: ping.domainGuid,
    domainName: ping.dnsDomainName,
    forestName: ping.dnsForestName,
    flags,
    dcSiteName: ping.dcSiteName || null,
    clientSiteName: ping.clientSiteName || null,
  };
  const domainInfo: DnsDomainInfo = {
    name: ping.netbiosDomainName,
    dnsDomainName: ping.dnsDomainName,
    dnsForestName: ping.dnsForestName,
    domainGuid: ping.domainGuid,
    sid: head.sid,
  };
  const domainFacts: DomainFacts = {
    dnsDomainName: ping.dnsDomainName,
    netbiosDomainName: ping.netbiosDomainName,
    forestName: ping.dnsForestName,
    domainGuid: ping.domainGuid,
    domainSid: head.sid,
    dcName: ping.dnsHostName,
    dcAddress: address,
    dcSiteName: dcInfo.dcSiteName,
    clientSiteName: dcInfo.clientSiteName,
  };
  return { ping, rootDse, head, dcInfo, domainInfo, domainFacts };
}
