// test/layers/pool.test.ts: max and average pooling against torch's max_pool2d / avg_pool2d,
// centred differences, error texts, ties, overlaps and no mutation.
import { describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import {
  avgPoolBackward,
  avgPoolForward,
  maxPoolBackward,
  maxPoolForward,
  reluMaxPool2x2Backward,
  reluMaxPool2x2Forward,
  type PoolParam,
} from '../../src/layers/pool.js';
import { reluBackward, reluForward } from '../../src/layers/activations.js';
import { setBackend } from '../../src/kernels/index.js';
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
        const x = fromFixture(c.x),
          dout = fromFixture(c.dout);
        const { out, backward } = forward(x, {
          poolHeight: c.poolHeight,
          poolWidth: c.poolWidth,
          stride: c.stride,
        });
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
        expect(
          relError(
            dx,
            numericGrad((t) => forward(t, param).out, x, dout),
          ),
        ).toBeLessThan(1e-7);
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
    expect(() =>
      maxPoolForward(x, { poolHeight: 2, poolWdth: 2, stride: 2 } as unknown as PoolParam),
    ).toThrow("maxPoolForward: unknown option 'poolWdth' (did you mean 'poolWidth'?)");
    expect(() =>
      maxPoolForward(Tensor.zeros([3, 4, 5]), { poolHeight: 2, poolWidth: 2, stride: 2 }),
    ).toThrow('maxPoolForward: x has shape [3,4,5] but must be 4-D (N, C, H, W)');
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
    expect(
      Array.from(
        maxPoolBackward(Tensor.from([1, 2, 3, 4], [1, 1, 2, 2], 'float64'), shared.cache).dx.data,
      ),
    ).toEqual([0, 0, 0, 0, 10, 0, 0, 0, 0]);
  });

  it('max pooling propagates NaN instead of hiding it', () => {
    const x = Tensor.from([1, NaN, 3, 2], [1, 1, 2, 2], 'float64');
    expect(
      Number.isNaN(maxPoolForward(x, { poolHeight: 2, poolWidth: 2, stride: 2 }).out.data[0]),
    ).toBe(true);
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
      const x = randn64([2, 2, 5, 5], 1),
        same = snapshot(x);
      const { out, cache, backward } = forward(x, { poolHeight: 3, poolWidth: 2, stride: 1 });
      const dout = randn64(out.shape, 2),
        sameDout = snapshot(dout);
      const before = JSON.stringify(cache, (k, v) =>
        k === 'x' ? undefined : v instanceof Int32Array ? Array.from(v) : v,
      );
      const first = backward(dout),
        second = backward(dout);
      expect(first).not.toBe(second);
      expect(relError(first, second)).toBe(0);
      expect(same() && sameDout()).toBe(true);
      expect(
        JSON.stringify(cache, (k, v) =>
          k === 'x' ? undefined : v instanceof Int32Array ? Array.from(v) : v,
        ),
      ).toBe(before);
    }
  });
});

