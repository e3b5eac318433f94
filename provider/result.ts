// The one ProvisionResult both backends hand back: the account's facts, the domain's, and both forms
// of the package. The package stays a plain string and bytes (the Pulumi output and the CLI need
// them), but logging or serializing the whole result shows a redaction instead.
import type { AccountFacts, DomainFacts, ProvisionResult } from './backend';
import { packageToText } from './odj';
import { withRedactedView } from './secret';

export function provisionResult(account: AccountFacts, domain: DomainFacts, packageBinary: Uint8Array, reused: boolean): ProvisionResult {
  const { distinguishedName, objectGuid, objectSid, rid, samAccountName, enabled } = account;
  return withRedactedView({
    // Only the facts an AccountFacts has, whatever else the backend's own record carries.
    account: { distinguishedName, objectGuid, objectSid, rid, samAccountName, ...(enabled !== undefined ? { enabled } : {}) },
    domain,
    packageBinary,
    packageText: packageToText(packageBinary),
    reused,
  });
}
