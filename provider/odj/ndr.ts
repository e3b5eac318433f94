// A small NDR 2.0 (little-endian) engine driven by type declarations, with MIDL type
// serialization version 1 headers. Structures are declared once (structures.ts) as data; encoding
// and decoding are both derived from the declaration here, the way PIDL or impacket's ndr.py work,
// and so is the TypeScript type of the values (Infer<typeof X>).
//
// NDR order: a structure writes its scalars (primitives, referent ids of its pointers, embedded
// structures' scalars); the referents of all those pointers follow the whole structure, each one
// written completely (its own scalars, then its own deferred referents) before the next: depth
// first, as MIDL and PIDL do. Referent ids are numbered as Samba does (0x00020000, +4 each, in wire
// order, restarting in every serialized object), so re-encoding a Samba package gives its bytes.
//
// Unique pointers are never followed by id, only read inline, so a pointer loop cannot exist; the
// nesting of serialized objects is bounded by the declarations and checked against MAX_NESTING.
// Every count is bounded by the bytes that remain before anything is allocated.

import { PackageFormatError } from './errors';
import { guidFromBytes, guidToBytes, isGuid } from './ids';

/** Largest package (binary form) the codec accepts or produces. */
export const MAX_PACKAGE_BYTES = 16 * 1024 * 1024;
/** Deepest nesting of serialized objects accepted (ODJ uses 4). */
export const MAX_NESTING = 8;
const FIRST_REFERENT_ID = 0x00020000;
/** MIDL type serialization v1 common header: version 1, little-endian, header length 8, filler. */
const COMMON_HEADER = [0x01, 0x10, 0x08, 0x00, 0xcc, 0xcc, 0xcc, 0xcc];
const SERIALIZATION_HEADER_BYTES = 16;

export type Obj = Record<string, unknown>;

/** Ties an array to the sibling field that holds its count (wire count = field / scale). */
export interface CountLink<N extends string = string, D extends boolean = boolean> {
  field: N;
  /** the field counts bytes of 2-byte units, e.g. ODJ_UNICODE_STRING.Length */
  scale?: number;
  /** true: the field is computed from the data on encode and checked on decode */
  derived: D;
}

export interface PrimType { kind: 'u8' | 'u16' | 'u32'; name: string }
export interface GuidType { kind: 'guid' }
export interface FixedBytesType { kind: 'fixedBytes'; length: number }
export interface PtrType<T extends NdrType = NdrType> { kind: 'ptr'; to: T }
/** [size_is(field)] T * : value is an array */
export interface CArrayType<E extends NdrType = NdrType, L extends CountLink = CountLink> { kind: 'carray'; elem: E; size: L }
/** [size_is(field)] BYTE * : value is a Uint8Array, or the decoded object when `content` names
 *  the serialized type those bytes hold (then an unknown kind stays a Uint8Array). */
export interface BytesType<L extends CountLink = CountLink, C extends Serialized = Serialized> {
  kind: 'bytes';
  size: L;
  content?: (arg: unknown) => C | null;
}
/** [string] wchar_t * : value is a string (UTF-16 code units, terminator not included) */
export interface WStringType { kind: 'wstring' }
/** [size_is(..), length_is(..)] wchar_t * without terminator (UNICODE_STRING buffers) */
export interface WCharsType<S extends CountLink = CountLink, L extends CountLink = CountLink> { kind: 'wchars'; size: S; length: L }
/** The conformant last member of a conformant structure; its count precedes the structure. */
export interface TailArrayType<L extends CountLink = CountLink> { kind: 'tailArray'; elem: PrimType; size: L }

export interface FieldDecl<N extends string = string, T extends NdrType = NdrType> {
  name: N;
  type: T;
  /** value used on encode when the caller gives none */
  default?: (self: Obj) => unknown;
  /** what this field's type receives as `arg` (e.g. the serialized type a blob holds) */
  pass?: (self: Obj, arg: unknown) => unknown;
  /** like NDR_SECRET in Samba's IDL: the value is a credential; views of a package redact it */
  secret?: true;
}

