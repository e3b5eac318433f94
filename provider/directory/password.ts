// Machine account passwords. Windows sets 120 UTF-16 characters of random data; we draw 120
// characters from a CSPRNG over a large alphabet of valid, non-combining BMP characters (ASCII,
// Latin-1 letters, Greek, CJK), about 14 bits each: far beyond what Kerberos keys can hold, and
// safe through every UTF-16 ⇄ UTF-8 conversion the DC, Samba and Windows make.
import { randomInt } from 'node:crypto';

export const MACHINE_PASSWORD_LENGTH = 120;

/** Inclusive code point ranges [first, last]. The alphabet is never materialised: a pick maps one
 *  uniform index onto the ranges (a ~21,000-entry array cost every process several ms to build). */
type Ranges = readonly (readonly [number, number])[];

const UPPER: Ranges = [[0x41, 0x5a]];
const LOWER: Ranges = [[0x61, 0x7a]];
const DIGIT: Ranges = [[0x30, 0x39]];
const SYMBOL: Ranges = [
  [0x21, 0x2f],
  [0x3a, 0x40],
  [0x5b, 0x60],
  [0x7b, 0x7e],
];
const ALPHABET: Ranges = [
  ...UPPER,
  ...LOWER,
  ...DIGIT,
  ...SYMBOL,
  [0xc0, 0xd6], // Latin-1 letters, without × (d7) and ÷ (f7)
  [0xd8, 0xf6],
  [0xf8, 0xff],
  [0x391, 0x3a1], // Greek capitals, without the unassigned 3a2
  [0x3a3, 0x3a9],
  [0x3b1, 0x3c9], // Greek small letters
  [0x4e00, 0x9fef], // CJK unified ideographs
];

const sizeOf = (set: Ranges): number => set.reduce((n, [a, b]) => n + b - a + 1, 0);
const ALPHABET_SIZE = sizeOf(ALPHABET);

/** A uniformly random code point of `set` (size: its number of code points). */
function pick(set: Ranges, size = sizeOf(set)): number {
  let i = randomInt(size);
  for (const [a, b] of set) {
    if (i <= b - a) return a + i;
    i -= b - a + 1;
  }
  throw new Error('unreachable: index beyond the ranges');
}

/** A fresh random machine password: 120 UTF-16 code units, with every complexity class present. */
export function generateMachinePassword(length = MACHINE_PASSWORD_LENGTH): string {
  const codes = [pick(UPPER), pick(LOWER), pick(DIGIT), pick(SYMBOL)];
  while (codes.length < length) codes.push(pick(ALPHABET, ALPHABET_SIZE));
  // Fisher-Yates with the CSPRNG, so the four forced classes sit anywhere.
  for (let i = codes.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [codes[i], codes[j]] = [codes[j], codes[i]];
  }
  return String.fromCharCode(...codes);
}

/** NETSETUP_PROVISION_USE_DEFAULT_PASSWORD: the machine name in lower case. */
export function defaultMachinePassword(machineName: string): string {
  return machineName.toLowerCase();
}

/** unicodePwd takes the password in double quotes, as UTF-16LE ([MS-ADTS] 3.1.1.3.1.5.1). */
export function unicodePwdValue(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}
