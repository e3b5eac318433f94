// The directory's own word, for tests to compare packages against: read over LDAPS (verified
// against the test DC's CA) as the administrator. Test-only; the product's LDAP code lives in
// provider/directory/ and is deliberately not used here, so a bug there cannot hide itself. One
// exception: the LDAP ping's bytes are decoded with the provider's parser, which
// directory-discovery.test.ts checks against the directory; nothing here tests that parser.
import { readFileSync } from 'node:fs';
import { Client, Filter } from 'ldapts';
import { parseNetlogonResponseEx, type NetlogonSamLogonResponseEx } from '../../provider/directory/netlogon';
import { testDc, type TestDc } from './dc';

/** `S-1-5-21-…` from the binary SID (revision, count, 48-bit big-endian authority, LE sub-authorities). */
export function sidToString(b: Buffer): string {
  if (b.length < 8 || b.length !== 8 + 4 * b[1]) throw new Error(`not a SID: ${b.length} bytes`);
  const authority = b.readUIntBE(2, 6);
  const subs: number[] = [];
  for (let i = 0; i < b[1]; i++) subs.push(b.readUInt32LE(8 + 4 * i));
  return ['S', b[0], authority, ...subs].join('-');
}

/** Lower-case GUID string from the 16 wire bytes (first three fields little-endian). */
export function guidToString(b: Buffer): string {
  if (b.length !== 16) throw new Error(`not a GUID: ${b.length} bytes`);
  const h = (buf: Buffer): string => buf.toString('hex');
  return [
    h(Buffer.from(b.subarray(0, 4)).reverse()),
    h(Buffer.from(b.subarray(4, 6)).reverse()),
    h(Buffer.from(b.subarray(6, 8)).reverse()),
    h(b.subarray(8, 10)),
    h(b.subarray(10, 16)),
  ].join('-');
}

/** `DC=a,DC=b` → `a.b` */
function dnToDns(dn: string): string {
  return dn
    .split(',')
    .map((p) => p.trim().replace(/^DC=/i, ''))
    .join('.')
    .toLowerCase();
}