export interface StructType<F extends FieldDecl[] = FieldDecl[]> { kind: 'struct'; name: string; fields: F }

export type NdrType =
  | PrimType | GuidType | FixedBytesType | StructType | PtrType | CArrayType | BytesType
  | WStringType | WCharsType | TailArrayType;

/** A type-serialized object: 16-byte header, then the body, with or without a top-level unique pointer. */
export interface Serialized<S extends StructType = StructType> { name: string; type: S; topPointer: boolean }

// ---- the TypeScript shape of a declaration ----------------------------------------------------
// Infer<typeof X> is the value the codec decodes X into and encodes from. Members a caller may
// leave out on encode (those with a default, and counts derived from their array) are optional;
// decoding always fills them in.

type DerivedName<L> = L extends { field: infer N; derived: true } ? N : never;
/** The count fields a member's array derives, looking through a pointer. */
type DerivedBy<T> =
  T extends PtrType<infer To> ? (NdrType extends To ? never : DerivedBy<To>)
  : T extends WCharsType<infer S, infer L> ? DerivedName<S> | DerivedName<L>
  : T extends CArrayType<NdrType, infer L> | BytesType<infer L> | TailArrayType<infer L> ? DerivedName<L>
  : never;
type OptionalName<F extends FieldDecl[]> = Extract<F[number], { default: unknown }>['name'] | DerivedBy<F[number]['type']>;
type Flat<T> = { [K in keyof T]: T[K] };
type InferFields<F extends FieldDecl[]> = Flat<
  & { [D in F[number] as D['name'] extends OptionalName<F> ? never : D['name']]: Infer<D['type']> }
  & { [D in F[number] as D['name'] extends OptionalName<F> ? D['name'] : never]?: Infer<D['type']> }
>;

export type Infer<T> =
  T extends Serialized<infer S> ? Infer<S>
  : T extends StructType<infer F> ? (FieldDecl[] extends F ? Obj : InferFields<F>)
  : T extends PrimType ? number
  : T extends GuidType | WStringType | WCharsType ? string
  : T extends FixedBytesType ? Uint8Array
  : T extends TailArrayType ? number[]
  : T extends PtrType<infer To> ? (NdrType extends To ? unknown : Infer<To> | null)
  : T extends CArrayType<infer E> ? (NdrType extends E ? unknown[] : Infer<E>[])
  : T extends { kind: 'bytes'; content?: (arg: unknown) => infer C } ? Uint8Array | Infer<Exclude<C, null>>
  : never;

// ---- declaration helpers -------------------------------------------------------------------

export const u8: PrimType = { kind: 'u8', name: 'uint8' };
export const u16: PrimType = { kind: 'u16', name: 'uint16' };
export const u32: PrimType = { kind: 'u32', name: 'uint32' };
/** v1_enum: a 32-bit enum is a uint32 on the wire; values stay numbers (unknown ones survive). */
export const enum32 = (name: string): PrimType => ({ kind: 'u32', name });
export const guid: GuidType = { kind: 'guid' };
export const fixedBytes = (length: number): FixedBytesType => ({ kind: 'fixedBytes', length });
export const ptr = <T extends NdrType>(to: T): PtrType<T> => ({ kind: 'ptr', to });
export const wstring: WStringType = { kind: 'wstring' };
/** `const` keeps each member's name and type literal, so Infer<> can read them. */
export const struct = <const F extends FieldDecl[]>(name: string, fields: F): StructType<F> => ({ kind: 'struct', name, fields });
const derivedFrom = <N extends string>(field: N): CountLink<N, true> => ({ field, derived: true });
/** `[size_is(field)] T *p` with `field` computed from the array on encode. */
export const sizedArrayPtr = <E extends NdrType, const N extends string>(elem: E, field: N): PtrType<CArrayType<E, CountLink<N, true>>> =>
  ptr({ kind: 'carray', elem, size: derivedFrom(field) });
