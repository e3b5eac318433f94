// One place that turns what ldapts throws into ProvisioningError with the Windows code a caller of
// NetProvisionComputerAccount would see. Server diagnostics are kept (they help), secrets are not.
import { ResultCodeError } from 'ldapts';
import { ProvisioningError, WindowsCodes, type WindowsCodeName } from '../errors';
import { redactText, type Secret } from '../secret';

/** LDAP result code → Windows code, as LdapMapErrorToWin32 maps them. */
const byResultCode: Record<number, WindowsCodeName> = {
  3: 'ERROR_TIMEOUT', // timeLimitExceeded
  8: 'ERROR_DS_STRONG_AUTH_REQUIRED',
  13: 'ERROR_DS_STRONG_AUTH_REQUIRED', // confidentialityRequired
  19: 'ERROR_DS_CONSTRAINT_VIOLATION',
  32: 'ERROR_DS_NO_SUCH_OBJECT',
  34: 'ERROR_DS_INVALID_DN_SYNTAX',
  49: 'ERROR_LOGON_FAILURE',
  50: 'ERROR_ACCESS_DENIED',
  51: 'ERROR_DS_BUSY',
  52: 'ERROR_DS_UNAVAILABLE',
  53: 'ERROR_DS_UNWILLING_TO_PERFORM',
  64: 'ERROR_DS_NAMING_VIOLATION',
  65: 'ERROR_DS_OBJ_CLASS_VIOLATION',
  68: 'ERROR_ALREADY_EXISTS',
};

/** Win32 codes an AD server puts first in its diagnostic text (`0000216D: SvcErr: …`) that are more
 *  precise than the LDAP result code. */
const byDiagnostic: Record<number, WindowsCodeName> = {
  [WindowsCodes.ERROR_DS_MACHINE_ACCOUNT_QUOTA_EXCEEDED]: 'ERROR_DS_MACHINE_ACCOUNT_QUOTA_EXCEEDED',
  [WindowsCodes.ERROR_PASSWORD_RESTRICTION]: 'ERROR_PASSWORD_RESTRICTION',
  [WindowsCodes.ERROR_ACCESS_DENIED]: 'ERROR_ACCESS_DENIED',
};

/** Remove every occurrence of each secret from a text (defence in depth: servers do not normally
 *  echo values, but a message must never carry one). The rule lives in ../secret.ts. */
export function redact(text: string, secrets: readonly (Secret<string | Uint8Array> | string | undefined)[] = []): string {
  return redactText(text, secrets);
}

/** The Win32 code at the start of an AD diagnostic message, if any. */
function diagnosticWin32Code(message: string): number | undefined {
  const m = /^([0-9A-Fa-f]{8}):/.exec(message.trim());
  return m ? parseInt(m[1], 16) : undefined;
}

export interface LdapErrorContext {
  /** what we were doing, e.g. `creating the computer account` */
  action: string;
  field?: string;
  secrets?: readonly (Secret<string | Uint8Array> | string | undefined)[];
  /** overrides for specific LDAP result codes in this context */
  overrides?: Partial<Record<number, WindowsCodeName>>;
}

/** Map any error from an LDAP operation; ProvisioningErrors pass through unchanged. */
export function mapLdapError(error: unknown, ctx: LdapErrorContext): ProvisioningError {
  if (error instanceof ProvisioningError) return error;
  const secrets = ctx.secrets ?? [];
  const raw = error instanceof Error ? error.message : String(error);
  const detail = redact(raw.replace(/\s+/g, ' ').trim(), secrets);
  if (error instanceof ResultCodeError) {
    const diag = diagnosticWin32Code(raw);
    const code: WindowsCodeName | number =
      (diag !== undefined ? byDiagnostic[diag] : undefined) ??
      ctx.overrides?.[error.code] ??
      byResultCode[error.code] ??
      (diag !== undefined && diag !== 0 ? diag : 'ERROR_DS_UNWILLING_TO_PERFORM');
    return new ProvisioningError(code, `${ctx.action} failed: LDAP result ${error.code} (${detail})`, {
      field: ctx.field,
    });
  }
  const errno = (error as { code?: unknown })?.code;
  if (/timeout/i.test(raw) || errno === 'ETIMEDOUT') {
    return new ProvisioningError('ERROR_TIMEOUT', `${ctx.action} timed out (${detail})`, { field: ctx.field });
  }
  return new ProvisioningError('ERROR_DS_SERVER_DOWN', `${ctx.action} failed: ${detail}`, { field: ctx.field });
}
