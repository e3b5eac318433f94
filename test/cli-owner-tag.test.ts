// `odj provision --owner-tag`: a run the DC stopped answering after its add leaves an account;
// a rerun with the same tag adopts that very account (same objectGUID, a package that joins),
// a rerun without the tag or with another one is refused with NERR_UserExists and writes nothing.
// The interruption is real: a fault-injecting LDAPS proxy in front of the test DC swallows the
// add's answer, so odj times out after the DC made the account.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerMarker } from '../provider/directory/ownership';
import { buildCli, cleanEnv, runOdj, scratch, type Run } from './cli-run';
import { testDc } from './support/dc';
import { FaultProxy } from './support/fault-proxy';
import { machineNames } from './support/ldap-backend';
import { accountBySam, withLdap } from './support/ldap';
import { Filter } from 'ldapts';
import { requestOdjAndTestJoin } from './support/peers';

const dc = testDc();
const names = machineNames('COT');
const tmp = scratch('owner-tag');
let bin = '';
let cleanupBuild = (): void => undefined;
let proxy: FaultProxy;
let proxyCa = '';

beforeAll(async () => {
  const b = await buildCli();
  bin = b.bin;
  cleanupBuild = b.cleanup;
  proxy = await FaultProxy.start({ upstream: { host: dc.dcIp, port: 636, servername: dc.dcHost, ca: readFileSync(dc.caFile, 'utf8') }, hostname: dc.dcHost });
  proxyCa = join(tmp.dir, 'proxy-ca.pem');
  writeFileSync(proxyCa, proxy.caPem);
});
afterAll(async () => {
  await names.cleanup();
  await proxy?.close();
  cleanupBuild();
  tmp.cleanup();
});

/** `odj provision` through the proxy, 1.5 s per step; extra flags after the machine's. */
function provision(name: string, file: string, extra: string[]): Promise<Run> {
  const args = ['provision', '--domain', dc.domain, '--dcname', dc.dcHost, '--url', `ldaps://${dc.dcHost}:${proxy.port}`, '--user', dc.adminUser, '--cafile', proxyCa, '--timeout', '1.5'];
  return runOdj(bin, [...args, '--machine', name, '--savefile', file, ...extra], { env: cleanEnv({ ODJ_BIND_PASSWORD: dc.adminPassword }) });
}

/** Every object with this sAMAccountName, with its description (ldapts gives [] for none). */
async function accountsNamed(name: string): Promise<{ dn: string; description?: string }[]> {
  return withLdap(async (c) => {
    const base = dc.domain.split('.').map((p) => `DC=${p}`).join(',');
    const r = await c.search(base, { scope: 'sub', filter: `(sAMAccountName=${Filter.escape(`${name}$`)})`, attributes: ['description'] });
    return r.searchEntries.map((e) => {
      const d = [e.description ?? []].flat().map(String);
      return { dn: e.dn, ...(d.length ? { description: d.join('\n') } : {}) };
    });
  });
}

describe('odj provision --owner-tag', () => {
  it('an interrupted create is adopted by a rerun with the same tag; without it, or with another tag, NERR_UserExists (exit 1, no file)', async () => {
    const name = names.next();
    const tag = `cli-test/${name}`;
    const file = join(tmp.dir, `${name}.txt`);

    proxy.setFault({ op: 'add', action: 'hang-after' });
    const interrupted = await provision(name, file, ['--owner-tag', tag]);
    proxy.setFault(null);
    expect(interrupted.code, interrupted.stderr).toBe(1);
    expect(interrupted.stderr).toMatch(/ERROR_TIMEOUT/);
    expect(existsSync(file)).toBe(false);
    // The DC made the account, with the tag's marker (a hash, never the tag itself).
    const left = await accountsNamed(name);
    expect(left.map((a) => a.description)).toEqual([ownerMarker(tag)]);
    const orphan = (await accountBySam(`${name}$`))!;

    for (const other of [[], ['--owner-tag', `${tag}-other`]]) {
      const refused = await provision(name, file, other);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toMatch(/NERR_UserExists \(2224\)/);
      expect(refused.stderr).toContain('--machine');
      expect(existsSync(file)).toBe(false);
    }

    const adopted = await provision(name, file, ['--owner-tag', tag]);
    expect(adopted.code, adopted.stderr).toBe(0);
    expect(adopted.stdout).toContain(`Created ${name}$`);
    expect(adopted.stdout).toContain(orphan.guid);
    expect(adopted.stdout + adopted.stderr).not.toContain(tag);
    expect((await accountsNamed(name)).length).toBe(1);
    expect((await accountBySam(`${name}$`))!.guid).toBe(orphan.guid);
    const joined = await requestOdjAndTestJoin(readFileSync(file), name);
    expect(joined.joined, joined.output).toBe(true);
  });

  it('in a batch, the tag marks every account; a rerun of the batch with it adopts the account an interrupted run left', async () => {
    const [a, b] = [names.next(), names.next()];
    const tag = `cli-test-batch/${a}`;
    const list = join(tmp.dir, `${a}.list`);
    writeFileSync(list, `${a}\n${b}\n`);
    const batch = (dir: string, extra: string[]): Promise<Run> => {
      const args = ['provision', '--domain', dc.domain, '--dcname', dc.dcHost, '--url', `ldaps://${dc.dcHost}:${proxy.port}`, '--user', dc.adminUser, '--cafile', proxyCa, '--timeout', '1.5'];
      return runOdj(bin, [...args, '--batch', list, '--savedir', join(tmp.dir, dir), '-q', ...extra], { env: cleanEnv({ ODJ_BIND_PASSWORD: dc.adminPassword }) });
    };
    // The first machine's add is answered by nobody: its account is made, the connection is lost,
    // the second machine is not tried.
    proxy.setFault({ op: 'add', action: 'hang-after' });
    const first = await batch(`${a}-1`, ['--owner-tag', tag]);
    proxy.setFault(null);
    expect(first.code, first.stderr).toBe(1);
    expect(first.stderr).toMatch(/ERROR_TIMEOUT/);
    expect((await accountsNamed(a)).map((x) => x.description)).toEqual([ownerMarker(tag)]);
    expect(await accountsNamed(b)).toEqual([]);

    const untagged = await batch(`${a}-2`, []);
    expect(untagged.code).toBe(1);
    expect(untagged.stderr).toMatch(new RegExp(`\\[1/2\\] ${a}: odj: NERR_UserExists`));
    expect((await accountsNamed(b)).map((x) => x.description)).toEqual([undefined]);
    const plain = (await accountsNamed(b))[0].dn;
    await withLdap((c) => c.del(plain));

    const again = await batch(`${a}-3`, ['--owner-tag', tag]);
    expect(again.code, again.stderr).toBe(0);
    for (const n of [a, b]) {
      expect((await accountsNamed(n)).map((x) => x.description)).toEqual([ownerMarker(tag)]);
      expect(existsSync(join(tmp.dir, `${a}-3`, `${n}.txt`))).toBe(true);
    }
  });

  it('is in the help, and an empty tag is a usage error (exit 2)', async () => {
    const help = await runOdj(bin, ['provision', '--help']);
    expect(help.stdout).toMatch(/--owner-tag TAG/);
    const empty = await runOdj(bin, ['provision', '--domain', dc.domain, '--machine', 'X1', '--printblob', '--user', 'u', '--owner-tag', '']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/--owner-tag needs a non-empty value/);
  });
});