/** `[size_is(field)] BYTE *p`, optionally holding a serialized object chosen from `arg`. */
export const sizedBytesPtr = <const N extends string, C extends Serialized = never>(
  field: N,
  content?: (arg: unknown) => C | null,
): PtrType<BytesType<CountLink<N, true>, NoInfer<C>>> => ptr({ kind: 'bytes', size: derivedFrom(field), content });
/** `content` for bytes that hold whichever serialized type the enclosing member passes down (`pass`). */
export const passedContent = <C extends Serialized>() => (arg: unknown): C | null => (arg as C | null | undefined) ?? null;
/** `[size_is(size), length_is(length)] wchar_t *` (UNICODE_STRING): `length` derived, `size` given. */
export const wchars = <const S extends string, const L extends string>(size: S, length: L, scale: number):
  WCharsType<CountLink<S, false>, CountLink<L, true>> =>
  ({ kind: 'wchars', size: { field: size, scale, derived: false }, length: { field: length, scale, derived: true } });
/** `[size_is(field)] uint32 Tail[]` as the last member of a conformant structure. */
export const tailArray = <const N extends string>(elem: PrimType, field: N): TailArrayType<CountLink<N, true>> =>
  ({ kind: 'tailArray', elem, size: derivedFrom(field) });
export const serialized = <S extends StructType>(type: S, topPointer: boolean): Serialized<S> => ({ name: type.name, type, topPointer });

// ---- static facts about types ---------------------------------------------------------------

const alignCache = new WeakMap<NdrType, number>();
function alignOf(t: NdrType): number {
  const cached = alignCache.get(t);
  if (cached !== undefined) return cached;
  let a: number;
  switch (t.kind) {
    case 'u8': case 'fixedBytes': a = 1; break;
    case 'u16': a = 2; break;
    case 'struct': a = Math.max(1, ...t.fields.map((f) => alignOf(f.type))); break;
    default: a = 4; // uint32, GUID, pointers, counts of arrays
  }
  alignCache.set(t, a);
  return a;
}

const minCache = new WeakMap<NdrType, number>();
/** Fewest bytes one value of the type can occupy where it is embedded: bounds counts on decode. */
function minSize(t: NdrType): number {
  const cached = minCache.get(t);
  if (cached !== undefined) return cached;
  let n: number;
  switch (t.kind) {
    case 'u8': n = 1; break;
    case 'u16': n = 2; break;
    case 'u32': case 'ptr': n = 4; break;
    case 'guid': n = 16; break;
    case 'fixedBytes': n = t.length; break;
    case 'struct': n = t.fields.reduce((s, f) => s + minSize(f.type), 0); break;
    case 'tailArray': n = 0; break;
    default: n = 4;
  }
  minCache.set(t, n);
  return n;
}

function tailOf(t: StructType): TailArrayType | undefined {
  const last = t.fields[t.fields.length - 1];
  return last?.type.kind === 'tailArray' ? last.type : undefined;
}

// ---- encoding -------------------------------------------------------------------------------

type Job = () => void;

function encodeError(where: string, expected: string): PackageFormatError {
  return new PackageFormatError(-1, expected, where);
}

class Writer {
  private buf = new Uint8Array(512);
  pos = 0;
  private nextRef = FIRST_REFERENT_ID;

  private room(n: number): void {
    if (this.pos + n > MAX_PACKAGE_BYTES) throw encodeError('package', `at most ${MAX_PACKAGE_BYTES} bytes`);
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  align(n: number): void {
    const pad = (n - (this.pos % n)) % n;
    this.room(pad);
    this.pos += pad; // new buffers are zero-filled: padding is zeros
  }
  int(size: 1 | 2 | 4, v: unknown, where: string): void {
    const max = size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
      throw encodeError(where, `an integer from 0 to ${max}`);
    }
    this.align(size);
    this.room(size);
    for (let i = 0; i < size; i++) this.buf[this.pos++] = (v >>> (8 * i)) & 0xff;
  }
  raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  units(s: string): void {
    this.room(s.length * 2);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      this.buf[this.pos++] = c & 0xff;
      this.buf[this.pos++] = c >>> 8;
    }
  }
  referentId(): number {
    const id = this.nextRef;
    this.nextRef += 4;
    return id;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

function lengthOf(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'string' || Array.isArray(v) || v instanceof Uint8Array) return v.length;
  throw encodeError('count', 'a string, array or byte array');
}