describe('the unrolled 2x2 stride-2 max pool agrees with the general scan', () => {
  const pp = { poolHeight: 2, poolWidth: 2, stride: 2 };
  /** Inputs that stress the tournament: ties (small integers, relu zeros, ±0), NaN, ±∞, odd H and W. */
  function hardInputs(): FloatTensor[] {
    const ints = randn64([2, 3, 7, 9], 20);
    for (let i = 0; i < ints.size; i++) ints.data[i] = Math.round(ints.data[i]); // many ties
    const relu = randn64([3, 2, 8, 6], 21);
    for (let i = 0; i < relu.size; i++) relu.data[i] = Math.max(relu.data[i], 0);
    const special = randn64([1, 2, 6, 8], 22);
    const values = [NaN, Infinity, -Infinity, -0, 0, NaN, Infinity];
    for (let i = 0; i < special.size; i += 3) special.data[i] = values[(i / 3) % values.length];
    const f32 = Tensor.from(randn64([2, 2, 5, 5], 23).data, [2, 2, 5, 5], 'float32');
    return [
      ints,
      relu,
      special,
      f32,
      Tensor.full([1, 1, 4, 4], NaN, 'float64'),
      randn64([4, 3, 10, 11], 24),
    ];
  }
  /**
   * x with a filler row and column after every 2x2 window: (N, C, H, W) => (N, C, 3·Hout, 3·Wout),
   * window (ho, wo) moved to rows 3ho, 3ho + 1 and columns 3wo, 3wo + 1. A 2x2 pool at stride 3
   * sees exactly the windows of the 2x2 pool at stride 2 on x, but runs the general loop.
   */
  type At = (n: number, c: number, h: number, w: number) => number; // index in the spaced-out copy
  function spacedOut(x: FloatTensor): { spaced: FloatTensor; at: At } {
    const [N, C, H, W] = x.shape,
      Hout = Math.floor(H / 2),
      Wout = Math.floor(W / 2),
      Hs = 3 * Hout,
      Ws = 3 * Wout;
    const spaced = Tensor.full([N, C, Hs, Ws], 1e30, x.dtype); // fillers never enter a window
    const at: At = (n, c, h, w) =>
      ((n * C + c) * Hs + 3 * Math.floor(h / 2) + (h % 2)) * Ws + 3 * Math.floor(w / 2) + (w % 2);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        for (let h = 0; h < 2 * Hout; h++) {
          for (let w = 0; w < 2 * Wout; w++)
            spaced.data[at(n, c, h, w)] = x.data[((n * C + c) * H + h) * W + w];
        }
      }
    }
    return { spaced, at };
  }
  it('same outputs (NaN and -0 included) and the same dx as the general loop', () => {
    for (const x of hardInputs()) {
      const [N, C, H, W] = x.shape;
      const fast = maxPoolForward(x, pp),
        { spaced, at } = spacedOut(x);
      const scan = maxPoolForward(spaced, { poolHeight: 2, poolWidth: 2, stride: 3 });
      expect(fast.out.shape).toEqual(scan.out.shape);
      expect(Array.from(fast.out.data).every((v, i) => Object.is(v, scan.out.data[i]))).toBe(true);
      expect(fast.cache.argmax).toBeUndefined(); // the 2x2 backward finds the maxima again from x
      const dout = Tensor.randn(fast.out.shape, { seed: 25, dtype: x.dtype });
      const dx = maxPoolBackward(dout, fast.cache).dx,
        dxScan = maxPoolBackward(dout, scan.cache).dx;
      const moved = new Array<number>(x.size).fill(0); // dxScan brought back to x's positions
      for (let n = 0; n < N; n++) {
        for (let c = 0; c < C; c++) {
          for (let h = 0; h < 2 * Math.floor(H / 2); h++) {
            for (let w = 0; w < 2 * Math.floor(W / 2); w++) {
              moved[((n * C + c) * H + h) * W + w] = dxScan.data[at(n, c, h, w)];
            }
          }
        }
      }
      expect(Array.from(dx.data)).toEqual(moved);
      const nonzero = (a: ArrayLike<number>) => Array.from(a).filter((v) => v !== 0).length;
      expect(nonzero(dxScan.data)).toBe(nonzero(moved)); // the fillers got nothing
    }
  });
  it('ties keep the first maximum in row-major order, and the first NaN wins', () => {
    const x = Tensor.from(
      [1, 1, 1, 1, 0, 2, 2, 0, NaN, 5, NaN, 1, 3, NaN, 3, NaN],
      [4, 1, 2, 2],
      'float64',
    );
    const { out, cache } = maxPoolForward(x, pp);
    expect(Array.from(out.data)).toEqual([1, 2, NaN, NaN]);
    const { dx } = maxPoolBackward(Tensor.from([1, 2, 3, 4], [4, 1, 1, 1], 'float64'), cache);
    expect(Array.from(dx.data)).toEqual([1, 0, 0, 0, 0, 2, 0, 0, 3, 0, 0, 0, 0, 4, 0, 0]); // windows' cells 0, 1, 0, 1
  });
  it('each window sends its gradient to exactly one input, one holding the window maximum', () => {
    const x = randn64([2, 2, 6, 6], 26),
      { out } = maxPoolForward(x, pp),
      [, , Hout, Wout] = out.shape;
    const dout = Tensor.from(
      Array.from({ length: out.size }, (_, i) => i + 1),
      out.shape,
      'float64',
    );
    const dx = maxPoolBackward(dout, maxPoolForward(x, pp).cache).dx;
    for (let plane = 0; plane < 4; plane++) {
      for (let o = 0; o < Hout * Wout; o++) {
        const ho = Math.floor(o / Wout),
          wo = o % Wout,
          outAt = plane * Hout * Wout + o;
        const cells = [0, 1, 6, 7].map((d) => plane * 36 + 2 * ho * 6 + 2 * wo + d);
        const hit = cells.filter((i) => dx.data[i] !== 0);
        expect(hit.length).toBe(1);
        expect(dx.data[hit[0]]).toBe(outAt + 1);
        expect(x.data[hit[0]]).toBe(out.data[outAt]);
      }
    }
  });
});

