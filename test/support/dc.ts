// What the tests know about the disposable DC: parsed from the env file that scripts/testdc.sh writes.
import { readFileSync } from 'node:fs';

export interface TestDc {
  realm: string;
  domain: string;
  netbiosDomain: string;
  dcHost: string;
  dcIp: string;
  ldapUrl: string;
  caFile: string;
  adminUser: string;
  adminPassword: string;
  smbConf: string;
  krb5Config: string;
  dir: string;
}

let cached: TestDc | undefined;

export function testDc(): TestDc {
  if (cached) return cached;
  const file = process.env.ODJ_TESTDC_ENV;
  if (!file) throw new Error('ODJ_TESTDC_ENV is not set: run the tests through vitest (its global setup starts the DC)');
  cached = dcFromEnvFile(file);
  return cached;
}

/** A DC's facts from the env file scripts/testdc.sh wrote for it (start or join). */
export function dcFromEnvFile(file: string): TestDc {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  const need = (k: string): string => {
    const v = env[k];
    if (v === undefined) throw new Error(`${file} lacks ${k}`);
    return v;
  };
  return {
    realm: need('ODJ_TEST_REALM'),
    domain: need('ODJ_TEST_DOMAIN'),
    netbiosDomain: need('ODJ_TEST_NETBIOS_DOMAIN'),
    dcHost: need('ODJ_TEST_DC_HOST'),
    dcIp: need('ODJ_TEST_DC_IP'),
    ldapUrl: need('ODJ_TEST_LDAP_URL'),
    caFile: need('ODJ_TEST_CA_FILE'),
    adminUser: need('ODJ_TEST_ADMIN_USER'),
    adminPassword: need('ODJ_TEST_ADMIN_PASSWORD'),
    smbConf: need('ODJ_TEST_SMB_CONF'),
    krb5Config: need('ODJ_TEST_KRB5_CONFIG'),
    dir: need('ODJ_TEST_DC_DIR'),
  };
}
