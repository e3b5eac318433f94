// Certificates and policy values of a package in readable form, for `odj inspect` and logs:
// each SST certificate by subject, SHA-1 thumbprint and expiry; each policy value by its REG_*
// type and decoded data. PFX stores are never opened here (they are secret and encrypted).
import { X509Certificate } from 'node:crypto';
import { describeRegistryValue, regTypeName } from './registry-pol';
import { decodeSst, SerializedStoreError } from './sst';

export interface CertificateSummary {
  subject: string;
  issuer: string;
  /** SHA-1 of the DER, upper-case hex: what certmgr and `certutil` call the thumbprint */
  thumbprint: string;
  notAfter: string;
}

export type SstSummary = { certificates: (CertificateSummary | { unreadable: string })[]; crls: number; ctls: number } | { error: string };

/** What an SST store holds; a damaged store or certificate is described, never thrown. */
export function summarizeSst(sst: Uint8Array): SstSummary {
  let entries;
  try {
    entries = decodeSst(sst);
  } catch (e) {
    if (e instanceof SerializedStoreError) return { error: e.message };
    throw e;
  }
  const certificates = entries
    .filter((e) => e.kind === 'certificate')
    .map((e) => {
      try {
        const c = new X509Certificate(e.encoded);
        return {
          subject: c.subject.replace(/\n/g, ', '),
          issuer: c.issuer.replace(/\n/g, ', '),
          thumbprint: c.fingerprint.replace(/:/g, '').toUpperCase(),
          notAfter: c.validTo,
        };
      } catch {
        return { unreadable: `${e.encoded.length} bytes that are not an X.509 certificate` };
      }
    });
  return { certificates, crls: entries.filter((e) => e.kind === 'crl').length, ctls: entries.filter((e) => e.kind === 'ctl').length };
}

/** One line per certificate: `CN=…, O=… (thumbprint …, expires …)`. */
export function describeSst(sst: Uint8Array): string[] {
  const s = summarizeSst(sst);
  if ('error' in s) return [s.error];
  const lines = s.certificates.map((c) => ('unreadable' in c ? c.unreadable : `${c.subject} (thumbprint ${c.thumbprint}, expires ${c.notAfter})`));
  if (s.crls) lines.push(`${s.crls} CRL(s)`);
  if (s.ctls) lines.push(`${s.ctls} CTL(s)`);
  return lines.length ? lines : ['(no certificates)'];
}

/** `REG_DWORD 1`, `REG_SZ "text"`, `REG_MULTI_SZ ["a","b"]`, `REG_BINARY 0x0001ff`. */
export function describePolicyValue(valueType: number, data: Uint8Array): string {
  return `${regTypeName(valueType)} ${describeRegistryValue(valueType, data)}`;
}