describe('reluMaxPool2x2Forward/Backward: relu then the 2x2 pool, fused', () => {
  const pp = { poolHeight: 2, poolWidth: 2, stride: 2 };
  const same = (a: Tensor, b: Tensor): boolean =>
    a.shape.join() === b.shape.join() &&
    Array.from(a.data).every((v, i) => Object.is(v, b.data[i]));
  /** Signed ties (relu makes every negative a 0), ±0, NaN, ±∞, odd H and W, in both dtypes. */
  function inputs(): FloatTensor[] {
    const ties = randn64([2, 3, 7, 9], 30);
    for (let i = 0; i < ties.size; i++) ties.data[i] = Math.round(ties.data[i]);
    const special = randn64([2, 2, 6, 19], 31);
    const values = [NaN, Infinity, -Infinity, -0, 0, -1, 2];
    for (let i = 0; i < special.size; i += 3) special.data[i] = values[(i / 3) % values.length];
    const xs = [ties, special, randn64([4, 3, 10, 11], 32), randn64([3, 2, 28, 28], 33)];
    return [...xs, ...xs.map((x) => Tensor.from(x.data, x.shape, 'float32'))];
  }
  it('equals reluForward then maxPoolForward, and their backwards, exactly (every backend)', () => {
    for (const backend of ['reference', 'auto'] as const) {
      setBackend(backend);
      try {
        for (const x of inputs()) {
          const relu = reluForward(x),
            pool = maxPoolForward(relu.out, pp);
          const fused = reluMaxPool2x2Forward(x);
          expect(same(fused.out, pool.out), `${backend} ${x.dtype} ${x.shape}`).toBe(true);
          const dout = Tensor.randn(pool.out.shape, { seed: 34, dtype: x.dtype });
          const want = reluBackward(maxPoolBackward(dout, pool.cache).dx, relu.cache).dx;
          const got = reluMaxPool2x2Backward(dout, fused.cache).dx;
          expect(same(got, want), `${backend} ${x.dtype} ${x.shape} dx`).toBe(true);
        }
      } finally {
        setBackend('auto');
      }
    }
  });
  it('dx matches centred differences (float64)', () => {
    // random normals: no ties and no input within h of 0 or of another in its window
    const x = randn64([2, 3, 7, 8], 35);
    const { out, cache } = reluMaxPool2x2Forward(x);
    const dout = randn64(out.shape, 36);
    const dx = reluMaxPool2x2Backward(dout, cache).dx;
    expect(
      relError(
        dx,
        numericGrad((t) => reluMaxPool2x2Forward(t).out, x, dout),
      ),
    ).toBeLessThan(1e-7);
  });
  it('errors name the function and the shapes', () => {
    expect(() => reluMaxPool2x2Forward(Tensor.zeros([2, 3, 1, 5]))).toThrow(
      'reluMaxPool2x2Forward: the 2x2 pool window does not fit x of shape [2,3,1,5], so the output would be empty',
    );
    const { cache } = reluMaxPool2x2Forward(Tensor.zeros([2, 3, 4, 5]));
    expect(() => reluMaxPool2x2Backward(Tensor.zeros([2, 3, 2, 3]), cache)).toThrow(
      'reluMaxPool2x2Backward: dout has shape [2,3,2,3] but the forward output was [2,3,2,2]',
    );
  });
});
