// Issue 18, the library, the Pulumi provider's read/delete and the native backend: only plain
// computer accounts are ever read, deleted, reused, moved or given a password. The tests cannot do
// harm even when the product is wrong: every LDAP write goes through a proxy in this process that
// refuses (and records) any write to an object these tests did not create, and the native
// library is wrapped so that NetUserDel and NetProvisionComputerAccount on anything but this
// file's own machines are refused (and recorded) before they reach libnetapi. The tests then
// assert that the product never even attempted them. The directory is read with the tests' own
// LDAP helper, not with the product's code.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ConnectionSettings } from '../provider/backend';
import { backendFor } from '../provider/backend-choice';
import { whatItIs } from '../provider/account/safety';
import { readFileBounded, InputTooLargeError } from '../provider/bounded-read';
import { ProvisioningError, windowsCodeName } from '../provider/errors';
import { deleteAccount, LdapBackend, provision, readAccount } from '../provider/directory/backend';
import { check, del as resourceDelete, read as resourceRead } from '../provider/resource/lifecycle';
import { deleteByDn } from '../provider/directory/accounts';
import { withDirectory } from '../provider/directory/connection';
import { testDc } from './support/dc';
import { FaultProxy } from './support/fault-proxy';
import { accountBySam, deleteTree, ensureOu, guidToString, withLdap } from './support/ldap';
import { netapiClientFiles, type NetapiClientFiles } from './support/netapi-client';

/** What the wrapped native library was asked to do, and what the wrapper refused. */
const native = vi.hoisted(() => ({
  calls: [] as { call: 'provision' | 'deleteUser'; name: string; refused: boolean }[],
  /** only this file's machines (S18…) may be provisioned or deleted through NetApi */
  allowed: (name: string): boolean => /^S18[0-9A-F]/i.test(name),
  /** a failure to give instead of calling NetProvisionComputerAccount (a test sets it) */
  failProvision: undefined as ((name: string) => Error | undefined) | undefined,
}));

vi.mock('../provider/netapi/load', async (importOriginal) => {
  const real = await importOriginal<typeof import('../provider/netapi/load')>();
  type Netapi = ReturnType<typeof real.loadNetapi>;
  return {
    ...real,
    loadNetapi(options: Parameters<typeof real.loadNetapi>[0]): Netapi {
      const lib = real.loadNetapi(options);
      return {
        flavour: lib.flavour,
        withSession: (credentials, fn) =>
          lib.withSession(credentials, (s) =>
            fn({
              getUser: (server, name) => s.getUser(server, name),
              provision(request) {
                const refused = !native.allowed(request.machineName);
                native.calls.push({ call: 'provision', name: request.machineName, refused });
                if (refused) throw new Error(`test guard: NetProvisionComputerAccount(${request.machineName}) refused`);
                const fail = native.failProvision?.(request.machineName);
                if (fail) throw fail;
                return s.provision(request);
              },
              deleteUser(server, name) {
                const refused = !native.allowed(name);
                native.calls.push({ call: 'deleteUser', name, refused });
                if (refused) throw new Error(`test guard: NetUserDel(${name}) refused`);
                return s.deleteUser(server, name);
              },
            }),
          ),
      };
    },
  };
});

const dc = testDc();
const made: string[] = [];
const newName = (): string => {
  const n = `S18${randomBytes(5).toString('hex').toUpperCase()}`.slice(0, 15);
  made.push(n);
  return n;
};
let proxy: FaultProxy;
let files: NetapiClientFiles;
let ouName = '';
let ouDn = '';

/** Through the guarding proxy, as the administrator. */
const viaProxy = (): ConnectionSettings => ({
  url: `ldaps://${dc.dcHost}:${proxy.port}`,
  bindUser: dc.adminUser,
  bindPassword: dc.adminPassword,
  caCerts: [proxy.caPem],
  timeoutMs: 20_000,
});

/** Writes may only name this file's own machines (CN=S18…) and OU (OU=S18…) and what is under them. */
const ownDn = (dn: string): boolean => /^(CN|OU)=S18/i.test(dn) || (ouName !== '' && dn.toLowerCase().endsWith(ouDn.toLowerCase()));

