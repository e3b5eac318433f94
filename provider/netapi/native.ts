// What both native flavours (Netapi32.dll on Windows, Samba's libnetapi elsewhere) offer the
// backend, in plain JavaScript values. Every call is synchronous on purpose: Windows
// impersonation belongs to the calling thread, and libnetapi keeps process-wide state.

/** NETSETUP_PROVISIONING_PARAMS in JavaScript form, options already reduced to their bits. */
export interface NativeProvisionRequest {
  domain: string;
  machineName: string;
  machineAccountOU?: string;
  dcName?: string;
  /** dwProvisionOptions */
  options: number;
  certTemplateNames: string[];
  machinePolicyNames: string[];
  machinePolicyPaths: string[];
  netbiosName?: string;
  siteName?: string;
  primaryDnsDomain?: string;
}

/** What NetUserGetInfo level 23 says about an account. */
export interface NativeUser {
  /** usri23_name (Samba leaves it empty) */
  name: string;
  /** usri23_flags: UF_* bits, e.g. UF_WORKSTATION_TRUST_ACCOUNT 0x1000 */
  flags: number;
  /** usri23_user_sid as `S-1-5-21-…` */
  sid: string;
}

export interface NativeCredentials {
  /** `DOMAIN\\user`, `user@realm` or a bare user name; absent: the process's own identity */
  user?: string;
  /** secret */
  password?: string;
  /** the domain a bare user name belongs to */
  defaultDomain?: string;
}

/** The calls made while the credentials are in force. */
export interface NetapiSession {
  /** The type-serialized ODJ_PROVISION_DATA the OS built. Secret. */
  provision(request: NativeProvisionRequest): Buffer;
  /** null when the account does not exist */
  getUser(server: string | null, accountName: string): NativeUser | null;
  /** false when the account was already gone */
  deleteUser(server: string | null, accountName: string): boolean;
}

export interface NativeNetapi {
  readonly flavour: 'windows' | 'samba';
  /** Runs fn with the credentials in force, and undoes them on every path. */
  withSession<T>(credentials: NativeCredentials, fn: (session: NetapiSession) => T): T;
}
