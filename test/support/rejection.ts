// Awaiting an expected ProvisioningError: the error, for the test to check its code and field; a
// promise that resolves instead, or fails with anything else, fails the test saying so.
import { expect } from 'vitest';
import { ProvisioningError } from '../../provider/errors';

export async function rejection(p: Promise<unknown>): Promise<ProvisioningError> {
  const e = await p.then(
    () => {
      throw new Error('expected a ProvisioningError');
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ProvisioningError);
  return e as ProvisioningError;
}
