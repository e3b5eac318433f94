// Accounts at the directory layer, where the test knows the password: it is set exactly (the DC
// accepts it for Kerberos), and no failure path puts it in a message.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { UnwillingToPerformError, InsufficientAccessError } from 'ldapts';
import { createAccount, deleteAccountByGuid, findAccountByGuid, findAccountBySamName, reuseAccount } from '../provider/directory/accounts';
import { DirectoryConnection } from '../provider/directory/connection';
import { mapLdapError } from '../provider/directory/ldap-errors';
import { generateMachinePassword, MACHINE_PASSWORD_LENGTH, unicodePwdValue } from '../provider/directory/password';
import { ProvisioningError } from '../provider/errors';
import { testDc } from './support/dc';
import { accountBySam } from './support/ldap';
import { adminConnection, machineNames } from './support/ldap-backend';
import { kinitWithPassword } from './support/peers';

const names = machineNames('LA');
let conn: DirectoryConnection | undefined;
afterEach(async () => {
  await conn?.close();
  conn = undefined;
});
afterAll(() => names.cleanup());

async function bound(): Promise<DirectoryConnection> {
  conn = new DirectoryConnection(adminConnection(), { host: testDc().dcHost, unreachableCode: 'ERROR_NO_SUCH_DOMAIN', unreachableField: 'domain' });
  await conn.connect();
  await conn.bind();
  return conn;
}

const base = 'DC=odjtest,DC=test';
const computers = `CN=Computers,${base}`;

describe('machine passwords', () => {
  it('are 120 UTF-16 units from the CSPRNG, all complexity classes, never repeated, no surrogates', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generateMachinePassword();
      expect(p).toHaveLength(MACHINE_PASSWORD_LENGTH);
      expect(p).toMatch(/[A-Z]/);
      expect(p).toMatch(/[a-z]/);
      expect(p).toMatch(/[0-9]/);
      expect(p).toMatch(/[^A-Za-z0-9]/);
      expect(p).not.toMatch(/[\uD800-\uDFFF\u0000-\u001F]/);
      seen.add(p);
    }
    expect(seen.size).toBe(200);
    expect(unicodePwdValue('ab')).toEqual(Buffer.from([0x22, 0, 0x61, 0, 0x62, 0, 0x22, 0]));
  });
});

