// The replication rule through the real dynamic-provider host (examples/runner/engine.ts): an
// account made on one DC (the replica, which this suite may stop) is asked about there first;
// while that DC is stopped and the other DC has not replicated the account, refresh and destroy
// fail instead of dropping it from state or reporting it deleted; once replicated
// (`samba-tool drs replicate`, on demand: a deterministic lag), both work through the other DC.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRepoRoot, startHost, type ProviderHost, type Props } from '../examples/runner/engine';
import { buildAndProbe } from './support/provider-probe';
import { testDc } from './support/dc';
import { accountBySam, deleteAccount } from './support/ldap';
import { extraDcs, holdReplica, pauseDc, replicate, resumeDc, type ExtraDc } from './support/multi-dc';
import { requestOdjAndTestJoin } from './support/peers';

const root = findRepoRoot();
const outDir = join(root, 'dist', '.test-resource-replication');
const dc = testDc();
let replica: ExtraDc;
let release: (() => void) | undefined;
let providerText = '';
const hosts: ProviderHost[] = [];
const names: string[] = [];

beforeAll(async () => {
  ({ replica } = await extraDcs());
  // This file stops the replica (and needs it answering otherwise): one such file at a time.
  release = await holdReplica();
  ({ providerText } = await buildAndProbe(outDir));
});

afterAll(async () => {
  if (replica) resumeDc(replica);
  for (const h of hosts) h.stop();
  for (const n of names) {
    await deleteAccount(`${n}$`).catch(() => undefined);
    if (replica) await deleteAccount(`${n}$`, replica).catch(() => undefined);
  }
  release?.();
});

/** Stack config with no URL: the DCs are found through the first DC's DNS; the CA bundle trusts both. */
async function host(): Promise<ProviderHost> {
  const h = await startHost({ cwd: join(root, 'examples', 'basic') });
  hosts.push(h);
  await h.configure({ 'odj:caFile': join(replica.dir, 'ca-bundle.pem'), 'odj:dnsServers': dc.dcIp, 'odj:timeoutMs': '2000' });
  return h;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: Error) => e,
  );
}

describe('refresh and destroy while replication lags', () => {
  it('stay on the DC that made the account, never drop or "delete" an account another DC has not seen yet', async () => {
    const h = await host();
    const name = `L11${randomBytes(4).toString('hex').toUpperCase()}`;
    names.push(name);
    const sam = `${name}$`;

    // ---- create on the replica (dcName), which the first DC does not hear of by itself
    const checked = await h.check('rep', {}, { __provider: providerText, domain: dc.domain, machineName: name, dcName: replica.dcHost, bindUser: dc.adminUser, bindPassword: dc.adminPassword });
    expect(checked.failures).toEqual([]);
    const created = await h.create('rep', checked.inputs);
    const onReplica = await accountBySam(sam, replica);
    expect(onReplica?.guid).toBe(created.id);
    expect(await accountBySam(sam)).toBeNull();
    expect(created.props.accountDc).toBe(replica.dcHost);
    expect((created.props.domainFacts as Props).dcName).toBe(replica.dcHost);
    const join = await requestOdjAndTestJoin(String(created.props.packageText), name, replica);
    expect(join.joined, join.output).toBe(true);

    // ---- everything up: refresh asks the replica, which has it (the first DC does not)
    const fresh = await h.read('rep', created.id, created.props);
    expect(fresh.id).toBe(created.id);

    // ---- update without dcName: re-issued on the DC that holds the account, not wherever the
    // locator would go (the first DC, SRV priority 0, which has no such account yet)
    const { dcName: _named, ...rest } = checked.inputs;
    void _named;
    // (a reset: the package above joined, so the lifecycle's guard wants the explicit consent)
    const news2 = (await h.check('rep', created.props, { ...rest, rotationTriggers: { generation: '2' }, allowPasswordResetAfterJoin: true })).inputs;
    const updated = await h.update('rep', created.id, created.props, news2);
    expect(updated).toMatchObject({ objectGuid: created.id, accountDc: replica.dcHost, reused: true });
    expect((updated.domainFacts as Props).dcName).toBe(replica.dcHost);
    expect(await accountBySam(sam)).toBeNull();
    created.props = updated;

    // ---- the replica stopped, the first DC not replicated: refresh and destroy fail, naming why
    pauseDc(replica);
    try {
      const t0 = Date.now();
      const refreshErr = await rejection(h.read('rep', created.id, created.props));
      expect(Date.now() - t0).toBeLessThan(2000 + 5000);
      expect(refreshErr.message).toContain('ERROR_DS_SERVER_DOWN');
      expect(refreshErr.message).toContain(`is not on ${dc.dcHost}, but it was made on ${replica.dcHost}, which could not be asked`);
      expect(refreshErr.message).toContain('not taken as gone');
      const destroyErr = await rejection(h.delete('rep', created.id, created.props));
      expect(destroyErr.message).toContain(`is not on ${dc.dcHost}, but it was made on ${replica.dcHost}`);
      expect(destroyErr.message).toMatch(/nothing was (dropped from the state or )?deleted/);
    } finally {
      resumeDc(replica);
    }
    // Still there: the refresh kept it in state (an error, not an empty read) and destroy did not lie.
    expect((await accountBySam(sam, replica))?.guid).toBe(created.id);

    // ---- replicated to the first DC, replica stopped again: both work through the first DC
    expect(replicate(dc, replica)).toMatch(/was successful/);
    expect((await accountBySam(sam))?.guid).toBe(created.id);
    pauseDc(replica);
    try {
      const viaFirst = await h.read('rep', created.id, created.props);
      expect(viaFirst.id).toBe(created.id);
      expect(viaFirst.props).toMatchObject({ objectGuid: created.id, samAccountName: sam, accountDc: replica.dcHost });
      await h.delete('rep', created.id, viaFirst.props);
      expect(await accountBySam(sam)).toBeNull();
    } finally {
      resumeDc(replica);
    }
    // The deletion reaches the replica by replication too.
    replicate(replica, dc);
    expect(await accountBySam(sam, replica)).toBeNull();
  });
});