interface Target {
  label: string;
  guid: string;
  dn: string;
  what: RegExp;
}
const targets: Target[] = [];

async function guidOf(dn: string): Promise<string> {
  return withLdap(async (c) => guidToString((await c.search(dn, { scope: 'base', attributes: ['objectGUID'], explicitBufferAttributes: ['objectGUID'] })).searchEntries[0].objectGUID as Buffer));
}

async function exists(dn: string): Promise<boolean> {
  return withLdap((c) => c.search(dn, { scope: 'base', attributes: ['1.1'] }).then((r) => r.searchEntries.length === 1, () => false));
}

async function uacOf(dn: string): Promise<number> {
  return withLdap(async (c) => Number((await c.search(dn, { scope: 'base', attributes: ['userAccountControl'] })).searchEntries[0].userAccountControl));
}

async function setUac(dn: string, uac: number): Promise<void> {
  await withLdap((c) => c.modify(dn, [new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [String(uac)] }) })]));
}

/** An msFVE-RecoveryInformation entry as Windows writes one under the computer. */
function bitLockerRecovery(guidHex: string): Attribute[] {
  return [
    new Attribute({ type: 'objectClass', values: ['msFVE-RecoveryInformation'] }),
    new Attribute({ type: 'msFVE-RecoveryPassword', values: ['111111-222222-333333-444444-555555-666666-777777-888888'] }),
    new Attribute({ type: 'msFVE-RecoveryGuid', values: [Buffer.from(guidHex, 'hex')] }),
  ];
}

async function failure(p: Promise<unknown>): Promise<ProvisioningError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(ProvisioningError);
  return e as ProvisioningError;
}

const dcSam = `${dc.dcHost.split('.')[0].toUpperCase()}$`;
const domainDn = dc.domain.split('.').map((p) => `DC=${p}`).join(',');

beforeAll(async () => {
  proxy = await FaultProxy.start({ upstream: { host: dc.dcIp, port: 636, servername: dc.dcHost, ca: readFileSync(dc.caFile, 'utf8') }, hostname: dc.dcHost });
  proxy.setGuard((w) => ownDn(w.dn));
  files = netapiClientFiles();
  ouName = `S18${randomBytes(4).toString('hex').toUpperCase()}`;
  ouDn = await ensureOu(ouName);
  const dcAccount = (await accountBySam(dcSam))!;
  for (const [label, dn, what] of [
    ['the Administrator user', `CN=Administrator,CN=Users,${domainDn}`, /is a user account/],
    ['Domain Admins', `CN=Domain Admins,CN=Users,${domainDn}`, /is a group/],
    ['krbtgt', `CN=krbtgt,CN=Users,${domainDn}`, /is a user account/],
    ["the DC's own account", dcAccount.dn, /is a domain controller/],
    ['an OU', ouDn, /is an organizational unit/],
  ] as const) {
    targets.push({ label, dn, guid: await guidOf(dn), what });
  }
});

afterAll(async () => {
  proxy.setGuard(null);
  for (const n of made) {
    const a = await accountBySam(`${n}$`);
    if (a) await deleteTree(a.dn);
  }
  if (ouDn) await deleteTree(ouDn);
  await proxy?.close();
  files?.cleanup();
});

/** Nothing but this file's own objects was ever written, or even attempted. */
function expectNoForeignWrite(): void {
  expect(proxy.writes.filter((w) => !ownDn(w.dn)), 'writes attempted on objects the test did not create').toEqual([]);
  expect(proxy.writes.filter((w) => w.controls.includes('1.2.840.113556.1.4.805')), 'tree deletes').toEqual([]);
  expect(native.calls.filter((c) => c.refused), 'native calls on objects the test did not create').toEqual([]);
}

