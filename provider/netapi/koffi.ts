// koffi is required lazily, inside the call that needs it, so that importing this package (and
// serializing a Pulumi dynamic provider that refers to it) never touches a native module.
import type * as Koffi from 'koffi';

export type KoffiModule = typeof Koffi;
export type TypeObject = Koffi.TypeObject;
export type LibraryHandle = Koffi.LibraryHandle;
export type NativeFunction = ReturnType<Koffi.LibraryHandle['func']>;

/** The koffi module; Node's require cache makes repeated calls cheap. */
export function requireKoffi(): KoffiModule {
  return require('koffi') as KoffiModule;
}

/** A pointer value as koffi 3 hands it out (a bigint), or null. */
export function pointerValue(koffi: KoffiModule, p: unknown): bigint | null {
  if (p === null || p === undefined) return null;
  if (typeof p === 'bigint') return p === 0n ? null : p;
  const a = koffi.address(p);
  return a === 0n ? null : a;
}
