// Where a connection goes and how its TLS is set up, from the settings alone. Kept apart from the
// LDAP client so the CLI can open the TLS connection while the rest of the code is still loading
// (early-tls.ts), with exactly the options the connection itself would use.
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { ConnectionSettings } from '../backend';
import { ProvisioningError } from '../errors';

/** The URL when none is given: ldaps://, or ldap:// for Kerberos, which seals the connection itself
 *  (Samba refuses GSSAPI over TLS whatever the flags: README, Kerberos sign-in). */
export function defaultUrl(settings: Pick<ConnectionSettings, 'auth'>, host: string): string {
  return `${settings.auth === 'kerberos' ? 'ldap' : 'ldaps'}://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}`;
}

/** The parts of a URL we use, with defaultUrl's scheme as the default. */
export function resolveUrl(settings: ConnectionSettings, host: string): { url: string; host: string; startTls: boolean } {
  const kerberos = settings.auth === 'kerberos';
  const url = settings.url ?? defaultUrl(settings, host);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ProvisioningError('ERROR_INVALID_PARAMETER', 'not a valid LDAP URL', { field: 'connection.url' });
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  if (scheme !== 'ldaps' && scheme !== 'ldap') {
    throw new ProvisioningError('ERROR_INVALID_PARAMETER', 'the URL scheme must be ldaps:// or ldap://', { field: 'connection.url' });
  }
  if (kerberos && (scheme === 'ldaps' || settings.startTls)) {
    // Measured against Samba 4.17: GSSAPI over TLS is refused whatever the context flags (README, Kerberos).
    throw new ProvisioningError('ERROR_INVALID_PARAMETER', 'Kerberos sign-in runs over ldap:// with its own encryption (a sealed SASL layer), not over TLS: use ldap://', {
      field: settings.startTls ? 'connection.startTls' : 'connection.url',
    });
  }
  if (scheme === 'ldap' && !settings.startTls && !kerberos) {
    // A simple bind sends the password as is, and AD sets unicodePwd only over an encrypted channel.
    throw new ProvisioningError('ERROR_INVALID_PARAMETER', 'ldap:// needs startTls: true (or use ldaps://); a plain connection would expose the bind password', {
      field: 'connection.startTls',
    });
  }
  if (scheme === 'ldaps' && settings.startTls) {
    throw new ProvisioningError('ERROR_INVALID_PARAMETER', 'startTls applies to ldap:// URLs only', { field: 'connection.startTls' });
  }
  const hostname = parsed.hostname.replace(/^\[|\]$/g, '');
  return { url: `${scheme}://${parsed.host}`, host: hostname, startTls: scheme === 'ldap' && !kerberos };
}

/** TLS options for `host`: verified against the given CAs unless turned off by name, TLS 1.2 or later. */
export function tlsOptionsFor(settings: ConnectionSettings, host: string): ConnectionOptions {
  const options: ConnectionOptions = { rejectUnauthorized: !settings.insecureSkipTlsVerify, minVersion: 'TLSv1.2' };
  if (settings.caCerts && settings.caCerts.length > 0) options.ca = settings.caCerts;
  // SNI for names only. net.isIP's first call costs milliseconds (it builds its patterns), so
  // it is asked only when the host could be an address: digits and dots, or a colon (IPv6).
  if (!/^[\d.]+$|:/.test(host) || !isIP(host)) options.servername = host;
  return options;
}
