// src/tensor/random.ts: a seeded random generator that gives the same numbers on every platform.
// xoshiro128** (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c) on 32-bit
// integer arithmetic, seeded through splitmix32; normals by the Box-Muller transform.
import { preview } from './check.js';
import { ValueError } from './errors.js';

/** The full state of an Rng: four 32-bit words plus a cached second Box-Muller normal. */
export interface RngState {
  readonly s: readonly [number, number, number, number];
  readonly spare: number | null;
}

/** splitmix32: spreads a small seed over 32 bits so nearby seeds give unrelated streams. */
function splitmix32(seed: number): () => number {
  let z = seed >>> 0;
  return () => {
    z = (z + 0x9e3779b9) >>> 0;
    let t = z;
    t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
    t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
    return (t ^ (t >>> 16)) >>> 0;
  };
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;

  /** seed: any finite number; its integer part (mod 2^32) and its fraction bits pick the stream. */
  constructor(seed: number) {
    if (typeof seed !== 'number' || !Number.isFinite(seed))
      throw new ValueError(`Rng: seed must be a finite number, got ${preview(seed)}`);
    const hi = Math.floor(seed / 4294967296) >>> 0;
    const next = splitmix32((seed >>> 0) ^ Math.imul(hi, 0x27d4eb2d));
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  /** The next 32-bit output as an unsigned integer in [0, 2^32). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits (two outputs). */
  uniform(): number {
    const a = this.nextUint32() >>> 5; // 27 bits
    const b = this.nextUint32() >>> 6; // 26 bits
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Standard normal by Box-Muller; the second value of each pair is kept for the next call. */
  normal(): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return z;
    }
    let u = this.uniform();
    while (u === 0) u = this.uniform(); // log(0) would be -Infinity
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [0, n) without modulo bias (rejection sampling), n <= 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296) {
      throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = 4294967296 - (4294967296 % n); // largest multiple of n that fits
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /** A snapshot of the generator; setState(getState()) resumes the same stream exactly. */
  getState(): RngState {
    return { s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0], spare: this.spare };
  }

  setState(state: RngState): void {
    const [a, b, c, d] = state.s;
    if (![a, b, c, d].every((w) => Number.isInteger(w) && w >= 0 && w < 4294967296)) {
      throw new RangeError('Rng.setState: state words must be unsigned 32-bit integers');
    }
    if ((a | b | c | d) === 0) throw new RangeError('Rng.setState: the all-zero state is invalid');
    this.s0 = a | 0;
    this.s1 = b | 0;
    this.s2 = c | 0;
    this.s3 = d | 0;
    this.spare = state.spare;
  }

  static fromState(state: RngState): Rng {
    const rng = new Rng(1);
    rng.setState(state);
    return rng;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The generator behind calls that pass no seed. Seeded once per process from the clock. */
let globalRng: Rng | null = null;
export function defaultRng(): Rng {
  if (globalRng === null) globalRng = new Rng((Date.now() ^ (Math.random() * 4294967296)) >>> 0);
  return globalRng;
}
