// Reaching a domain: the DC to use (the URL's, the named one, or the locator's choice), pinged,
// bound and discovered. Provisioning (provision.ts, through the pool in borrow.ts) and the CLI start here.
import type { ConnectionSettings } from '../backend';
import { ProvisioningError } from '../errors';
import { DEFAULT_TIMEOUT_MS, DirectoryConnection } from './connection';
import { completeDiscovery, pingDomainController, type Discovery } from './discovery';
import type { NetlogonSamLogonResponseEx } from './netlogon';
import { LocatorDns } from './dns';
import { locateDc } from './locator';
import type { DomainRequest } from '../params/validation';


/** The DC to use, pinged but not bound: the URL's, the named one, or the locator's choice. The
 *  caller binds and closes it. */
export async function reachDomainDc(domain: DomainRequest, settings: ConnectionSettings): Promise<{ conn: DirectoryConnection; ping: NetlogonSamLogonResponseEx }> {
  if (!settings.url && !domain.dcName) {
    if (!domain.domain.includes('.')) {
      throw new ProvisioningError('ERROR_INVALID_PARAMETER', 'the DC locator needs the DNS domain name; with a NetBIOS name give url or dcName', { field: 'domain' });
    }
    const found = await locateDc({ domain: domain.domain, ...(domain.site ? { site: domain.site } : {}), settings });
    return { conn: found.conn, ping: found.ping };
  }
  // A named DC is found through dnsServers too when they are given (else the system resolver).
  let address: string | undefined;
  if (!settings.url && domain.dcName && settings.dnsServers?.length) {
    const a = await new LocatorDns(settings.dnsServers, settings.timeoutMs ?? DEFAULT_TIMEOUT_MS).addresses(domain.dcName);
    if (a.ok && a.records.length > 0) address = a.records[0];
  }
  const conn = new DirectoryConnection(settings, {
    host: domain.dcName ?? domain.domain,
    // Windows: a named DC that cannot be validated → ERROR_INVALID_DOMAIN_ROLE; no DC for the domain → ERROR_NO_SUCH_DOMAIN.
    unreachableCode: domain.dcName ? 'ERROR_INVALID_DOMAIN_ROLE' : 'ERROR_NO_SUCH_DOMAIN',
    // The URL, when given, is what is contacted: its failures belong to it, not to dcName.
    unreachableField: settings.url ? 'connection.url' : domain.dcName ? 'dcName' : 'domain',
    ...(address ? { address } : {}),
  });
  try {
    await conn.connect();
    return { conn, ping: await pingDomainController(conn, domain) };
  } catch (e) {
    await conn.close();
    throw e;
  }
}

/** Connect, ping, bind and discover: the part a batch shares. The caller closes the connection. */
export async function openDomain(domain: DomainRequest, settings: ConnectionSettings): Promise<{ conn: DirectoryConnection; discovery: Discovery }> {
  const { conn, ping } = await reachDomainDc(domain, settings);
  try {
    // Reached through the domain's name, the DC is whichever answered: Kerberos names it by its own.
    await conn.bind(conn.host.toLowerCase() === domain.domain.toLowerCase() ? ping.dnsHostName : undefined);
    const discovery = await completeDiscovery(conn, ping);
    return { conn, discovery };
  } catch (e) {
    await conn.close();
    // Discovery names dcName for the host it judged; without a dcName that host came from the URL.
    if (e instanceof ProvisioningError && e.field === 'dcName' && !domain.dcName && settings.url) {
      throw new ProvisioningError(e.errno, e.detail, { field: 'connection.url', cause: e.cause });
    }
    throw e;
  }
}