describe('accounts over LDAP', () => {
  it('create, find, reuse (same SID, new password), delete by GUID — and the DC holds exactly the password given', async () => {
    const c = await bound();
    const name = names.next();
    const pw1 = generateMachinePassword();
    const made = await createAccount(c, { machineName: name, dnsDomainName: 'odjtest.test', containerDn: computers, password: pw1 });
    expect(made).toMatchObject({ distinguishedName: `CN=${name},${computers}`, samAccountName: `${name}$`, isComputer: true, userAccountControl: 0x1000 });
    const truth = await accountBySam(`${name}$`);
    expect(made.objectSid).toBe(truth!.sid);
    expect(await kinitWithPassword(`${name}$@${testDc().realm}`, pw1)).toBe(true);

    const attrs = await c.client.search(made.distinguishedName, { scope: 'base', attributes: ['dNSHostName', 'servicePrincipalName'] });
    expect(attrs.searchEntries[0].dNSHostName).toBe(`${name.toLowerCase()}.odjtest.test`);
    expect([...(attrs.searchEntries[0].servicePrincipalName as string[])].sort()).toEqual(
      [`HOST/${name}`, `HOST/${name.toLowerCase()}.odjtest.test`, `RestrictedKrbHost/${name}`, `RestrictedKrbHost/${name.toLowerCase()}.odjtest.test`].sort(),
    );

    // lastLogon moved: kinit above logged on as the account.
    const loggedOn = {
      ...made,
      lastLogon: expect.stringMatching(/^[1-9]\d+$/),
      logon: { ...made.logon, lastLogon: expect.stringMatching(/^[1-9]\d+$/), lastLogonTimestamp: expect.stringMatching(/^\d+$/), logonCount: expect.any(Number) },
    };
    expect(await findAccountBySamName(c, base, `${name}$`)).toEqual(loggedOn);
    expect(await findAccountByGuid(c, base, made.objectGuid)).toEqual(loggedOn);
    const pw2 = generateMachinePassword();
    const reused = await reuseAccount(c, made, { password: pw2 });
    expect(reused.objectSid).toBe(made.objectSid);
    expect(await kinitWithPassword(`${name}$@${testDc().realm}`, pw2)).toBe(true);

    expect(await deleteAccountByGuid(c, base, made.objectGuid)).toBe(true);
    expect(await findAccountByGuid(c, base, made.objectGuid)).toBeNull();
    expect(await deleteAccountByGuid(c, base, made.objectGuid)).toBe(false);
  });

  it('no failure carries the password it was about to set', async () => {
    const c = await bound();
    const name = names.next();
    const pw = generateMachinePassword();
    const failures: unknown[] = [];
    const tryIt = async (p: Promise<unknown>): Promise<ProvisioningError> => {
      const e = await p.then(() => undefined, (x: unknown) => x);
      failures.push(e);
      expect(e).toBeInstanceOf(ProvisioningError);
      return e as ProvisioningError;
    };
    expect((await tryIt(createAccount(c, { machineName: name, dnsDomainName: 'odjtest.test', containerDn: `OU=gone,${base}`, password: pw }))).code).toBe('ERROR_DS_NO_SUCH_OBJECT');
    await createAccount(c, { machineName: name, dnsDomainName: 'odjtest.test', containerDn: computers, password: generateMachinePassword() });
    expect((await tryIt(createAccount(c, { machineName: name, dnsDomainName: 'odjtest.test', containerDn: computers, password: pw }))).code).toBe('NERR_UserExists');
    // A computer account that vanished after it was found.
    const ghost = { distinguishedName: `CN=${name}X,${computers}`, objectGuid: '00000000-0000-0000-0000-000000000001', objectSid: 'S-1-5-21-1-2-3-4000', rid: 4000, samAccountName: `${name}X$`, userAccountControl: 0x1000, objectClasses: ['top', 'computer'], isComputer: true, enabled: true,
      logon: { pwdLastSet: '0', lastLogon: '0', lastLogonTimestamp: '0', logonCount: 0, enabled: true } };
    expect((await tryIt(reuseAccount(c, ghost, { password: pw }))).code).toBe('ERROR_DS_NO_SUCH_OBJECT');
    for (const e of failures) {
      const text = `${String(e)}\n${(e as Error).stack}\n${JSON.stringify(e)}\n${JSON.stringify((e as Error).cause ?? null)}`;
      expect(text).not.toContain(pw);
      expect(text).not.toContain(pw.slice(0, 20));
    }
  });

  it('maps AD\'s quota and rights answers to their Windows codes', () => {
    // AD puts the Win32 code first in its diagnostic; this is its text for a quota overrun.
    const quota = mapLdapError(new UnwillingToPerformError('0000216D: SvcErr: DSID-031A124C, problem 5003 (WILL_NOT_PERFORM), data 0\n'), { action: 'creating', field: 'machineName' });
    expect([quota.code, quota.errno, quota.field]).toEqual(['ERROR_DS_MACHINE_ACCOUNT_QUOTA_EXCEEDED', 8557, 'machineName']);
    const denied = mapLdapError(new InsufficientAccessError('00000005: SecErr: DSID-03152870, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0'), { action: 'creating' });
    expect([denied.code, denied.errno]).toEqual(['ERROR_ACCESS_DENIED', 5]);
    const secret = 'S3cret-value-xyz';
    expect(mapLdapError(new Error(`boom ${secret}`), { action: 'x', secrets: [secret] }).message).not.toContain(secret);
  });
});