/** The array (or bytes, or string) type a field holds, looking through a pointer. */
function linkedOf(t: NdrType): CArrayType | BytesType | WCharsType | TailArrayType | undefined {
  const inner = t.kind === 'ptr' ? t.to : t;
  return inner.kind === 'carray' || inner.kind === 'bytes' || inner.kind === 'wchars' || inner.kind === 'tailArray'
    ? inner
    : undefined;
}

function argFor(f: FieldDecl, self: Obj, arg: unknown): unknown {
  return f.pass ? f.pass(self, arg) : undefined;
}

/** Fills defaults, turns nested objects into their serialized bytes and computes derived counts. */
function prepare(t: StructType, value: unknown, arg: unknown): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw encodeError(t.name, 'a structure object');
  }
  const self: Obj = { ...(value as Obj) };
  for (const f of t.fields) {
    if (self[f.name] === undefined && f.default) self[f.name] = f.default(self);
    const inner = f.type.kind === 'ptr' ? f.type.to : f.type;
    if (inner.kind === 'bytes' && self[f.name] != null && !(self[f.name] instanceof Uint8Array)) {
      const content = inner.content?.(argFor(f, self, arg)) ?? null;
      if (!content) throw encodeError(`${t.name}.${f.name}`, 'raw bytes (no structure is known for this kind)');
      self[f.name] = encodeStructure(content, self[f.name]);
    }
  }
  for (const f of t.fields) {
    const linked = linkedOf(f.type);
    if (!linked) continue;
    const links = linked.kind === 'wchars' ? [linked.length, linked.size] : [linked.size];
    for (const link of links) {
      if (link.derived) self[link.field] = lengthOf(self[f.name]) * (link.scale ?? 1);
    }
  }
  return self;
}

function wireCount(link: CountLink, parent: Obj, where: string): number {
  const v = parent[link.field];
  const scale = link.scale ?? 1;
  if (typeof v !== 'number' || !Number.isInteger(v / scale)) {
    throw encodeError(where, `${link.field} to be a multiple of ${scale}`);
  }
  return v / scale;
}

/** Writes the scalars of `v`; returns the job that writes its deferred referents, if any. */
function writeScalars(w: Writer, t: NdrType, v: unknown, parent: Obj, arg: unknown, where: string): Job | null {
  switch (t.kind) {
    case 'u8': w.int(1, v, where); return null;
    case 'u16': w.int(2, v, where); return null;
    case 'u32': w.int(4, v, where); return null;
    case 'guid':
      if (!isGuid(v)) throw encodeError(where, 'a GUID string');
      w.align(4);
      w.raw(guidToBytes(v));
      return null;
    case 'fixedBytes':
      if (!(v instanceof Uint8Array) || v.length !== t.length) throw encodeError(where, `${t.length} bytes`);
      w.raw(v);
      return null;
    case 'struct':
      return writeStruct(w, t, v, arg, where);
    case 'ptr': {
      w.align(4);
      if (v === null || v === undefined) {
        w.int(4, 0, where);
        return null;
      }
      w.int(4, w.referentId(), where);
      return () => {
        const job = writeScalars(w, t.to, v, parent, arg, where);
        job?.();
      };
    }
    case 'carray': {
      if (!Array.isArray(v)) throw encodeError(where, 'an array');
      w.align(4);
      w.int(4, v.length, where);
      const jobs: Job[] = [];
      v.forEach((e, i) => {
        const job = writeScalars(w, t.elem, e, parent, arg, `${where}[${i}]`);
        if (job) jobs.push(job);
      });
      return jobs.length ? () => jobs.forEach((j) => j()) : null;
    }
    case 'bytes':
      if (!(v instanceof Uint8Array)) throw encodeError(where, 'bytes');
      w.align(4);
      w.int(4, v.length, where);
      w.raw(v);
      return null;
    case 'wstring': {
      if (typeof v !== 'string') throw encodeError(where, 'a string');
      const n = v.length + 1; // [string]: the terminator is counted and written
      w.align(4);
      w.int(4, n, where);
      w.int(4, 0, where);
      w.int(4, n, where);
      w.units(v);
      w.units('\u0000');
      return null;
    }
    case 'wchars': {
      if (typeof v !== 'string') throw encodeError(where, 'a string');
      const max = wireCount(t.size, parent, where);
      if (v.length > max) throw encodeError(where, `${t.size.field} to leave room for the string`);
      w.align(4);
      w.int(4, max, where);
      w.int(4, 0, where);
      w.int(4, v.length, where);
      w.units(v);
      return null;
    }
    case 'tailArray':
      if (!Array.isArray(v)) throw encodeError(where, 'an array');
      for (const e of v) w.int(4, e, where);
      return null;
  }
}

