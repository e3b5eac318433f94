// The NETSETUP_PROVISION_* bits, defined once in provider/options.ts and used by both the
// provisioning layer and netapi/: the values lmjoin.h gives, both directions, and one definition.
import { describe, expect, it } from 'vitest';
import { optionBits, optionsFromBits, ProvisionOptionBits } from '../provider/options';
import * as index from '../provider/index';
import { ProvisioningError } from '../provider/errors';

describe('provisioning option bits', () => {
  it('are the values lmjoin.h documents', () => {
    expect(ProvisionOptionBits).toEqual({
      downlevelPrivSupport: 0x1, // NETSETUP_PROVISION_DOWNLEVEL_PRIV_SUPPORT
      reuseAccount: 0x2, // NETSETUP_PROVISION_REUSE_ACCOUNT
      useDefaultPassword: 0x4, // NETSETUP_PROVISION_USE_DEFAULT_PASSWORD
      skipAccountSearch: 0x8, // NETSETUP_PROVISION_SKIP_ACCOUNT_SEARCH
      rootCaCerts: 0x10, // NETSETUP_PROVISION_ROOT_CA_CERTS
      persistentSite: 0x20, // NETSETUP_PROVISION_PERSISTENTSITE
    });
  });

  it('named flags → bits → the same flags, for every combination', () => {
    expect(optionBits()).toBe(0);
    expect(optionBits({ reuseAccount: true, useDefaultPassword: true })).toBe(6);
    expect(optionBits({ reuseAccount: false, rootCaCerts: true })).toBe(0x10);
    for (let bits = 0; bits < 0x40; bits++) expect(optionBits(optionsFromBits(bits))).toBe(bits);
  });

  it('an undocumented bit is ERROR_INVALID_PARAMETER on options', () => {
    let e: unknown;
    try {
      optionsFromBits(0x40);
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(ProvisioningError);
    expect([(e as ProvisioningError).code, (e as ProvisioningError).field]).toEqual(['ERROR_INVALID_PARAMETER', 'options']);
  });

  it('the public index hands out the one definition', () => {
    expect(index.optionBits).toBe(optionBits);
    expect(index.optionsFromBits).toBe(optionsFromBits);
    expect(index.ProvisionOptionBits).toBe(ProvisionOptionBits);
  });
});
