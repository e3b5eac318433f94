// The documented NETSETUP_PROVISION_* bits (lmjoin.h), named both ways. Defined once, here beside
// backend.ts, so that both the provisioning layer and netapi/ (which must not import it) use them.
import type { ProvisioningOptions } from './backend';
import { ProvisioningError } from './errors';

/** The documented NETSETUP_PROVISION_* bits, by the name ProvisioningOptions uses. */
export const ProvisionOptionBits = {
  downlevelPrivSupport: 0x1,
  reuseAccount: 0x2,
  useDefaultPassword: 0x4,
  skipAccountSearch: 0x8,
  rootCaCerts: 0x10,
  persistentSite: 0x20,
} as const satisfies Record<keyof Required<ProvisioningOptions>, number>;

type OptionName = keyof typeof ProvisionOptionBits;
const optionNames = Object.keys(ProvisionOptionBits) as OptionName[];

/** Named flags → dwProvisionOptions. */
export function optionBits(options: ProvisioningOptions = {}): number {
  let bits = 0;
  for (const name of optionNames) if (options[name]) bits |= ProvisionOptionBits[name];
  return bits >>> 0;
}

/** dwProvisionOptions → named flags; a bit nobody documented is an ERROR_INVALID_PARAMETER. */
export function optionsFromBits(bits: number): ProvisioningOptions {
  const known = optionNames.reduce((m, n) => m | ProvisionOptionBits[n], 0);
  if ((bits & ~known) !== 0) {
    throw new ProvisioningError('ERROR_INVALID_PARAMETER', `unknown option bits 0x${(bits & ~known).toString(16)}`, { field: 'options' });
  }
  const out: ProvisioningOptions = {};
  for (const name of optionNames) if (bits & ProvisionOptionBits[name]) out[name] = true;
  return out;
}
