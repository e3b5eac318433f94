// Machine account passwords. Windows sets 120 UTF-16 characters of random data; we draw 120
// characters from a CSPRNG over a large alphabet of valid, non-combining BMP characters (ASCII,
// Latin-1 letters, Greek, CJK), about 14 bits each: far beyond what Kerberos keys can hold, and
// safe through every UTF-16 ⇄ UTF-8 conversion the DC, Samba and Windows make.
import { randomInt } from 'node:crypto';

export const MACHINE_PASSWORD_LENGTH = 120;

function range(from: number, to: number, except: number[] = []): number[] {
  const out: number[] = [];
  for (let c = from; c <= to; c++) if (!except.includes(c)) out.push(c);
  return out;
}

const UPPER = range(0x41, 0x5a);
const LOWER = range(0x61, 0x7a);
const DIGIT = range(0x30, 0x39);
const SYMBOL = [...range(0x21, 0x2f), ...range(0x3a, 0x40), ...range(0x5b, 0x60), ...range(0x7b, 0x7e)];
const ALPHABET = [
  ...UPPER,
  ...LOWER,
  ...DIGIT,
  ...SYMBOL,
  ...range(0xc0, 0xff, [0xd7, 0xf7]), // Latin-1 letters
  ...range(0x391, 0x3a9, [0x3a2]), // Greek capitals
  ...range(0x3b1, 0x3c9), // Greek small letters
  ...range(0x4e00, 0x9fef), // CJK unified ideographs
];

const pick = (set: number[]): number => set[randomInt(set.length)];

/** A fresh random machine password: 120 UTF-16 code units, with every complexity class present. */
export function generateMachinePassword(length = MACHINE_PASSWORD_LENGTH): string {
  const codes = [pick(UPPER), pick(LOWER), pick(DIGIT), pick(SYMBOL)];
  while (codes.length < length) codes.push(pick(ALPHABET));
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
