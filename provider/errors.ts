// Errors carry the documented Windows result (name and number) and the field at fault, so that a
// Pulumi user, a CLI user and a script see what djoin/NetProvisionComputerAccount would have said.
// Messages never include a secret: callers pass field names and rules, never values of secrets.

/** The documented results of NetCreateProvisioningPackage / NetProvisionComputerAccount, and a few
 *  directory results that the LDAP backend reports the way Windows does. */
export const WindowsCodes = {
  NERR_Success: 0,
  ERROR_FILE_NOT_FOUND: 2,
  ERROR_ACCESS_DENIED: 5,
  ERROR_INVALID_DATA: 13,
  ERROR_NOT_SUPPORTED: 50,
  ERROR_INVALID_PARAMETER: 87,
  ERROR_LOGON_FAILURE: 1326,
  ERROR_INVALID_DOMAIN_ROLE: 1354,
  ERROR_NO_SUCH_DOMAIN: 1355,
  RPC_S_PROTSEQ_NOT_SUPPORTED: 1703,
  RPC_S_CALL_IN_PROGRESS: 1791,
  NERR_WkstaNotStarted: 2138,
  NERR_UserNotFound: 2221,
  NERR_UserExists: 2224,
  NERR_DS8DCRequired: 2720,
  NERR_LDAPCapableDCRequired: 2721,
  ERROR_DS_MACHINE_ACCOUNT_QUOTA_EXCEEDED: 8557,
  // What the LDAP backend reports for directory results, as Windows' LdapMapErrorToWin32 names them.
  ERROR_ALREADY_EXISTS: 183,
  ERROR_PASSWORD_RESTRICTION: 1325,
  ERROR_NOT_FOUND: 1168,
  ERROR_TIMEOUT: 1460,
  ERROR_DS_BUSY: 8206,
  ERROR_DS_UNAVAILABLE: 8207,
  ERROR_DS_OBJ_CLASS_VIOLATION: 8212,
  ERROR_DS_CANT_ON_NON_LEAF: 8213,
  ERROR_DS_STRONG_AUTH_REQUIRED: 8232,
  ERROR_DS_CONSTRAINT_VIOLATION: 8239,
  ERROR_DS_NO_SUCH_OBJECT: 8240,
  ERROR_DS_INVALID_DN_SYNTAX: 8242,
  ERROR_DS_UNWILLING_TO_PERFORM: 8245,
  ERROR_DS_NAMING_VIOLATION: 8247,
  ERROR_DS_SERVER_DOWN: 8250,
  // What the native backend's NetApi calls return besides the documented provisioning results.
  ERROR_CAN_NOT_COMPLETE: 1003,
  ERROR_PASSWORD_EXPIRED: 1330,
  ERROR_ACCOUNT_DISABLED: 1331,
  ERROR_NONE_MAPPED: 1332,
  ERROR_PASSWORD_MUST_CHANGE: 1907,
  ERROR_ACCOUNT_LOCKED_OUT: 1909,
  ERROR_NO_SUCH_USER: 1317,
  // The safety rule (account/safety.ts): the object is not a workstation trust (computer) account.
  ERROR_NO_TRUST_SAM_ACCOUNT: 1787,
  NERR_DCNotFound: 2453,
  // TLS verification failures, named as Schannel reports them on Windows.
  SEC_E_WRONG_PRINCIPAL: 0x80090322,
  SEC_E_UNTRUSTED_ROOT: 0x80090325,
  SEC_E_CERT_EXPIRED: 0x80090328,
  // Kerberos sign-in failures, named as SSPI reports them on Windows.
  SEC_E_UNSUPPORTED_FUNCTION: 0x80090302,
  SEC_E_TARGET_UNKNOWN: 0x80090303,
  SEC_E_INTERNAL_ERROR: 0x80090304,
  SEC_E_LOGON_DENIED: 0x8009030c,
  SEC_E_NO_CREDENTIALS: 0x8009030e,
  SEC_E_NO_AUTHENTICATING_AUTHORITY: 0x80090311,
  SEC_E_CONTEXT_EXPIRED: 0x80090317,
  SEC_E_TIME_SKEW: 0x80090324,
} as const;

export type WindowsCodeName = keyof typeof WindowsCodes;

const nameByNumber = new Map<number, WindowsCodeName>(
  Object.entries(WindowsCodes).map(([k, v]) => [v, k as WindowsCodeName]),
);

/** The name of a documented Windows code, or `0x…` for one we do not know. */
export function windowsCodeName(code: number): string {
  return nameByNumber.get(code) ?? `0x${(code >>> 0).toString(16).padStart(8, '0')}`;
}

export interface ProvisioningErrorOptions {
  /** the input field at fault, e.g. `machineName`, when there is one */
  field?: string;
  cause?: unknown;
}

/** The one error type of provisioning: Windows name and number, field at fault, plain message. */
export class ProvisioningError extends Error {
  override readonly name = 'ProvisioningError';
  readonly code: string;
  readonly errno: number;
  readonly field?: string;
  /** the message without the code and field prefix, for an error that adds to another's */
  readonly detail: string;

  constructor(code: WindowsCodeName | number, message: string, options: ProvisioningErrorOptions = {}) {
    const errno = typeof code === 'number' ? code : WindowsCodes[code];
    const name = typeof code === 'number' ? windowsCodeName(code) : code;
    super(`${name} (${errno}): ${options.field ? `${options.field}: ` : ''}${message}`, { cause: options.cause });
    this.code = name;
    this.errno = errno;
    this.field = options.field;
    this.detail = message;
  }
}
