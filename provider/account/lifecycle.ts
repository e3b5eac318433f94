// What an update may do to an account whose package was already handed out, decided once for every
// face (the Pulumi resource, the library, the CLI). An ODJ package carries the machine password and
// no DN; once a machine has joined, its own password has taken over, and resetting it breaks the
// machine's trust with the domain. So:
// - a move (only the OU changed) is a rename in the directory: same GUID, SID and password, the
//   package stays as it is;
// - a rebuild (only what the package says besides the password changed) is a new package around
//   the password of the package already issued: nothing written to the directory; only possible
//   while that password is still the account's ("packageCurrent");
// - a reset (a new password was asked for, or there is no package to rebuild from) writes a new
//   password; refused for an account that has logged on since its package was issued ("joined"),
//   or whose password someone else changed, unless the caller says so explicitly.
// No I/O here: the facts come from the directory (directory/backend.ts inspectAccount) and from state.
import type { IssuedFacts, LogonFacts } from '../backend';
import { ProvisioningError } from '../errors';

/** An AD FILETIME (100 ns since 1601, UTC; decimal string) as an ISO time, or 'never'. */
export function filetimeToIso(ft: string | undefined): string {
  const t = ft !== undefined && /^\d+$/.test(ft) ? BigInt(ft) : 0n;
  if (t === 0n || t >= 0x7fffffffffffffffn) return 'never';
  return new Date(Number((t - 116444736000000000n) / 10000n)).toISOString();
}

/** Issue facts taken from the account as it is now, for a password set by a backend that cannot
 *  tell when (the native one): logons already there count as the producer's own. */
export function issuedFactsFrom(logon: LogonFacts): IssuedFacts {
  const seen = [logon.lastLogon, logon.lastLogonTimestamp].map(big).reduce((a, b) => (a > b ? a : b));
  return { pwdLastSet: logon.pwdLastSet, dcName: logon.dcName, ...(seen > big(logon.pwdLastSet) ? { seenLogon: String(seen) } : {}) };
}

export type UpdateStep = 'move' | 'rebuild' | 'reset';

/** The explicit input that lets a reset (or a rebuild that must become one) go ahead on an account
 *  that is joined or whose password was changed elsewhere. */
export const ALLOW_RESET_INPUT = 'allowPasswordResetAfterJoin';

/** Inputs that only change what the package says: a new package, the same password. */
export const rebuildFields = [
  'dcName',
  'options',
  'certTemplateNames',
  'certificates',
  'machinePolicyNames',
  'machinePolicyPaths',
  'sysvolRoot',
  'netbiosName',
  'siteName',
  'primaryDnsDomain',
] as const;
/** Inputs that ask for a new password. `options.useDefaultPassword` too (see planSteps). */
export const resetFields = ['rotationTriggers'] as const;
export const moveFields = ['machineAccountOU'] as const;

export interface UpdatePlan {
  /** in the order they run: the move first, the step that invalidates the package last */
  steps: UpdateStep[];
  /** the inputs that asked for the package step (rebuild or reset) */
  because: string[];
}

/**
 * The steps for a set of changed inputs. `useDefaultPasswordChanged`: the password itself is
 * another one. `hasPackage`: there is an issued package to rebuild from (not after an import).
 */
export function planSteps(changed: readonly string[], useDefaultPasswordChanged: boolean, hasPackage: boolean): UpdatePlan {
  const steps: UpdateStep[] = [];
  if (changed.some((f) => (moveFields as readonly string[]).includes(f))) steps.push('move');
  const resets = changed.filter((f) => (resetFields as readonly string[]).includes(f));
  if (useDefaultPasswordChanged) resets.push('options.useDefaultPassword');
  const rebuilds = changed.filter((f) => (rebuildFields as readonly string[]).includes(f));
  if (resets.length > 0) {
    steps.push('reset');
    return { steps, because: resets };
  }
  if (rebuilds.length > 0) {
    // Without a package in state (an import) there is no password to rebuild around.
    steps.push(hasPackage ? 'rebuild' : 'reset');
    return { steps, because: rebuilds };
  }
  return { steps, because: moveFields.filter((f) => changed.includes(f)) };
}

