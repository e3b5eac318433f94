// Faults at each step of a create, against the real DC through a fault-injecting LDAPS proxy
// (support/fault-proxy.ts): the DC stops answering before or after a write, or the connection is
// cut there; the DC answers "busy"; a TLS endpoint never finishes its handshake. Each failure comes
// back within the time bound as a typed error, leaves no stray account behind once retried, and the
// retry succeeds: our own interrupted account is adopted (same objectGUID) thanks to its owner
// marker; an account without it, or planted by someone else with it, is never adopted.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Attribute, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionSettings, ProvisionResult } from '../provider/backend';
import { ownerMarker } from '../provider/directory/ownership';
import { connectionSlotUse } from '../provider/directory/slots';
import { closePool, IDLE_MS } from '../provider/directory/pool';
import { ProvisioningError } from '../provider/errors';
import { provision } from '../provider/directory/backend';
import { testDc } from './support/dc';
import { FaultProxy, type FaultRule } from './support/fault-proxy';
import { machineNames } from './support/ldap-backend';
import { accountBySam, deleteTree, ensureOu, withLdap } from './support/ldap';
import { requestOdjAndTestJoin } from './support/peers';

const TIMEOUT = 1500;
// One step times out, the socket is dropped, everything after fails at once, close waits ≤ 2 s.
const BOUND = TIMEOUT + Math.min(TIMEOUT, 2000) + 1500;

const dc = testDc();
const names = machineNames('FLT');
let proxy: FaultProxy;

beforeAll(async () => {
  proxy = await FaultProxy.start({
    upstream: { host: dc.dcIp, port: 636, servername: dc.dcHost, ca: readFileSync(dc.caFile, 'utf8') },
    hostname: dc.dcHost,
  });
});
afterAll(async () => {
  await names.cleanup();
  await proxy?.close();
});

function viaProxy(): ConnectionSettings {
  return { url: `ldaps://${dc.dcHost}:${proxy.port}`, bindUser: dc.adminUser, bindPassword: dc.adminPassword, caCerts: [proxy.caPem], timeoutMs: TIMEOUT };
}

const tagOf = (name: string): string => `urn:pulumi:faults::odj::odj:index:OfflineJoinPackage::${name}`;
const bytes = (s: string): ((m: Buffer) => boolean) => (m) => m.includes(Buffer.from(s, 'utf8'));

async function attempt(name: string, ownerTag?: string): Promise<{ ok?: ProvisionResult; error?: ProvisioningError; ms: number }> {
  // The proxy's fault applies to connections made from now on: no pooled one from an earlier attempt.
  await closePool();
  const t0 = Date.now();
  try {
    const ok = await provision({ domain: dc.domain, machineName: name, ...(ownerTag ? { ownerTag } : {}) }, viaProxy());
    return { ok, ms: Date.now() - t0 };
  } catch (e) {
    if (!(e instanceof ProvisioningError)) throw e;
    return { error: e, ms: Date.now() - t0 };
  }
}

/** Every object in the domain with this sAMAccountName (a stray duplicate would show here). */
async function accountsNamed(name: string): Promise<{ dn: string; description?: string }[]> {
  return withLdap(async (c) => {
    const r = await c.search(`DC=${dc.domain.split('.').join(',DC=')}`, { scope: 'sub', filter: `(sAMAccountName=${name}$)`, attributes: ['description'] });
    return r.searchEntries.map((e) => ({ dn: e.dn, ...(e.description ? { description: String(e.description) } : {}) }));
  });
}

interface Case {
  title: string;
  rule: (name: string) => FaultRule;
  code: string[];
  /** does the DC hold the account after the failure (the write was done, cleanup impossible)? */
  leavesOrphan: boolean;
}

const cases: Case[] = [
  { title: 'stops answering before the account search', rule: (n) => ({ op: 'search', match: bytes(`${n}$`), action: 'hang-before' }), code: ['ERROR_TIMEOUT'], leavesOrphan: false },
  { title: 'stops answering before the add', rule: () => ({ op: 'add', action: 'hang-before' }), code: ['ERROR_TIMEOUT'], leavesOrphan: false },
  { title: 'drops the connection before the add', rule: () => ({ op: 'add', action: 'drop-before' }), code: ['ERROR_DS_SERVER_DOWN'], leavesOrphan: false },
  { title: 'stops answering after the add (the DC made the account)', rule: () => ({ op: 'add', action: 'hang-after' }), code: ['ERROR_TIMEOUT'], leavesOrphan: true },
  { title: 'is killed after the add (connection reset)', rule: () => ({ op: 'add', action: 'drop-after' }), code: ['ERROR_DS_SERVER_DOWN'], leavesOrphan: true },
  {
    title: 'stops answering after the add, at the read-back (the cleanup cannot reach it either)',
    rule: (n) => ({ op: 'search', match: bytes(`CN=${n},`), action: 'hang-before' }),
    code: ['ERROR_TIMEOUT'],
    leavesOrphan: true,
  },
];

