import { describe, expect, it } from 'vitest';
import { evalNumericalGradient, relError } from '../../src/gradcheck/index.js';
import { softmaxLoss, svmLoss } from '../../src/layers/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, randn64, snapshot } from '../helpers.js';

type T = { shape: number[]; data: number[] };
type Case = { x: T; y: number[]; loss: number; dx: T };
const cases = fixture<{ cases: Record<string, Case> }>('fc_layers').cases;

describe('svmLoss and softmaxLoss', () => {
  for (const [name, fn] of [
    ['svm', svmLoss],
    ['softmax', softmaxLoss],
    ['softmaxLarge', softmaxLoss],
  ] as const) {
    it(`${name}: matches PyTorch loss and gradient (float64)`, () => {
      const ref = cases[name];
      const { loss, dx } = fn(fromFixture(ref.x), ref.y);
      expect(relError(loss, ref.loss)).toBeLessThan(1e-12);
      expect(relError(dx, ref.dx.data)).toBeLessThan(1e-10);
    });
  }

  it('matches a hand computation', () => {
    // scores [[1, 2, 3]], y = 0: hinge = (2-1+1) + (3-1+1) = 5; dx = [-2, 1, 1]
    const svm = svmLoss(Tensor.from([[1, 2, 3]], undefined, 'float64'), [0]);
    expect(svm.loss).toBe(5);
    expect([...svm.dx.data]).toEqual([-2, 1, 1]);
    // equal logits over 4 classes: loss = log 4, dx = 1/4 - onehot
    const sm = softmaxLoss(Tensor.from([[0, 0, 0, 0]], undefined, 'float64'), [2]);
    expect(sm.loss).toBeCloseTo(Math.log(4), 14);
    expect([...sm.dx.data]).toEqual([0.25, 0.25, -0.75, 0.25]);
  });

  for (const [name, fn] of [
    ['svm', svmLoss],
    ['softmax', softmaxLoss],
  ] as const) {
    it(`${name}: gradient matches centred differences`, () => {
      const x = randn64([7, 5], 21),
        y = [0, 4, 2, 2, 1, 3, 0];
      const unchanged = snapshot(x);
      const { dx } = fn(x, y);
      const num = evalNumericalGradient((t) => fn(t, y).loss, x);
      // the hinge has kinks at margin 0, but these random scores keep every margin far from 0
      expect(relError(dx, num)).toBeLessThan(1e-7);
      expect(unchanged()).toBe(true);
    });
  }

  it('softmax stays finite for logits of ±1e4 and float32', () => {
    const x = Tensor.from(
      [
        [1e4, -1e4, 0],
        [-1e4, -1e4, -1e4],
      ],
      undefined,
      'float32',
    );
    const { loss, dx } = softmaxLoss(x, [1, 0]);
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeCloseTo((2e4 + Math.log(3)) / 2, 1);
    expect([...dx.data].every(Number.isFinite)).toBe(true);
  });

  it('rejects labels out of range, the wrong label count and non-2-D scores', () => {
    expect(() => softmaxLoss(Tensor.zeros([3, 10]), [0, 12, 1])).toThrow(
      'softmaxLoss: y[1] = 12 is outside [0, 10)',
    );
    expect(() => svmLoss(Tensor.zeros([3, 10]), [0, 1])).toThrow(
      'svmLoss: y has shape [2] but the scores have 3 rows',
    );
    expect(() => softmaxLoss(Tensor.zeros([3]), [0, 1, 2])).toThrow(
      'softmaxLoss: x has shape [3] but must be 2-D (N, C) scores',
    );
    expect(() => svmLoss(Tensor.zeros([2, 3]), Tensor.from([0, -1], [2], 'int32'))).toThrow(
      'svmLoss: y[1] = -1 is outside [0, 3)',
    );
  });
});
