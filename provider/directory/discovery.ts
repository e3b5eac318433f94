// What the package needs to know about the domain and the DC, asked of the DC itself: the LDAP ping
// (NETLOGON_SAM_LOGON_RESPONSE_EX, [MS-ADTS] 6.3.1.9), the root DSE and the domain head object.
import type { DomainFacts } from '../backend';
import { ProvisioningError } from '../errors';
import type { DnsDomainInfo, DomainControllerInfo } from '../odj/facts';
import { guidFromBytes, sidFromBytes } from '../odj/ids';
import type { DirectoryConnection } from './connection';
import { escapeFilter } from 'ldapts';
import { domainToDn } from './escape';

/** DS_* flags of the ping answer ([MS-ADTS] 6.3.1.2) and of DOMAIN_CONTROLLER_INFO. */
export const DsFlags = {
  PDC: 0x1,
  GC: 0x4,
  LDAP: 0x8,
  DS: 0x10,
  KDC: 0x20,
  TIMESERV: 0x40,
  CLOSEST: 0x80,
  WRITABLE: 0x100,
  GOOD_TIMESERV: 0x200,
  NDNC: 0x400,
  SELECT_SECRET_DOMAIN_6: 0x800,
  FULL_SECRET_DOMAIN_6: 0x1000,
  WS: 0x2000,
  DS_8: 0x4000,
  DS_9: 0x8000,
  DS_10: 0x10000,
  DNS_CONTROLLER: 0x20000000,
  DNS_DOMAIN: 0x40000000,
  DNS_FOREST: 0x80000000,
} as const;

/** NETLOGON_NT_VERSION_5 | NETLOGON_NT_VERSION_5EX: ask for the _EX answer. */
const NT_VERSION = 0x00000006;
const OPCODE_SAM_LOGON_RESPONSE_EX = 0x17;
const OPCODE_SAM_PAUSE_RESPONSE_EX = 0x18;
const OPCODE_SAM_USER_UNKNOWN_EX = 0x19;
/** GUID_COMPUTERS_CONTAINER_W, the well-known object that names the default computers container. */
export const COMPUTERS_CONTAINER_GUID = 'AA312825768811D1ADED00C04FD8D5CD';

export interface NetlogonSamLogonResponseEx {
  opcode: number;
  flags: number;
  domainGuid: string;
  dnsForestName: string;
  dnsDomainName: string;
  dnsHostName: string;
  netbiosDomainName: string;
  netbiosComputerName: string;
  userName: string;
  dcSiteName: string;
  clientSiteName: string;
  /** present when the answer carries it (NETLOGON_NT_VERSION_5EX_WITH_IP) */
  dcAddress?: string;
  ntVersion?: number;
}

class NetlogonFormatError extends Error {
  override readonly name = 'NetlogonFormatError';
}

/** Read one RFC 1035 name, with compression pointers relative to the start of the message. */
function readCompressedName(buf: Buffer, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = start;
  let next = -1;
  let jumps = 0;
  for (;;) {
    if (pos >= buf.length) throw new NetlogonFormatError('name runs past the end');
    const len = buf[pos];
    if (len === 0) {
      pos += 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new NetlogonFormatError('truncated name pointer');
      const target = ((len & 0x3f) << 8) | buf[pos + 1];
      if (next < 0) next = pos + 2;
      if (++jumps > 64 || target >= buf.length) throw new NetlogonFormatError('bad name pointer');
      pos = target;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new NetlogonFormatError('bad label length');
    if (pos + 1 + len > buf.length) throw new NetlogonFormatError('label runs past the end');
    labels.push(buf.toString('utf8', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return { name: labels.join('.'), next: next >= 0 ? next : pos };
}

/** Parse the `Netlogon` attribute value of an LDAP ping answer. */
export function parseNetlogonResponseEx(data: Uint8Array): NetlogonSamLogonResponseEx {
  const buf = Buffer.from(data);
  if (buf.length < 24) throw new NetlogonFormatError('answer too short');
  const opcode = buf.readUInt16LE(0);
  if (opcode !== OPCODE_SAM_LOGON_RESPONSE_EX && opcode !== OPCODE_SAM_USER_UNKNOWN_EX && opcode !== OPCODE_SAM_PAUSE_RESPONSE_EX) {
    throw new NetlogonFormatError(`opcode 0x${opcode.toString(16)} is not a NETLOGON_SAM_LOGON_RESPONSE_EX`);
  }
  const flags = buf.readUInt32LE(4);
  const domainGuid = guidFromBytes(buf.subarray(8, 24));
  let pos = 24;
  const name = (): string => {
    const r = readCompressedName(buf, pos);
    pos = r.next;
    return r.name;
  };
  const dnsForestName = name();
  const dnsDomainName = name();
  const dnsHostName = name();
  const netbiosDomainName = name();
  const netbiosComputerName = name();
  const userName = name();
  const dcSiteName = name();
  const clientSiteName = name();
  const out: NetlogonSamLogonResponseEx = {
    opcode,
    flags,
    domainGuid,
    dnsForestName,
    dnsDomainName,
    dnsHostName,
    netbiosDomainName,
    netbiosComputerName,
    userName,
    dcSiteName,
    clientSiteName,
  };
  // The tail is NtVersion, LmNtToken, Lm20Token (8 bytes), optionally preceded by the DC's
  // sockaddr_in (size byte + 16 bytes); anything else we leave alone.
  const rest = buf.length - pos;
  if (rest >= 1 + 16 + 8 && buf[pos] === 16) {
    const family = buf.readUInt16LE(pos + 1);
    if (family === 2) out.dcAddress = Array.from(buf.subarray(pos + 5, pos + 9)).join('.');
    pos += 17;
  }
  if (buf.length - pos >= 8) out.ntVersion = buf.readUInt32LE(pos);
  return out;
}

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
