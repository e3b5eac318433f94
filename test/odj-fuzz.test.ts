// Mutation fuzzing over real packages (Windows' vector, and packages laid out as Samba makes them,
// with every part type): bit flips, overwritten integers, truncation, splices, insertions and
// deletions, in binary and text form. Every outcome must be a decoded package or a
// PackageFormatError with a sane offset; never another exception, and no decode slower than the bound.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPackage, decodeProvisionData, encodeProvisionData, PackageFormatError, packageToText, parsePackage } from '../provider/odj';
import { Prng, sampleCertificates, sampleFacts, sampleJoinProvider2, samplePolicies } from './odj-samples';

/** Stated bound for one decode of a mutated package (2–4 KiB; typically well under 1 ms). Generous
 *  so that a GC pause on a busy shared machine does not fail the run; a hang or a blow-up would. */
const MAX_DECODE_MS = 250;
const CASES = 4000;

const seeds: Uint8Array[] = [
  new Uint8Array(readFileSync(join(__dirname, 'data/windows-server-2019-defpwd.bin'))),
  buildPackage(sampleFacts()),
  buildPackage(sampleFacts({ joinProvider2: sampleJoinProvider2, certificates: sampleCertificates, policies: samplePolicies })),
];
const password = sampleFacts().machinePassword;
const INTERESTING = [0, 1, 2, 3, 4, 7, 8, 0x10, 0x7f, 0x80, 0xff, 0xfffe, 0xffff, 0x10000, 0x20000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

function mutate(r: Prng, input: Uint8Array): Uint8Array {
  let b = Uint8Array.from(input);
  const rounds = 1 + r.int(4);
  for (let k = 0; k < rounds; k++) {
    const at = r.int(Math.max(b.length, 1));
    switch (r.int(7)) {
      case 0: // flip bits
        for (let i = 1 + r.int(8); i > 0; i--) {
          const p = r.int(b.length);
          b[p] ^= 1 << r.int(8);
        }
        break;
      case 1: { // overwrite an aligned uint32 (counts, sizes, referent ids, lengths)
        const p = at & ~3;
        if (p + 4 <= b.length) new DataView(b.buffer).setUint32(p, r.pick(INTERESTING) + (r.chance(0.3) ? r.int(9) - 4 : 0) >>> 0, true);
        break;
      }
      case 2: // truncate
        b = b.slice(0, at);
        break;
      case 3: { // splice a range from another seed over this one
        const other = r.pick(seeds);
        const from = r.int(other.length);
        const len = r.int(64);
        const piece = other.subarray(from, from + len);
        const out = Uint8Array.from(b);
        out.set(piece.subarray(0, Math.max(0, out.length - at)), at);
        b = out;
        break;
      }
      case 4: { // insert bytes
        const ins = r.bytes(16);
        b = Uint8Array.from([...b.subarray(0, at), ...ins, ...b.subarray(at)]);
        break;
      }
      case 5: // delete a range
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1 + r.int(16))]);
        break;
      default: // a single byte to an interesting value
        if (at < b.length) b[at] = r.pick([0, 1, 0x7f, 0x80, 0xff]);
    }
  }
  return b;
}

function check(input: Uint8Array | string, seed: number, length: number): 'decoded' | 'rejected' {
  const t0 = performance.now();
  let outcome: 'decoded' | 'rejected';
  try {
    const parsed = parsePackage(input);
    outcome = 'decoded';
    // whatever decodes must re-encode, and that encoding must decode to the same tree
    const again = encodeProvisionData(parsed.tree);
    expect(decodeProvisionData(again), `seed ${seed}`).toEqual(parsed.tree);
  } catch (e) {
    if (!(e instanceof PackageFormatError)) {
      throw new Error(`seed ${seed}: ${(e as Error)?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack ?? ''}`);
    }
    expect(e.offset, `seed ${seed}`).toBeGreaterThanOrEqual(0);
    expect(e.offset, `seed ${seed}`).toBeLessThanOrEqual(length);
    expect(e.expected.length).toBeGreaterThan(0);
    // an error never shows a secret
    expect(e.message.includes(password), `seed ${seed}: message shows the password`).toBe(false);
    outcome = 'rejected';
  }
  const ms = performance.now() - t0;
  expect(ms, `seed ${seed}: decode took ${ms.toFixed(1)} ms`).toBeLessThan(MAX_DECODE_MS);
  return outcome;
}

describe('fuzzing the decoder', () => {
  it(`${CASES} mutated binary packages: decoded or PackageFormatError, each under ${MAX_DECODE_MS} ms`, () => {
    const counts = { decoded: 0, rejected: 0 };
    for (let seed = 1; seed <= CASES; seed++) {
      const r = new Prng(seed);
      const m = mutate(r, r.pick(seeds));
      counts[check(m, seed, m.length)]++;
    }
    // the run exercised both outcomes, so it tested something
    expect(counts.rejected).toBeGreaterThan(CASES / 2);
    expect(counts.decoded).toBeGreaterThan(10);
  });

  it('mutated text and file forms', () => {
    const alphabet = 'AZaz09+/=!-_ \u00e9\u0000\n';
    let rejected = 0;
    for (let seed = 1; seed <= 600; seed++) {
      const r = new Prng(seed);
      const pkg = r.pick(seeds);
      let text = packageToText(pkg);
      for (let i = 1 + r.int(3); i > 0; i--) {
        const at = r.int(text.length);
        const op = r.int(3);
        if (op === 0) text = text.slice(0, at) + alphabet[r.int(alphabet.length)] + text.slice(at + 1);
        else if (op === 1) text = text.slice(0, at);
        else text = text.slice(0, at) + alphabet[r.int(alphabet.length)] + text.slice(at);
      }
      const asFile = r.chance(0.5);
      const input = asFile ? packageToFileFormOfText(text) : text;
      if (check(input, seed, input.length) === 'rejected') rejected++;
    }
    expect(rejected).toBeGreaterThan(300);
  });

  it('counts at their largest are refused quickly, without a large allocation', () => {
    // Offsets in a package as Samba lays it out: 0x18 ulcBlobs, 0x20 the array's conformance,
    // 0x28 blob 1's cbBlob, 0x3c its deferred size.
    const cases: [string, [number, number][]][] = [
      ['blob count', [[0x18, 0x7fffffff], [0x20, 0x7fffffff]]],
      ['blob size', [[0x28, 0xfffffff0], [0x3c, 0xfffffff0]]],
    ];
    for (const [label, writes] of cases) {
      const m = Uint8Array.from(seeds[1]);
      for (const [at, v] of writes) new DataView(m.buffer).setUint32(at, v, true);
      expect(check(m, 0, m.length), label).toBe('rejected');
      expect(() => parsePackage(m), label).toThrow(/fits in the remaining bytes/);
    }
  });
});

function packageToFileFormOfText(text: string): Uint8Array {
  const b = Buffer.alloc(2 + text.length * 2 + 2);
  b[0] = 0xff;
  b[1] = 0xfe;
  b.write(text, 2, 'utf16le');
  return new Uint8Array(b);
}
