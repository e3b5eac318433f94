// A Kerberos service account on the test DC, as a team would hand one to CI: a user allowed to
// create computers (a member of Domain Admins here), its keytab from `samba-tool domain
// exportkeytab`, and ticket caches from `kinit -kt`. All of it in a 0700 folder, removed with the
// account afterwards. Every key in the keytab is registered with the secret watch.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';
import { testDc } from './dc';
import { watchSecretBytes } from './secret-watch';

const run = promisify(execFile);

export interface ServiceAccount {
  /** user@REALM */
  principal: string;
  keytab: string;
  /** a folder of this account's own (0700) for caches and files */
  dir: string;
  /** `kinit -kt` into a new FILE cache; returns its KRB5CCNAME value */
  kinit(opts?: { lifetime?: string }): Promise<string>;
}

function krbEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, KRB5_CONFIG: testDc().krb5Config, ...extra };
}

async function sambaTool(args: string[]): Promise<void> {
  const dc = testDc();
  await run('samba-tool', [...args, '-H', `ldap://${dc.dcHost}`, '-U', `Administrator%${dc.adminPassword}`], { env: krbEnv(), timeout: 60_000 });
}

/** The key bytes of every entry of an MIT keytab (file format 0x0502). */
export function keytabKeys(file: string): Buffer[] {
  const b = readFileSync(file);
  if (b.readUInt16BE(0) !== 0x0502) throw new Error(`${file} is not a version 2 keytab`);
  const keys: Buffer[] = [];
  for (let at = 2; at + 4 <= b.length; ) {
    const size = b.readInt32BE(at);
    at += 4;
    if (size <= 0) {
      at += -size; // a hole
      continue;
    }
    const end = at + size;
    let p = at;
    const components = b.readUInt16BE(p);
    p += 2;
    p += 2 + b.readUInt16BE(p); // realm
    for (let i = 0; i < components; i++) p += 2 + b.readUInt16BE(p);
    p += 4 + 4 + 1 + 2; // name type, timestamp, kvno, enctype
    const len = b.readUInt16BE(p);
    keys.push(Buffer.from(b.subarray(p + 2, p + 2 + len)));
    at = end;
  }
  return keys;
}

export interface MadeServiceAccount extends ServiceAccount {
  /** sets a new password on the DC: the keytab's keys go stale */
  resetPassword(): Promise<void>;
  /** deletes the account on the DC, keeping the keytab */
  deleteUser(): Promise<void>;
  /** deletes the account and its folder; safe to call twice */
  remove(): Promise<void>;
}

/** A fresh service account (name k15svc + random) with its keytab, in a folder of its own. */
export async function makeServiceAccount(): Promise<MadeServiceAccount> {
  const dc = testDc();
  const user = `k15svc${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'odj-k15-'));
  const password = (): string => `K15-${randomBytes(12).toString('base64url')}-a1!`;
  // A password nobody keeps: the keytab is the only way in.
  await sambaTool(['user', 'create', user, password()]);
  await sambaTool(['group', 'addmembers', 'Domain Admins', user]);
  const keytab = join(dir, `${user}.keytab`);
  await run('samba-tool', ['domain', 'exportkeytab', keytab, `--principal=${user}`, '-s', dc.smbConf], { env: krbEnv(), timeout: 60_000 });
  for (const k of keytabKeys(keytab)) watchSecretBytes('a Kerberos key of the test service account', k);
  let caches = 0;
  let removed = false;
  let userGone = false;
  const deleteUser = async (): Promise<void> => {
    if (userGone) return;
    userGone = true;
    await sambaTool(['user', 'delete', user]);
  };
  return {
    principal: `${user}@${dc.realm}`,
    keytab,
    dir,
    async kinit(opts = {}) {
      const cache = `FILE:${join(dir, `cc${++caches}`)}`;
      await run('kinit', [...(opts.lifetime ? ['-l', opts.lifetime] : []), '-kt', keytab, `${user}@${dc.realm}`], { env: krbEnv({ KRB5CCNAME: cache }), timeout: 30_000 });
      // The cache's key-like bytes (tickets, session keys) are watched for.
      watchSecretBytes('a Kerberos ticket cache', readFileSync(cache.slice('FILE:'.length)));
      return cache;
    },
    async resetPassword() {
      await sambaTool(['user', 'setpassword', user, `--newpassword=${password()}`]);
    },
    deleteUser,
    async remove() {
      if (removed) return;
      removed = true;
      await deleteUser().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** For a test file: a fresh service account with its keytab, deleted afterwards. */
export function useServiceAccount(): () => ServiceAccount {
  let account: MadeServiceAccount | undefined;
  beforeAll(async () => {
    account = await makeServiceAccount();
  }, 120_000);
  afterAll(async () => {
    await account?.remove();
  });
  return () => {
    if (!account) throw new Error('the service account is made in beforeAll');
    return account;
  };
}
