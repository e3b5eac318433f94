// The size and count bounds on everything a caller hands us that reaches LDAP, the wire or a file.
// One table, so the README, validation and the tests agree. Each bound is well above what a real
// domain uses and far below what could hurt the DC, the provider process or a Pulumi state file.
export const Limits = {
  /** NetBIOS computer name (the machine name, netbiosName) */
  machineNameChars: 15,
  /** a DNS name (domain, dcName, primaryDnsDomain), RFC 1035 */
  dnsNameChars: 253,
  /** the whole OU DN */
  ouDnChars: 2048,
  /** RDNs in the OU DN (AD allows deep trees; nobody nests 32 levels) */
  ouDnRdns: 32,
  /** one RDN value; AD's rangeUpper for ou/cn is 64, for dc 255 */
  rdnValueChars: 255,
  /** ownerTag: any caller text (a Pulumi URN is well below this); only its hash reaches the directory */
  ownerTagChars: 1024,
  /** connection.url, connection.bindUser */
  urlChars: 2048,
  bindUserChars: 1024,
  /** connection.bindPassword (AD's own maximum is 256 UTF-16 units) */
  bindPasswordChars: 1024,
  /** connection.keytab, a file path */
  keytabPathChars: 4096,
  /** connection.caCerts: how many, and all PEM text together */
  caCertCount: 32,
  caCertTotalBytes: 1024 * 1024,
  /** certTemplateNames, machinePolicyNames, machinePolicyPaths: entries each, characters per entry */
  listEntries: 64,
  listEntryChars: 1024,
  /** one Registry.pol file read for a package */
  policyFileBytes: 4 * 1024 * 1024,
  /** a package file or stream the CLI reads (inspect, unattend): real packages are a few KiB, with
   *  certificates and policies some hundred KiB; 8 MiB keeps a wrong file (or /dev/zero) cheap */
  packageFileBytes: 8 * 1024 * 1024,
  /** a --batch file: 10,000 lines with long OU DNs */
  batchFileBytes: 4 * 1024 * 1024,
  /** a --password-file (only its first line is used) */
  passwordFileBytes: 64 * 1024,
  /** one PFX file (as odj/pfx.ts MAX_PFX_BYTES) */
  pfxFileBytes: 1024 * 1024,
  /** per call to provisionMany / the CLI's batch */
  batchSize: 10_000,
  /** concurrent LDAP connections this process opens to one DC (further callers wait their turn) */
  connectionsPerDc: 8,
  /** connection.dnsServers: addresses to ask instead of the system resolver */
  dnsServers: 8,
  /** the DC locator (directory/locator.ts): candidates tried per search, pings in flight at once,
   *  the longest a candidate may take to connect, finish TLS and answer the ping, and the whole search */
  locatorCandidates: 16,
  locatorParallel: 3,
  locatorPingMs: 5_000,
  locatorSearchMs: 30_000,
} as const;