describe('faults at each step: bounded failure, no stray account, the retry succeeds', () => {
  for (const c of cases) {
    it(`the DC ${c.title}`, async () => {
      const name = names.next();
      const tag = tagOf(name);
      proxy.setFault(c.rule(name));
      const failed = await attempt(name, tag);
      proxy.setFault(null);
      // (never hand a result to expect: a failing diff would print the package)
      expect(failed.ok === undefined).toBe(true);
      expect(c.code).toContain(failed.error!.code);
      expect(failed.ms).toBeLessThan(BOUND);
      const after = await accountsNamed(name);
      expect(after.length).toBe(c.leavesOrphan ? 1 : 0);
      if (c.leavesOrphan) expect(after[0].description).toBe(ownerMarker(tag));
      const orphan = c.leavesOrphan ? await accountBySam(`${name}$`) : null;

      const retried = await attempt(name, tag);
      expect(retried.error).toBeUndefined();
      expect(retried.ok!.account.samAccountName).toBe(`${name}$`);
      if (orphan) expect(retried.ok!.account.objectGuid).toBe(orphan.guid); // adopted, not a second account
      expect((await accountsNamed(name)).length).toBe(1);
    });
  }

  it('an adoption interrupted after the password was set (before the package came back) is adopted again, and that package joins', async () => {
    const name = names.next();
    const tag = tagOf(name);
    proxy.setFault({ op: 'add', action: 'hang-after' });
    expect((await attempt(name, tag)).error?.code).toBe('ERROR_TIMEOUT');
    const orphan = await accountBySam(`${name}$`);
    proxy.setFault({ op: 'modify', action: 'hang-after' });
    const second = await attempt(name, tag);
    expect(second.error?.code).toBe('ERROR_TIMEOUT');
    expect(second.ms).toBeLessThan(BOUND);
    proxy.setFault(null);
    const third = await attempt(name, tag);
    expect(third.error).toBeUndefined();
    expect(third.ok!.account.objectGuid).toBe(orphan!.guid);
    expect((await accountsNamed(name)).length).toBe(1);
    expect((await requestOdjAndTestJoin(third.ok!.packageText, name)).joined).toBe(true);
  });

  it('without an ownerTag an interrupted create is not adopted: NERR_UserExists naming machineName', async () => {
    const name = names.next();
    proxy.setFault({ op: 'add', action: 'hang-after' });
    expect((await attempt(name)).error?.code).toBe('ERROR_TIMEOUT');
    proxy.setFault(null);
    const again = await attempt(name);
    expect([again.error?.code, again.error?.field]).toEqual(['NERR_UserExists', 'machineName']);
    // Nor by a caller with a different tag.
    const other = await attempt(name, tagOf('someone-else'));
    expect([other.error?.code, other.error?.field]).toEqual(['NERR_UserExists', 'machineName']);
  });

  it('"busy" answers are retried with backoff; a DC that stays busy fails with ERROR_DS_BUSY and leaves nothing', async () => {
    const name = names.next();
    proxy.setFault({ op: 'add', action: 'busy', times: 2 });
    const before = proxy.seen.length;
    const ok = await attempt(name, tagOf(name));
    expect(ok.error).toBeUndefined();
    expect(proxy.seen.slice(before).filter((s) => s.op === 'add').length).toBe(3);

    const stuck = names.next();
    proxy.setFault({ op: 'add', action: 'busy', times: 100 });
    const failed = await attempt(stuck, tagOf(stuck));
    proxy.setFault(null);
    expect([failed.error?.code, failed.error?.errno, failed.error?.field]).toEqual(['ERROR_DS_BUSY', 8206, 'machineName']);
    expect(failed.ms).toBeLessThan(BOUND);
    expect(await accountBySam(`${stuck}$`)).toBeNull();
  });

  it('a TLS endpoint that accepts and never completes the handshake fails within the bound', async () => {
    const silent = await FaultProxy.start({ upstream: { host: dc.dcIp, port: 636, servername: dc.dcHost, ca: '' }, hostname: dc.dcHost, silent: true });
    try {
      const t0 = Date.now();
      const e = await provision({ domain: dc.domain, machineName: names.next() }, { ...viaProxy(), url: `ldaps://${dc.dcHost}:${silent.port}` }).then(
        () => null,
        (x: unknown) => x as ProvisioningError,
      );
      expect(e).toBeInstanceOf(ProvisioningError);
      expect([e!.code, e!.field]).toEqual(['ERROR_NO_SUCH_DOMAIN', 'connection.url']);
      expect(Date.now() - t0).toBeLessThan(BOUND);
      // Our side let go of the socket.
      await expect.poll(() => silent.openConnections, { timeout: 3000 }).toBe(0);
    } finally {
      await silent.close();
    }
  });

  it('no connection slot or proxied connection is left held after all of the above, once pooled ones have been idle for IDLE_MS', async () => {
    await new Promise((r) => setTimeout(r, IDLE_MS + 300));
    expect(connectionSlotUse()).toEqual({});
    expect(proxy.openConnections).toBe(0);
  });
});

