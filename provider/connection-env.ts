// The environment variables that carry connection settings, for the CLI and the Pulumi provider
// alike (CI sets them once for both). Booleans read as true for 1/true/yes.

export const connectionEnvKeys = {
  url: 'ODJ_LDAP_URL',
  startTls: 'ODJ_START_TLS',
  bindUser: 'ODJ_BIND_USER',
  bindPassword: 'ODJ_BIND_PASSWORD',
  caFile: 'ODJ_CA_FILE',
  insecureSkipTlsVerify: 'ODJ_INSECURE_SKIP_TLS_VERIFY',
  timeoutMs: 'ODJ_TIMEOUT_MS',
  auth: 'ODJ_AUTH',
  keytab: 'ODJ_KEYTAB',
} as const;

export const isTrueFlag = (v: string): boolean => /^(1|true|yes)$/i.test(v);
