// How a secret looks wherever something would print it: one marker and one way to give an object
// a redacted face, for the codec's parsed packages and for the rest of the project (secret.ts).

/** What stands in for a secret value in every view, log and error text. */
export const REDACTED = '<redacted>';

/** util.inspect's hook; Symbol.for gives the same symbol without importing node:util here. */
const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

/** Make util.inspect (console.log, test-runner diffs) and JSON.stringify show `view()` instead of
 *  the object's own fields; reading the fields directly still gives the values. */
export function withRedactedFace<T extends object>(obj: T, view: () => unknown): T {
  Object.defineProperty(obj, 'toJSON', { value: view, enumerable: false, configurable: true });
  Object.defineProperty(obj, inspectCustom, { value: view, enumerable: false, configurable: true });
  return obj;
}
