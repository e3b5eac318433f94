// The readable model of an offline domain join package: what buildPackage() takes and what
// parsePackage() gives back. The wire structures themselves are declared in structures.ts, and
// fact-map.ts says which member each fact is; this file only names the facts a person (or the
// directory backend) deals in.

/** DOMAIN_CONTROLLER_INFOW, as the DC answers it (netr_DsRGetDCNameInfo in Samba). */
export interface DomainControllerInfo {
  /** `\\host.fqdn` */
  name: string;
  /** `\\1.2.3.4` */
  address: string;
  /** 1 = DS_INET_ADDRESS, 2 = DS_NETBIOS_ADDRESS */
  addressType: number;
  /** lower-case GUID string, e.g. `5e1c…-…` */
  domainGuid: string;
  /** DNS name of the domain */
  domainName: string;
  /** DNS name of the forest */
  forestName: string;
  /** DS_* flags from the DC's LDAP ping answer */
  flags: number;
  dcSiteName: string | null;
  clientSiteName: string | null;
}

/** ODJ_POLICY_DNS_DOMAIN_INFO */
export interface DnsDomainInfo {
  /** NetBIOS name of the domain */
  name: string;
  dnsDomainName: string;
  dnsForestName: string;
  domainGuid: string;
  /** `S-1-5-21-…`, or null when absent */
  sid: string | null;
}

/** OP_JOINPROV2_PART: the later NETSETUP_PROVISIONING_PARAMS members. */
export interface JoinProvider2 {
  /** OP_JP2_FLAG_PERSISTENTSITE = 1 */
  flags: number;
  netbiosName: string | null;
  siteName: string | null;
  primaryDnsDomain: string | null;
}

/** One Registry.pol entry, as OP_POLICY_ELEMENT carries it. */
export interface PolicyElement {
  keyPath: string;
  valueName: string | null;
  /** REG_* type number */
  valueType: number;
  data: Uint8Array;
}

/** OP_POLICY_ELEMENT_LIST: one policy source (a Registry.pol file or a GPO). */
export interface PolicyElementList {
  source: string | null;
  /** HKEY_* root key id (HKLM = 0x80000002) */
  rootKeyId: number;
  elements: PolicyElement[];
}

/** OP_CERT_PFX_STORE */
export interface PfxStore {
  templateName: string | null;
  privateKeyExportPolicy: number;
  policyServerUrl: string | null;
  policyServerUrlFlags: number;
  policyServerId: string | null;
  pfx: Uint8Array;
}

/** OP_CERT_SST_STORE */
export interface SstStore {
  storeLocation: number;
  storeName: string | null;
  sst: Uint8Array;
}

export interface CertificateParts {
  pfxStores: PfxStore[];
  sstStores: SstStore[];
}

/** Everything a package says, in the form a caller builds it from. */
export interface PackageFacts {
  /** ODJ_WIN7BLOB.lpDomain: the DNS domain name */
  domain: string;
  /** ODJ_WIN7BLOB.lpMachineName */
  machineName: string;
  /** ODJ_WIN7BLOB.lpMachinePassword: secret */
  machinePassword: string;
  domainInfo: DnsDomainInfo;
  dc: DomainControllerInfo;
  /** ODJ_WIN7BLOB.Options (provisioning option bits) */
  options: number;
  /** OP_JOINPROV3_PART.Rid: the account's RID; its SID is domainInfo.sid + "-" + rid */
  rid: number;
  joinProvider2?: JoinProvider2;
  certificates?: CertificateParts;
  policies?: PolicyElementList[];
}
