// test/io/zlib.test.ts: the pure-TypeScript zlib (src/io/zlib.ts) against node:zlib: inflate reads
// what zlib writes at every level and strategy, zlib reads what deflate writes, and damaged or
// oversized streams are refused with a ZlibError (never a hang, a crash or wrong bytes).
import { constants, deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { adler32, deflate, inflate, ZlibError } from '../../src/io/zlib.js';
import { Rng } from '../../src/tensor/index.js';

/** Byte patterns a PNG meets: noise, few symbols, runs, slow ramps, and the empty input. */
function samples(): Uint8Array[] {
  const rng = new Rng(3),
    out: Uint8Array[] = [new Uint8Array(0), new Uint8Array([42])];
  for (const n of [7, 300, 5000, 70000]) {
    out.push(Uint8Array.from({ length: n }, () => rng.int(256)));
    out.push(Uint8Array.from({ length: n }, () => rng.int(4)));
    out.push(Uint8Array.from({ length: n }, (_, i) => (i % 97 < 60 ? 255 : rng.int(3))));
    out.push(Uint8Array.from({ length: n }, (_, i) => (i >> 9) & 255));
  }
  return out;
}

const same = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

describe('zlib', () => {
  it("inflate reads node:zlib's streams at every level (stored, fixed and dynamic blocks)", () => {
    for (const src of samples()) {
      for (const level of [0, 1, 6, 9]) {
        for (const strategy of [constants.Z_DEFAULT_STRATEGY, constants.Z_FIXED, constants.Z_RLE]) {
          const z = new Uint8Array(deflateSync(src, { level, strategy }));
          expect(same(inflate(z), src), `n=${src.length} level ${level}`).toBe(true);
        }
      }
    }
  });

  it('node:zlib reads what deflate writes, and so does inflate', () => {
    for (const src of samples()) {
      const z = deflate(src);
      expect(same(new Uint8Array(inflateSync(z)), src), `n=${src.length}`).toBe(true);
      expect(same(inflate(z), src)).toBe(true);
    }
    // runs compress (a plot's background); noise falls back to stored blocks (no expansion)
    expect(deflate(new Uint8Array(100000).fill(255)).length).toBeLessThan(1000);
    const noise = samples()[14];
    expect(deflate(noise).length).toBeLessThanOrEqual(noise.length + 16);
  });

  it('adler32 matches the checksum node:zlib stores', () => {
    for (const src of samples()) {
      const z = deflateSync(src);
      expect(adler32(src)).toBe(z.readUInt32BE(z.length - 4));
    }
  });

  it('refuses a bad header, a bad checksum, truncation and data past the limit', () => {
    const src = samples()[10],
      z = new Uint8Array(deflateSync(src));
    const fails = (bytes: Uint8Array, message: string | RegExp, max?: number) =>
      expect(() => inflate(bytes, max)).toThrow(message);
    fails(new Uint8Array([0x79, 0x9c, 0]), 'not a zlib stream (unknown compression method)');
    fails(new Uint8Array([0x78, 0x9d, 0]), 'incorrect header check');
    const badSum = z.slice();
    badSum[badSum.length - 1] ^= 1;
    fails(badSum, 'incorrect data check (Adler-32)');
    fails(z.subarray(0, z.length - 6), /unexpected end of data/);
    fails(z.subarray(0, 1), 'unexpected end of data');
    let caught: unknown;
    try {
      inflate(z, src.length - 1);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ZlibError);
    expect((caught as ZlibError).code).toBe('too-long');
    expect(inflate(z, src.length).length).toBe(src.length); // exactly at the limit is fine
  });

  it('damaged streams throw only ZlibError (fuzz)', () => {
    const rng = new Rng(11),
      z = new Uint8Array(deflateSync(samples()[9]));
    for (let trial = 0; trial < 300; trial++) {
      const bad = z.slice();
      for (let k = 0; k < 1 + rng.int(3); k++) bad[2 + rng.int(bad.length - 2)] ^= 1 << rng.int(8);
      try {
        inflate(bad, 1 << 20);
      } catch (e) {
        expect(e).toBeInstanceOf(ZlibError);
      }
    }
  });
});
