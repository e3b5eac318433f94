// The peer runners themselves are the ground truth for many tests, so they are tested here first:
// each must be able to say yes AND no against the real DC.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPackage, parsePackage } from '../provider/odj';
import { testDc } from './support/dc';
import { accountBySam, deleteAccount, domainTruth } from './support/ldap';
import { fileFormToText, kinitWithPassword, ndrdump, requestOdjAndTestJoin, sambaProvision } from './support/peers';

const created: string[] = [];
function machineName(): string {
  const name = `PT${randomBytes(4).toString('hex').toUpperCase()}`;
  created.push(name);
  return name;
}

afterAll(async () => {
  for (const n of created) await deleteAccount(`${n}$`);
});

describe('Samba peers against the test DC', () => {
  it('provision makes an account and a package that ndrdump validates and Samba joins with', async () => {
    const name = machineName();
    const pkg = await sambaProvision({ machineName: name });
    expect(pkg.fileForm.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xfe]));
    expect(fileFormToText(pkg.fileForm)).toBe(pkg.text);
    expect(pkg.binary.toString('base64')).toBe(pkg.text);
    // MIDL type-serialization header: version 1, little-endian, 8-byte header, filler.
    expect(pkg.binary.subarray(0, 8)).toEqual(Buffer.from([1, 0x10, 8, 0, 0xcc, 0xcc, 0xcc, 0xcc]));

    const acct = await accountBySam(`${name}$`);
    expect(acct?.sAMAccountName).toBe(`${name}$`);

    const dump = await ndrdump('ODJ_PROVISION_DATA_serialized_ptr', pkg.binary, { validate: true });
    expect(dump.ok, dump.output).toBe(true);
    expect(dump.output).toContain(name);

    for (const form of [pkg.fileForm, pkg.text, pkg.binary]) {
      const join = await requestOdjAndTestJoin(form, name);
      expect(join.joined, join.output).toBe(true);
      expect(join.output).not.toContain(testDc().adminPassword);
      expect(join.output).not.toContain(pkg.text);
    }
  });

  // What testjoin does not check (seen with Samba 4.17): the domain SID and GUID, the RID and the
  // DC name. The runner reports what the joined machine stored, so tests can check those.
  it('reports the domain SID and GUID the joined machine stored, which testjoin alone does not check', async () => {
    const name = machineName();
    const pkg = await sambaProvision({ machineName: name });
    const truth = await domainTruth();
    const real = await requestOdjAndTestJoin(pkg.fileForm, name);
    expect(real.stored).toEqual({ domainSid: truth.sid, domainGuid: truth.guid });

    const facts = parsePackage(pkg.binary).facts;
    facts.domainInfo.sid = 'S-1-5-21-1-2-3';
    facts.domainInfo.domainGuid = '11111111-2222-3333-4444-555555555555';
    const wrong = await requestOdjAndTestJoin(Buffer.from(buildPackage(facts)), name);
    expect(wrong.joined, wrong.output).toBe(true);
    expect(wrong.stored).toEqual({ domainSid: 'S-1-5-21-1-2-3', domainGuid: '11111111-2222-3333-4444-555555555555' });
  });

  it('testjoin says no to a package whose password is two re-issues old', async () => {
    const name = machineName();
    const old = await sambaProvision({ machineName: name });
    await sambaProvision({ machineName: name, reuse: true });
    const current = await sambaProvision({ machineName: name, reuse: true });
    const stale = await requestOdjAndTestJoin(old.fileForm, name);
    expect(stale.joined, stale.output).toBe(false);
    expect((await requestOdjAndTestJoin(current.fileForm, name)).joined).toBe(true);
  });

  // Samba's defpwd sets the machine name exactly as given (seen with Samba 4.17; Windows documents
  // the lower-cased name), which gives kinit a password known in advance.
  it('kinit accepts the real password and refuses a wrong one (defpwd)', async () => {
    const name = machineName();
    await sambaProvision({ machineName: name, defpwd: true });
    const principal = `${name}$@${testDc().realm}`;
    expect(await kinitWithPassword(principal, name)).toBe(true);
    expect(await kinitWithPassword(principal, `${name}x`)).toBe(false);
  });

  it('ndrdump refuses truncated and padded packages', async () => {
    const name = machineName();
    const pkg = await sambaProvision({ machineName: name });
    const truncated = await ndrdump('ODJ_PROVISION_DATA_serialized_ptr', pkg.binary.subarray(0, 300), { validate: true });
    expect(truncated.ok).toBe(false);
    const padded = await ndrdump('ODJ_PROVISION_DATA_serialized_ptr', Buffer.concat([pkg.binary, Buffer.alloc(8, 0x58)]), {
      validate: true,
    });
    expect(padded.ok).toBe(false);
    // The hex dump of the difference would show the password's bytes: it is removed.
    expect(padded.output).not.toMatch(/^[ +-]\[[0-9A-F]{4}\]/m);
  });

  it('a provisioning failure is a PeerError without secrets', async () => {
    const err = await sambaProvision({ machineName: machineName(), machineAccountOU: 'OU=DoesNotExist,DC=nowhere' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('PeerError');
    expect((err as Error).message).not.toContain(testDc().adminPassword);
  });
});
