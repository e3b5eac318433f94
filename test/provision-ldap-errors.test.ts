// Each documented error, produced for real against the test DC, with the field at fault named and
// no secret in any message.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provision, provisionMany } from '../provider/directory/backend';
import { provisionOne } from '../provider/directory/provision';
import { openDomain } from '../provider/directory/domain';
import type { ProvisioningParams } from '../provider/backend';
import { ProvisioningError } from '../provider/errors';
import { parsePackage } from '../provider/odj';
import { testDc } from './support/dc';
import { accountBySam, deleteTree, ensureOu, withLdap } from './support/ldap';
import { adminConnection, machineNames } from './support/ldap-backend';
import { requestOdjAndTestJoin } from './support/peers';

const names = machineNames('LE');
const seenErrors: unknown[] = [];
const suffix = randomBytes(4).toString('hex');
const ouName = `odj-le-${suffix}`;
const userName = `odjle${suffix}`;
const userPassword = `Us3r!${randomBytes(9).toString('base64url')}`;
let userDn = '';

/** Run, expect a ProvisioningError, keep it for the secrets check at the end. */
async function failure(p: Promise<unknown>): Promise<ProvisioningError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  seenErrors.push(e);
  expect(e).toBeInstanceOf(ProvisioningError);
  return e as ProvisioningError;
}

beforeAll(async () => {
  await ensureOu(ouName);
  userDn = `CN=${userName},CN=Users,DC=odjtest,DC=test`;
  await withLdap((c) =>
    c.add(userDn, {
      objectClass: 'user',
      sAMAccountName: userName,
      userAccountControl: '512',
      unicodePwd: Buffer.from(`"${userPassword}"`, 'utf16le') as unknown as string,
    }),
  );
});

afterAll(async () => {
  await names.cleanup();
  await deleteTree(`OU=${ouName},DC=odjtest,DC=test`).catch(() => undefined);
  await withLdap((c) => c.del(userDn)).catch(() => undefined);
});