function writeStruct(w: Writer, t: StructType, v: unknown, arg: unknown, where: string): Job | null {
  const self = prepare(t, v, arg);
  const tail = tailOf(t);
  if (tail) {
    // A conformant structure's array size comes first (it is only ever a pointer's referent here).
    w.align(4);
    w.int(4, lengthOf(self[t.fields[t.fields.length - 1].name]), `${where}.conformance`);
  }
  w.align(alignOf(t));
  const jobs: Job[] = [];
  for (const f of t.fields) {
    const job = writeScalars(w, f.type, self[f.name], self, argFor(f, self, arg), `${where}.${f.name}`);
    if (job) jobs.push(job);
  }
  return jobs.length ? () => jobs.forEach((j) => j()) : null;
}

/** Encodes one type-serialized object (16-byte header, body padded to 8). */
export function encodeStructure(s: Serialized, value: unknown): Uint8Array {
  const w = new Writer();
  w.raw(new Uint8Array(SERIALIZATION_HEADER_BYTES));
  if (s.topPointer) {
    if (value === null || value === undefined) throw encodeError(s.name, 'a value for the top-level pointer');
    w.int(4, w.referentId(), s.name);
  }
  writeStruct(w, s.type, value, undefined, s.name)?.();
  w.align(8);
  const out = w.result();
  out.set(COMMON_HEADER, 0);
  const body = out.length - SERIALIZATION_HEADER_BYTES;
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(8, body, true);
  return out;
}

// ---- decoding -------------------------------------------------------------------------------

type Fill = () => unknown;

class Reader {
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    /** absolute offset of bytes[0] in the outermost input, for error offsets */
    readonly base: number,
    readonly depth: number,
  ) {}

  fail(expected: string, detail?: string, at = this.pos): never {
    throw new PackageFormatError(this.base + at, expected, detail);
  }
  remaining(): number {
    return this.bytes.length - this.pos;
  }
  need(n: number, what: string): void {
    if (n > this.remaining()) this.fail(what, `${n} bytes needed, ${this.remaining()} left`);
  }
  align(n: number): void {
    const pad = (n - (this.pos % n)) % n;
    this.need(pad, 'alignment padding');
    for (let i = 0; i < pad; i++) {
      if (this.bytes[this.pos + i] !== 0) this.fail('zero alignment padding', undefined, this.pos + i);
    }
    this.pos += pad;
  }
  int(size: 1 | 2 | 4, what: string): number {
    this.align(size);
    this.need(size, what);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.bytes[this.pos + i];
    this.pos += size;
    return v;
  }
  take(n: number, what: string): Uint8Array {
    this.need(n, what);
    const b = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  units(n: number, what: string): string {
    this.need(n * 2, what);
    const codes = new Array<number>(n);
    for (let i = 0; i < n; i++) codes[i] = this.bytes[this.pos + 2 * i] | (this.bytes[this.pos + 2 * i + 1] << 8);
    this.pos += n * 2;
    // Code by code: lone surrogates survive, so re-encoding gives the same bytes.
    let s = '';
    for (let i = 0; i < n; i += 8192) s += String.fromCharCode(...codes.slice(i, i + 8192));
    return s;
  }
  count(what: string, elemMin: number): number {
    const at = this.pos;
    const n = this.int(4, what);
    if (n * Math.max(elemMin, 1) > this.remaining()) {
      this.fail(`${what} that fits in the remaining bytes`, `count ${n}, ${this.remaining()} bytes left`, at);
    }
    return n;
  }
}

