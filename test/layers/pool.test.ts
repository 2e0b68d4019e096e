// test/layers/pool.test.ts: max and average pooling against torch's max_pool2d / avg_pool2d,
// centred differences, error texts, ties, overlaps and no mutation.
import { describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import {
  avgPoolBackward, avgPoolForward, maxPoolBackward, maxPoolForward, type PoolParam,
} from '../../src/layers/pool.js';
import { Tensor, type FloatTensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, numericGrad, randn64, snapshot } from '../helpers.js';

type Entry = { shape: number[]; data: number[] };
interface PoolCase {
  poolHeight: number;
  poolWidth: number;
  stride: number;
  x: Entry;
  dout: Entry;
  max: { out: Entry; dx: Entry };
  avg: { out: Entry; dx: Entry };
}

/** A pooling pair behind one type: forward gives out, the cache and its backward. */
type Pooled = { out: FloatTensor; cache: object; backward: (dout: Tensor) => FloatTensor };
const maxPool = (x: Tensor, p: PoolParam): Pooled => {
  const { out, cache } = maxPoolForward(x, p);
  return { out, cache, backward: (dout) => maxPoolBackward(dout, cache).dx };
};
const avgPool = (x: Tensor, p: PoolParam): Pooled => {
  const { out, cache } = avgPoolForward(x, p);
  return { out, cache, backward: (dout) => avgPoolBackward(dout, cache).dx };
};
const kinds = [
  ['max', maxPool],
  ['avg', avgPool],
] as const;

describe('pooling against torch.nn.functional.max_pool2d / avg_pool2d (float64 fixtures)', () => {
  const { cases, generator } = fixture<{ cases: PoolCase[] }>('pool');
  it('comes from the committed generator', () => {
    expect(generator).toContain('test/fixtures/gen/pool.py');
    expect(cases.length).toBe(5);
  });
  for (const [kind, forward] of kinds) {
    it(`${kind}: outputs and dx match, including overlapping and tied windows`, () => {
      for (const c of cases) {
        const x = fromFixture(c.x), dout = fromFixture(c.dout);
        const { out, backward } = forward(x, { poolHeight: c.poolHeight, poolWidth: c.poolWidth, stride: c.stride });
        expect(out.shape).toEqual(c[kind].out.shape);
        expect(relError(out, fromFixture(c[kind].out))).toBeLessThan(1e-12);
        expect(relError(backward(dout), fromFixture(c[kind].dx))).toBeLessThan(1e-12);
      }
    });
  }
});

describe('pooling gradients match centred differences (float64)', () => {
  const params: PoolParam[] = [
    { poolHeight: 2, poolWidth: 2, stride: 2 },
    { poolHeight: 3, poolWidth: 2, stride: 1 }, // overlapping windows
    { poolHeight: 2, poolWidth: 3, stride: 3 }, // gaps between windows
  ];
  // Random normal inputs are tie-free, so max pooling is smooth around them (a kink would need
  // two window entries within h = 1e-5 of each other); average pooling is linear.
  for (const [kind, forward] of kinds) {
    it(`${kind}: dx (relError < 1e-7)`, () => {
      params.forEach((param, i) => {
        const x = randn64([2, 3, 7, 8], i);
        const { out, backward } = forward(x, param);
        const dout = randn64(out.shape, 10 + i);
        const dx = backward(dout);
        expect(relError(dx, numericGrad((t) => forward(t, param).out, x, dout))).toBeLessThan(1e-7);
      });
    });
  }
});

describe('pooling errors name the function, argument and shapes', () => {
  const x = Tensor.zeros([2, 3, 4, 5]);
  it('rejects windows larger than the input (empty output)', () => {
    expect(() => maxPoolForward(x, { poolHeight: 5, poolWidth: 2, stride: 1 })).toThrow(
      'maxPoolForward: the 5x2 pool window does not fit x of shape [2,3,4,5], so the output would be empty',
    );
    expect(() => avgPoolForward(x, { poolHeight: 2, poolWidth: 6, stride: 1 })).toThrow(
      'avgPoolForward: the 2x6 pool window does not fit x of shape [2,3,4,5], so the output would be empty',
    );
  });
  it('rejects missing, non-integer or unknown options, and non-4-D inputs', () => {
    expect(() => maxPoolForward(x, { poolHeight: 2, poolWidth: 2 } as PoolParam)).toThrow(
      'maxPoolForward: stride must be a finite number, got undefined',
    );
    expect(() => avgPoolForward(x, { poolHeight: 2, poolWidth: 2, stride: 1.5 })).toThrow(
      'avgPoolForward: stride must be an integer, got 1.5',
    );
    expect(() => maxPoolForward(x, { poolHeight: 2, poolWdth: 2, stride: 2 } as unknown as PoolParam)).toThrow(
      "maxPoolForward: unknown option 'poolWdth' (did you mean 'poolWidth'?)",
    );
    expect(() => maxPoolForward(Tensor.zeros([3, 4, 5]), { poolHeight: 2, poolWidth: 2, stride: 2 })).toThrow(
      'maxPoolForward: x has shape [3,4,5] but must be 4-D (N, C, H, W)',
    );
  });
  it('rejects a dout that does not fit the forward output', () => {
    const { cache } = maxPoolForward(x, { poolHeight: 2, poolWidth: 2, stride: 2 });
    expect(() => maxPoolBackward(Tensor.zeros([2, 3, 2, 3]), cache)).toThrow(
      'maxPoolBackward: dout has shape [2,3,2,3] but the forward output was [2,3,2,2]',
    );
    const avg = avgPoolForward(x, { poolHeight: 2, poolWidth: 2, stride: 2 });
    expect(() => avgPoolBackward(Tensor.zeros([2, 3, 2, 2], 'float64'), avg.cache)).toThrow(
      'avgPoolBackward: dout has dtype float64 but x has dtype float32',
    );
  });
});

describe('pooling edge cases', () => {
  it('a tie sends the gradient to the first maximum; overlapping windows add up', () => {
    // One 1x1x3x3 plane of equal values; 2x2 windows at stride 1 all start their scan at their
    // own top-left corner, so each window's gradient lands on a different pixel.
    const x = Tensor.full([1, 1, 3, 3], 1, 'float64');
    const { out, cache } = maxPoolForward(x, { poolHeight: 2, poolWidth: 2, stride: 1 });
    expect(Array.from(out.data)).toEqual([1, 1, 1, 1]);
    const { dx } = maxPoolBackward(Tensor.from([1, 2, 3, 4], [1, 1, 2, 2], 'float64'), cache);
    expect(Array.from(dx.data)).toEqual([1, 2, 0, 3, 4, 0, 0, 0, 0]);
    // A single peak shared by all four windows gets all four gradients.
    const peak = Tensor.from([0, 0, 0, 0, 5, 0, 0, 0, 0], [1, 1, 3, 3], 'float64');
    const shared = maxPoolForward(peak, { poolHeight: 2, poolWidth: 2, stride: 1 });
    expect(Array.from(maxPoolBackward(Tensor.from([1, 2, 3, 4], [1, 1, 2, 2], 'float64'), shared.cache).dx.data))
      .toEqual([0, 0, 0, 0, 10, 0, 0, 0, 0]);
  });

  it('max pooling propagates NaN instead of hiding it', () => {
    const x = Tensor.from([1, NaN, 3, 2], [1, 1, 2, 2], 'float64');
    expect(Number.isNaN(maxPoolForward(x, { poolHeight: 2, poolWidth: 2, stride: 2 }).out.data[0])).toBe(true);
  });

  it('average pooling spreads dout evenly, overlaps included', () => {
    const x = Tensor.zeros([1, 1, 2, 3], 'float64');
    const { cache } = avgPoolForward(x, { poolHeight: 2, poolWidth: 2, stride: 1 });
    const { dx } = avgPoolBackward(Tensor.from([4, 8], [1, 1, 1, 2], 'float64'), cache);
    expect(Array.from(dx.data)).toEqual([1, 3, 2, 1, 3, 2]);
  });

  it('a window the size of the input, N = 1, float32 kept', () => {
    const x = Tensor.from([1, 5, 2, 4, 3, 6], [1, 1, 2, 3]);
    const mx = maxPoolForward(x, { poolHeight: 2, poolWidth: 3, stride: 4 });
    const avg = avgPoolForward(x, { poolHeight: 2, poolWidth: 3, stride: 4 });
    expect(mx.out.dtype).toBe('float32');
    expect(Array.from(mx.out.data)).toEqual([6]);
    expect(Array.from(avg.out.data)).toEqual([3.5]);
  });

  it('never modifies x, dout or the cache, and returns fresh gradients', () => {
    for (const [, forward] of kinds) {
      const x = randn64([2, 2, 5, 5], 1), same = snapshot(x);
      const { out, cache, backward } = forward(x, { poolHeight: 3, poolWidth: 2, stride: 1 });
      const dout = randn64(out.shape, 2), sameDout = snapshot(dout);
      const before = JSON.stringify(cache, (k, v) => (k === 'x' ? undefined : v instanceof Int32Array ? Array.from(v) : v));
      const first = backward(dout), second = backward(dout);
      expect(first).not.toBe(second);
      expect(relError(first, second)).toBe(0);
      expect(same() && sameDout()).toBe(true);
      expect(JSON.stringify(cache, (k, v) => (k === 'x' ? undefined : v instanceof Int32Array ? Array.from(v) : v))).toBe(before);
    }
  });
});