describe('documented errors, for real', () => {
  const dc = () => testDc();

  it('an existing account without reuse → NERR_UserExists (also found outside the target OU, and with skipAccountSearch)', async () => {
    const name = names.next();
    await provision({ domain: dc().domain, machineName: name }, adminConnection());
    let e = await failure(provision({ domain: dc().domain, machineName: name }, adminConnection()));
    expect([e.code, e.errno, e.field]).toEqual(['NERR_UserExists', 2224, 'machineName']);
    // The account is in CN=Computers; asking for the OU still finds it (whole-domain search).
    const ou = `OU=${ouName},DC=odjtest,DC=test`;
    e = await failure(provision({ domain: dc().domain, machineName: name, machineAccountOU: ou }, adminConnection()));
    expect(e.code).toBe('NERR_UserExists');
    // Without the search the DC itself refuses the duplicate sAMAccountName.
    e = await failure(provision({ domain: dc().domain, machineName: name, machineAccountOU: ou, dcName: dc().dcHost, options: { skipAccountSearch: true } }, adminConnection()));
    expect([e.code, e.field], e.message).toEqual(['NERR_UserExists', 'machineName']);
  });

  it('a DC asked for another domain → ERROR_INVALID_DOMAIN_ROLE; a non-DC host → ERROR_INVALID_DOMAIN_ROLE', async () => {
    let e = await failure(provision({ domain: 'other.test', machineName: names.next(), dcName: dc().dcHost }, adminConnection()));
    expect([e.code, e.errno, e.field]).toEqual(['ERROR_INVALID_DOMAIN_ROLE', 1354, 'dcName']);
    // A host on loopback that accepts TCP and is no DC at all.
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      e = await failure(provision({ domain: dc().domain, machineName: names.next(), dcName: 'localhost' }, adminConnection({ url: `ldaps://localhost:${port}`, timeoutMs: 5000 })));
      // The URL is what was contacted: its failure is labelled with it (issue 18), not with dcName.
      expect([e.code, e.field]).toEqual(['ERROR_INVALID_DOMAIN_ROLE', 'connection.url']);
    } finally {
      server.close();
    }
    // The DC answers for its domain, but is not the DC the caller named.
    e = await failure(provision({ domain: dc().domain, machineName: names.next(), dcName: 'dc9.odjtest.test' }, adminConnection()));
    expect([e.code, e.field]).toEqual(['ERROR_INVALID_DOMAIN_ROLE', 'dcName']);
  });

  it('an unknown domain → ERROR_NO_SUCH_DOMAIN', async () => {
    const e = await failure(provision({ domain: `nosuch-${suffix}.test`, machineName: names.next() }, adminConnection()));
    expect([e.code, e.errno, e.field]).toEqual(['ERROR_NO_SUCH_DOMAIN', 1355, 'domain']);
  });

  it('a missing OU → ERROR_DS_NO_SUCH_OBJECT naming machineAccountOU, and no account is left behind', async () => {
    const name = names.next();
    const e = await failure(provision({ domain: dc().domain, machineName: name, machineAccountOU: `OU=missing-${suffix},DC=odjtest,DC=test` }, adminConnection()));
    expect([e.code, e.errno, e.field]).toEqual(['ERROR_DS_NO_SUCH_OBJECT', 8240, 'machineAccountOU']);
    expect(await accountBySam(`${name}$`)).toBeNull();
  });

  it('wrong credentials → ERROR_LOGON_FAILURE naming the bind user', async () => {
    const wrong = `Wr0ng!${randomBytes(12).toString('hex')}`;
    const e = await failure(provision({ domain: dc().domain, machineName: names.next() }, adminConnection({ bindPassword: wrong })));
    expect([e.code, e.errno, e.field]).toEqual(['ERROR_LOGON_FAILURE', 1326, 'connection.bindUser']);
    expect(`${e.message}\n${e.stack}\n${JSON.stringify(e)}`).not.toContain(wrong);
  });

  it('TLS verification on by default: a wrong CA, or a name the certificate does not carry, fails clearly', async () => {
    // Any CA but the DC's: the system bundle.
    const other = execFileSync('sh', ['-c', 'awk "/BEGIN CERT/{n++} n==1" /etc/ssl/certs/ca-certificates.crt'], { encoding: 'utf8' });
    let e = await failure(provision({ domain: dc().domain, machineName: names.next() }, adminConnection({ caCerts: [other] })));
    expect([e.code, e.field]).toEqual(['SEC_E_UNTRUSTED_ROOT', 'connection.caCerts']);
    e = await failure(provision({ domain: dc().domain, machineName: names.next() }, adminConnection({ caCerts: undefined })));
    expect(e.code).toBe('SEC_E_UNTRUSTED_ROOT');
    // The right CA, but reached by an address the certificate does not name.
    e = await failure(provision({ domain: dc().domain, machineName: names.next() }, adminConnection({ url: 'ldaps://127.0.0.1:636' })));
    // More CAs would not help: the advice is the host name (issue 18).
    expect([e.code, e.field]).toEqual(['SEC_E_WRONG_PRINCIPAL', 'connection.url']);
    expect(e.message).toMatch(/connect by the DC's DNS name/);
    expect(e.message).not.toMatch(/caCerts/);
    // Turning verification off is possible, by name.
    const name = names.next();
    const r = await provision({ domain: dc().domain, machineName: name }, adminConnection({ caCerts: [other], insecureSkipTlsVerify: true }));
    expect(r.account.samAccountName).toBe(`${name}$`);
  });

  it('StartTLS works; plain ldap:// without it is refused before anything is sent', async () => {
    const name = names.next();
    const r = await provision({ domain: dc().domain, machineName: name }, adminConnection({ url: `ldap://${dc().dcHost}:389`, startTls: true }));
    expect((await requestOdjAndTestJoin(r.packageText, name)).joined).toBe(true);
    const e = await failure(provision({ domain: dc().domain, machineName: names.next() }, adminConnection({ url: `ldap://${dc().dcHost}:389` })));
    expect([e.code, e.field]).toEqual(['ERROR_INVALID_PARAMETER', 'connection.startTls']);
  });

  it('a non-admin user: refused where it holds no right (Samba 4.17 grants no quota creation over LDAP), works where creation is delegated', async () => {
    const user = { bindUser: `${userName}@${dc().domain}`, bindPassword: userPassword };
    const e = await failure(provision({ domain: dc().domain, machineName: names.next() }, adminConnection(user)));
    expect([e.code, e.errno]).toEqual(['ERROR_ACCESS_DENIED', 5]);
    // Delegate "create computer objects" on the test OU to the user (sam.ldb directly, as root).
    const ouDn = `OU=${ouName},DC=odjtest,DC=test`;
    const sid = (await withLdap((c) => c.search(userDn, { scope: 'base', attributes: ['objectSid'], explicitBufferAttributes: ['objectSid'] }))).searchEntries[0].objectSid as Buffer;
    const sidText = `S-1-5-21-${[0, 1, 2].map((i) => sid.readUInt32LE(12 + 4 * i)).join('-')}-${sid.readUInt32LE(24)}`;
    execFileSync('samba-tool', ['dsacl', 'set', '-H', `${dc().dir}/private/sam.ldb`, `--objectdn=${ouDn}`, '--action=allow', `--sddl=(OA;CI;CC;bf967a86-0de6-11d0-a285-00aa003049e2;;${sidText})`], { stdio: 'ignore' });
    const name = names.next();
    const r = await provision({ domain: dc().domain, machineName: name, machineAccountOU: ouDn }, adminConnection(user));
    expect(r.account.distinguishedName).toBe(`CN=${name},${ouDn}`);
    expect((await requestOdjAndTestJoin(r.packageText, name)).joined).toBe(true);
  });

  it('a failure after the add deletes the account just made (never a half-made account)', async () => {
    // The add succeeds on the DC, then the package cannot be encoded (an Options value no uint32
    // holds, which validation would never produce): the account must be gone again.
    const { conn, discovery } = await openDomain({ domain: dc().domain }, adminConnection());
    try {
      const name = names.next();
      const req = { machineName: name, reuseAccount: false, useDefaultPassword: false, skipAccountSearch: false, win7Options: 2 ** 33 };
      const e = await failure(provisionOne(conn, discovery, req));
      expect(e.field).toBeUndefined();
      expect(await accountBySam(`${name}$`)).toBeNull();
      // The same request with a sane value works, over the same connection.
      const ok = await provisionOne(conn, discovery, { ...req, win7Options: 0 });
      expect(ok.account.samAccountName).toBe(`${name}$`);
    } finally {
      await conn.close();
    }
  });

  // What the LDAP backend cannot do is refused by name, never dropped: enrolling from a template
  // (without a PFX), and reading a GPO's SYSVOL off Windows without sysvolRoot. The rest of the
  // certificate and policy params work: test/provision-certificates-policies.test.ts.
  it('a template without a PFX, and GPO names without sysvolRoot, are refused by name (ERROR_NOT_SUPPORTED), never dropped', async () => {
    const cases: Array<[Partial<ProvisioningParams>, string]> = [
      [{ certTemplateNames: ['Machine'] }, 'certTemplateNames'],
      [{ machinePolicyNames: ['Default Domain Policy'] }, 'machinePolicyNames'],
    ];
    for (const [extra, field] of cases) {
      const e = await failure(provision({ domain: dc().domain, machineName: names.next(), ...extra }, adminConnection()));
      expect([e.code, e.errno, e.field]).toEqual(['ERROR_NOT_SUPPORTED', 50, field]);
    }
  });

  it('a batch goes over one connection; one failure does not stop the others', async () => {
    const [a, b] = [names.next(), names.next()];
    const out = await provisionMany(
      [
        { domain: dc().domain, machineName: a },
        { domain: dc().domain, machineName: 'bad*name' },
        { domain: dc().domain, machineName: a },
        { domain: dc().domain, machineName: b, netbiosName: b, siteName: 'Default-First-Site-Name', options: { persistentSite: true } },
      ],
      adminConnection(),
    );
    expect(out.map((o) => o.ok)).toEqual([true, false, false, true]);
    expect(out[1].ok ? null : [out[1].error.code, out[1].error.field]).toEqual(['ERROR_INVALID_PARAMETER', '[1].machineName']);
    expect(out[2].ok ? null : out[2].error.code).toBe('NERR_UserExists');
    const jp2 = out[3].ok ? parsePackage(out[3].result.packageBinary) : null;
    expect(jp2?.facts.joinProvider2).toEqual({ flags: 1, netbiosName: b, siteName: 'Default-First-Site-Name', primaryDnsDomain: null });
    expect(jp2?.parts.map((p) => p.name)).toEqual(['JOIN_PROVIDER', 'JOIN_PROVIDER2', 'JOIN_PROVIDER3']);
    if (out[3].ok) expect((await requestOdjAndTestJoin(out[3].result.packageText, b)).joined).toBe(true);
  });

  it('no error message, stack or JSON form carries the admin password or the user password', () => {
    expect(seenErrors.length).toBeGreaterThan(15);
    for (const e of seenErrors) {
      const text = `${String(e)}\n${(e as Error).stack}\n${JSON.stringify(e)}`;
      expect(text).not.toContain(testDc().adminPassword);
      expect(text).not.toContain(userPassword);
    }
  });
});
