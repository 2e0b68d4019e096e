import { describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import { layernormBackward, layernormForward } from '../../src/layers/layernorm.js';
import { Tensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, numericGrad, randn64, snapshot } from '../helpers.js';

type T = { shape: number[]; data: number[] };
type Case = { eps: number } & Record<
  'x' | 'gamma' | 'beta' | 'dout' | 'out' | 'dx' | 'dgamma' | 'dbeta',
  T
>;
const ref = fixture<{ cases: Case[] }>('layernorm');

describe('layernorm', () => {
  ref.cases.forEach((c, i) => {
    it(`case ${i}: matches torch layer_norm (x ${JSON.stringify(c.x.shape)}, eps ${c.eps}, float64)`, () => {
      const [x, gamma, beta, dout] = [c.x, c.gamma, c.beta, c.dout].map(fromFixture);
      const { out, cache } = layernormForward(x, gamma, beta, { eps: c.eps });
      expect(relError(out, c.out.data)).toBeLessThan(1e-10);
      const { dx, dgamma, dbeta } = layernormBackward(dout, cache);
      expect(relError(dx, c.dx.data)).toBeLessThan(1e-9);
      expect(relError(dgamma, c.dgamma.data)).toBeLessThan(1e-10);
      expect(relError(dbeta, c.dbeta.data)).toBeLessThan(1e-12);
    });
  });

  it('backward matches centred differences (float64)', () => {
    const x = randn64([4, 6], 1, 2),
      gamma = randn64([6], 2),
      beta = randn64([6], 3),
      dout = randn64([4, 6], 4);
    const { cache } = layernormForward(x, gamma, beta);
    const { dx, dgamma, dbeta } = layernormBackward(dout, cache);
    expect(
      relError(
        dx,
        numericGrad((t) => layernormForward(t, gamma, beta).out, x, dout),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        dgamma,
        numericGrad((t) => layernormForward(x, t, beta).out, gamma, dout),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        dbeta,
        numericGrad((t) => layernormForward(x, gamma, t).out, beta, dout),
      ),
    ).toBeLessThan(1e-7);
  });

  it('normalises each row (not each column) and leaves its inputs alone', () => {
    const x = randn64([3, 50], 5, 4),
      gamma = Tensor.full([50], 1, 'float64'),
      beta = Tensor.zeros([50], 'float64');
    const dout = randn64([3, 50], 6),
      unchanged = snapshot(x, gamma, beta, dout);
    const { out, cache } = layernormForward(x, gamma, beta);
    for (let n = 0; n < 3; n++) {
      const row = Array.from(out.data.slice(n * 50, n * 50 + 50));
      expect(Math.abs(row.reduce((s, v) => s + v, 0) / 50)).toBeLessThan(1e-12);
      expect(row.reduce((s, v) => s + v * v, 0) / 50).toBeCloseTo(1, 5);
    }
    const cached = snapshot(cache.xhat, cache.invStd);
    layernormBackward(dout, cache);
    expect(unchanged()).toBe(true);
    expect(cached()).toBe(true);
  });

  it('accepts a mode (ignored: train and test are the same) so one param object serves both norms', () => {
    const x = randn64([3, 4], 9),
      g = randn64([4], 10),
      b = randn64([4], 11);
    const plain = layernormForward(x, g, b).out;
    expect([...layernormForward(x, g, b, { mode: 'test' }).out.data]).toEqual([...plain.data]);
    expect([...layernormForward(x, g, b, { mode: 'train', eps: 1e-5 }).out.data]).toEqual([
      ...plain.data,
    ]);
    expect(() => layernormForward(x, g, b, { mode: 'eval' as never })).toThrow(
      "layernormForward: lnParam.mode must be 'train' or 'test', got 'eval'",
    );
  });

  it('a constant row gives beta (variance 0, kept finite by eps)', () => {
    const x = Tensor.full([2, 4], 3, 'float64'),
      beta = randn64([4], 7);
    expect(
      relError(layernormForward(x, randn64([4], 8), beta).out, [...beta.data, ...beta.data]),
    ).toBe(0);
  });

  it('names the function, argument and shapes', () => {
    const x = Tensor.zeros([2, 4], 'float64');
    expect(() =>
      layernormForward(x, Tensor.zeros([3], 'float64'), Tensor.zeros([4], 'float64')),
    ).toThrow('layernormForward: gamma has shape [3] but x has 4 features');
    expect(() =>
      layernormForward(x, Tensor.zeros([4], 'float64'), Tensor.zeros([4], 'float64'), {
        epsilon: 1,
      } as never),
    ).toThrow("layernormForward: unknown option 'epsilon' (known: eps, mode)");
    const { cache } = layernormForward(
      x,
      Tensor.zeros([4], 'float64'),
      Tensor.zeros([4], 'float64'),
    );
    expect(() => layernormBackward(Tensor.zeros([2, 4]), cache)).toThrow(
      'layernormBackward: x has dtype float64 but dout has dtype float32',
    );
  });
});
