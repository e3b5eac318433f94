// Property-based checks over hostile input (own seeded PRNG; set ODJ_PROPERTY_SEED to replay a run):
// names, OUs, filter and DN special characters, control characters, over-long values. Properties:
// every rejection is a ProvisioningError naming the field at fault; what is accepted reaches the
// directory as exactly the intended account and nothing else (a subtree snapshot before and after,
// and the wire log of a faithful proxy: no write for a rejected input); a search value never acts
// as filter syntax.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionSettings, ProvisioningParams } from '../provider/backend';
import { escapeDnValue, formatDn, parseDn } from '../provider/params/dn';
import { ProvisioningError } from '../provider/errors';
import { Limits } from '../provider/limits';
import { findAccountByName, provision, readAccount } from '../provider/directory/backend';
import { validateParams } from '../provider/params/validation';
import { testDc } from './support/dc';
import { FaultProxy } from './support/fault-proxy';
import { adminConnection, machineNames } from './support/ldap-backend';
import { accountBySam, deleteTree, ensureOu, withLdap } from './support/ldap';

const SEED = Number(process.env.ODJ_PROPERTY_SEED ?? 0x0d1a2b3c) >>> 0;

/** mulberry32: small, fast, good enough to spread test cases; reproducible from the seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  '*', '(', ')', '\\', '\0', ',', '=', '+', '<', '>', '#', ';', '"', ' ', '\n', '\r', '\t', '/', '|', '&', '!', '~', ':', '$', '%', '.', '-', '_',
  'A', 'z', '0', '9', 'é', '中', '\u202e', '\u{1F600}', '\ud800', '\u007f',
  ')(objectClass=*', '*)(|(sAMAccountName=*', '\\2a', '\\00', '\\,', 'CN=Administrator', ',DC=odjtest,DC=test', 'OU=x', '+CN=y', '${x}', '..', '%00',
  'x'.repeat(70), 'Y'.repeat(300),
];

function hostile(rnd: () => number, maxPieces = 6): string {
  const n = 1 + Math.floor(rnd() * maxPieces);
  let s = '';
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(rnd() * PIECES.length)];
  return s;
}

function rejection(e: unknown): ProvisioningError {
  expect(e).toBeInstanceOf(ProvisioningError);
  const p = e as ProvisioningError;
  expect(p.field, p.message).toBeTruthy();
  expect(p.message).toContain(`${p.field}: `);
  // A message is one line: no control character from the input survives into it.
  expect(p.message).not.toMatch(/[\u0000-\u0008\u000a-\u001f]/);
  return p;
}

const dc = testDc();

describe(`validation over hostile values (seed ${SEED})`, () => {
  const fields = ['machineName', 'domain', 'dcName', 'machineAccountOU', 'netbiosName', 'siteName', 'primaryDnsDomain', 'ownerTag'] as const;

  it('each field: accepted values are well-formed, every rejection names that field', () => {
    const rnd = prng(SEED);
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 600; i++) {
      const field = fields[i % fields.length];
      const value = hostile(rnd);
      const params: ProvisioningParams = { domain: dc.domain, machineName: 'GOODNAME', [field]: value };
      let v;
      try {
        v = validateParams(params);
      } catch (e) {
        const p = rejection(e);
        expect([p.field, p.code]).toEqual([field, 'ERROR_INVALID_PARAMETER']);
        rejected++;
        continue;
      }
      accepted++;
      // What got through is what each field may be.
      expect(v.account.machineName).toMatch(/^(?!-)[A-Za-z0-9-]{1,15}(?<!-)$/);
      expect(v.domain.domain).toMatch(/^[A-Za-z0-9.-]{1,253}$/);
      if (v.account.machineAccountOU !== undefined) {
        expect(v.account.machineAccountOU.length).toBeLessThanOrEqual(Limits.ouDnChars * 3);
        expect(v.account.machineAccountOU).not.toMatch(/[\u0000-\u001f\u007f]/);
        // The DN sent is the one we parsed, re-escaped: parsing it again gives the same RDNs.
        expect(formatDn(parseDn(v.account.machineAccountOU))).toBe(v.account.machineAccountOU);
      }
      if (field === 'ownerTag') expect(v.account.ownerTag).toBe(value);
    }
    expect(rejected).toBeGreaterThan(300);
    expect(accepted).toBeGreaterThan(10); // ownerTag takes any text: its hash is what is stored
  });

  it('over-long and wrongly typed values are refused by name, within the documented bounds', () => {
    const cases: [Partial<ProvisioningParams> & Record<string, unknown>, string][] = [
      [{ machineName: 'A'.repeat(16) }, 'machineName'],
      [{ machineName: 42 as unknown as string }, 'machineName'],
      [{ domain: `${'a'.repeat(63)}.`.repeat(5) + 'test' }, 'domain'],
      [{ machineAccountOU: `OU=${'a'.repeat(Limits.ouDnChars)},DC=odjtest,DC=test` }, 'machineAccountOU'],
      [{ machineAccountOU: Array.from({ length: Limits.ouDnRdns + 1 }, (_, k) => `OU=o${k}`).join(',') + ',DC=odjtest,DC=test' }, 'machineAccountOU'],
      [{ machineAccountOU: `OU=${'b'.repeat(Limits.rdnValueChars + 1)},DC=odjtest,DC=test` }, 'machineAccountOU'],
      [{ machineAccountOU: 'OU=a+CN=b,DC=odjtest,DC=test' }, 'machineAccountOU'],
      [{ machineAccountOU: 'L=x,DC=odjtest,DC=test' }, 'machineAccountOU'],
      [{ machineAccountOU: 'OU=a\\0ab,DC=odjtest,DC=test' }, 'machineAccountOU'],
      [{ ownerTag: 'x'.repeat(Limits.ownerTagChars + 1) }, 'ownerTag'],
      [{ ownerTag: '' }, 'ownerTag'],
      [{ certTemplateNames: Array.from({ length: Limits.listEntries + 1 }, () => 't') }, 'certTemplateNames'],
      [{ machinePolicyPaths: ['p'.repeat(Limits.listEntryChars + 1)] }, 'machinePolicyPaths'],
      [{ options: { reuseAccount: 'yes' as unknown as boolean } }, 'options.reuseAccount'],
      [{ options: { evil: true } as never }, 'options.evil'],
    ];
    for (const [extra, field] of cases) {
      let err: unknown;
      try {
        validateParams({ domain: dc.domain, machineName: 'GOODNAME', ...extra } as ProvisioningParams);
      } catch (e) {
        err = e;
      }
      expect(rejection(err).field, JSON.stringify(Object.keys(extra))).toBe(field);
    }
  });

  it('connection settings: hostile or over-long values are refused by name before any network use', async () => {
    const base = adminConnection();
    const cases: [Partial<ConnectionSettings>, string][] = [
      [{ url: `ldaps://${'h'.repeat(Limits.urlChars)}` }, 'connection.url'],
      [{ url: 'ldaps://dc1.odjtest.test\n:636' }, 'connection.url'],
      [{ url: 'http://dc1.odjtest.test' }, 'connection.url'],
      [{ bindUser: 'Administrator\0@odjtest.test' }, 'connection.bindUser'],
      [{ bindUser: 'u'.repeat(Limits.bindUserChars + 1) }, 'connection.bindUser'],
      [{ bindPassword: 'p'.repeat(Limits.bindPasswordChars + 1) }, 'connection.bindPassword'],
      [{ timeoutMs: 0 }, 'connection.timeoutMs'],
      [{ timeoutMs: Number.NaN }, 'connection.timeoutMs'],
      [{ caCerts: Array.from({ length: Limits.caCertCount + 1 }, () => base.caCerts![0]) }, 'connection.caCerts'],
    ];
    for (const [extra, field] of cases) {
      const e = await provision({ domain: dc.domain, machineName: 'GOODNAME' }, { ...base, ...extra }).then(
        () => null,
        (x: unknown) => x,
      );
      expect(rejection(e).field).toBe(field);
    }
  });
});

describe(`hostile input against the DC (seed ${SEED})`, () => {
  const names = machineNames('HOS');
  const privName = `odjhostile${Date.now().toString(36)}`;
  // An OU whose name needs every kind of DN escaping; some generated OUs name it in other spellings.
  const nastyOu = 'a,b=c+d"e<f>g;h\\i#j *(k)';
  let privDn = '';
  let nastyDn = '';
  let proxy: FaultProxy;

  const settings = (): ConnectionSettings => ({ ...adminConnection(), url: `ldaps://${dc.dcHost}:${proxy.port}`, caCerts: [proxy.caPem] });

  async function snapshot(): Promise<string[]> {
    return withLdap(async (c) => {
      const r = await c.search(privDn, { scope: 'sub', attributes: ['uSNChanged', 'objectClass', 'sAMAccountName', 'description'] });
      return r.searchEntries.map((e) => `${e.dn.toLowerCase()}|${String(e.uSNChanged)}|${String(e.sAMAccountName ?? '')}`).sort();
    });
  }

  beforeAll(async () => {
    proxy = await FaultProxy.start({ upstream: { host: dc.dcIp, port: 636, servername: dc.dcHost, ca: readFileSync(dc.caFile, 'utf8') }, hostname: dc.dcHost });
    privDn = await ensureOu(privName);
    nastyDn = `OU=${escapeDnValue(nastyOu)},${privDn}`;
    await withLdap((c) => c.add(nastyDn, { objectClass: ['top', 'organizationalUnit'], ou: nastyOu }));
  });
  afterAll(async () => {
    await names.cleanup();
    if (privDn) await deleteTree(privDn).catch(() => undefined);
    await proxy?.close();
  });

  /** The nasty OU written with hex escapes for some characters: the same DN, spelled differently. */
  function respell(rnd: () => number): string {
    let v = '';
    for (const ch of nastyOu) {
      if (rnd() < 0.5) v += Array.from(Buffer.from(ch, 'utf8'), (b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
      else v += escapeDnValue(ch);
    }
    return `OU=${v},${privDn}`;
  }

  it('hostile names and OUs: rejected by name with no write on the wire, or exactly the intended account; the subtree is otherwise unchanged', async () => {
    const rnd = prng(SEED ^ 0x5eed);
    const before = await snapshot();
    const intended: { name: string; dn: string }[] = [];
    for (let i = 0; i < 40; i++) {
      const kind = i % 4;
      const good = names.next();
      let machineName = good;
      let ou: string | undefined;
      if (kind === 0) machineName = rnd() < 0.15 ? good : hostile(rnd, 3);
      else if (kind === 1) ou = `OU=${escapeDnValue(hostile(rnd))},${privDn}`; // well-formed, does not exist
      else if (kind === 2) ou = `OU=${hostile(rnd)},${privDn}`; // raw: malformed, or another DN than it looks
      else ou = respell(rnd); // the nasty OU, spelled another way: must land exactly there
      const seenBefore = proxy.seen.length;
      const outcome = await provision({ domain: dc.domain, machineName, ...(ou !== undefined ? { machineAccountOU: ou } : {}) }, settings()).then(
        (r) => ({ ok: r.account, error: undefined }),
        (e: unknown) => ({ ok: undefined, error: e }),
      );
      const writes = proxy.seen.slice(seenBefore).filter((s) => s.op === 'add' || s.op === 'modify' || s.op === 'del' || s.op === 'modDn');
      if (outcome.ok) {
        const container = ou ?? `CN=Computers,${privDn.slice(privDn.indexOf('DC='))}`;
        expect(parseDn(outcome.ok.distinguishedName)).toEqual(parseDn(`CN=${machineName.toUpperCase()},${container}`));
        expect(writes.map((w) => w.op)).toEqual(['add']);
        intended.push({ name: machineName, dn: outcome.ok.distinguishedName });
        if (kind === 3) expect(parseDn(outcome.ok.distinguishedName).slice(1)).toEqual(parseDn(nastyDn));
      } else {
        const p = rejection(outcome.error);
        expect(['machineName', 'machineAccountOU']).toContain(p.field);
        expect(kind === 0 ? 'machineName' : 'machineAccountOU').toBe(p.field);
        // Refused before the DC, or refused by the DC: either way nothing was written.
        expect(writes.filter((w) => w.op !== 'add')).toEqual([]);
        if (/^(?!-)[A-Za-z0-9-]{1,15}$/.test(machineName)) expect(await accountBySam(`${machineName.toUpperCase()}$`)).toBeNull();
      }
    }
    expect(intended.length).toBeGreaterThanOrEqual(10); // the respelled OUs all succeed
    // Remove exactly the intended accounts; the subtree is then what it was.
    await withLdap(async (c) => {
      for (const a of intended) await c.del(a.dn);
    });
    expect(await snapshot()).toEqual(before);
  });

  it('search values never act as filter syntax: hostile sAMAccountNames find nothing; hostile GUIDs are refused by name', async () => {
    const rnd = prng(SEED ^ 0xf11e);
    const conn = adminConnection();
    // Wildcards and filter fragments next to a name that exists would match it if they were syntax.
    const existing = (await provision({ domain: dc.domain, machineName: names.next() }, conn)).account.samAccountName;
    const probes = ['*', `${existing.slice(0, 4)}*`, `*)(sAMAccountName=${existing}`, `${existing})(|(objectClass=*`, `${existing}\\2a`, `\\2a`];
    for (let i = 0; i < 10; i++) probes.push(`${existing.slice(0, 3)}${hostile(rnd, 3)}`);
    for (const p of probes) {
      const found = await findAccountByName(p, conn, dc.domain).catch((e: unknown) => rejection(e));
      if (found instanceof ProvisioningError) expect(found.field).toBe('samAccountName'); // over-long or not text
      else expect(found, p).toBeNull();
    }
    expect((await findAccountByName(existing, conn, dc.domain))?.samAccountName).toBe(existing);
    for (let i = 0; i < 10; i++) {
      const e = await readAccount(hostile(rnd, 3), conn).then(
        () => null,
        (x: unknown) => x,
      );
      expect(rejection(e).field).toBe('objectGuid');
    }
  });
});