function checkLink(r: Reader, link: CountLink, parent: Obj, got: number, what: string, at: number): void {
  const v = parent[link.field];
  const scale = link.scale ?? 1;
  if (typeof v !== 'number' || v % scale !== 0 || v / scale !== got) {
    r.fail(`${what} to agree with ${link.field}`, `wire count ${got}, ${link.field} ${String(v)}`, at);
  }
}

function readScalars(r: Reader, t: NdrType, parent: Obj, arg: unknown, where: string): [unknown, Fill | null] {
  switch (t.kind) {
    case 'u8': return [r.int(1, where), null];
    case 'u16': return [r.int(2, where), null];
    case 'u32': return [r.int(4, where), null];
    case 'guid':
      r.align(4);
      return [guidFromBytes(r.take(16, where)), null];
    case 'fixedBytes':
      return [r.take(t.length, where), null];
    case 'struct':
      return readStruct(r, t, arg, where);
    case 'ptr': {
      const id = r.int(4, `${where} pointer`);
      if (id === 0) return [null, null];
      return [null, () => {
        const [v, fill] = readScalars(r, t.to, parent, arg, where);
        return fill ? fill() : v;
      }];
    }
    case 'carray': {
      const at = r.pos;
      const n = r.count(`${where} count`, minSize(t.elem));
      checkLink(r, t.size, parent, n, `${where} count`, at);
      const out: unknown[] = [];
      const fills: [number, Fill][] = [];
      for (let i = 0; i < n; i++) {
        const [v, fill] = readScalars(r, t.elem, parent, arg, `${where}[${i}]`);
        out.push(v);
        if (fill) fills.push([i, fill]);
      }
      if (!fills.length) return [out, null];
      return [out, () => {
        for (const [i, fill] of fills) out[i] = fill();
        return out;
      }];
    }
    case 'bytes': {
      const at = r.pos;
      const n = r.count(`${where} size`, 1);
      checkLink(r, t.size, parent, n, `${where} size`, at);
      const start = r.pos;
      const bytes = r.take(n, where);
      const content = t.content?.(arg) ?? null;
      return [content ? decodeSerialized(content, bytes, r.base + start, r.depth + 1) : bytes, null];
    }
    case 'wstring': {
      const at = r.pos;
      const max = r.count(`${where} string size`, 2);
      const offset = r.int(4, `${where} string offset`);
      const actual = r.int(4, `${where} string length`);
      if (offset !== 0 || actual !== max || actual < 1) {
        r.fail(`${where}: a [string] with offset 0 and length equal to its size (at least 1)`, `size ${max}, offset ${offset}, length ${actual}`, at);
      }
      const s = r.units(actual, where);
      if (s.charCodeAt(actual - 1) !== 0) r.fail(`${where}: a terminating NUL`, undefined, r.pos - 2);
      return [s.slice(0, -1), null];
    }
    case 'wchars': {
      const at = r.pos;
      const max = r.count(`${where} buffer size`, 0);
      checkLink(r, t.size, parent, max, `${where} buffer size`, at);
      const offset = r.int(4, `${where} buffer offset`);
      const actual = r.int(4, `${where} buffer length`);
      if (offset !== 0 || actual > max) r.fail(`${where}: offset 0 and length within size`, `size ${max}, offset ${offset}, length ${actual}`, at);
      checkLink(r, t.length, parent, actual, `${where} buffer length`, at);
      return [r.units(actual, where), null];
    }
    case 'tailArray':
      throw new Error('tailArray is read by its structure'); // unreachable: declarations only
  }
}

