// ProvisioningOptions (named flags) to the dwProvisionOptions bits of lmjoin.h.
import type { ProvisioningOptions } from '../backend';

export const NETSETUP_PROVISION = {
  DOWNLEVEL_PRIV_SUPPORT: 0x1,
  REUSE_ACCOUNT: 0x2,
  USE_DEFAULT_PASSWORD: 0x4,
  SKIP_ACCOUNT_SEARCH: 0x8,
  ROOT_CA_CERTS: 0x10,
  PERSISTENTSITE: 0x20,
} as const;

export function provisionOptionBits(o: ProvisioningOptions = {}): number {
  return (
    (o.downlevelPrivSupport ? NETSETUP_PROVISION.DOWNLEVEL_PRIV_SUPPORT : 0) |
    (o.reuseAccount ? NETSETUP_PROVISION.REUSE_ACCOUNT : 0) |
    (o.useDefaultPassword ? NETSETUP_PROVISION.USE_DEFAULT_PASSWORD : 0) |
    (o.skipAccountSearch ? NETSETUP_PROVISION.SKIP_ACCOUNT_SEARCH : 0) |
    (o.rootCaCerts ? NETSETUP_PROVISION.ROOT_CA_CERTS : 0) |
    (o.persistentSite ? NETSETUP_PROVISION.PERSISTENTSITE : 0)
  );
}
