// The one interface both backends implement (directory/ over LDAP, netapi/ through koffi), and the
// shapes that cross it. Validation and option handling live in provisioning.ts.

/** How to reach and authenticate to the domain. The bind password is a secret. */
export interface ConnectionSettings {
  /** `ldaps://host:636` or `ldap://host:389` (the latter with startTls). Default: ldaps://<dcName or domain> */
  url?: string;
  /** Upgrade an ldap:// connection with StartTLS (required for setting passwords). */
  startTls?: boolean;
  /** `user@realm`, `DOMAIN\\user` or a DN */
  bindUser?: string;
  bindPassword?: string;
  /** PEM text of CA certificates to trust for the DC's TLS certificate */
  caCerts?: string[];
  /** Turns TLS certificate verification off. Named loudly on purpose; never the default. */
  insecureSkipTlsVerify?: boolean;
  /** Per network operation (connect, bind, each search and write), milliseconds. Default 15000. */
  timeoutMs?: number;
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

export interface ProvisionResult {
  account: AccountFacts;
  domain: DomainFacts;
  /** The type-serialized ODJ_PROVISION_DATA. Secret. */
  packageBinary: Uint8Array;
  /** base64 of packageBinary, what unattend.xml's AccountData takes. Secret. */
  packageText: string;
  /** true when an existing account was reused */
  reused: boolean;
}

export interface JoinBackend {
  provision(params: ProvisioningParams, connection: ConnectionSettings): Promise<ProvisionResult>;
  /** null when no object with that GUID exists */
  readAccount(objectGuid: string, connection: ConnectionSettings): Promise<AccountFacts | null>;
  /** Deleting an account that is already gone is not an error. */
  deleteAccount(objectGuid: string, connection: ConnectionSettings): Promise<void>;
}
