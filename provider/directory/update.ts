// An update of an account whose package was issued earlier, for any JoinBackend: the steps
// account/lifecycle.ts plans and guards, run in the order that keeps a package valid as long as
// possible (the move first, the password reset last). The move (a rename over LDAP), the guard and
// the rebuild (our codec, around the password of the package issued earlier) are the same for
// every backend; only the reset is the backend's own provisioning (NETSETUP_PROVISION_REUSE_ACCOUNT).
// It lives beside the LDAP backend because the facts the guard needs (pwdLastSet, logons) and the
// move come from the directory over LDAP for every backend.
import { accountStatus, guardPackageStep, issuedFactsFrom, planSteps, type AccountStatus, type UpdateStep } from '../account/lifecycle';
import type { AccountFacts, AccountLocation, ConnectionSettings, IssuedFacts, JoinBackend, ProvisioningParams, ProvisionResult } from '../backend';
import { dnEqual, parentDn } from '../params/dn';
import { ProvisioningError } from '../errors';
import { inspectAccount, moveAccountInto, rebuildPackage } from './backend';

/** What was issued for the account before this update. */
export interface IssuedPackage {
  objectGuid: string;
  /** base64 text of the package issued last; '' when there is none (an imported account) */
  packageText: string;
  /** recorded when it was issued; absent after an import or from an older state */
  issued?: IssuedFacts;
}

export interface UpdateRequest {
  /** the inputs that changed: ProvisioningParams names, and `rotationTriggers` for a reset on demand */
  changed: string[];
  /** options.useDefaultPassword was switched on or off: another password */
  useDefaultPasswordChanged?: boolean;
  /** the explicit consent to reset a joined account (account/lifecycle.ts ALLOW_RESET_INPUT) */
  allowPasswordResetAfterJoin?: boolean;
}

export interface UpdateOutcome {
  /** what ran, in order */
  steps: UpdateStep[];
  account: AccountFacts;
  /** the new package; null when the issued one stays valid as it is (a move alone) */
  result: ProvisionResult | null;
  /** the issue facts of the package the account now goes with */
  issued?: IssuedFacts;
  status: AccountStatus;
}

/** `where`: the DC that holds the account, asked first (directory/account-dc.ts); every step then runs on the
 *  DC that found it, never on whatever DC a locator would pick, which may not have it yet. */
export async function updateAccount(
  backend: JoinBackend,
  previous: IssuedPackage,
  wanted0: ProvisioningParams,
  connection: ConnectionSettings,
  req: UpdateRequest,
  where?: AccountLocation,
): Promise<UpdateOutcome> {
  const hasPackage = previous.packageText !== '';
  const plan = planSteps(req.changed, req.useDefaultPasswordChanged === true, hasPackage);
  let found: string | undefined;
  const live = await inspectAccount(previous.objectGuid, connection, 'read', where && { ...where, onDc: (dc) => (found = dc) });
  // Pinned to that DC (as dcName, when neither a URL nor a DC name says where to go).
  const pinned = !connection.url && !wanted0.dcName && found ? found : undefined;
  const params: ProvisioningParams = pinned ? { ...wanted0, dcName: pinned } : wanted0;
  const at: AccountLocation | undefined = where && (pinned ? { domain: where.domain, homeDc: pinned } : where);
  if (!live) {
    throw new ProvisioningError('NERR_UserNotFound', `the computer account ${previous.objectGuid} no longer exists; run \`pulumi refresh\` to forget it, then \`pulumi up\` to create it again`, { field: 'machineName' });
  }
  if (live.samAccountName.toLowerCase() !== `${params.machineName}$`.toLowerCase()) {
    // Renamed out of band: reuse by name would make another account. Nothing is written.
    throw new ProvisioningError('ERROR_INVALID_PARAMETER', `the computer account ${previous.objectGuid} is now named ${live.samAccountName}; rename it back or change machineName (which replaces the resource)`, { field: 'machineName' });
  }
  const status = accountStatus(live.logon, previous.issued, hasPackage);
  // Judged before anything is written: a refused update leaves the account as it was.
  const wanted = plan.steps.find((s): s is 'rebuild' | 'reset' => s !== 'move');
  const packageStep = wanted
    ? guardPackageStep(wanted, plan.because[0] ?? 'rotationTriggers', {
        account: `${live.samAccountName} (${live.distinguishedName})`,
        logon: live.logon,
        issued: previous.issued,
        status,
        allowed: req.allowPasswordResetAfterJoin === true,
      })
    : undefined;
  const steps: UpdateStep[] = [];

  // 1. The move: a rename in the directory, never a password or userAccountControl write. An
  //    OU left out means "leave it where it is", as a reuse does.
  let account: AccountFacts = { distinguishedName: live.distinguishedName, objectGuid: live.objectGuid, objectSid: live.objectSid, rid: live.rid, samAccountName: live.samAccountName };
  const ou = typeof params.machineAccountOU === 'string' && params.machineAccountOU !== '' ? params.machineAccountOU : undefined;
  if (ou && !dnEqual(parentDn(account.distinguishedName), ou)) {
    account = await moveAccountInto(account, ou, connection, params.domain, at);
    steps.push('move');
  }
  if (!packageStep) return { steps, account, result: null, issued: previous.issued, status };

  if (packageStep === 'rebuild') {
    // 2a. Same password, new content: nothing written to the directory.
    const result = await rebuildPackage(params, previous.packageText, account, connection);
    return { steps: [...steps, 'rebuild'], account: result.account, result, issued: previous.issued, status: { ...status, packageCurrent: true } };
  }
  // 2b. The reset, last: the step that invalidates the package issued before. Interrupted after
  //     it, the next run finds that package not current but no logon since, and may reset again.
  const result = await backend.provision({ ...params, options: { ...params.options, reuseAccount: true } }, connection);
  if (result.account.objectSid !== live.objectSid) {
    throw new ProvisioningError('NERR_UserExists', `the update reached another computer account (${result.account.objectSid}) than the one this resource manages (${live.objectSid})`, { field: 'machineName' });
  }
  // Read back: whether the account is enabled now (re-enabling is the caller's explicit choice),
  // and, for a backend that cannot tell when it set the password (the native one), pwdLastSet.
  const after = await inspectAccount(live.objectGuid, connection, 'read', at);
  const issued = result.issued ?? (after ? issuedFactsFrom(after.logon) : undefined);
  const account2 = result.account.objectGuid ? result.account : { ...result.account, objectGuid: live.objectGuid, distinguishedName: after?.distinguishedName ?? account.distinguishedName };
  return { steps: [...steps, 'reset'], account: account2, result, issued, status: { packageCurrent: issued !== undefined, joined: false, enabled: after?.logon.enabled ?? status.enabled } };
}
