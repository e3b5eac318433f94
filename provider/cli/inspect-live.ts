// `odj inspect --live`: holds a package against the directory. What the package itself proves is
// the account (machine name, domain SID + RID); whether its password is still the account's is
// known only against the account's pwdLastSet right after the package was issued (`issued` in
// `odj provision --json` and in the Pulumi resource's outputs), given with --issued. Searches only:
// nothing is written, and no logon is made with the package's password (a logon would itself make
// the account look used).
import type { ConnectionSettings } from '../backend';
import { findAccountBySamName, loggedOnSincePasswordSet } from '../directory/accounts';
import { filetimeToIso } from '../account/lifecycle';
import { withDirectory } from '../directory/connection';
import { readRootDse } from '../directory/discovery';
import type { PackageFacts } from '../odj';
import { accountNameOf } from '../odj/ids';

export interface LiveVerdict {
  account: 'present' | 'absent';
  distinguishedName?: string;
  /** the account's SID is the package's (domain SID + RID): the same account, not a namesake */
  sameAccount: boolean;
  passwordSet?: string;
  lastLogon?: string;
  /** a logon after the last password set: a machine uses the account's current password */
  loggedOnSincePasswordSet?: boolean;
  /** true / false when known; null when it takes --issued to tell */
  current: boolean | null;
  reason: string;
}

/** The verdict for a package; `issuedPwdLastSet` is the FILETIME recorded when it was issued. */
export async function liveVerdict(facts: PackageFacts, connection: ConnectionSettings, target: { host: string; field: string }, issuedPwdLastSet?: string): Promise<LiveVerdict> {
  const sam = accountNameOf(facts.machineName);
  return withDirectory(connection, { host: target.host, unreachableCode: 'ERROR_DS_SERVER_DOWN', unreachableField: target.field }, async (conn) => {
    const base = (await readRootDse(conn)).defaultNamingContext;
    const found = await findAccountBySamName(conn, base, sam);
    if (!found) return { account: 'absent', sameAccount: false, current: false, reason: `no account ${sam} in the directory: the package cannot join` };
    const sid = facts.domainInfo.sid ? `${facts.domainInfo.sid}-${facts.rid}` : null;
    const common = {
      account: 'present' as const,
      distinguishedName: found.distinguishedName,
      sameAccount: sid !== null && sid === found.objectSid,
      passwordSet: filetimeToIso(found.pwdLastSet),
      lastLogon: filetimeToIso(found.lastLogon),
      loggedOnSincePasswordSet: loggedOnSincePasswordSet(found),
    };
    if (!common.sameAccount) return { ...common, current: false, reason: `${sam} is another account (SID ${found.objectSid}, the package's is ${sid ?? 'absent'}): the package cannot join` };
    if (issuedPwdLastSet === undefined) {
      return {
        ...common,
        current: null,
        reason: `the same account; whether its password is still the package's takes --issued (the pwdLastSet recorded when the package was issued)${
          common.loggedOnSincePasswordSet ? '; a machine has logged on with the current password' : ''
        }`,
      };
    }
    const current = found.pwdLastSet === issuedPwdLastSet;
    return {
      ...common,
      current,
      reason: current
        ? 'the password is still the one set when the package was issued'
        : `the password was set again (${common.passwordSet}) after the package was issued (${filetimeToIso(issuedPwdLastSet)}): the package no longer joins`,
    };
  });
}