describe('read and delete by objectGUID take computer accounts only', () => {
  const netapi = () => backendFor('netapi', { configFile: files.configFile, krb5Config: files.krb5Config });
  const faces: [string, (guid: string) => Promise<unknown>, (guid: string) => Promise<unknown>][] = [
    ['library', (g) => readAccount(g, viaProxy()), (g) => deleteAccount(g, viaProxy())],
    ["backendFor('ldap')", (g) => backendFor('ldap').readAccount(g, viaProxy()), (g) => backendFor('ldap').deleteAccount(g, viaProxy())],
    ["backendFor('netapi')", (g) => netapi().readAccount(g, viaProxy()), (g) => netapi().deleteAccount(g, viaProxy())],
    [
      'Pulumi provider read (import) / delete',
      (g) => resourceRead(g, { ...viaProxy(), domain: dc.domain, machineName: 'X' }),
      (g) => resourceDelete(g, { ...viaProxy(), objectGuid: g, domain: dc.domain, machineName: 'X' }),
    ],
  ];
  for (const [face, read, remove] of faces) {
    it(`${face}: a user, a group, krbtgt, the DC and an OU are refused, saying what they are; nothing is written`, async () => {
      for (const t of targets) {
        for (const op of [read, remove]) {
          const e = await failure(op(t.guid));
          expect([e.code, e.errno], `${t.label}: ${e.message}`).toEqual(['ERROR_NO_TRUST_SAM_ACCOUNT', 1787]);
          expect(e.message, t.label).toMatch(t.what);
          expect(e.message).toContain(t.dn);
        }
        expect(await exists(t.dn), t.label).toBe(true);
      }
      expectNoForeignWrite();
    });
  }

  it('a computer account is read (with enabled) and deleted with the children computers carry, without a tree delete', async () => {
    const name = newName();
    const r = await provision({ domain: dc.domain, machineName: name, machineAccountOU: ouDn }, viaProxy());
    const dn = r.account.distinguishedName;
    expect(await readAccount(r.account.objectGuid, viaProxy())).toMatchObject({ distinguishedName: dn, enabled: true });
    // A BitLocker recovery password and Hyper-V's service connection point, as Windows adds them.
    const recovery = `CN=2026-01-01T00:00:00-00:00{6F0E1D2C-3B4A-5968-7A8B-9C0D1E2F3A4B},${dn}`;
    const scp = `CN=Windows Virtual Machine,${dn}`;
    await withLdap(async (c) => {
      await c.add(recovery, bitLockerRecovery('6f0e1d2c3b4a59687a8b9c0d1e2f3a4b'));
      await c.add(scp, { objectClass: ['serviceConnectionPoint'], keywords: ['Windows Virtual Machine'] });
    });
    await deleteAccount(r.account.objectGuid, viaProxy());
    expect(await exists(dn)).toBe(false);
    const mine = proxy.writes.filter((w) => w.op === 'del' && w.dn.endsWith(dn));
    expect(mine.map((w) => w.dn).sort()).toEqual([dn, recovery, scp].sort());
    expectNoForeignWrite();
  });

  it('a computer account holding anything else is not deleted at all', async () => {
    const name = newName();
    const r = await provision({ domain: dc.domain, machineName: name, machineAccountOU: ouDn }, viaProxy());
    const dn = r.account.distinguishedName;
    const recovery = `CN=2026-01-02T00:00:00-00:00{7F0E1D2C-3B4A-5968-7A8B-9C0D1E2F3A4B},${dn}`;
    const other = `CN=${name}-Printer,${dn}`;
    await withLdap(async (c) => {
      await c.add(recovery, bitLockerRecovery('7f0e1d2c3b4a59687a8b9c0d1e2f3a4b'));
      // A published printer: something a computer may hold, but not ours to remove with it.
      await c.add(other, {
        objectClass: ['printQueue'],
        printerName: 'S18 printer',
        serverName: `${name.toLowerCase()}.${dc.domain}`,
        shortServerName: name,
        uNCName: `\\\\${name}\\printer`,
        versionNumber: '4',
      });
    });
    const before = proxy.writes.length;
    const e = await failure(deleteAccount(r.account.objectGuid, viaProxy()));
    expect([e.code, e.errno]).toEqual(['ERROR_DS_CANT_ON_NON_LEAF', 8213]);
    expect(e.message).toContain(other);
    expect(e.message).toMatch(/nothing was deleted/);
    expect(proxy.writes.slice(before)).toEqual([]);
    for (const d of [dn, recovery, other]) expect(await exists(d), d).toBe(true);
    expectNoForeignWrite();
  });
});

