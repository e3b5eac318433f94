// The forest's enterprise root CAs, as NETSETUP_PROVISION_ROOT_CA_CERTS puts them in a package:
// the cACertificate values of the certificationAuthority objects under
// CN=Certification Authorities,CN=Public Key Services,CN=Services,<configuration NC>.
// Each value must be one DER X.509 certificate (Node's X509Certificate parses it, and its DER is
// exactly the value); anything else is reported by object and value, never silently dropped.
import { X509Certificate } from 'node:crypto';
import { ProvisioningError } from '../errors';
import type { DirectoryConnection } from './connection';

export interface EnterpriseRootCa {
  /** the certificationAuthority object the value came from */
  dn: string;
  der: Uint8Array;
  subject: string;
  /** SHA-1 of the DER, upper-case hex without colons (what Windows calls the thumbprint) */
  thumbprint: string;
  notAfter: string;
}

export const certificationAuthoritiesDn = (configurationNamingContext: string): string =>
  `CN=Certification Authorities,CN=Public Key Services,CN=Services,${configurationNamingContext}`;

/** Parse one cACertificate value; a clear ERROR_INVALID_DATA naming the object when it is not a certificate. */
function certificateFromValue(value: Buffer, dn: string, index: number, field = 'options.rootCaCerts'): EnterpriseRootCa {
  const bad = (why: string): ProvisioningError =>
    new ProvisioningError('ERROR_INVALID_DATA', `${dn}: cACertificate value ${index} is not an X.509 certificate (${why})`, { field });
  // X509Certificate also takes PEM text; the attribute holds DER, so insist on a DER SEQUENCE.
  if (value.length < 2 || value[0] !== 0x30) throw bad(`${value.length} bytes that do not start a DER SEQUENCE`);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(value);
  } catch (e) {
    throw bad((e as Error).message);
  }
  if (!cert.raw.equals(value)) throw bad('trailing or re-encoded bytes: the value is not exactly one DER certificate');
  return {
    dn,
    der: new Uint8Array(cert.raw),
    subject: cert.subject.replace(/\n/g, ', '),
    thumbprint: cert.fingerprint.replace(/:/g, '').toUpperCase(),
    notAfter: cert.validTo,
  };
}

/** Every enterprise root CA certificate the forest publishes, each once (by thumbprint), in directory order. */
export async function readEnterpriseRootCas(conn: DirectoryConnection, configurationNamingContext: string): Promise<EnterpriseRootCa[]> {
  const base = certificationAuthoritiesDn(configurationNamingContext);
  let entries;
  try {
    const r = await conn.run({ action: `reading the enterprise root CAs under ${base}`, field: 'options.rootCaCerts' }, () =>
      conn.client.search(base, {
        scope: 'one',
        filter: '(objectClass=certificationAuthority)',
        attributes: ['cACertificate'],
        explicitBufferAttributes: ['cACertificate'],
      }),
    );
    entries = r.searchEntries;
  } catch (e) {
    // No Public Key Services container: the forest publishes no enterprise CA.
    if (e instanceof ProvisioningError && e.code === 'ERROR_DS_NO_SUCH_OBJECT') return [];
    throw e;
  }
  const out: EnterpriseRootCa[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    const raw = e.cACertificate;
    const values = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]) as unknown[];
    values.forEach((v, i) => {
      const ca = certificateFromValue(Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'latin1'), e.dn, i);
      if (!seen.has(ca.thumbprint)) {
        seen.add(ca.thumbprint);
        out.push(ca);
      }
    });
  }
  return out;
}