describe('an account carrying our marker that someone else created is never adopted', () => {
  const ouName = `odjfaults${Date.now().toString(36)}`;
  let ouDn = '';
  const user = `odjf${Date.now().toString(36)}`;
  const userPassword = `Uf-${Math.random().toString(36).slice(2)}!A9`;
  let userDn = '';

  beforeAll(async () => {
    ouDn = await ensureOu(ouName);
    userDn = `CN=${user},CN=Users,${ouDn.slice(ouDn.indexOf('DC='))}`;
    await withLdap(async (c) => {
      await c.add(userDn, [
        new Attribute({ type: 'objectClass', values: ['user'] }),
        new Attribute({ type: 'sAMAccountName', values: [user] }),
        new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${userPassword}"`, 'utf16le')] }),
        new Attribute({ type: 'userAccountControl', values: ['512'] }),
      ]);
      const sid = (await c.search(userDn, { scope: 'base', attributes: ['objectSid'], explicitBufferAttributes: ['objectSid'] })).searchEntries[0].objectSid as Buffer;
      const sidText = `S-1-5-21-${[0, 1, 2].map((i) => sid.readUInt32LE(12 + 4 * i)).join('-')}-${sid.readUInt32LE(24)}`;
      // Delegate "create computer objects" on the OU to that user (sam.ldb directly, as root).
      execFileSync('samba-tool', ['dsacl', 'set', '-H', `${dc.dir}/private/sam.ldb`, `--objectdn=${ouDn}`, '--action=allow', `--sddl=(OA;CI;CC;bf967a86-0de6-11d0-a285-00aa003049e2;;${sidText})`], {
        stdio: 'ignore',
      });
    });
  });
  afterAll(async () => {
    await deleteTree(ouDn).catch(() => undefined);
    await withLdap((c) => c.del(userDn)).catch(() => undefined);
  });

  it('a delegated user plants an account with the predictable marker; the admin create refuses it (NERR_UserExists), untouched', async () => {
    const name = names.next();
    const tag = tagOf(name);
    const client = new Client({ url: dc.ldapUrl, tlsOptions: { ca: [readFileSync(dc.caFile)] } });
    try {
      await client.bind(`${user}@${dc.domain}`, userPassword);
      await client.add(`CN=${name},${ouDn}`, [
        new Attribute({ type: 'objectClass', values: ['computer'] }),
        new Attribute({ type: 'sAMAccountName', values: [`${name}$`] }),
        new Attribute({ type: 'userAccountControl', values: ['4096'] }),
        new Attribute({ type: 'description', values: [ownerMarker(tag)] }),
      ]);
    } finally {
      await client.unbind().catch(() => undefined);
    }
    const planted = await accountBySam(`${name}$`);
    const e = await provision({ domain: dc.domain, machineName: name, machineAccountOU: ouDn, ownerTag: tag }, viaProxy()).then(
      () => null,
      (x: unknown) => x as ProvisioningError,
    );
    expect([e?.code, e?.field]).toEqual(['NERR_UserExists', 'machineName']);
    expect(e!.message).toMatch(/refusing to adopt/);
    // Not moved, not re-passworded: the same object where it was, and only one.
    expect(await accountBySam(`${name}$`)).toEqual(planted);
    expect((await accountsNamed(name)).length).toBe(1);
    // An explicit reuseAccount still may take it over (the caller asked for exactly that).
    const reused = await provision({ domain: dc.domain, machineName: name, machineAccountOU: ouDn, ownerTag: tag, options: { reuseAccount: true } }, viaProxy());
    expect([reused.reused, reused.account.objectGuid]).toEqual([true, planted!.guid]);
  });
});

describe('where the marker lives', () => {
  it("description is one of the two attributes the computer class lets its creator write (so quota creation may set it)", async () => {
    const sd = await withLdap(async (c) => {
      const root = (await c.search('', { scope: 'base', attributes: ['schemaNamingContext'] })).searchEntries[0];
      const schema = String(root.schemaNamingContext);
      const cls = (await c.search(`CN=Computer,${schema}`, { scope: 'base', attributes: ['defaultSecurityDescriptor'] })).searchEntries[0];
      const attr = (await c.search(schema, { scope: 'one', filter: '(lDAPDisplayName=description)', attributes: ['schemaIDGUID'], explicitBufferAttributes: ['schemaIDGUID'] })).searchEntries[0];
      const g = attr.schemaIDGUID as Buffer;
      const guid = [g.subarray(0, 4).reverse(), g.subarray(4, 6).reverse(), g.subarray(6, 8).reverse(), g.subarray(8, 10), g.subarray(10, 16)].map((b) => Buffer.from(b).toString('hex')).join('-');
      return { sddl: String(cls.defaultSecurityDescriptor).replace(/\s+/g, ''), guid };
    });
    // An object ACE: allow WriteProperty on description for CREATOR OWNER.
    expect(sd.sddl.toLowerCase()).toMatch(new RegExp(`\\(oa;;wp;${sd.guid};[0-9a-f-]*;co\\)`));
    expect(ownerMarker('x')).toMatch(/^pulumi-offline-join owner [0-9a-f]{32}$/);
    expect(ownerMarker('x')).not.toBe(ownerMarker('y'));
  });
});
