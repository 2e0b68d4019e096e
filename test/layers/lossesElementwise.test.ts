// test/layers/lossesElementwise.test.ts: the elementwise losses of src/layers/losses.ts
// (bceWithLogitsLoss, mseLoss) against torch, centred differences, logits of 1e4, exact errors.
import { describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import { bceWithLogitsLoss, mseLoss } from '../../src/layers/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, randn64, snapshot } from '../helpers.js';

type Entry = { shape: number[]; data: number[] };
type Case = { x: Entry; y: Entry; loss: number; dx: Entry };
const ref = fixture<{ bce: Case[]; mse: Case[] }>('generative');

/** Centred difference of a scalar loss in every entry of x. */
function numericLossGrad(f: (x: Tensor) => number, x: Tensor, h = 1e-5): Float64Array {
  const g = new Float64Array(x.size);
  for (let i = 0; i < x.size; i++) {
    const xp = x.astype('float64'),
      xm = x.astype('float64');
    xp.data[i] += h;
    xm.data[i] -= h;
    g[i] = (f(xp) - f(xm)) / (2 * h);
  }
  return g;
}

const losses = [
  ['bceWithLogitsLoss', bceWithLogitsLoss, ref.bce],
  ['mseLoss', mseLoss, ref.mse],
] as const;

describe('bceWithLogitsLoss and mseLoss against torch (float64 fixtures)', () => {
  it('come from the committed generator, bce with |x| up to 1e4', () => {
    expect(ref.generator).toContain('test/fixtures/gen/generative.py');
    const biggest = Math.max(...ref.bce.flatMap((c) => c.x.data.map(Math.abs)));
    expect(biggest).toBe(1e4);
  });
  for (const [name, fn, cases] of losses) {
    it(`${name}: loss and dx match torch's mean reduction to 1e-12 on every case`, () => {
      for (const c of cases) {
        const { loss, dx } = fn(fromFixture(c.x), fromFixture(c.y));
        expect(Number.isFinite(loss)).toBe(true);
        expect(relError(loss, c.loss), `${name} ${JSON.stringify(c.x.shape)}`).toBeLessThan(1e-12);
        expect(relError(dx, fromFixture(c.dx))).toBeLessThan(1e-12);
      }
    });
  }
});

describe('elementwise loss gradients match centred differences (float64)', () => {
  for (const [name, fn] of losses) {
    it(`${name}: dx (relError < 1e-7)`, () => {
      const x = randn64([3, 2, 4], 1, 2),
        y = Tensor.from(
          randn64([3, 2, 4], 2).data.map((v) => 1 / (1 + Math.exp(-v))),
          [3, 2, 4],
          'float64',
        );
      const { dx } = fn(x, y);
      expect(
        relError(
          dx,
          numericLossGrad((t) => fn(t, y).loss, x),
        ),
      ).toBeLessThan(1e-7);
    });
  }
});

describe('elementwise losses: hand values, large logits, no mutation', () => {
  it('bce at x = 0 is log 2 whatever y is, with dx = (1/2 − y)/M', () => {
    const x = Tensor.zeros([2, 2], 'float64'),
      y = Tensor.from([0, 1, 0.25, 0.5], [2, 2], 'float64');
    const { loss, dx } = bceWithLogitsLoss(x, y);
    expect(loss).toBeCloseTo(Math.log(2), 15);
    expect([...dx.data]).toEqual([0.125, -0.125, 0.0625, 0]);
  });

  it('bce with logits of ±1e4 is |x| when wrong and 0 when right, and dx is ±1/M, never NaN', () => {
    const x = Tensor.from([1e4, -1e4, 1e4, -1e4], [4], 'float64'),
      y = Tensor.from([0, 1, 1, 0], [4], 'float64');
    const { loss, dx } = bceWithLogitsLoss(x, y);
    expect(loss).toBe((1e4 + 1e4) / 4);
    expect([...dx.data]).toEqual([0.25, -0.25, 0, 0]);
    const f32 = bceWithLogitsLoss(x.astype('float32'), y.astype('float32'));
    expect(f32.loss).toBe(5000);
    expect(f32.dx.dtype).toBe('float32');
  });

  it('mse is the mean of squares: ((1 − 0)² + (−2 − 1)²)/2 = 5, dx = (x − y)', () => {
    const { loss, dx } = mseLoss(
      Tensor.from([1, -2], [2], 'float64'),
      Tensor.from([0, 1], [2], 'float64'),
    );
    expect(loss).toBe(5);
    expect([...dx.data]).toEqual([1, -3]);
  });

  it('leave x and y untouched; an empty batch has loss 0', () => {
    const x = randn64([2, 3], 1),
      y = Tensor.from([0, 1, 0.5, 1, 0, 0.2], [2, 3], 'float64');
    const unchanged = snapshot(x, y);
    bceWithLogitsLoss(x, y);
    mseLoss(x, y);
    expect(unchanged()).toBe(true);
    expect(mseLoss(Tensor.zeros([0, 3]), Tensor.zeros([0, 3])).loss).toBe(0);
  });
});

describe('elementwise loss errors name the function, argument and shapes', () => {
  it('reject targets of another shape or dtype, and bce targets outside [0, 1]', () => {
    expect(() => bceWithLogitsLoss(Tensor.zeros([2, 3]), Tensor.zeros([3, 2]))).toThrow(
      'bceWithLogitsLoss: y has shape [3,2] but x has shape [2,3]',
    );
    expect(() => mseLoss(Tensor.zeros([2]), Tensor.zeros([2], 'float64'))).toThrow(
      'mseLoss: y has dtype float64 but x has dtype float32',
    );
    expect(() =>
      bceWithLogitsLoss(Tensor.zeros([3]), Tensor.from([0, 1.5, 1], [3], 'float32')),
    ).toThrow('bceWithLogitsLoss: y[1] = 1.5 is outside [0, 1]');
    expect(() => mseLoss(Tensor.zeros([2]), Tensor.from([0, 0], [2], 'int32'))).toThrow(
      'mseLoss: y has dtype int32',
    );
  });
});
