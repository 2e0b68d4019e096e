import { describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import {
  batchnormBackward,
  batchnormBackwardAlt,
  batchnormForward,
  type BnParam,
} from '../../src/layers/batchnorm.js';
import {
  spatialBatchnormBackward,
  spatialBatchnormForward,
} from '../../src/layers/spatialBatchnorm.js';
import { Tensor, type FloatTensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, numericGrad, randn64, snapshot } from '../helpers.js';

type T = { shape: number[]; data: number[] };
interface Case {
  mode: 'train' | 'test';
  eps: number;
  momentum: number;
  running: 'given' | 'absent';
  x: T;
  gamma: T;
  beta: T;
  dout: T;
  out: T;
  dx: T;
  dgamma: T;
  dbeta: T;
  runningMean?: T;
  runningVar?: T;
  runningMeanAfter: T;
  runningVarAfter: T;
}
const ref = fixture<{ batchnorm: Case[]; spatial: Case[] }>('batchnorm');

function bnParamOf(c: Case): BnParam {
  const p: BnParam = { mode: c.mode, eps: c.eps, momentum: c.momentum };
  if (c.runningMean && c.runningVar) {
    p.runningMean = fromFixture(c.runningMean);
    p.runningVar = fromFixture(c.runningVar);
  }
  return p;
}

/** Train-mode output of a fresh forward (fresh bnParam, so running statistics play no part). */
const bnTrain = (x: Tensor, g: Tensor, b: Tensor): FloatTensor =>
  batchnormForward(x, g, b, { mode: 'train' }).out;
const sbnTrain = (x: Tensor, g: Tensor, b: Tensor): FloatTensor =>
  spatialBatchnormForward(x, g, b, { mode: 'train' }).out;

/** Features with their own offset and scale per column, as real activations have. */
function features(shape: readonly number[], seed: number): FloatTensor {
  const x = randn64(shape, seed),
    C = shape[1],
    B = shape.slice(2).reduce((p, d) => p * d, 1);
  for (let i = 0; i < x.size; i++) {
    const c = Math.floor(i / B) % C;
    x.data[i] = x.data[i] * (1 + c) + 3 - c;
  }
  return x;
}

describe('batchnorm: PyTorch reference values (float64)', () => {
  ref.batchnorm.forEach((c, i) => {
    it(`case ${i}: ${c.mode} mode, running statistics ${c.running}, eps ${c.eps}, momentum ${c.momentum}`, () => {
      const [x, gamma, beta, dout] = [c.x, c.gamma, c.beta, c.dout].map(fromFixture);
      const bnParam = bnParamOf(c);
      const { out, cache } = batchnormForward(x, gamma, beta, bnParam);
      expect(relError(out, c.out.data)).toBeLessThan(1e-10);
      expect(relError(bnParam.runningMean!, c.runningMeanAfter.data)).toBeLessThan(1e-12);
      expect(relError(bnParam.runningVar!, c.runningVarAfter.data)).toBeLessThan(1e-12);
      for (const backward of [batchnormBackward, batchnormBackwardAlt]) {
        const { dx, dgamma, dbeta } = backward(dout, cache);
        expect(relError(dx, c.dx.data)).toBeLessThan(1e-9);
        expect(relError(dgamma, c.dgamma.data)).toBeLessThan(1e-10);
        expect(relError(dbeta, c.dbeta.data)).toBeLessThan(1e-12);
      }
    });
  });
});

describe('spatialBatchnorm: PyTorch reference values (float64)', () => {
  ref.spatial.forEach((c, i) => {
    it(`case ${i}: ${c.mode} mode, running statistics ${c.running}`, () => {
      const [x, gamma, beta, dout] = [c.x, c.gamma, c.beta, c.dout].map(fromFixture);
      const bnParam = bnParamOf(c);
      const { out, cache } = spatialBatchnormForward(x, gamma, beta, bnParam);
      expect(relError(out, c.out.data)).toBeLessThan(1e-10);
      expect(bnParam.runningMean!.shape).toEqual([x.shape[1]]);
      expect(relError(bnParam.runningMean!, c.runningMeanAfter.data)).toBeLessThan(1e-12);
      expect(relError(bnParam.runningVar!, c.runningVarAfter.data)).toBeLessThan(1e-12);
      const { dx, dgamma, dbeta } = spatialBatchnormBackward(dout, cache);
      expect(relError(dx, c.dx.data)).toBeLessThan(1e-9);
      expect(relError(dgamma, c.dgamma.data)).toBeLessThan(1e-10);
      expect(relError(dbeta, c.dbeta.data)).toBeLessThan(1e-12);
    });
  });
});

describe('batchnorm: gradient checks (float64, centred differences)', () => {
  const x = features([5, 4], 1),
    gamma = randn64([4], 2),
    beta = randn64([4], 3),
    dout = randn64([5, 4], 4);

  it('batchnormBackward and batchnormBackwardAlt match numerical gradients in train mode', () => {
    const { cache } = batchnormForward(x, gamma, beta, { mode: 'train' });
    const ndx = numericGrad((t) => bnTrain(t, gamma, beta), x, dout);
    const ndgamma = numericGrad((t) => bnTrain(x, t, beta), gamma, dout);
    const ndbeta = numericGrad((t) => bnTrain(x, gamma, t), beta, dout);
    for (const backward of [batchnormBackward, batchnormBackwardAlt]) {
      const { dx, dgamma, dbeta } = backward(dout, cache);
      expect(relError(dx, ndx)).toBeLessThan(1e-7);
      expect(relError(dgamma, ndgamma)).toBeLessThan(1e-7);
      expect(relError(dbeta, ndbeta)).toBeLessThan(1e-7);
    }
  });

  it('the step-by-step and closed-form backwards agree to rounding', () => {
    const { cache } = batchnormForward(features([50, 7], 5), randn64([7], 6), randn64([7], 7), {
      mode: 'train',
    });
    const d = randn64([50, 7], 8);
    const a = batchnormBackward(d, cache),
      b = batchnormBackwardAlt(d, cache);
    expect(relError(a.dx, b.dx)).toBeLessThan(1e-9);
  });

  it('test mode: gradients treat the running statistics as constants', () => {
    const runningMean = randn64([4], 9),
      runningVar = Tensor.from([0.5, 1, 2, 4], [4], 'float64');
    const fwd = (xx: Tensor, g: Tensor, b: Tensor) =>
      batchnormForward(xx, g, b, { mode: 'test', runningMean, runningVar }).out;
    const { cache } = batchnormForward(x, gamma, beta, { mode: 'test', runningMean, runningVar });
    for (const backward of [batchnormBackward, batchnormBackwardAlt]) {
      const { dx, dgamma, dbeta } = backward(dout, cache);
      expect(
        relError(
          dx,
          numericGrad((t) => fwd(t, gamma, beta), x, dout),
        ),
      ).toBeLessThan(1e-7);
      expect(
        relError(
          dgamma,
          numericGrad((t) => fwd(x, t, beta), gamma, dout),
        ),
      ).toBeLessThan(1e-7);
      expect(
        relError(
          dbeta,
          numericGrad((t) => fwd(x, gamma, t), beta, dout),
        ),
      ).toBeLessThan(1e-7);
    }
  });

  it('spatial batchnorm matches numerical gradients in train and test mode', () => {
    const xs = features([2, 3, 3, 2], 10),
      g = randn64([3], 11),
      b = randn64([3], 12),
      d = randn64([2, 3, 3, 2], 13);
    const train = spatialBatchnormBackward(
      d,
      spatialBatchnormForward(xs, g, b, { mode: 'train' }).cache,
    );
    expect(
      relError(
        train.dx,
        numericGrad((t) => sbnTrain(t, g, b), xs, d),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        train.dgamma,
        numericGrad((t) => sbnTrain(xs, t, b), g, d),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        train.dbeta,
        numericGrad((t) => sbnTrain(xs, g, t), b, d),
      ),
    ).toBeLessThan(1e-7);
    const runningMean = randn64([3], 14),
      runningVar = Tensor.from([0.5, 1.5, 3], [3], 'float64');
    const fwd = (t: Tensor) =>
      spatialBatchnormForward(t, g, b, { mode: 'test', runningMean, runningVar }).out;
    const test = spatialBatchnormBackward(
      d,
      spatialBatchnormForward(xs, g, b, { mode: 'test', runningMean, runningVar }).cache,
    );
    expect(relError(test.dx, numericGrad(fwd, xs, d))).toBeLessThan(1e-7);
  });
});

describe('batchnorm: semantics and edge cases', () => {
  it('train mode normalises each column to mean 0 and (biased) variance 1 before gamma and beta', () => {
    const { out } = batchnormForward(
      features([64, 3], 20),
      Tensor.full([3], 1, 'float64'),
      Tensor.zeros([3], 'float64'),
      {
        mode: 'train',
      },
    );
    for (let c = 0; c < 3; c++) {
      let s = 0,
        s2 = 0;
      for (let n = 0; n < 64; n++) s += out.get(n, c);
      for (let n = 0; n < 64; n++) s2 += out.get(n, c) ** 2;
      expect(Math.abs(s / 64)).toBeLessThan(1e-12);
      expect(s2 / 64).toBeCloseTo(1, 4); // 1 − eps/σ² with eps = 1e-5
    }
  });

  it('creates running statistics at zeros / ones and stores them in bnParam', () => {
    const bnParam: BnParam = { mode: 'test' };
    const x = Tensor.from(
      [
        [1, 2],
        [3, 4],
      ],
      [2, 2],
      'float64',
    );
    const { out } = batchnormForward(
      x,
      Tensor.full([2], 1, 'float64'),
      Tensor.zeros([2], 'float64'),
      bnParam,
    );
    expect([...bnParam.runningMean!.data]).toEqual([0, 0]);
    expect([...bnParam.runningVar!.data]).toEqual([1, 1]);
    // test mode divides by √(var + eps), never √var + eps
    expect(out.get(1, 1)).toBe(4 / Math.sqrt(1 + 1e-5));
  });

  it('updates the given running statistics in place and accumulates over calls', () => {
    const runningMean = Tensor.zeros([2], 'float64'),
      runningVar = Tensor.full([2], 1, 'float64');
    const bnParam: BnParam = { mode: 'train', runningMean, runningVar };
    const x = Tensor.from(
      [
        [1, 10],
        [3, 10],
      ],
      [2, 2],
      'float64',
    ); // mean [2, 10], biased var [1, 0]
    const g = Tensor.full([2], 1, 'float64'),
      b = Tensor.zeros([2], 'float64');
    batchnormForward(x, g, b, bnParam);
    batchnormForward(x, g, b, bnParam);
    expect(bnParam.runningMean).toBe(runningMean);
    expect(relError(runningMean, [2 * (1 - 0.81), 10 * (1 - 0.81)])).toBeLessThan(1e-14);
    expect(relError(runningVar, [1, 0.81])).toBeLessThan(1e-14); // 0.81·1 + 0.19·1; 0.81·1 + 0.19·0
  });

  it('a batch of one row gives beta and finite gradients (variance 0, kept finite by eps)', () => {
    const x = randn64([1, 3], 30),
      g = randn64([3], 31),
      b = randn64([3], 32);
    const { out, cache } = batchnormForward(x, g, b, { mode: 'train' });
    expect(relError(out, b.data)).toBeLessThan(1e-12);
    const { dx } = batchnormBackward(randn64([1, 3], 33), cache);
    expect([...dx.data].every((v) => Math.abs(v) < 1e-12)).toBe(true);
  });

  it('float32 in gives float32 out, close to the float64 result', () => {
    const x = features([8, 3], 40),
      g = randn64([3], 41),
      b = randn64([3], 42);
    const f32 = (t: Tensor) => Tensor.from(t.data, t.shape, 'float32');
    const bnParam: BnParam = { mode: 'train' };
    const r32 = batchnormForward(f32(x), f32(g), f32(b), bnParam);
    expect(r32.out.dtype).toBe('float32');
    expect(bnParam.runningVar!.dtype).toBe('float32');
    expect(relError(Tensor.from(r32.out.data, [8, 3], 'float64'), bnTrain(x, g, b))).toBeLessThan(
      1e-4,
    );
  });

  it('leaves x, gamma, beta, dout and the cache untouched', () => {
    const x = features([4, 3], 50),
      g = randn64([3], 51),
      b = randn64([3], 52),
      d = randn64([4, 3], 53);
    const unchanged = snapshot(x, g, b, d);
    const { cache } = batchnormForward(x, g, b, { mode: 'train' });
    const cached = snapshot(cache.xmu, cache.xhat, cache.invStd, cache.gamma);
    batchnormBackward(d, cache);
    batchnormBackwardAlt(d, cache);
    expect(unchanged()).toBe(true);
    expect(cached()).toBe(true);
    const xs = features([2, 3, 2, 2], 54),
      ds = randn64([2, 3, 2, 2], 55);
    const spatialUnchanged = snapshot(xs, ds);
    spatialBatchnormBackward(ds, spatialBatchnormForward(xs, g, b, { mode: 'train' }).cache);
    expect(spatialUnchanged()).toBe(true);
  });
});

describe('batchnorm: one-pass statistics (shifted by a value of the channel)', () => {
  /** Two-pass mean and biased variance of channel c of x read as (N, C, B): the definition. */
  function twoPass(x: Tensor, c: number): { mean: number; variance: number } {
    const [N, C] = x.shape,
      B = x.size / (N * C),
      values: number[] = [];
    for (let n = 0; n < N; n++)
      for (let b = 0; b < B; b++) values.push(x.data[(n * C + c) * B + b]);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    return { mean, variance: values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length };
  }
  /** The batch statistics a train-mode forward stores with momentum 0. */
  function stats(x: Tensor, spatial: boolean): { mean: FloatTensor; variance: FloatTensor } {
    const C = x.shape[1],
      g = Tensor.full([C], 1, x.dtype),
      b = Tensor.zeros([C], x.dtype);
    const bnParam: BnParam = { mode: 'train', momentum: 0 };
    if (spatial) spatialBatchnormForward(x, g, b, bnParam);
    else batchnormForward(x, g, b, bnParam);
    return { mean: bnParam.runningMean!, variance: bnParam.runningVar! };
  }

  it('stay accurate when the mean dwarfs the spread, or the first value is an outlier', () => {
    const offsetBig = features([6, 3, 4, 5], 60),
      outlier = features([6, 3, 4, 5], 61),
      rows = features([40, 3], 62);
    for (let i = 0; i < offsetBig.size; i++) offsetBig.data[i] += 1e6; // mean(x²) − μ² would lose ~1e-4 here
    for (let c = 0; c < 3; c++) outlier.data[c * 20] = 1e8 * (c + 1); // the shift K itself is far out
    for (let i = 0; i < rows.size; i++) rows.data[i] -= 3e4;
    for (const [x, spatial] of [
      [offsetBig, true],
      [outlier, true],
      [rows, false],
    ] as const) {
      const { mean, variance } = stats(x, spatial);
      for (let c = 0; c < 3; c++) {
        const want = twoPass(x, c);
        expect(relError(mean.data[c], want.mean)).toBeLessThan(1e-13);
        expect(relError(variance.data[c], want.variance)).toBeLessThan(1e-9);
      }
    }
  });

  it('give exactly zero variance for a constant channel (out = beta)', () => {
    const x = Tensor.full([3, 2, 2, 2], 0.1, 'float64'),
      beta = Tensor.from([5, -1], [2], 'float64');
    const bnParam: BnParam = { mode: 'train', momentum: 0 };
    const { out } = spatialBatchnormForward(x, Tensor.full([2], 2, 'float64'), beta, bnParam);
    expect(Array.from(bnParam.runningVar!.data)).toEqual([0, 0]);
    expect(out.data.every((v, i) => v === (Math.floor(i / 4) % 2 === 0 ? 5 : -1))).toBe(true);
  });
});

describe('batchnorm: errors', () => {
  const x = Tensor.zeros([4, 3], 'float64'),
    g = Tensor.zeros([3], 'float64'),
    b = Tensor.zeros([3], 'float64');

  it('names the function, argument and shapes', () => {
    expect(() => batchnormForward(x, Tensor.zeros([4], 'float64'), b, { mode: 'train' })).toThrow(
      'batchnormForward: gamma has shape [4] but x has 3 features',
    );
    expect(() =>
      batchnormForward(Tensor.zeros([4, 3, 2], 'float64'), g, b, { mode: 'train' }),
    ).toThrow('batchnormForward: x has shape [4,3,2] but must be 2-D (N, D) features');
    expect(() =>
      spatialBatchnormForward(Tensor.zeros([2, 4, 3, 3], 'float64'), g, b, { mode: 'train' }),
    ).toThrow('spatialBatchnormForward: gamma has shape [3] but x has 4 channels');
    expect(() =>
      batchnormForward(x, g, b, { mode: 'train', runningMean: Tensor.zeros([2], 'float64') }),
    ).toThrow('batchnormForward: bnParam.runningMean has shape [2] but x has 3 features');
    const { cache } = batchnormForward(x, g, b, { mode: 'train' });
    expect(() => batchnormBackwardAlt(Tensor.zeros([3, 3], 'float64'), cache)).toThrow(
      'batchnormBackwardAlt: dout has shape [3,3] but the forward input was [4,3]',
    );
  });

  it('rejects bad modes, unknown keys, bad eps/momentum, mixed dtypes and empty batches', () => {
    expect(() => batchnormForward(x, g, b, { mode: 'eval' as 'test' })).toThrow(
      "batchnormForward: bnParam.mode must be 'train' or 'test', got 'eval'",
    );
    expect(() =>
      batchnormForward(x, g, b, { mode: 'train', running_mean: g } as unknown as BnParam),
    ).toThrow("batchnormForward: unknown option 'running_mean' (did you mean 'runningMean'?)");
    expect(() => batchnormForward(x, g, b, { mode: 'train', eps: 0 })).toThrow(
      'batchnormForward: bnParam.eps must be > 0, got 0',
    );
    expect(() => batchnormForward(x, g, b, { mode: 'train', momentum: 1.5 })).toThrow(
      'batchnormForward: bnParam.momentum must be <= 1, got 1.5',
    );
    expect(() => batchnormForward(x, Tensor.zeros([3]), b, { mode: 'train' })).toThrow(
      'batchnormForward: gamma has dtype float32 but x has dtype float64',
    );
    expect(() =>
      batchnormForward(Tensor.zeros([0, 3], 'float64'), g, b, { mode: 'train' }),
    ).toThrow(
      'batchnormForward: x has shape [0,3] but train mode needs at least one value per feature',
    );
  });
});
