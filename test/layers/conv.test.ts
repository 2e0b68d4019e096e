// test/layers/conv.test.ts: convForward/convBackward and the naive pair against torch's conv2d,
// against each other on many random geometries, and against centred differences.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import { kernelsFor } from '../../src/kernels/index.js';
import {
  convBackward,
  convBackwardNaive,
  convForward,
  convForwardNaive,
  type ConvBackwardOptions,
  type ConvCache,
  type ConvParam,
} from '../../src/layers/conv.js';
import { Rng, Tensor, type FloatDType, type FloatTensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, numericGrad, randn64, sameBits, snapshot } from '../helpers.js';

type Entry = { shape: number[]; data: number[] };
interface ConvCase {
  stride: number;
  pad: number;
  x: Entry;
  w: Entry;
  b: Entry;
  dout: Entry;
  out: Entry;
  dx: Entry;
  dw: Entry;
  db: Entry;
}

const pairs = [
  ['fast', convForward, convBackward],
  ['naive', convForwardNaive, convBackwardNaive],
] as const;

/** max |a − b| / max |b|: the error relative to the size of the result (sums of many signed terms
 * can cancel to tiny entries, where an elementwise relative error only measures rounding). */
function normwiseError(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  let diff = 0,
    scale = 0;
  for (let i = 0; i < a.size; i++) {
    diff = Math.max(diff, Math.abs(a.data[i] - b.data[i]));
    scale = Math.max(scale, Math.abs(b.data[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

describe('conv against torch.nn.functional.conv2d (float64 fixtures)', () => {
  const { cases, generator } = fixture<{ cases: ConvCase[] }>('conv');
  it('comes from the committed generator', () => {
    expect(generator).toContain('test/fixtures/gen/conv.py');
    expect(cases.length).toBeGreaterThanOrEqual(6);
  });
  for (const [name, forward, backward] of pairs) {
    it(`${name}: outputs and gradients match on every geometry`, () => {
      for (const c of cases) {
        const [x, w, b, dout] = [c.x, c.w, c.b, c.dout].map(fromFixture);
        const { out, cache } = forward(x, w, b, { stride: c.stride, pad: c.pad });
        expect(out.shape).toEqual(c.out.shape);
        expect(relError(out, fromFixture(c.out))).toBeLessThan(1e-10);
        const { dx, dw, db } = backward(dout, cache);
        expect(relError(dx, fromFixture(c.dx))).toBeLessThan(1e-10);
        expect(relError(dw, fromFixture(c.dw))).toBeLessThan(1e-10);
        expect(relError(db, fromFixture(c.db))).toBeLessThan(1e-10);
      }
    });
  }
});

describe('convForward/convBackward equal the naive loops', () => {
  it('on 80 random geometries (strides 1-3, pads 0-2, 1x1 and oversized kernels), to 1e-12', () => {
    const rng = new Rng(44);
    const pick = (lo: number, hi: number) => lo + rng.int(hi - lo + 1);
    let checked = 0;
    for (let trial = 0; checked < 80; trial++) {
      const N = pick(1, 3),
        C = pick(1, 3),
        H = pick(1, 8),
        W = pick(1, 8),
        F = pick(1, 4);
      const HH = pick(1, 6),
        WW = pick(1, 6),
        stride = pick(1, 3),
        pad = pick(0, 2);
      if (H + 2 * pad < HH || W + 2 * pad < WW) continue; // empty output: rejected, tested below
      const x = randn64([N, C, H, W], 3 * trial),
        w = randn64([F, C, HH, WW], 3 * trial + 1);
      const b = randn64([F], 3 * trial + 2);
      const param = { stride, pad };
      const fast = convForward(x, w, b, param),
        naive = convForwardNaive(x, w, b, param);
      const geometry = `x ${x.shape} w ${w.shape} stride ${stride} pad ${pad}`;
      expect(normwiseError(fast.out, naive.out), geometry).toBeLessThan(1e-12);
      const dout = randn64(fast.out.shape, 1000 + trial);
      const g1 = convBackward(dout, fast.cache),
        g2 = convBackwardNaive(dout, naive.cache);
      expect(normwiseError(g1.dx, g2.dx), geometry).toBeLessThan(1e-12);
      expect(normwiseError(g1.dw, g2.dw), geometry).toBeLessThan(1e-12);
      expect(normwiseError(g1.db, g2.db), geometry).toBeLessThan(1e-12);
      checked++;
    }
  });

  it('agrees in float32 too (1e-5), and keeps the dtype', () => {
    const x = Tensor.randn([2, 3, 9, 7], { seed: 1 }),
      w = Tensor.randn([4, 3, 3, 2], { seed: 2 });
    const b = Tensor.randn([4], { seed: 3 }),
      param = { stride: 2, pad: 1 };
    const fast = convForward(x, w, b, param),
      naive = convForwardNaive(x, w, b, param);
    expect(fast.out.dtype).toBe('float32');
    expect(normwiseError(fast.out, naive.out)).toBeLessThan(1e-5);
    const dout = Tensor.randn(fast.out.shape, { seed: 4 });
    const g1 = convBackward(dout, fast.cache),
      g2 = convBackwardNaive(dout, naive.cache);
    for (const key of ['dx', 'dw', 'db'] as const) {
      expect(g1[key].dtype).toBe('float32');
      expect(normwiseError(g1[key], g2[key])).toBeLessThan(1e-5);
    }
  });

  it('when the batch is lowered in several blocks (2 + 2 + 1 images of 101 x 256 columns), to 1e-12', () => {
    // (C·HH·WW + 1)·Hout·Wout = 101·256 entries an image: the 2^16 cap of one block fits 2 images
    const x = randn64([5, 4, 16, 16], 7),
      w = randn64([3, 4, 5, 5], 8),
      b = randn64([3], 9);
    const param = { stride: 1, pad: 2 };
    const fast = convForward(x, w, b, param),
      naive = convForwardNaive(x, w, b, param);
    expect(normwiseError(fast.out, naive.out)).toBeLessThan(1e-12);
    const dout = randn64(fast.out.shape, 10);
    const g1 = convBackward(dout, fast.cache),
      g2 = convBackwardNaive(dout, naive.cache);
    for (const key of ['dx', 'dw', 'db'] as const)
      expect(normwiseError(g1[key], g2[key]), key).toBeLessThan(1e-12);
  });
});

describe('conv gradients match centred differences (float64)', () => {
  const geometries: Array<[number[], number[], ConvParam]> = [
    [[2, 3, 5, 4], [3, 3, 3, 2], { stride: 1, pad: 1 }],
    [[1, 2, 7, 6], [2, 2, 3, 3], { stride: 2, pad: 0 }],
    [[1, 1, 3, 3], [2, 1, 4, 5], { stride: 3, pad: 2 }],
  ];
  for (const [name, forward, backward] of pairs) {
    it(`${name}: dx, dw, db (relError < 1e-7; conv is linear in each argument)`, () => {
      geometries.forEach(([xs, ws, param], i) => {
        const x = randn64(xs, 10 * i),
          w = randn64(ws, 10 * i + 1),
          b = randn64([ws[0]], 10 * i + 2);
        const { out, cache } = forward(x, w, b, param);
        const dout = randn64(out.shape, 10 * i + 3);
        const { dx, dw, db } = backward(dout, cache);
        expect(
          relError(
            dx,
            numericGrad((t) => forward(t, w, b, param).out, x, dout),
          ),
        ).toBeLessThan(1e-7);
        expect(
          relError(
            dw,
            numericGrad((t) => forward(x, t, b, param).out, w, dout),
          ),
        ).toBeLessThan(1e-7);
        expect(
          relError(
            db,
            numericGrad((t) => forward(x, w, t, param).out, b, dout),
          ),
        ).toBeLessThan(1e-7);
      });
    });
  }
});

describe('conv errors name the function, argument and shapes', () => {
  const x = Tensor.zeros([2, 4, 5, 5]),
    w = Tensor.zeros([2, 3, 3, 3]),
    b = Tensor.zeros([2]);
  it('rejects filters with the wrong channel count', () => {
    expect(() => convForward(x, w, b)).toThrow(
      'convForward: w has shape [2,3,3,3] but x has 4 channels',
    );
    expect(() => convForwardNaive(x, w, b)).toThrow(
      'convForwardNaive: w has shape [2,3,3,3] but x has 4 channels',
    );
  });
  it('rejects a bias of the wrong length, a 3-D x and mixed dtypes', () => {
    const w4 = Tensor.zeros([2, 4, 3, 3]);
    expect(() => convForward(x, w4, Tensor.zeros([3]))).toThrow(
      'convForward: b has shape [3] but w has 2 filters',
    );
    expect(() => convForward(Tensor.zeros([4, 5, 5]), w4, b)).toThrow(
      'convForward: x has shape [4,5,5] but must be 4-D (N, C, H, W)',
    );
    expect(() => convForward(x, Tensor.zeros([2, 4, 3, 3], 'float64'), b)).toThrow(
      'convForward: w has dtype float64 but x has dtype float32',
    );
  });
  it('rejects geometries with an empty output, bad options and unknown keys', () => {
    const w4 = Tensor.zeros([2, 4, 6, 3]);
    expect(() => convForward(x, w4, b)).toThrow(
      'convForward: the 6x3 filter does not fit the padded input 5x5 (x has shape [2,4,5,5], pad 0), so the output would be empty',
    );
    expect(convForward(x, w4, b, { pad: 1 }).out.shape).toEqual([2, 2, 2, 5]);
    expect(() => convForward(x, Tensor.zeros([2, 4, 3, 3]), b, { stride: 0 })).toThrow(
      'convForward: stride must be >= 1, got 0',
    );
    expect(() => convForward(x, Tensor.zeros([2, 4, 3, 3]), b, { pad: 0.5 })).toThrow(
      'convForward: pad must be an integer, got 0.5',
    );
    expect(() =>
      convForward(x, Tensor.zeros([2, 4, 3, 3]), b, { strides: 1 } as ConvParam),
    ).toThrow("convForward: unknown option 'strides' (did you mean 'stride'?)");
  });
  it('rejects a dout that does not fit the forward output', () => {
    const { cache } = convForward(x, Tensor.zeros([2, 4, 3, 3]), b, { pad: 1 });
    expect(() => convBackward(Tensor.zeros([2, 2, 4, 5]), cache)).toThrow(
      'convBackward: dout has shape [2,2,4,5] but the forward output was [2,2,5,5]',
    );
  });
});

describe('conv edge cases', () => {
  it('never modifies x, w, b, dout or the cache', () => {
    for (const [, forward, backward] of pairs) {
      const x = randn64([2, 2, 5, 5], 1),
        w = randn64([3, 2, 3, 3], 2),
        b = randn64([3], 3);
      const same = snapshot(x, w, b);
      const { out, cache } = forward(x, w, b, { stride: 2, pad: 1 });
      const dout = randn64(out.shape, 4),
        sameDout = snapshot(dout);
      const geometry = { ...cache.geometry };
      backward(dout, cache);
      expect(same()).toBe(true);
      expect(sameDout()).toBe(true);
      expect(cache.geometry).toEqual(geometry);
    }
  });

  it('fills dx with pad = 0 and N = 1, and gives fresh gradients on each call', () => {
    const x = randn64([1, 2, 4, 4], 5),
      w = randn64([2, 2, 3, 3], 6),
      b = randn64([2], 7);
    const { out, cache } = convForward(x, w, b);
    expect(out.shape).toEqual([1, 2, 2, 2]);
    const dout = randn64(out.shape, 8);
    const first = convBackward(dout, cache),
      second = convBackward(dout, cache);
    expect(first.dx).not.toBe(second.dx);
    expect(first.dx.data.every((v) => v !== 0)).toBe(true); // every pixel is read by some window
    expect(relError(first.dx, second.dx)).toBe(0);
    expect(relError(first.dw, second.dw)).toBe(0);
  });

  it("a 1x1 kernel is a per-pixel matrix product; each backward accepts the other forward's cache", () => {
    const x = randn64([2, 3, 2, 3], 9),
      w = randn64([2, 3, 1, 1], 10),
      b = randn64([2], 11);
    const { out, cache } = convForward(x, w, b);
    for (let n = 0; n < 2; n++)
      for (let f = 0; f < 2; f++)
        for (let p = 0; p < 6; p++) {
          let s = b.data[f];
          for (let c = 0; c < 3; c++) s += w.data[f * 3 + c] * x.data[(n * 3 + c) * 6 + p];
          expect(out.data[(n * 2 + f) * 6 + p]).toBeCloseTo(s, 12);
        }
    const dout = randn64(out.shape, 12);
    const naiveCache: ConvCache = convForwardNaive(x, w, b).cache;
    expect(
      normwiseError(convBackwardNaive(dout, cache).dx, convBackward(dout, naiveCache).dx),
    ).toBeLessThan(1e-14);
  });

  it('windows that lie entirely in the padding give just the bias', () => {
    const x = Tensor.full([1, 1, 1, 1], 2, 'float64'),
      w = Tensor.full([1, 1, 1, 1], 3, 'float64');
    const b = Tensor.full([1], 0.5, 'float64');
    const { out } = convForward(x, w, b, { pad: 2, stride: 2 }); // reads rows/cols -2, 0, 2
    expect(Array.from(out.data)).toEqual([0.5, 0.5, 0.5, 0.5, 6.5, 0.5, 0.5, 0.5, 0.5]);
  });

  it('an empty batch gives an empty output and zero filter gradients', () => {
    const x = Tensor.zeros([0, 2, 4, 4], 'float64'),
      w = randn64([3, 2, 3, 3], 1),
      b = randn64([3], 2);
    const { out, cache } = convForward(x, w, b, { pad: 1 });
    expect(out.shape).toEqual([0, 3, 4, 4]);
    const { dx, dw, db } = convBackward(Tensor.zeros([0, 3, 4, 4], 'float64'), cache);
    expect(dx.shape).toEqual([0, 2, 4, 4]);
    expect((dw as FloatTensor).data.every((v) => v === 0) && db.data.every((v) => v === 0)).toBe(
      true,
    );
  });
});

describe('conv backward with { inputGrad: false } (the first layer: no dx)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });
  // [x shape, w shape, param]: pad 0 and > 0, stride 1 and 2; the last one lowers 2 + 2 + 1 blocks
  const geometries: Array<[number[], number[], ConvParam]> = [
    [[2, 3, 6, 5], [4, 3, 3, 2], { stride: 1, pad: 0 }],
    [[2, 2, 7, 7], [3, 2, 5, 5], { stride: 1, pad: 2 }],
    [[3, 2, 9, 8], [2, 2, 3, 3], { stride: 2, pad: 0 }],
    [[2, 3, 7, 6], [4, 3, 3, 3], { stride: 2, pad: 1 }],
    [[5, 4, 16, 16], [3, 4, 5, 5], { stride: 1, pad: 2 }],
  ];
  const dtypes: FloatDType[] = ['float32', 'float64'];
  for (const [name, forward, backward] of pairs) {
    for (const dtype of dtypes) {
      it(`${name}, ${dtype}: dw and db equal the default call's, and there is no dx`, () => {
        geometries.forEach(([xs, ws, param], i) => {
          const seed = (k: number) => ({ seed: 10 * i + k, dtype });
          const x = Tensor.randn(xs, seed(0)),
            w = Tensor.randn(ws, seed(1)),
            b = Tensor.randn([ws[0]], seed(2));
          const { out, cache } = forward(x, w, b, param);
          const dout = Tensor.randn(out.shape, seed(3));
          const full = backward(dout, cache),
            some = backward(dout, cache, { inputGrad: false });
          const geometry = `x ${xs} w ${ws} stride ${param.stride} pad ${param.pad}`;
          expect(full.dx.shape, geometry).toEqual(xs); // the default still gives dx
          expect(Object.keys(some).sort(), geometry).toEqual(['db', 'dw']);
          expect('dx' in some, geometry).toBe(false);
          // @ts-expect-error: the { inputGrad: false } overload returns { dw, db }, without dx
          expect(some.dx, geometry).toBeUndefined();
          for (const key of ['dw', 'db'] as const) {
            expect(some[key].dtype, `${geometry} ${key}`).toBe(dtype);
            expect(some[key].shape, `${geometry} ${key}`).toEqual(full[key].shape);
            // the wasm backend's direct kernel (stride 1, C·HH·WW <= 75, float32) sums in another order
            // than the lowered product that the default call runs with dx; everything else: bit for bit
            const direct =
              name === 'fast' &&
              dtype === 'float32' &&
              param.stride === 1 &&
              ws[1] * ws[2] * ws[3] <= 75;
            if (direct) {
              const tol = 1e-5,
                scale = Math.sqrt(out.size / out.shape[1]);
              const err = Math.max(
                ...Array.from(
                  some[key].data,
                  (v, j) => Math.abs(v - full[key].data[j]) / (scale + Math.abs(full[key].data[j])),
                ),
              );
              expect(err, `${geometry} ${key}`).toBeLessThan(tol);
            } else {
              expect(sameBits(some[key].data, full[key].data), `${geometry} ${key}`).toBe(true);
            }
            expect(
              some[key].data.some((v) => v !== 0),
              `${geometry} ${key}`,
            ).toBe(true);
          }
        });
      });
    }

    it(`${name}: { inputGrad: true } and {} are the default call, bit for bit`, () => {
      const x = randn64([2, 2, 6, 6], 1),
        w = randn64([3, 2, 3, 3], 2),
        b = randn64([3], 3);
      const { out, cache } = forward(x, w, b, { stride: 2, pad: 1 });
      const dout = randn64(out.shape, 4);
      const want = backward(dout, cache);
      for (const options of [{ inputGrad: true }, {}, { inputGrad: undefined }] as const) {
        const got = backward(dout, cache, options);
        for (const key of ['dx', 'dw', 'db'] as const) {
          expect(sameBits(got[key].data, want[key].data), `${JSON.stringify(options)} ${key}`).toBe(
            true,
          );
        }
      }
      // an option whose value is only known at run time: the result type is the union
      const flag: boolean = out.size < 0;
      const maybe: ConvBackwardOptions = { inputGrad: flag };
      expect('dx' in backward(dout, cache, maybe)).toBe(false);
    });
  }

  it('fast: runs no col2im and one gemm a block instead of two (float32 and float64)', () => {
    for (const dtype of dtypes) {
      // 5 images of 101 x 256 columns: blocks of 2 + 2 + 1 images
      const x = Tensor.randn([5, 4, 16, 16], { seed: 1, dtype }),
        w = Tensor.randn([3, 4, 5, 5], { seed: 2, dtype });
      const { out, cache } = convForward(x, w, Tensor.randn([3], { seed: 3, dtype }), { pad: 2 });
      const dout = Tensor.randn(out.shape, { seed: 4, dtype });
      const k = kernelsFor(dtype);
      const gemm = vi.spyOn(k, 'gemm'),
        col2im = vi.spyOn(k, 'col2im');
      convBackward(dout, cache);
      expect([gemm.mock.calls.length, col2im.mock.calls.length], dtype).toEqual([6, 3]);
      gemm.mockClear();
      col2im.mockClear();
      convBackward(dout, cache, { inputGrad: false });
      expect([gemm.mock.calls.length, col2im.mock.calls.length], dtype).toEqual([3, 0]);
      vi.restoreAllMocks();
    }
  });

  it('rejects a non-boolean inputGrad and unknown keys, naming the function and the option', () => {
    const x = randn64([1, 1, 4, 4], 1),
      w = randn64([2, 1, 3, 3], 2),
      b = randn64([2], 3);
    const { out, cache } = convForward(x, w, b);
    const dout = randn64(out.shape, 4);
    const bad = (o: unknown) => o as ConvBackwardOptions;
    for (const [fname, backward] of [
      ['convBackward', convBackward],
      ['convBackwardNaive', convBackwardNaive],
    ] as const) {
      expect(() => backward(dout, cache, bad({ inputGrad: 'no' }))).toThrow(
        `${fname}: inputGrad must be true or false, got 'no'`,
      );
      expect(() => backward(dout, cache, bad({ inputGrad: 0 }))).toThrow(
        `${fname}: inputGrad must be true or false, got 0`,
      );
      expect(() => backward(dout, cache, bad({ inputGrad: null }))).toThrow(
        `${fname}: inputGrad must be true or false, got null`,
      );
      expect(() => backward(dout, cache, bad({ inputGrads: false }))).toThrow(
        `${fname}: unknown option 'inputGrads' (did you mean 'inputGrad'?)`,
      );
      expect(() => backward(dout, cache, bad(false))).toThrow(
        `${fname}: options must be an object`,
      );
    }
  });
});