describe('reuse never touches a domain controller, and keeps what an admin decided', () => {
  it("provision with reuseAccount of the DC's own name is refused before anything is written, with or without an OU (LDAP backend)", async () => {
    const name = dcSam.slice(0, -1);
    for (const extra of [{}, { machineAccountOU: ouDn }]) {
      const e = await failure(provision({ domain: dc.domain, machineName: name, options: { reuseAccount: true }, ...extra }, viaProxy()));
      expect([e.code, e.field], e.message).toEqual(['ERROR_NO_TRUST_SAM_ACCOUNT', 'machineName']);
      expect(e.message).toMatch(/is a domain controller; refusing to reuse it/);
    }
    // Without reuse: NERR_UserExists, and no advice to take the DC over.
    const e = await failure(provision({ domain: dc.domain, machineName: name }, viaProxy()));
    expect(e.code).toBe('NERR_UserExists');
    expect(e.message).not.toMatch(/set reuseAccount/);
    expectNoForeignWrite();
  });

  it("the native backend refuses the DC's own name with reuse, with and without an OU, before NetProvisionComputerAccount", async () => {
    const b = backendFor('netapi', { configFile: files.configFile, krb5Config: files.krb5Config });
    const name = dcSam.slice(0, -1);
    const before = native.calls.length;
    for (const extra of [{}, { machineAccountOU: ouDn }]) {
      const e = await failure(b.provision({ domain: dc.domain, machineName: name, dcName: dc.dcHost, options: { reuseAccount: true }, ...extra }, viaProxy()));
      expect(e.code, e.message).toBe('ERROR_NO_TRUST_SAM_ACCOUNT');
      expect(e.message).toMatch(/domain controller/);
    }
    expect(native.calls.slice(before)).toEqual([]);
    expectNoForeignWrite();
  });

  it('the native backend refuses to take over an existing account with skipAccountSearch unless reuse is asked (NERR_UserExists, as LDAP)', async () => {
    const name = newName();
    const first = await provision({ domain: dc.domain, machineName: name }, viaProxy());
    const b = backendFor('netapi', { configFile: files.configFile, krb5Config: files.krb5Config });
    const before = native.calls.length;
    const e = await failure(b.provision({ domain: dc.domain, machineName: name, dcName: dc.dcHost, options: { skipAccountSearch: true } }, viaProxy()));
    expect([e.code, e.field]).toEqual(['NERR_UserExists', 'machineName']);
    expect(native.calls.slice(before)).toEqual([]);
    // The LDAP backend says the same.
    const l = await failure(provision({ domain: dc.domain, machineName: name, dcName: dc.dcHost, options: { skipAccountSearch: true } }, viaProxy()));
    expect(l.code).toBe('NERR_UserExists');
    // Asked for, reuse works and says so.
    const r = await b.provision({ domain: dc.domain, machineName: name, dcName: dc.dcHost, options: { skipAccountSearch: true, reuseAccount: true } }, viaProxy());
    expect([r.reused, r.account.objectGuid]).toEqual([true, first.account.objectGuid]);
    // The interceptor is really in the path: it saw this (allowed) call.
    expect(native.calls).toContainEqual({ call: 'provision', name, refused: false });
    expectNoForeignWrite();
  });

  it('reusing a disabled account keeps it disabled and says so, unless enableAccount (LDAP backend)', async () => {
    const name = newName();
    const first = await provision({ domain: dc.domain, machineName: name }, viaProxy());
    const dn = first.account.distinguishedName;
    await setUac(dn, 0x1000 | 0x2 | 0x100000); // disabled, and "not delegated": bits we do not own
    const kept = await provision({ domain: dc.domain, machineName: name, options: { reuseAccount: true } }, viaProxy());
    expect([kept.reused, kept.account.enabled]).toEqual([true, false]);
    expect(await uacOf(dn)).toBe(0x1000 | 0x2 | 0x100000);
    const enabled = await provision({ domain: dc.domain, machineName: name, options: { reuseAccount: true }, enableAccount: true }, viaProxy());
    expect(enabled.account.enabled).toBe(true);
    expect(await uacOf(dn)).toBe(0x1000 | 0x100000);
    expect(await readAccount(first.account.objectGuid, viaProxy())).toMatchObject({ enabled: true });
    const bad = await failure(provision({ domain: dc.domain, machineName: name, enableAccount: 'yes' as unknown as boolean }, viaProxy()));
    expect([bad.code, bad.field]).toEqual(['ERROR_INVALID_PARAMETER', 'enableAccount']);
    expectNoForeignWrite();
  });

  it('the native backend does not reuse a disabled account (NetProvisionComputerAccount would enable it) unless enableAccount', async () => {
    const name = newName();
    const first = await provision({ domain: dc.domain, machineName: name }, viaProxy());
    const dn = first.account.distinguishedName;
    await setUac(dn, 0x1000 | 0x2);
    const b = backendFor('netapi', { configFile: files.configFile, krb5Config: files.krb5Config });
    const before = native.calls.length;
    const e = await failure(b.provision({ domain: dc.domain, machineName: name, dcName: dc.dcHost, options: { reuseAccount: true } }, viaProxy()));
    expect([e.code, e.field]).toEqual(['ERROR_ACCOUNT_DISABLED', 'enableAccount']);
    expect(native.calls.slice(before)).toEqual([]);
    expect(await uacOf(dn)).toBe(0x1000 | 0x2);
    const r = await b.provision({ domain: dc.domain, machineName: name, dcName: dc.dcHost, options: { reuseAccount: true }, enableAccount: true }, viaProxy());
    expect([r.reused, r.account.enabled]).toEqual([true, true]);
    expect(await uacOf(dn) & 0x2).toBe(0);
    expectNoForeignWrite();
  });

  it('a reuse whose password set fails after the move puts the account back where it was, and says so', async () => {
    const name = newName();
    const first = await provision({ domain: dc.domain, machineName: name }, viaProxy());
    const from = first.account.distinguishedName;
    // The guard refuses the password modify on the moved account (as a DC that refuses it would).
    proxy.setGuard((w) => ownDn(w.dn) && !(w.op === 'modify' && w.dn.toLowerCase() === `cn=${name},${ouDn}`.toLowerCase()));
    try {
      const e = await failure(provision({ domain: dc.domain, machineName: name, machineAccountOU: ouDn, options: { reuseAccount: true } }, viaProxy()));
      expect(e.code).toBe('ERROR_ACCESS_DENIED');
      expect(e.message).toContain(`it was moved back to ${from}`);
    } finally {
      proxy.setGuard((w) => ownDn(w.dn));
    }
    expect((await accountBySam(`${name}$`))!.dn).toBe(from);
    expectNoForeignWrite();
  });
});