/** Runs fn with a client bound as the test DC's administrator (or another DC's: `on`), and always unbinds. */
export async function withLdap<T>(fn: (client: Client) => Promise<T>, on?: TestDc): Promise<T> {
  const dc = on ?? testDc();
  const client = new Client({
    url: dc.ldapUrl,
    tlsOptions: { ca: [readFileSync(dc.caFile)] },
    timeout: 30_000,
    connectTimeout: 10_000,
  });
  try {
    await client.bind(dc.adminUser, dc.adminPassword);
    return await fn(client);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

function one(v: string | string[] | Buffer | Buffer[] | undefined, what: string): string {
  const x = Array.isArray(v) ? v[0] : v;
  if (x === undefined) throw new Error(`the directory has no ${what}`);
  return x.toString();
}

function oneBuffer(v: string | string[] | Buffer | Buffer[] | undefined, what: string): Buffer {
  const x = Array.isArray(v) ? v[0] : v;
  if (!Buffer.isBuffer(x)) throw new Error(`the directory has no binary ${what}`);
  return x;
}

export interface DomainTruth {
  domainDn: string;
  /** `S-1-5-21-…` */
  sid: string;
  /** lower-case GUID */
  guid: string;
  dnsDomainName: string;
  forestName: string;
  netbiosName: string;
  /** Site of the test DC's server object (CN=<dc>,CN=Servers,CN=<site>,CN=Sites,…) */
  dcSiteName: string;
  /** dNSHostName of the test DC */
  dcDnsHostName: string;
}

/** The domain as the DC itself describes it. */
export async function domainTruth(): Promise<DomainTruth> {
  const dc = testDc();
  return withLdap(async (c) => {
    const root = (
      await c.search('', {
        scope: 'base',
        attributes: ['defaultNamingContext', 'rootDomainNamingContext', 'configurationNamingContext'],
      })
    ).searchEntries[0];
    const domainDn = one(root.defaultNamingContext, 'defaultNamingContext');
    const configDn = one(root.configurationNamingContext, 'configurationNamingContext');
    const dom = (
      await c.search(domainDn, { scope: 'base', attributes: ['objectSid', 'objectGUID'], explicitBufferAttributes: ['objectSid', 'objectGUID'] })
    ).searchEntries[0];
    const xref = (
      await c.search(`CN=Partitions,${configDn}`, {
        scope: 'one',
        filter: `(&(objectClass=crossRef)(nCName=${Filter.escape(domainDn)}))`,
        attributes: ['nETBIOSName', 'dnsRoot'],
      })
    ).searchEntries[0];
    const server = (
      await c.search(`CN=Sites,${configDn}`, {
        scope: 'sub',
        filter: `(&(objectClass=server)(dNSHostName=${Filter.escape(dc.dcHost)}))`,
        attributes: ['dNSHostName'],
      })
    ).searchEntries[0];
    if (!server) throw new Error(`no server object for ${dc.dcHost}`);
    // CN=DC1,CN=Servers,CN=<site>,CN=Sites,CN=Configuration,…
    const site = /^CN=[^,]+,CN=Servers,CN=([^,]+),CN=Sites,/i.exec(server.dn);
    if (!site) throw new Error(`unexpected server DN ${server.dn}`);
    return {
      domainDn,
      sid: sidToString(oneBuffer(dom.objectSid, 'domain objectSid')),
      guid: guidToString(oneBuffer(dom.objectGUID, 'domain objectGUID')),
      dnsDomainName: one(xref?.dnsRoot, 'dnsRoot').toLowerCase(),
      forestName: dnToDns(one(root.rootDomainNamingContext, 'rootDomainNamingContext')),
      netbiosName: one(xref?.nETBIOSName, 'nETBIOSName'),
      dcSiteName: site[1],
      dcDnsHostName: one(server.dNSHostName, 'dNSHostName').toLowerCase(),
    };
  });
}

export interface AccountTruth {
  dn: string;
  sid: string;
  guid: string;
  /** last sub-authority of objectSid */
  rid: number;
  sAMAccountName: string;
}

/** The account with this sAMAccountName (computer accounts end in `$`), or null. */
export async function accountBySam(sAMAccountName: string, on?: TestDc): Promise<AccountTruth | null> {
  return withLdap(async (c) => {
    const root = (await c.search('', { scope: 'base', attributes: ['defaultNamingContext'] })).searchEntries[0];
    const entries = (
      await c.search(one(root.defaultNamingContext, 'defaultNamingContext'), {
        scope: 'sub',
        filter: `(sAMAccountName=${Filter.escape(sAMAccountName)})`,
        attributes: ['objectSid', 'objectGUID', 'sAMAccountName'],
        explicitBufferAttributes: ['objectSid', 'objectGUID'],
      })
    ).searchEntries;
    if (entries.length === 0) return null;
    const e = entries[0];
    const sid = sidToString(oneBuffer(e.objectSid, 'objectSid'));
    return {
      dn: e.dn,
      sid,
      guid: guidToString(oneBuffer(e.objectGUID, 'objectGUID')),
      rid: Number(sid.split('-').pop()),
      sAMAccountName: one(e.sAMAccountName, 'sAMAccountName'),
    };
  }, on);
}

/** The DC's LDAP ping answer (NETLOGON_SAM_LOGON_RESPONSE_EX, MS-ADTS 6.3.1.9), decoded by the
 *  provider's parser: directory-discovery.test.ts checks that parser against the directory itself,
 *  and the tests that use this compare Samba's packages with it, not the parser with itself. */
export type LdapPing = NetlogonSamLogonResponseEx;

/** The LDAP ping over TCP: what the DC tells a client about itself and the client's site. */
export async function ldapPing(): Promise<LdapPing> {
  const dc = testDc();
  return withLdap(async (c) => {
    const e = (
      await c.search('', {
        scope: 'base',
        filter: `(&(DnsDomain=${Filter.escape(dc.domain)})(NtVer=\\06\\00\\00\\00))`,
        attributes: ['Netlogon'],
        // Samba names the returned attribute in lower case; ldapts matches names exactly.
        explicitBufferAttributes: ['netlogon', 'Netlogon'],
      })
    ).searchEntries[0];
    return parseNetlogonResponseEx(oneBuffer(e?.netlogon ?? e?.Netlogon, 'Netlogon answer'));
  });
}

/** Deletes the account if it exists (test clean-up); true when something was deleted. */
export async function deleteAccount(sAMAccountName: string, on?: TestDc): Promise<boolean> {
  const acct = await accountBySam(sAMAccountName, on);
  if (!acct) return false;
  await withLdap((c) => c.del(acct.dn), on);
  return true;
}

/** Creates `OU=<name>` directly under the domain unless it exists; returns its DN. */
export async function ensureOu(name: string): Promise<string> {
  return withLdap(async (c) => {
    const root = (await c.search('', { scope: 'base', attributes: ['defaultNamingContext'] })).searchEntries[0];
    const dn = `OU=${name},${one(root.defaultNamingContext, 'defaultNamingContext')}`;
    const found = await c
      .search(dn, { scope: 'base', attributes: ['1.1'] })
      .then((r) => r.searchEntries.length > 0)
      .catch(() => false);
    if (!found) await c.add(dn, { objectClass: ['top', 'organizationalUnit'], ou: name });
    return dn;
  });
}

/** Deletes an OU and whatever is left inside it (test clean-up). */
export async function deleteTree(dn: string): Promise<void> {
  await withLdap(async (c) => {
    const entries = (await c.search(dn, { scope: 'sub', attributes: ['1.1'] }).catch(() => ({ searchEntries: [] }))).searchEntries;
    // Deepest first: children before parents.
    const dns = entries.map((e) => e.dn).sort((a, b) => b.split(',').length - a.split(',').length);
    for (const d of dns) await c.del(d);
  });
}