/** How the account stands against the package issued for it. */
export interface AccountStatus {
  /** the account's password is still the one the package in state carries */
  packageCurrent: boolean;
  /** the account has authenticated since that package was issued (or, without issue facts, ever) */
  joined: boolean;
  enabled: boolean;
}

const big = (s: string | undefined): bigint => (s !== undefined && /^\d+$/.test(s) ? BigInt(s) : 0n);

/**
 * packageCurrent: pwdLastSet is still what it was right after the package's password was set (the
 * DC writes pwdLastSet with every password change, whoever makes it). joined: a logon after that
 * moment (or after the producer's own logon, seenLogon), by lastLogon (the asked DC, every logon) or lastLogonTimestamp (replicated, but moved
 * only when ~9–14 days old): a logon at another DC on an account that logged on recently may go
 * unseen until then. Without issue facts (an imported account, a state from an older version)
 * nothing is known to be current, and any logon ever counts.
 */
export function accountStatus(logon: LogonFacts, issued: IssuedFacts | undefined, hasPackage: boolean): AccountStatus {
  const setAt = big(issued?.pwdLastSet);
  const since = big(issued?.seenLogon) > setAt ? big(issued?.seenLogon) : setAt;
  const lastLogon = big(logon.lastLogon) > big(logon.lastLogonTimestamp) ? big(logon.lastLogon) : big(logon.lastLogonTimestamp);
  return {
    packageCurrent: hasPackage && issued !== undefined && big(logon.pwdLastSet) === setAt && setAt > 0n,
    joined: lastLogon > since || (issued === undefined && logon.logonCount > 0),
    enabled: logon.enabled,
  };
}

export interface GuardFacts {
  /** sAMAccountName and DN, for the message */
  account: string;
  logon: LogonFacts;
  issued?: IssuedFacts;
  status: AccountStatus;
  /** the explicit input is set */
  allowed: boolean;
}

function refusal(what: string, field: string, why: string, f: GuardFacts): ProvisioningError {
  return new ProvisioningError(
    'ERROR_DS_UNWILLING_TO_PERFORM',
    `refusing to ${what} of ${f.account}: ${why}. A new password breaks the trust of a machine that joined with the current one ` +
      `("the trust relationship between this workstation and the primary domain failed") until it is joined again with the new package. ` +
      `To proceed anyway, set ${ALLOW_RESET_INPUT}: true for this update and re-join that machine with the new package; otherwise undo the change to ${field}`,
    { field },
  );
}

/**
 * The package step an update really takes, or a refusal. A rebuild needs the package's password to
 * be the account's; when it is not, only a reset can make a working package, which is judged as a
 * reset. A reset is refused when the account has logged on since its package was issued. An
 * account whose password changed without a logon since (an update interrupted after its password
 * write, an out-of-band reset no machine has used yet) may be reset: no machine that joined loses
 * its trust, and that is what lets an interrupted update heal on the next run.
 */
export function guardPackageStep(step: 'rebuild' | 'reset', field: string, f: GuardFacts): 'rebuild' | 'reset' {
  const issuedAt = f.issued ? `its package was issued ${filetimeToIso(f.issued.pwdLastSet)} by ${f.issued.dcName}` : 'no package of this resource was ever issued for it (imported)';
  const lastLogon = filetimeToIso(big(f.logon.lastLogon) > big(f.logon.lastLogonTimestamp) ? f.logon.lastLogon : f.logon.lastLogonTimestamp);
  if (step === 'rebuild' && !f.status.packageCurrent) {
    // Nothing recorded (an import, a state from before issue facts were kept) and no logon ever:
    // no machine depends on the password, so a reset harms nothing.
    if (!f.issued && !f.status.joined) return 'reset';
    if (!f.allowed) {
      throw refusal(
        'rebuild the package',
        field,
        `its password is no longer the one in the package (password set ${filetimeToIso(f.logon.pwdLastSet)} by someone else; ${issuedAt}), so a rebuilt package could not join and only a password reset can make one`,
        f,
      );
    }
    step = 'reset';
  }
  if (step === 'reset' && f.status.joined && !f.allowed) {
    throw refusal('reset the password', field, `it has logged on since (last logon ${lastLogon} as seen by ${f.logon.dcName}; ${issuedAt})`, f);
  }
  return step;
}
