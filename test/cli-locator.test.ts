// `odj provision` and `odj delete` with neither --url nor --dcname: the DC comes from the DC
// locator, through the first DC's own DNS (--dns-server or ODJ_DNS_SERVERS); provision says
// which DC it used. The package Samba joins with is the proof that the DC facts are right.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, scratch, useBuiltCli } from './cli-run';
import { testDc } from './support/dc';
import { accountBySam, deleteAccount } from './support/ldap';
import { extraDcs, type ExtraDc } from './support/multi-dc';
import { requestOdjAndTestJoin } from './support/peers';

const dc = testDc();
const tmp = scratch('locator');
const cli = useBuiltCli();
const names: string[] = [];
let replica: ExtraDc;

beforeAll(async () => {
  // The replica's join adds the first DC's A record to its DNS too, which the locator resolves.
  ({ replica } = await extraDcs());
});

afterAll(async () => {
  tmp.cleanup();
  for (const n of names) await deleteAccount(`${n}$`).catch(() => undefined);
});

const name = (): string => {
  const n = `L11C${randomBytes(3).toString('hex').toUpperCase()}`;
  names.push(n);
  return n;
};
const base = () => ['--domain', dc.domain, '--user', dc.adminUser, '--cafile', join(replica.dir, 'ca-bundle.pem')];
const env = (extra: NodeJS.ProcessEnv = {}) => cleanEnv({ ODJ_BIND_PASSWORD: dc.adminPassword, ...extra });

describe('odj without --url or --dcname', () => {
  it('provision finds a writable DC through --dns-server, says which, and the package joins; delete finds it the same way', async () => {
    const n = name();
    const file = join(tmp.dir, `${n}.txt`);
    const r = await cli.odj(['provision', ...base(), '--dns-server', dc.dcIp, '--machine', n, '--savefile', file], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`dc       ${dc.dcHost} (${dc.dcIp})`);
    const join1 = await requestOdjAndTestJoin(readFileSync(file), n);
    expect(join1.joined, join1.output).toBe(true);

    const d = await cli.odj(['delete', ...base(), '--dns-server', dc.dcIp, '--machine', n], { env: env() });
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toMatch(new RegExp(`^Deleted CN=${n},`));
    expect(await accountBySam(`${n}$`)).toBeNull();
  });

  it('takes the DNS servers from ODJ_DNS_SERVERS (commas) when no flag names one', async () => {
    const n = name();
    const r = await cli.odj(['provision', ...base(), '--machine', n, '--printblob'], { env: env({ ODJ_DNS_SERVERS: `${dc.dcIp},${replica.dcIp}` }) });
    expect(r.code, r.stderr).toBe(0);
    // The summary goes to stderr when stdout carries the package.
    expect(r.stderr).toContain(`dc       ${dc.dcHost} (${dc.dcIp})`);
    expect((await accountBySam(`${n}$`))?.sAMAccountName).toBe(`${n}$`);
  });

  it('a --dns-server that is not an address is a usage error (exit 2) before anything is contacted', async () => {
    const r = await cli.odj(['provision', ...base(), '--dns-server', 'dns.example', '--machine', name(), '--printblob'], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--dns-server takes IP addresses (optionally :port), not dns.example');
  });
});
