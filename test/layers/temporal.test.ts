import { describe, expect, it } from 'vitest';
import { evalNumericalGradient, relError } from '../../src/gradcheck/index.js';
import {
  temporalAffineBackward,
  temporalAffineForward,
  temporalSoftmaxLoss,
} from '../../src/layers/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, numericGrad, randn64, snapshot } from '../helpers.js';

type Entry = { shape: number[]; data: number[] };
type LossCase = {
  x: Entry;
  y: Entry;
  mask: { shape: number[]; data: boolean[] };
  loss: number;
  dx: Entry;
};
const fx = fixture<{ affine: Record<string, Entry> } & Record<string, LossCase>>('temporal');

describe('temporal affine', () => {
  it('matches torch.nn.functional.linear (float64)', () => {
    const c = fx.affine,
      [x, w, b, dout] = ['x', 'w', 'b', 'dout'].map((k) => fromFixture(c[k]));
    const { out, cache } = temporalAffineForward(x, w, b);
    expect(relError(out, fromFixture(c.out))).toBeLessThan(1e-12);
    const g = temporalAffineBackward(dout, cache);
    for (const k of ['dx', 'dw', 'db'] as const)
      expect(relError(g[k], fromFixture(c[k]))).toBeLessThan(1e-12);
  });

  it('backward matches centred differences (float64)', () => {
    const [x, w, b] = [[2, 3, 4], [4, 5], [5]].map((s, i) => randn64(s, i));
    const dout = randn64([2, 3, 5], 9);
    const g = temporalAffineBackward(dout, temporalAffineForward(x, w, b).cache);
    expect(
      relError(
        g.dx,
        numericGrad((t) => temporalAffineForward(t, w, b).out, x, dout),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.dw,
        numericGrad((t) => temporalAffineForward(x, t, b).out, w, dout),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.db,
        numericGrad((t) => temporalAffineForward(x, w, t).out, b, dout),
      ),
    ).toBeLessThan(1e-7);
  });

  it('names the shapes on bad input and leaves its inputs alone', () => {
    expect(() =>
      temporalAffineForward(Tensor.zeros([2, 3, 4]), Tensor.zeros([5, 2]), Tensor.zeros([2])),
    ).toThrow('temporalAffineForward: w has shape [5,2] but x has 4 features (shape [2,3,4])');
    const [x, w, b] = [[1, 1, 2], [2, 3], [3]].map((s, i) => randn64(s, i + 5));
    const unchanged = snapshot(x, w, b),
      { cache } = temporalAffineForward(x, w, b);
    const dout = randn64([1, 1, 3], 8),
      same = snapshot(dout);
    temporalAffineBackward(dout, cache);
    expect(unchanged() && same()).toBe(true);
    expect(() => temporalAffineBackward(Tensor.zeros([1, 2, 3], 'float64'), cache)).toThrow(
      'temporalAffineBackward: dout has shape [1,2,3] but the forward output was [1,1,3]',
    );
  });
});

describe('temporal softmax loss', () => {
  for (const name of ['loss', 'lossAllKept', 'lossLargeLogits']) {
    it(`matches masked torch cross_entropy summed and divided by N (${name}, float64)`, () => {
      const c = fx[name],
        x = fromFixture(c.x);
      const { loss, dx } = temporalSoftmaxLoss(
        x,
        Tensor.from(c.y.data, c.y.shape, 'int32'),
        c.mask.data,
      );
      expect(relError(loss, c.loss)).toBeLessThan(1e-10);
      expect(relError(dx, fromFixture(c.dx))).toBeLessThan(1e-9);
    });
  }

  it('dx matches centred differences (float64)', () => {
    const [N, T, V] = [3, 4, 5],
      x = randn64([N, T, V], 1);
    const y = [
      [0, 4, 1, 2],
      [3, 3, 0, 1],
      [2, 2, 2, 4],
    ];
    const mask = [
      [true, true, false, true],
      [true, false, false, false],
      [true, true, true, true],
    ];
    const { dx } = temporalSoftmaxLoss(x, y, mask);
    expect(
      relError(
        dx,
        evalNumericalGradient(() => temporalSoftmaxLoss(x, y, mask).loss, x),
      ),
    ).toBeLessThan(1e-7);
  });

  it('the classic sanity values: log V per kept step, divided by N', () => {
    const [N, T, V] = [100, 10, 10],
      x = randn64([N, T, V], 3, 0.001);
    const y = new Int32Array(N * T).map((_, i) => i % V);
    const all = new Array(N * T).fill(true),
      some = all.map((_, i) => i % T < 3);
    expect(temporalSoftmaxLoss(x, y, all).loss).toBeCloseTo(T * Math.log(V), 2);
    expect(temporalSoftmaxLoss(x, y, some).loss).toBeCloseTo(3 * Math.log(V), 2);
  });

  it('gives no NaN where masked steps underflow or overflow, and ignores their labels', () => {
    const x = Tensor.from(
      [
        [
          [1e308, -1e308, 0],
          [0, 1, 2],
        ],
      ],
      [1, 2, 3],
      'float64',
    );
    x.data[0] = Infinity; // a masked step whose softmax would be NaN
    const { loss, dx } = temporalSoftmaxLoss(x, [[-7, 2]], [[false, true]]);
    expect(Number.isFinite(loss)).toBe(true);
    expect([...dx.data].every(Number.isFinite)).toBe(true);
    expect([dx.data[0], dx.data[1], dx.data[2]]).toEqual([0, 0, 0]);
    const big = temporalSoftmaxLoss(
      Tensor.from([[[1e4, -1e4, 0]]], [1, 1, 3], 'float64'),
      [1],
      [1],
    );
    expect(big.loss).toBeCloseTo(2e4, 6);
  });

  it('names the argument and shapes on bad y and mask, and leaves x alone', () => {
    const x = randn64([2, 3, 4], 4),
      unchanged = snapshot(x);
    expect(() =>
      temporalSoftmaxLoss(
        x,
        [
          [0, 1, 2],
          [0, 4, 1],
        ],
        [
          [1, 1, 1],
          [1, 1, 1],
        ],
      ),
    ).toThrow('temporalSoftmaxLoss: y[1,1] = 4 is outside [0, 4)');
    expect(() =>
      temporalSoftmaxLoss(x, Tensor.zeros([2, 2], 'int32'), new Array(6).fill(true)),
    ).toThrow('temporalSoftmaxLoss: y has shape [2,2] but x has shape [2,3,*]');
    expect(() => temporalSoftmaxLoss(x, new Int32Array(6), [true])).toThrow(
      'temporalSoftmaxLoss: mask has 1 values but x has shape [2,3,*] (6 steps)',
    );
    temporalSoftmaxLoss(x, new Int32Array(6), new Array(6).fill(true));
    expect(unchanged()).toBe(true);
  });
});
