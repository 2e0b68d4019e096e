// test/fuzz/mutate.ts: a small seeded mutation fuzzer for the file formats layerwise reads, and
// the one verdict every case must get: the loader accepts the bytes, or refuses them with one of
// the library's own error types, quickly and without a giant allocation.
import { expect } from 'vitest';
import { DTypeError, FileError, ShapeError, ValueError } from '../../src/tensor/index.js';

/** mulberry32: a tiny seeded generator, independent of the library under test. */
export class FuzzRng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}

/** Names that a lookup through the prototype chain would find. */
export const PROTO_NAMES = [
  '__proto__',
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'prototype',
  '__defineGetter__',
];

/** Sizes that overflow, are negative or huge when read as 8/16/32/64-bit fields. */
export const HUGE_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 65535, 4096];

// ------------------------------------------------------------------------------ byte mutations

/** A truncated, flipped, spliced or zero-filled copy of `bytes`. */
export function mutateBytes(bytes: Uint8Array, rng: FuzzRng): Uint8Array {
  const out = bytes.slice();
  switch (rng.int(4)) {
    case 0: // truncation
      return bytes.slice(0, rng.int(bytes.length));
    case 1: {
      // 1-8 byte flips (random values)
      const n = 1 + rng.int(8);
      for (let i = 0; i < n; i++) out[rng.int(out.length)] = rng.int(256);
      return out;
    }
    case 2: {
      // a run of bytes deleted or duplicated
      const at = rng.int(bytes.length),
        len = 1 + rng.int(16);
      if (rng.int(2) === 0) return concat([bytes.subarray(0, at), bytes.subarray(at + len)]);
      return concat([bytes.subarray(0, at + len), bytes.subarray(at)]);
    }
    default: {
      // one byte set to an extreme in the first 64 (where the headers are)
      out[rng.int(Math.min(64, out.length))] = rng.pick([0, 0xff, 0x7f, 0x80]);
      return out;
    }
  }
}

/** Writes value (an extreme size) into a 32-bit field at `offset`, big- or little-endian. */
export function setU32(bytes: Uint8Array, offset: number, value: number, little: boolean): void {
  if (offset + 4 > bytes.length) return;
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(offset, value >>> 0, little);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

// ------------------------------------------------------------------------------- JSON mutations

/** A JSON value; objects are built with own properties only (a '__proto__' key is a key). */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const DEEP = Symbol('deep');
type Mutable = Json | { [DEEP]: number };

/** Numbers a header must refuse or survive: negative, fractional, huge, past 2^53. */
export const ODD_NUMBERS: Json[] = [
  -1,
  0,
  1.5,
  2 ** 31,
  2 ** 32 + 1,
  2 ** 53,
  2 ** 53 + 2,
  1e30,
  -1e300,
  1e9,
  '7',
  true,
  null,
  [],
  {},
];

function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Every place in a tree: [parent, key] pairs (arrays by index). */
function places(v: Mutable, out: [Record<string, unknown> | unknown[], string | number][] = []) {
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out.push([v, i]);
      places(x as Mutable, out);
    });
  } else if (v !== null && typeof v === 'object' && !(DEEP in v)) {
    for (const k of Object.keys(v)) {
      out.push([v as Record<string, unknown>, k]);
      places((v as Record<string, Json>)[k], out);
    }
  }
  return out;
}

/**
 * A mutated deep copy of `value` as JSON text: one value replaced by an odd number, a string
 * or key replaced by a prototype name, a key dropped, or a value replaced by deep nesting
 * (10,000-50,000 levels, written as text: JSON.stringify would recurse).
 */
export function mutateJson(value: Json, rng: FuzzRng, extra: readonly string[] = []): string {
  const tree = JSON.parse(JSON.stringify(value)) as Mutable;
  const all = places(tree);
  if (all.length === 0) return toJson(tree);
  const [parent, key] = rng.pick(all);
  const names = [...PROTO_NAMES, ...extra];
  const put = (v: unknown) => {
    if (Array.isArray(parent)) parent[key as number] = v;
    else setOwn(parent, key as string, v);
  };
  switch (rng.int(6)) {
    case 0:
    case 1:
      put(rng.pick(ODD_NUMBERS));
      break;
    case 2:
      put(rng.pick(names));
      break;
    case 3:
      if (Array.isArray(parent)) put(rng.pick(names));
      else {
        // rename the key: the value moves to a prototype name
        const v = (parent as Record<string, unknown>)[key as string];
        delete (parent as Record<string, unknown>)[key as string];
        setOwn(parent, rng.pick(names), v);
      }
      break;
    case 4:
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete (parent as Record<string, unknown>)[key as string];
      break;
    default:
      put({ [DEEP]: 10_000 + rng.int(40_000) });
  }
  return toJson(tree);
}

function toJson(v: Mutable): string {
  if (v !== null && typeof v === 'object' && DEEP in v) {
    const n = (v as { [DEEP]: number })[DEEP];
    return `${'['.repeat(n)}0${']'.repeat(n)}`;
  }
  if (Array.isArray(v)) return `[${v.map((x) => toJson(x as Mutable)).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .map((k) => `${JSON.stringify(k)}:${toJson((v as Record<string, Json>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

// ------------------------------------------------------------------------------------ verdicts

/** The error types a loader may refuse a file with (their subclasses too). */
const OWN_ERRORS = [FileError, ValueError, ShapeError, DTypeError];
/** A case that runs longer is a hang (generous: the machine is shared and noisy). */
export const MAX_CASE_MS = 5000;
/** The most array-buffer memory a case may leave allocated beyond its input. */
export const MAX_CASE_BYTES = 64 * 2 ** 20;

export interface Tally {
  accepted: number;
  refused: number;
  /** Refusal reasons seen (message prefixes), for the report. */
  readonly kinds: Set<string>;
}

export const tally = (): Tally => ({ accepted: 0, refused: 0, kinds: new Set() });

/**
 * Runs one case: `load` must return or throw one of the library's error types, within
 * MAX_CASE_MS, holding at most MAX_CASE_BYTES of array buffers more than before (measured after
 * the call, with the result still alive, so a loader that allocated for an absurd header shows).
 */
export function expectGraceful(what: string, load: () => unknown, t: Tally): void {
  const before = process.memoryUsage().arrayBuffers,
    started = performance.now();
  let result: unknown, error: unknown;
  try {
    result = load();
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - started;
  const grown = process.memoryUsage().arrayBuffers - before;
  if (error !== undefined) {
    const own = OWN_ERRORS.some((E) => error instanceof E);
    const text =
      error instanceof Error
        ? `${error.name}: ${error.message.slice(0, 200)}\n${(error.stack ?? '').split('\n').slice(1, 8).join('\n')}`
        : String(error);
    expect(own, `${what}: not a library error: ${text}`).toBe(true);
    t.refused++;
    t.kinds.add((error as Error).name);
  } else t.accepted++;
  expect(ms, `${what}: took ${ms.toFixed(0)} ms`).toBeLessThan(MAX_CASE_MS);
  expect(grown, `${what}: left ${grown} bytes of array buffers`).toBeLessThan(MAX_CASE_BYTES);
  void result;
}
