// Our package next to Samba's own `net offlinejoin provision … reuse` for the same account: every
// fact agrees except the password (and WIN7 Options, which Samba fixes at 6; see win7Options()).
import { afterAll, describe, expect, it } from 'vitest';
import { provision } from '../provider/directory/backend';
import { parsePackage } from '../provider/odj';
import { testDc } from './support/dc';
import { randomBytes } from 'node:crypto';
import { accountBySam, deleteTree, ensureOu } from './support/ldap';
import { adminConnection, machineNames } from './support/ldap-backend';
import { requestOdjAndTestJoin, sambaProvision } from './support/peers';

const names = machineNames('LS');
const ouName = `odj-ls-${randomBytes(4).toString('hex')}`;
afterAll(async () => {
  await names.cleanup();
  await deleteTree(`OU=${ouName},DC=odjtest,DC=test`).catch(() => undefined);
});

describe('our package and Samba\'s agree', () => {
  it('for the same account, both ways round, on every field except the password', async () => {
    const dc = testDc();
    const name = names.next();
    // Samba creates, we reuse: same object, same SID, a new password that the DC now holds.
    const samba1 = parsePackage((await sambaProvision({ machineName: name })).binary);
    const before = await accountBySam(`${name}$`);
    const ours = await provision({ domain: dc.domain, machineName: name, dcName: dc.dcHost, options: { reuseAccount: true } }, adminConnection());
    expect(ours.reused).toBe(true);
    expect(ours.account.objectSid).toBe(before!.sid);
    expect(ours.account.objectGuid).toBe(before!.guid);
    expect((await requestOdjAndTestJoin(ours.packageText, name)).joined).toBe(true);

    // Samba reuses ours.
    const samba2 = parsePackage((await sambaProvision({ machineName: name, reuse: true })).binary);
    const mine = parsePackage(ours.packageBinary);

    for (const theirs of [samba1, samba2]) {
      const { machinePassword: p1, options: o1, ...a } = mine.facts;
      const { machinePassword: p2, options: o2, ...b } = theirs.facts;
      expect(a).toEqual(b);
      expect(mine.accountSid).toBe(theirs.accountSid);
      expect(mine.blobFormats).toEqual(theirs.blobFormats);
      expect(mine.parts).toEqual(theirs.parts);
      expect(p1).not.toBe(p2);
      expect(o2).toBe(6);
      expect(o1).toBe(2); // NETSETUP_PROVISION_REUSE_ACCOUNT: the options of our call
    }
    expect(mine.accountSid).toBe(`${mine.facts.domainInfo.sid}-${mine.facts.rid}`);
  });

  it('for an account in an OU, reuse keeps the object and moves it there', async () => {
    const dc = testDc();
    const name = names.next();
    await sambaProvision({ machineName: name });
    const before = await accountBySam(`${name}$`);
    const ou = await ensureOu(ouName);
    const ours = await provision({ domain: dc.domain, machineName: name, machineAccountOU: ou, options: { reuseAccount: true } }, adminConnection());
    const after = await accountBySam(`${name}$`);
    expect(after!.dn).toBe(`CN=${name},${ou}`);
    expect(after!.guid).toBe(before!.guid);
    expect(ours.account.distinguishedName).toBe(after!.dn);
  });
});
