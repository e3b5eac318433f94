// The LDAP ping's answer, NETLOGON_SAM_LOGON_RESPONSE_EX ([MS-ADTS] 6.3.1.9), and its DS_* flags:
// the format alone, no I/O and no LDAP client, so that reading a package's DC flags loads no ldapts.
import { guidFromBytes } from '../odj/ids';

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

const OPCODE_SAM_LOGON_RESPONSE_EX = 0x17;
export const OPCODE_SAM_PAUSE_RESPONSE_EX = 0x18;
const OPCODE_SAM_USER_UNKNOWN_EX = 0x19;

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