describe('the native backend moves a reused account back when NetProvisionComputerAccount fails after the move', () => {
  it('moved back, and the error says so', async () => {
    const name = newName();
    const first = await provision({ domain: dc.domain, machineName: name }, viaProxy());
    const from = first.account.distinguishedName;
    native.failProvision = (n) => (n === name ? new ProvisioningError('ERROR_CAN_NOT_COMPLETE', 'NetProvisionComputerAccount failed (test)') : undefined);
    try {
      const b = backendFor('netapi', { configFile: files.configFile, krb5Config: files.krb5Config });
      const e = await failure(b.provision({ domain: dc.domain, machineName: name, dcName: dc.dcHost, machineAccountOU: ouDn, options: { reuseAccount: true } }, viaProxy()));
      expect(e.code).toBe('ERROR_CAN_NOT_COMPLETE');
      expect(e.message).toContain(`the account was moved back to ${from}`);
    } finally {
      native.failProvision = undefined;
    }
    expect((await accountBySam(`${name}$`))!.dn).toBe(from);
    // Both moves were seen by the guard, and only on this test's own account.
    expect(proxy.writes.filter((w) => w.op === 'modDn' && w.dn.toUpperCase().startsWith(`CN=${name},`)).length).toBe(2);
    expectNoForeignWrite();
  });
});

