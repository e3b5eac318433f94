// DN attribute values (RFC 4514) where user input meets DN syntax, and a small RFC 4514 DN parser,
// because validating an OU ("a full DN inside the domain") needs the RDNs, not a string suffix test
// that escaping can fool; ldapts parses no DNs. Filter values are escaped by ldapts (escapeFilter,
// EqualityFilter).

/** Escape one attribute value for use in a DN (RFC 4514 section 2.4). */
export function escapeDnValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    const code = ch.charCodeAt(0);
    // '=' may stand unescaped per RFC 4514, but AD's list of specials includes it and Samba refuses it bare.
    if (ch === '"' || ch === '+' || ch === ',' || ch === ';' || ch === '<' || ch === '>' || ch === '\\' || ch === '=') {
      out += '\\' + ch;
    } else if (code === 0) {
      out += '\\00';
    } else if ((ch === ' ' && (i === 0 || i === value.length - 1)) || (ch === '#' && i === 0)) {
      out += '\\' + ch;
    } else if (code < 0x20 || code === 0x7f) {
      // Control characters are legal when hex-escaped; writing them raw would confuse readers and some servers.
      out += '\\' + code.toString(16).padStart(2, '0');
    } else {
      out += ch;
    }
  }
  return out;
}

export interface DnAttribute {
  type: string;
  value: string;
}

/** One RDN: usually one attribute, several when joined with `+`. */
export type Rdn = DnAttribute[];

export class DnSyntaxError extends Error {
  override readonly name = 'DnSyntaxError';
}

/** Parse an RFC 4514 DN into RDNs (left to right), with values unescaped. Throws DnSyntaxError. */
export function parseDn(dn: string): Rdn[] {
  const rdns: Rdn[] = [];
  if (dn.trim() === '') return rdns;
  let i = 0;
  let rdn: Rdn = [];
  const fail = (why: string): never => {
    throw new DnSyntaxError(`${why} at position ${i}`);
  };
  while (i <= dn.length) {
    while (dn[i] === ' ') i++;
    const typeStart = i;
    while (i < dn.length && /[A-Za-z0-9.\-]/.test(dn[i])) i++;
    const type = dn.slice(typeStart, i);
    while (dn[i] === ' ') i++;
    if (type === '' || !/^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)*)$/.test(type)) fail('attribute type expected');
    if (dn[i] !== '=') fail("'=' expected");
    i++;
    while (dn[i] === ' ') i++;
    let value: string;
    if (dn[i] === '#') {
      // BER-encoded values are legal but never name an OU; refusing them keeps comparison simple.
      fail('BER-encoded (#) values are not supported');
    }
    {
      const bytes: number[] = [];
      const flushText = (s: string): void => {
        for (const b of Buffer.from(s, 'utf8')) bytes.push(b);
      };
      let trailingSpaces = 0;
      while (i < dn.length && dn[i] !== ',' && dn[i] !== '+' && dn[i] !== ';') {
        const ch = dn[i];
        if (ch === '\\') {
          const next = dn.slice(i + 1, i + 3);
          if (/^[0-9A-Fa-f]{2}$/.test(next)) {
            bytes.push(parseInt(next, 16));
            i += 3;
          } else if (i + 1 < dn.length && ' "#+,;<=>\\'.includes(dn[i + 1])) {
            flushText(dn[i + 1]);
            i += 2;
          } else {
            fail('invalid escape');
          }
          trailingSpaces = 0;
        } else if (ch === '"' || ch === '<' || ch === '>' || ch === '\0') {
          // Name a control character by its code point: a message must stay one printable line.
          fail(`unescaped ${ch === '\0' ? 'U+0000' : `'${ch}'`}`);
        } else {
          // A code point may be two UTF-16 units; copy it whole.
          const cp = dn.codePointAt(i)!;
          const s = String.fromCodePoint(cp);
          flushText(s);
          i += s.length;
          trailingSpaces = ch === ' ' ? trailingSpaces + 1 : 0;
        }
      }
      // Unescaped trailing spaces are not part of the value.
      if (trailingSpaces > 0) bytes.splice(bytes.length - trailingSpaces, trailingSpaces);
      const buf = Buffer.from(bytes);
      value = buf.toString('utf8');
      if (!Buffer.from(value, 'utf8').equals(buf)) fail('value is not valid UTF-8');
    }
    rdn.push({ type, value });
    if (i >= dn.length) {
      rdns.push(rdn);
      break;
    }
    if (dn[i] === '+') {
      i++;
      continue;
    }
    // ',' or ';' ends the RDN
    rdns.push(rdn);
    rdn = [];
    i++;
    if (i >= dn.length) fail('RDN expected after separator');
  }
  return rdns;
}

/** Write RDNs back as a DN string, escaping each value. */
export function formatDn(rdns: Rdn[]): string {
  return rdns
    .map((rdn) => rdn.map((a) => `${a.type}=${escapeDnValue(a.value)}`).join('+'))
    .join(',');
}

/** `example.com` → `DC=example,DC=com` */
export function domainToDn(dnsDomain: string): string {
  return dnsDomain
    .split('.')
    .filter((l) => l !== '')
    .map((l) => `DC=${escapeDnValue(l)}`)
    .join(',');
}

/** True when `dn` names `base` or something below it (case-insensitive on types and values). */
export function isDnWithin(dn: Rdn[], base: Rdn[]): boolean {
  if (base.length > dn.length) return false;
  const key = (r: Rdn): string =>
    r
      .map((a) => `${a.type.toLowerCase()}=${a.value.toLowerCase()}`)
      .sort()
      .join('+');
  const offset = dn.length - base.length;
  return base.every((r, k) => key(r) === key(dn[offset + k]));
}

/** True when two DNs name the same object the way AD compares them: attribute types without
 *  regard to case, values after unescaping (`\2C` = `\,`, hex-escaped UTF-8 = the character) and
 *  without regard to case, spaces around separators ignored. A DN that does not parse equals only
 *  its exact self. */
export function dnEqual(a: string, b: string): boolean {
  if (a === b) return true;
  let x: Rdn[];
  let y: Rdn[];
  try {
    x = parseDn(a);
    y = parseDn(b);
  } catch (e) {
    if (e instanceof DnSyntaxError) return false;
    throw e;
  }
  return x.length === y.length && isDnWithin(x, y);
}

/** The DN of the parent: everything after the first unescaped separator ('' for a one-RDN DN). */
export function parentDn(dn: string): string {
  for (let i = 0; i < dn.length; i++) {
    if (dn[i] === '\\') i++;
    else if (dn[i] === ',' || dn[i] === ';') return dn.slice(i + 1).trimStart();
  }
  return '';
}
