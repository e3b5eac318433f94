// SIDs between their string form (S-1-5-21-…) and ODJ_SID.

import { PackageFormatError } from './errors';
import type { OdjSid } from './structures';

const SID_RE = /^S-1-(\d{1,15})((?:-\d{1,10}){1,15})$/i;

export function isSidString(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  const m = SID_RE.exec(s);
  if (!m) return false;
  if (Number(m[1]) >= 2 ** 48) return false;
  return m[2].slice(1).split('-').every((p) => Number(p) <= 0xffffffff);
}

export function sidFromString(s: string, field: string): OdjSid {
  if (!isSidString(s)) throw new PackageFormatError(-1, `${field}: a SID such as S-1-5-21-1-2-3 (at most 15 sub-authorities)`);
  const m = SID_RE.exec(s)!;
  let authority = Number(m[1]);
  const ia = new Uint8Array(6);
  for (let i = 5; i >= 0; i--) {
    ia[i] = authority % 256; // big-endian, as SID_IDENTIFIER_AUTHORITY is
    authority = Math.floor(authority / 256);
  }
  return { Revision: 1, IdentifierAuthority: ia, SubAuthority: m[2].slice(1).split('-').map(Number) };
}

export function sidToString(sid: OdjSid): string {
  let authority = 0;
  for (const b of sid.IdentifierAuthority) authority = authority * 256 + b;
  return `S-${sid.Revision}-${authority}${sid.SubAuthority.map((x) => `-${x}`).join('')}`;
}