describe('bounded inputs, credentials in URLs, names', () => {
  it('readFileBounded stops at limit + 1 bytes: /dev/zero fails at once, with little memory', () => {
    const rss = process.memoryUsage().rss;
    const t = Date.now();
    expect(() => readFileBounded('/dev/zero', 8 * 1024 * 1024)).toThrow(InputTooLargeError);
    expect(Date.now() - t).toBeLessThan(2000);
    expect(process.memoryUsage().rss - rss).toBeLessThan(200 * 1024 * 1024);
    expect(readFileBounded('/etc/hostname', 4096).length).toBeGreaterThan(0);
  });

  it('a URL with credentials is refused by the library, the native backend and the Check, never echoed', async () => {
    const url = `ldaps://someone:S3cret-in-url@${dc.dcHost}`;
    const e = await failure(provision({ domain: dc.domain, machineName: newName() }, { ...viaProxy(), url }));
    expect([e.code, e.field]).toEqual(['ERROR_INVALID_PARAMETER', 'connection.url']);
    const n = await failure(backendFor('netapi', { configFile: files.configFile, krb5Config: files.krb5Config }).provision({ domain: dc.domain, machineName: newName() }, { ...viaProxy(), url }));
    expect([n.code, n.field]).toEqual(['ERROR_INVALID_PARAMETER', 'connection.url']);
    const r = await check({}, { domain: dc.domain, machineName: 'WEB01', url });
    expect(r.failures?.map((f) => f.property)).toEqual(['url']);
    for (const text of [String(e), e.stack ?? '', String(n), JSON.stringify(r.failures)]) {
      expect(text).not.toContain('S3cret-in-url');
      expect(text).not.toContain('someone');
    }
    expect(proxy.writes.filter((w) => w.dn.includes('S18') === false)).toEqual([]);
  });

  it('names what an object is, for the kinds the test DC has none of (RODC, trust, managed service account)', () => {
    expect(whatItIs({ distinguishedName: 'x', objectClasses: ['top', 'computer'], userAccountControl: 0x1000 })).toBeNull();
    expect(whatItIs({ distinguishedName: 'x', objectClasses: ['top', 'computer'], userAccountControl: 0x1000 | 0x04000000 })).toBe('is a read-only domain controller');
    expect(whatItIs({ distinguishedName: 'x', objectClasses: ['top', 'person', 'user'], userAccountControl: 0x800 })).toBe('is an interdomain trust account');
    expect(whatItIs({ distinguishedName: 'x', objectClasses: ['top', 'person', 'user'], userAccountControl: 0x200 })).toBe('is a user account');
    expect(whatItIs({ distinguishedName: '', samAccountName: 'CORP$', userAccountControl: 0x800 })).toBe('is an interdomain trust account');
    expect(whatItIs({ distinguishedName: 'x', objectClasses: ['top', 'computer', 'msDS-GroupManagedServiceAccount'], userAccountControl: 0x1000 })).toBe('is a managed service account');
    expect(windowsCodeName(1317)).toBe('ERROR_NO_SUCH_USER');
  });

  it('--machine NAME$ style names are refused with the hint to drop the $', async () => {
    const e = await failure(provision({ domain: dc.domain, machineName: 'WS01$' }, viaProxy()));
    expect([e.code, e.field]).toEqual(['ERROR_INVALID_PARAMETER', 'machineName']);
    expect(e.message).toMatch(/WS01, not WS01\$/);
  });

  it('the lowest layer refuses too: deleteByDn of the DC or a user writes nothing', async () => {
    for (const t of targets.filter((x) => x.label !== 'an OU')) {
      const e = await failure(
        withDirectory(viaProxy(), { host: dc.dcHost, unreachableCode: 'ERROR_DS_SERVER_DOWN', unreachableField: 'connection.url' }, (conn) => deleteByDn(conn, t.dn)),
      );
      expect(e.code, t.label).toBe('ERROR_NO_TRUST_SAM_ACCOUNT');
      expect(e.message).toMatch(t.what);
    }
    expectNoForeignWrite();
  });

  it('LdapBackend and the library agree (one rule): an OU GUID is refused the same way by both', async () => {
    const ou = targets.find((t) => t.label === 'an OU')!;
    const a = await failure(new LdapBackend().deleteAccount(ou.guid, viaProxy()));
    const b = await failure(deleteAccount(ou.guid, viaProxy()));
    expect(a.message).toBe(b.message);
    expect(a.message).not.toMatch(/cannot read objectGUID/);
  });
});