function readStruct(r: Reader, t: StructType, arg: unknown, where: string): [Obj, Fill | null] {
  const self: Obj = {};
  const tail = tailOf(t);
  let conformance = 0;
  const confAt = r.pos;
  if (tail) conformance = r.count(`${where} conformance`, 4);
  r.align(alignOf(t));
  const fills: [string, Fill][] = [];
  for (const f of t.fields) {
    const w = `${where}.${f.name}`;
    if (f.type.kind === 'tailArray') {
      checkLink(r, f.type.size, self, conformance, `${w} conformance`, confAt);
      const items: number[] = [];
      for (let i = 0; i < conformance; i++) items.push(r.int(4, w));
      self[f.name] = items;
      continue;
    }
    const [v, fill] = readScalars(r, f.type, self, argFor(f, self, arg), w);
    self[f.name] = v;
    if (fill) fills.push([f.name, fill]);
  }
  const finish = (): Obj => {
    for (const [name, fill] of fills) self[name] = fill();
    // A NULL array must come with a zero count, or re-encoding would change the count.
    for (const f of t.fields) {
      const linked = linkedOf(f.type);
      if (!linked || self[f.name] !== null) continue;
      const links = linked.kind === 'wchars' ? [linked.length] : [linked.size];
      for (const link of links) {
        if (link.derived && self[link.field] !== 0) r.fail(`${where}.${link.field} to be 0 for a NULL ${f.name}`);
      }
    }
    return self;
  };
  if (!fills.length) return [finish(), null];
  return [self, finish];
}

/** Marks a serialized object whose top-level pointer is NULL: the bytes are kept as they are. */
const KEEP_RAW = Symbol('keep raw');

function decodeBody(s: Serialized, bytes: Uint8Array, base: number, depth: number): unknown {
  if (depth > MAX_NESTING) throw new PackageFormatError(base, `serialized objects nested at most ${MAX_NESTING} deep`);
  const r = new Reader(bytes, base, depth);
  r.need(SERIALIZATION_HEADER_BYTES, `a ${s.name} type serialization header`);
  for (let i = 0; i < COMMON_HEADER.length; i++) {
    if (bytes[i] !== COMMON_HEADER[i]) r.fail(`${s.name}: type serialization header 01 10 08 00 CC CC CC CC`, undefined, i);
  }
  r.pos = 8;
  const bodyLen = r.int(4, 'body length');
  const filler = r.int(4, 'header filler');
  if (filler !== 0) r.fail(`${s.name}: zero header filler`, undefined, 12);
  if (bodyLen !== bytes.length - SERIALIZATION_HEADER_BYTES || bodyLen % 8 !== 0) {
    r.fail(`${s.name}: a body length that is a multiple of 8 and agrees with the enclosing size`,
      `body length ${bodyLen}, ${bytes.length - SERIALIZATION_HEADER_BYTES} bytes present`, 8);
  }
  let value: unknown;
  if (s.topPointer && r.int(4, `${s.name} pointer`) === 0) {
    value = KEEP_RAW;
    r.pos = bytes.length;
  } else {
    const [v, fill] = readStruct(r, s.type, undefined, s.name);
    value = fill ? fill() : v;
  }
  // Only zero padding may follow the data, up to the next multiple of 8.
  const end = r.pos;
  if (bytes.length - end >= 8) r.fail(`${s.name}: the end of the body`, `${bytes.length - end} bytes left over`, end);
  r.align(8);
  return value;
}

function decodeSerialized(s: Serialized, bytes: Uint8Array, base: number, depth: number): unknown {
  const v = decodeBody(s, bytes, base, depth);
  return v === KEEP_RAW ? bytes : v;
}

/** Decodes one complete type-serialized object; throws PackageFormatError on anything amiss. */
export function decodeStructure<S extends StructType>(s: Serialized<S>, bytes: Uint8Array): Infer<S> {
  if (bytes.length > MAX_PACKAGE_BYTES) {
    throw new PackageFormatError(MAX_PACKAGE_BYTES, `at most ${MAX_PACKAGE_BYTES} bytes`, `${bytes.length} bytes`);
  }
  const v = decodeBody(s, bytes, 0, 0);
  if (v === KEEP_RAW) throw new PackageFormatError(16, `a non-NULL ${s.name}`);
  return v as Infer<S>; // the decoder builds exactly the shape the declaration describes
}
