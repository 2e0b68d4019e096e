import { describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import {
  causalMask,
  multiHeadAttentionBackward,
  multiHeadAttentionForward,
  type AttentionOptions,
  type AttentionParams,
} from '../../src/layers/index.js';
import { setBackend } from '../../src/kernels/index.js';
import { Tensor, type FloatTensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, numericGrad, randn64, snapshot } from '../helpers.js';

type T = { shape: number[]; data: number[] };
interface MhaCase {
  numHeads: number;
  query: T;
  key: T;
  value: T;
  dout: T;
  params: Record<string, T>;
  mask?: boolean[][];
  out: T;
  weights: T;
  dquery: T;
  dkey: T;
  dvalue: T;
  grads: Record<string, T>;
}
const ref = fixture<{ mha: Record<'self' | 'cross' | 'causal' | 'oneHead', MhaCase> }>(
  'attention',
).mha;

const KEYS = ['Wq', 'bq', 'Wk', 'bk', 'Wv', 'bv', 'Wo', 'bo'] as const;

function paramsOf(c: MhaCase): AttentionParams {
  return Object.fromEntries(KEYS.map((k) => [k, fromFixture(c.params[k])])) as never;
}

function randomParams(E: number, seed: number): Record<(typeof KEYS)[number], FloatTensor> {
  return Object.fromEntries(
    KEYS.map((k, i) => [k, randn64(k[0] === 'W' ? [E, E] : [E], seed + i, 0.5)]),
  ) as never;
}

/** max |a − b| / max |b|: float32 against float64, where elementwise relative error is noise near 0. */
function scaledError(a: Tensor, b: Tensor): number {
  let diff = 0,
    size = 0;
  b.data.forEach((v, i) => {
    diff = Math.max(diff, Math.abs(a.data[i] - v));
    size = Math.max(size, Math.abs(v));
  });
  return diff / size;
}

describe('multiHeadAttention', () => {
  for (const name of ['self', 'cross', 'causal', 'oneHead'] as const) {
    it(`matches torch.nn.MultiheadAttention (${name}, float64)`, () => {
      const c = ref[name];
      const [q, k, v, dout] = [c.query, c.key, c.value, c.dout].map(fromFixture);
      const { out, cache } = multiHeadAttentionForward(q, k, v, paramsOf(c), {
        numHeads: c.numHeads,
        mask: c.mask,
      });
      expect(out.shape).toEqual(c.out.shape);
      expect(relError(out, c.out.data)).toBeLessThan(1e-7);
      expect(cache.weights.shape).toEqual(c.weights.shape);
      expect(relError(cache.weights, c.weights.data)).toBeLessThan(1e-7);
      const g = multiHeadAttentionBackward(dout, cache);
      expect(relError(g.dquery, c.dquery.data)).toBeLessThan(1e-7);
      expect(relError(g.dkey, c.dkey.data)).toBeLessThan(1e-7);
      expect(relError(g.dvalue, c.dvalue.data)).toBeLessThan(1e-7);
      for (const key of KEYS) {
        const ours = g[`d${key}` as keyof typeof g];
        expect(ours.shape, key).toEqual(c.grads[key].shape);
        expect(relError(ours, c.grads[key].data), key).toBeLessThan(1e-7);
      }
    });
  }

  const N = 2,
    S = 3,
    Tk = 4,
    E = 6;
  const cases: Array<[string, Partial<AttentionOptions>]> = [
    ['no mask, 2 heads', {}],
    ['a random mask, 3 heads', { numHeads: 3, mask: [1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 1] }],
    [
      'a fully masked query row, 1 head',
      { numHeads: 1, mask: [1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0] },
    ],
  ];
  for (const [label, extra] of cases) {
    it(`backward matches centred differences for every input and param (${label})`, () => {
      const q = randn64([N, S, E], 1),
        k = randn64([N, Tk, E], 2),
        v = randn64([N, Tk, E], 3),
        dout = randn64([N, S, E], 4),
        p = randomParams(E, 10);
      const options: AttentionOptions = { numHeads: 2, ...extra };
      const f = (qq: Tensor, kk: Tensor, vv: Tensor, pp: AttentionParams) =>
        multiHeadAttentionForward(qq, kk, vv, pp, options).out;
      const unchanged = snapshot(q, k, v, dout, ...Object.values(p));
      const { cache } = multiHeadAttentionForward(q, k, v, p, options);
      const g = multiHeadAttentionBackward(dout, cache);
      expect(unchanged()).toBe(true);
      expect(
        relError(
          g.dquery,
          numericGrad((t) => f(t, k, v, p), q, dout),
        ),
      ).toBeLessThan(1e-7);
      expect(
        relError(
          g.dkey,
          numericGrad((t) => f(q, t, v, p), k, dout),
        ),
      ).toBeLessThan(1e-7);
      expect(
        relError(
          g.dvalue,
          numericGrad((t) => f(q, k, t, p), v, dout),
        ),
      ).toBeLessThan(1e-7);
      for (const key of KEYS) {
        const num = numericGrad((t) => f(q, k, v, { ...p, [key]: t }), p[key], dout);
        if (key === 'bk') {
          // bk adds q·bk to every score of a query row, which the softmax over t ignores: its
          // gradient is exactly 0, so both sides are rounding noise and only their size is checked
          expect(Math.max(...g.dbk.data.map(Math.abs))).toBeLessThan(1e-12);
          expect(Math.max(...num.data.map(Math.abs))).toBeLessThan(1e-9);
        } else expect(relError(g[`d${key}`], num), key).toBeLessThan(1e-7);
      }
    });
  }

  it('a query with no allowed key gets all-zero weights and gradients, never NaN', () => {
    const q = randn64([1, 2, 4], 1),
      k = randn64([1, 3, 4], 2),
      p = randomParams(4, 3);
    const mask = [
      [false, false, false],
      [true, false, true],
    ];
    const { out, cache } = multiHeadAttentionForward(q, k, k, p, { numHeads: 2, mask });
    expect(out.data.every(Number.isFinite)).toBe(true);
    for (let h = 0; h < 2; h++) {
      const row0 = Array.from(cache.weights.data.slice(h * 6, h * 6 + 3));
      const row1 = Array.from(cache.weights.data.slice(h * 6 + 3, h * 6 + 6));
      expect(row0).toEqual([0, 0, 0]);
      expect(row1[1]).toBe(0);
      expect(row1[0] + row1[2]).toBeCloseTo(1, 12);
    }
    // the first query's output is the output projection's bias alone: Y = 0
    expect(relError(out.data.slice(0, 4), p.bo.data)).toBe(0);
    const g = multiHeadAttentionBackward(randn64([1, 2, 4], 5), cache);
    expect(Array.from(g.dquery.data.slice(0, 4))).toEqual([0, 0, 0, 0]);
    expect(g.dkey.data.every(Number.isFinite)).toBe(true);
  });

  it('a causal mask lets query s see keys 0..s only; later keys do not change earlier outputs', () => {
    expect(Array.from(causalMask(3).data)).toEqual([1, 0, 0, 1, 1, 0, 1, 1, 1]);
    const x = randn64([1, 4, 4], 1),
      p = randomParams(4, 2);
    const options = { numHeads: 2, mask: causalMask(4) };
    const a = multiHeadAttentionForward(x, x, x, p, options);
    const y = x.clone();
    for (let j = 12; j < 16; j++) y.data[j] += 1; // change the last token only
    const b = multiHeadAttentionForward(y, y, y, p, options);
    expect(relError(a.out.data.slice(0, 12), b.out.data.slice(0, 12))).toBe(0);
    expect(relError(a.out.data.slice(12), b.out.data.slice(12))).toBeGreaterThan(1e-3);
  });

  it('dropout on the weights: seeded, inverted scaling in train mode, identity in test mode', () => {
    const q = randn64([2, 3, 4], 1),
      k = randn64([2, 5, 4], 2),
      v = randn64([2, 5, 4], 8),
      p = randomParams(4, 3);
    const plain = multiHeadAttentionForward(q, k, v, p, { numHeads: 2 });
    const test = multiHeadAttentionForward(q, k, v, p, {
      numHeads: 2,
      dropout: { p: 0.5, mode: 'test', seed: 1 },
    });
    expect(relError(test.out, plain.out)).toBe(0);
    const opts = { numHeads: 2, dropout: { p: 0.4, mode: 'train' as const, seed: 7 } };
    const a = multiHeadAttentionForward(q, k, v, p, opts);
    const b = multiHeadAttentionForward(q, k, v, p, opts);
    expect(relError(a.out, b.out)).toBe(0);
    expect(relError(a.out, plain.out)).toBeGreaterThan(1e-3);
    // the cache keeps the weights before dropout, and the dropped ones: 0 or A/(1 − p)
    expect(relError(a.cache.weights, plain.cache.weights)).toBe(0);
    a.cache.attended.data.forEach((d, i) => {
      const w = a.cache.weights.data[i];
      expect(d === 0 || Math.abs(d - w / 0.6) < 1e-15).toBe(true);
    });
    // gradient check with the mask fixed by the seed
    const dout = randn64([2, 3, 4], 9);
    const g = multiHeadAttentionBackward(dout, a.cache);
    const fk = (t: Tensor) => multiHeadAttentionForward(q, t, v, p, opts).out;
    const fv = (t: Tensor) => multiHeadAttentionForward(q, k, t, p, opts).out;
    expect(relError(g.dkey, numericGrad(fk, k, dout))).toBeLessThan(1e-7);
    expect(relError(g.dvalue, numericGrad(fv, v, dout))).toBeLessThan(1e-7);
  });

  it('float32 runs on both backends and agrees with float64', () => {
    const q = randn64([3, 7, 8], 1),
      k = randn64([3, 9, 8], 2),
      p = randomParams(8, 3),
      dout = randn64([3, 7, 8], 4);
    const f32 = (t: FloatTensor) => t.astype('float32') as FloatTensor;
    const p32 = Object.fromEntries(Object.entries(p).map(([n, t]) => [n, f32(t)])) as never;
    const opts = { numHeads: 4, mask: Array.from({ length: 63 }, (_, i) => i % 5 !== 1) };
    const want = multiHeadAttentionForward(q, k, k, p, opts);
    const wantG = multiHeadAttentionBackward(dout, want.cache);
    for (const backend of ['reference', 'wasm'] as const) {
      setBackend(backend);
      try {
        const got = multiHeadAttentionForward(f32(q), f32(k), f32(k), p32, opts);
        expect(got.out.dtype).toBe('float32');
        expect(scaledError(got.out, want.out), backend).toBeLessThan(1e-5);
        const g = multiHeadAttentionBackward(f32(dout), got.cache);
        expect(scaledError(g.dkey, wantG.dkey), backend).toBeLessThan(1e-5);
        expect(scaledError(g.dWq, wantG.dWq), backend).toBeLessThan(1e-5);
      } finally {
        setBackend('auto');
      }
    }
  });

  it('names the function, argument and shapes', () => {
    const q = Tensor.zeros([2, 3, 4], 'float64'),
      k = Tensor.zeros([2, 5, 4], 'float64'),
      p = randomParams(4, 1);
    const fwd = (o: object, kk: Tensor = k, pp: object = p) =>
      multiHeadAttentionForward(q, kk, kk, pp as AttentionParams, o as AttentionOptions);
    expect(() => fwd({ numHeads: 3 })).toThrow(
      'multiHeadAttentionForward: options.numHeads = 3 does not divide E = 4',
    );
    expect(() => fwd({ numHeads: 2 }, Tensor.zeros([2, 5, 6], 'float64'))).toThrow(
      'multiHeadAttentionForward: key has shape [2,5,6] but query has shape [2,3,4] (N, S, E)',
    );
    expect(() => fwd({ numHeads: 2, mask: [true, false] })).toThrow(
      'multiHeadAttentionForward: options.mask has 2 values but query and key give (S, T) = [3,5] (15)',
    );
    expect(() => fwd({ numHeads: 2, mask: Tensor.zeros([5, 3]) })).toThrow(
      'multiHeadAttentionForward: options.mask has shape [5,3] but query and key give (S, T) = [3,5]',
    );
    expect(() => fwd({ numHeads: 2 }, k, { ...p, Wo: Tensor.zeros([4, 3], 'float64') })).toThrow(
      'multiHeadAttentionForward: params.Wo has shape [4,3] but query has E = 4',
    );
    const { bv: _bv, ...noBv } = p;
    expect(() => fwd({ numHeads: 2 }, k, noBv)).toThrow(
      'multiHeadAttentionForward: params.bv is missing',
    );
    expect(() => fwd({ numHeads: 2, dropout: { p: 0.1, mode: 'eval' } })).toThrow(
      "multiHeadAttentionForward: options.dropout.mode must be 'train' or 'test', got 'eval'",
    );
    expect(() => fwd({ heads: 2 })).toThrow(
      "multiHeadAttentionForward: unknown option 'heads' (known: numHeads, mask, dropout)",
    );
    const { cache } = fwd({ numHeads: 2 });
    expect(() => multiHeadAttentionBackward(Tensor.zeros([2, 5, 4], 'float64'), cache)).toThrow(
      'multiHeadAttentionBackward: dout has shape [2,5,4] but the forward output was [2,3,4]',
    );
    expect(() => multiHeadAttentionBackward(Tensor.zeros([2, 3, 4]), cache)).toThrow(
      'multiHeadAttentionBackward: dout has dtype float32 but query has dtype float64',
    );
  });
});
