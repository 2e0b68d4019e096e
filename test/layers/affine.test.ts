import { describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import { affineBackward, affineForward } from '../../src/layers/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, numericGrad, randn64, sameBits, snapshot } from '../helpers.js';

type T = { shape: number[]; data: number[] };
const ref = fixture<{
  cases: { affine: Record<'x' | 'w' | 'b' | 'dout' | 'out' | 'dx' | 'dw' | 'db', T> };
}>('fc_layers').cases.affine;

describe('affine', () => {
  it('matches PyTorch reference values (float64)', () => {
    const [x, w, b, dout] = [ref.x, ref.w, ref.b, ref.dout].map(fromFixture);
    const { out, cache } = affineForward(x, w, b);
    expect(out.shape).toEqual(ref.out.shape);
    expect(relError(out, ref.out.data)).toBeLessThan(1e-12);
    const { dx, dw, db } = affineBackward(dout, cache);
    expect(dx.shape).toEqual([3, 2, 4]);
    expect(relError(dx, ref.dx.data)).toBeLessThan(1e-12);
    expect(relError(dw, ref.dw.data)).toBeLessThan(1e-12);
    expect(relError(db, ref.db.data)).toBeLessThan(1e-12);
  });

  it('matches a hand-computed 2x2 example', () => {
    const x = Tensor.from(
      [
        [1, 2],
        [3, 4],
      ],
      undefined,
      'float64',
    );
    const w = Tensor.from(
      [
        [1, 0, -1],
        [2, 1, 0],
      ],
      undefined,
      'float64',
    );
    const b = Tensor.from([0.5, 0, -0.5], undefined, 'float64');
    const { out, cache } = affineForward(x, w, b);
    expect(out.toArray()).toEqual([
      [5.5, 2, -1.5],
      [11.5, 4, -3.5],
    ]);
    const { dx, dw, db } = affineBackward(
      Tensor.from(
        [
          [1, 0, 0],
          [0, 0, 1],
        ],
        undefined,
        'float64',
      ),
      cache,
    );
    expect(dx.toArray()).toEqual([
      [1, 2],
      [-1, 0],
    ]);
    expect(dw.toArray()).toEqual([
      [1, 0, 3],
      [2, 0, 4],
    ]);
    expect(db.toArray()).toEqual([1, 0, 1]);
  });

  it('backward matches centred differences (float64)', () => {
    const [x, w, b] = [[3, 2, 2], [4, 5], [5]].map((s, i) => randn64(s, i + 1));
    const dout = randn64([3, 5], 9);
    const { dx, dw, db } = affineBackward(dout, affineForward(x, w, b).cache);
    expect(
      relError(
        dx,
        numericGrad((t) => affineForward(t, w, b).out, x, dout),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        dw,
        numericGrad((t) => affineForward(x, t, b).out, w, dout),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        db,
        numericGrad((t) => affineForward(x, w, t).out, b, dout),
      ),
    ).toBeLessThan(1e-7);
  });

  it('does not modify its inputs, dout or cache; N = 1 works', () => {
    const x = randn64([1, 4], 1),
      w = randn64([4, 2], 2),
      b = randn64([2], 3),
      dout = randn64([1, 2], 4);
    const unchanged = snapshot(x, w, b, dout);
    const { cache } = affineForward(x, w, b);
    affineBackward(dout, cache);
    expect(unchanged()).toBe(true);
  });

  it('names the function, argument and shapes when w does not fit', () => {
    expect(() =>
      affineForward(Tensor.zeros([2, 4]), Tensor.zeros([5, 3]), Tensor.zeros([3])),
    ).toThrow('affineForward: w has shape [5,3] but x flattens to [2,4]');
    expect(() =>
      affineForward(Tensor.zeros([2, 4]), Tensor.zeros([4, 3]), Tensor.zeros([2])),
    ).toThrow('affineForward: b has shape [2] but w has 3 columns');
    expect(() =>
      affineForward(Tensor.zeros([2, 4]), Tensor.zeros([4, 3], 'float64'), Tensor.zeros([3])),
    ).toThrow('affineForward: w has dtype float64 but x has dtype float32');
    const { cache } = affineForward(Tensor.zeros([2, 4]), Tensor.zeros([4, 3]), Tensor.zeros([3]));
    expect(() => affineBackward(Tensor.zeros([2, 2]), cache)).toThrow(
      'affineBackward: dout has shape [2,2] but the forward output was [2,3]',
    );
  });
});

describe('affineBackward without the input gradient', () => {
  it('gives the same dw and db bit for bit, and no dx (float32 and float64, images as rows)', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const x = Tensor.randn([5, 3, 2, 2], { seed: 1, dtype }),
        w = Tensor.randn([12, 7], { seed: 2, dtype });
      const b = Tensor.randn([7], { seed: 3, dtype }),
        dout = Tensor.randn([5, 7], { seed: 4, dtype });
      const { cache } = affineForward(x, w, b);
      const all = affineBackward(dout, cache),
        some = affineBackward(dout, cache, { inputGrad: false });
      expect(Object.keys(some).sort()).toEqual(['db', 'dw']);
      // @ts-expect-error: the result type has no dx either
      expect(some.dx).toBeUndefined();
      expect(sameBits(some.dw.data, all.dw.data) && sameBits(some.db.data, all.db.data)).toBe(true);
      expect(sameBits(affineBackward(dout, cache, { inputGrad: true }).dx.data, all.dx.data)).toBe(
        true,
      );
    }
  });

  it('rejects a bad option with the function and option named', () => {
    const { cache } = affineForward(randn64([2, 3], 5), randn64([3, 4], 6), randn64([4], 7));
    const dout = randn64([2, 4], 8);
    expect(() => affineBackward(dout, cache, { inputGrad: 'no' as unknown as boolean })).toThrow(
      /affineBackward: inputGrad must be true or false/,
    );
    expect(() => affineBackward(dout, cache, { inputGrads: false } as never)).toThrow(
      /affineBackward: unknown option 'inputGrads'/,
    );
  });
});
