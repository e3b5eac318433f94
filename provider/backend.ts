// The one interface both backends implement (directory/ over LDAP, netapi/ through koffi), and the
// shapes that cross it. Validation lives in validation.ts, option bits in options.ts.

/** How to reach and authenticate to the domain. The bind password is a secret. */
export interface ConnectionSettings {
  /** `ldaps://host:636` or `ldap://host:389` (the latter with startTls). Default: ldaps://<dcName or domain> */
  url?: string;
  /** Upgrade an ldap:// connection with StartTLS (required for setting passwords). */
  startTls?: boolean;
  /** `user@realm`, `DOMAIN\\user` or a DN; with Kerberos the client principal (`user@REALM`) */
  bindUser?: string;
  bindPassword?: string;
  /** 'simple' (default): a simple bind with bindPassword over TLS. 'kerberos': a SASL GSSAPI bind
   *  with the credential cache (KRB5CCNAME) or `keytab`, sealed on ldap:// (the default URL then). */
  auth?: 'simple' | 'kerberos';
  /** With auth 'kerberos': a keytab file with bindUser's keys, instead of the credential cache. */
  keytab?: string;
  /** PEM text of CA certificates to trust for the DC's TLS certificate */
  caCerts?: string[];
  /** Turns TLS certificate verification off. Named loudly on purpose; never the default. */
  insecureSkipTlsVerify?: boolean;
  /** Per network operation (connect, bind, each search and write), milliseconds. Default 15000. */
  timeoutMs?: number;
  /** DNS servers (IP addresses, optional :port) for the DC locator's SRV and A lookups instead of
   *  the system resolver, e.g. the domain's own DNS when the runner cannot resolve the domain. */
  dnsServers?: string[];
}

/** Named flags for every documented NETSETUP_PROVISION_* bit. */
export interface ProvisioningOptions {
  downlevelPrivSupport?: boolean; // 0x1
  reuseAccount?: boolean; // 0x2
  useDefaultPassword?: boolean; // 0x4
  skipAccountSearch?: boolean; // 0x8
  rootCaCerts?: boolean; // 0x10
  persistentSite?: boolean; // 0x20
}

/** Our NETSETUP_PROVISIONING_PARAMS. */
export interface ProvisioningParams {
  domain: string;
  machineName: string;
  machineAccountOU?: string;
  dcName?: string;
  options?: ProvisioningOptions;
  certTemplateNames?: string[];
  /** The LDAP backend cannot enroll: a PFX per template it should put in the package. Secret. */
  certificates?: CertificateRequest[];
  machinePolicyNames?: string[];
  machinePolicyPaths?: string[];
  /** A mounted or copied SYSVOL share, where machinePolicyNames' Registry.pol files are read off Windows. */
  sysvolRoot?: string;
  netbiosName?: string;
  siteName?: string;
  primaryDnsDomain?: string;
  /** Ties the account to its creator (the Pulumi resource passes its URN). The LDAP backend writes
   *  a hash of it on the new account, and a later create with the same tag adopts an account that
   *  an interrupted create left behind instead of failing with NERR_UserExists. Not secret. */
  ownerTag?: string;
  /** With reuseAccount: clear ACCOUNTDISABLE on a disabled account. Without it a disabled account
   *  is reused but stays disabled (someone disabled it on purpose), and the result says so. */
  enableAccount?: boolean;
}

/** One OP_CERT_PFX_STORE: a certificate (with its key) the caller obtained from a CA. */
export interface CertificateRequest {
  /** the certificate template it was issued from */
  templateName: string;
  /** the PKCS#12 file, bytes or base64 text. Secret. */
  pfx: string | Uint8Array;
  policyServerUrl?: string;
  /** PolicyServerUrlFlags bits (PsfLocationGroupPolicy 1, …) */
  policyServerUrlFlags?: number;
  policyServerId?: string;
  /** X509PrivateKeyExportFlags bits (XCN_NCRYPT_ALLOW_EXPORT_FLAG 1, …); 0 = not exportable */
  privateKeyExportPolicy?: number;
}

/** What the directory says about the computer account. */
export interface AccountFacts {
  distinguishedName: string;
  objectGuid: string;
  objectSid: string;
  rid: number;
  samAccountName: string;
  /** false when userAccountControl has ACCOUNTDISABLE; absent when the backend could not tell */
  enabled?: boolean;
}

/** The DC and domain the package was made against. */
export interface DomainFacts {
  dnsDomainName: string;
  netbiosDomainName: string;
  forestName: string;
  domainGuid: string;
  domainSid: string;
  dcName: string;
  dcAddress: string;
  dcSiteName: string | null;
  clientSiteName: string | null;
}

/** The account's password and logon facts, as one DC sees them: FILETIMEs (100 ns since 1601,
 *  UTC) as decimal strings, '0' when never set. lastLogon and logonCount are kept per DC and not
 *  replicated; lastLogonTimestamp replicates but moves only when it is ~9–14 days old. */
export interface LogonFacts {
  pwdLastSet: string;
  lastLogon: string;
  lastLogonTimestamp: string;
  logonCount: number;
  /** userAccountControl without ACCOUNTDISABLE */
  enabled: boolean;
  /** the DC these were read from (its DNS host name) */
  dcName: string;
}

/** What a package's issue left in the directory: the account's pwdLastSet right after the password
 *  in the package was set, and the DC that set it. A later pwdLastSet means another password. */
export interface IssuedFacts {
  pwdLastSet: string;
  dcName: string;
  /** The latest logon already there when the facts were taken (FILETIME), when later than
   *  pwdLastSet: Samba's own provisioning (libnetapi, `net offlinejoin`) logs on with the new
   *  password itself. Only logons after it mean a machine joined. */
  seenLogon?: string;
}

export interface ProvisionResult {
  account: AccountFacts;
  domain: DomainFacts;
  /** The type-serialized ODJ_PROVISION_DATA. Secret. */
  packageBinary: Uint8Array;
  /** base64 of packageBinary, what unattend.xml's AccountData takes. Secret. */
  packageText: string;
  /** true when an existing account was reused */
  reused: boolean;
  /** When the password in the package was set, for later "is the package still current?" checks.
   *  Absent when the backend cannot tell (the native one), or when the package was rebuilt around
   *  a password set earlier (the earlier facts still hold). */
  issued?: IssuedFacts;
  /** What the caller should know although it worked, e.g. that a reuse reset the password of an
   *  account a machine had logged on with. No secret. */
  warnings?: string[];
}

/** Where an existing account lives: its domain and the DC that holds it (made it or last wrote
 *  it). That DC is asked first; a "no such object" from any other DC is not proof that the
 *  account is gone (see the README's replication rule). */
export interface AccountLocation {
  domain: string;
  /** the DC's DNS host name */
  homeDc?: string;
  /** told which DC answered (the home DC, or another writable one when it could not be reached) */
  onDc?: (dcName: string) => void;
}

export interface JoinBackend {
  provision(params: ProvisioningParams, connection: ConnectionSettings): Promise<ProvisionResult>;
  /** null when no object with that GUID exists */
  readAccount(objectGuid: string, connection: ConnectionSettings, where?: AccountLocation): Promise<AccountFacts | null>;
  /** Deleting an account that is already gone is not an error. */
  deleteAccount(objectGuid: string, connection: ConnectionSettings, where?: AccountLocation): Promise<void>;
}
