// A Samba client configuration for the native backend's tests (owned by the netapi tests):
// private Samba directories, the DC's realm, and Kerberos pointed at the DC by address with
// `create krb5 conf = no`, so that libnetapi sends no DNS query off loopback (without these two
// it asks the host's resolver for _kerberos._tcp SRV records).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDc } from './dc';

export interface NetapiClientFiles {
  configFile: string;
  krb5Config: string;
  /** removes the folder */
  cleanup(): void;
}

export function netapiClientFiles(): NetapiClientFiles {
  const dc = testDc();
  const dir = mkdtempSync(join(tmpdir(), 'odj-netapi-test-'));
  const sub = (n: string): string => {
    const p = join(dir, n);
    mkdirSync(p, { mode: 0o700 });
    return p;
  };
  const configFile = join(dir, 'smb.conf');
  writeFileSync(
    configFile,
    [
      '[global]',
      `workgroup = ${dc.netbiosDomain}`,
      `realm = ${dc.realm}`,
      'security = ads',
      'create krb5 conf = no',
      `private dir = ${sub('private')}`,
      `state directory = ${sub('state')}`,
      `cache directory = ${sub('cache')}`,
      `lock directory = ${sub('lock')}`,
      '',
    ].join('\n'),
  );
  const krb5Config = join(dir, 'krb5.conf');
  writeFileSync(
    krb5Config,
    `[libdefaults]\n default_realm = ${dc.realm}\n dns_lookup_realm = false\n dns_lookup_kdc = false\n rdns = false\n` +
      `[realms]\n ${dc.realm} = {\n  kdc = ${dc.dcIp}\n }\n`,
  );
  return { configFile, krb5Config, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
