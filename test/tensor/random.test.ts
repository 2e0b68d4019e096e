import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/tensor/index.js';
import { fixture } from '../helpers.js';

interface XoshiroFixture {
  states: { state: [number, number, number, number]; outputs: number[] }[];
  seeds: { seed: number; state: number[]; outputs: number[] }[];
}
const ref = fixture<XoshiroFixture>('xoshiro');

describe('Rng (xoshiro128**)', () => {
  it('matches an independent implementation of xoshiro128** from a given state', () => {
    for (const { state, outputs } of ref.states) {
      const rng = Rng.fromState({ s: state, spare: null });
      expect(outputs.map(() => rng.nextUint32())).toEqual(outputs);
    }
  });

  it('seeds through splitmix32 as documented', () => {
    for (const { seed, state, outputs } of ref.seeds) {
      const rng = new Rng(seed);
      expect(rng.getState().s).toEqual(state);
      expect(outputs.map(() => rng.nextUint32())).toEqual(outputs);
    }
  });

  it('resumes exactly from a saved state, including the spare normal', () => {
    const a = new Rng(7);
    a.normal(); // leaves a spare
    const saved = a.getState();
    const expected = [a.normal(), a.uniform(), a.int(10), a.normal()];
    const b = Rng.fromState(saved);
    expect([b.normal(), b.uniform(), b.int(10), b.normal()]).toEqual(expected);
  });

  it('gives uniforms in [0, 1) with mean 1/2 and normals with mean 0 and variance 1', () => {
    const rng = new Rng(3),
      n = 200_000;
    let su = 0,
      sn = 0,
      sn2 = 0,
      lo = 1,
      hi = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
      su += u;
      const z = rng.normal();
      sn += z;
      sn2 += z * z;
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    // standard errors: uniform mean sqrt(1/12/n) ~ 6.5e-4, normal mean 2.2e-3, variance ~3.2e-3; 5 sigma
    expect(Math.abs(su / n - 0.5)).toBeLessThan(5 * 6.5e-4);
    expect(Math.abs(sn / n)).toBeLessThan(5 * 2.3e-3);
    expect(Math.abs(sn2 / n - 1)).toBeLessThan(5 * 3.2e-3);
  });

  it('draws unbiased integers and permutations', () => {
    const rng = new Rng(11),
      counts = new Array(6).fill(0),
      n = 60_000;
    for (let i = 0; i < n; i++) counts[rng.int(6)]++;
    for (const c of counts)
      expect(Math.abs(c - n / 6)).toBeLessThan(5 * Math.sqrt((n * (1 / 6) * 5) / 6));
    const p = new Rng(5).permutation(100);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect([...p]).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect([...new Rng(5).permutation(100)]).toEqual([...p]);
  });

  it('rejects bad seeds and ranges', () => {
    expect(() => new Rng(NaN)).toThrow('Rng: seed must be a finite number, got NaN');
    expect(() => new Rng(1).int(0)).toThrow('Rng.int: n must be an integer in [1, 2^32], got 0');
    expect(() => Rng.fromState({ s: [0, 0, 0, 0], spare: null })).toThrow(
      'Rng.setState: the all-zero state is invalid',
    );
  });
});
