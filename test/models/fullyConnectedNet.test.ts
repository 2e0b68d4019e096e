import { describe, expect, it } from 'vitest';
import { evalNumericalGradient, relError } from '../../src/gradcheck/index.js';
import {
  FullyConnectedNet,
  type FullyConnectedNetOptions,
  type Normalization,
} from '../../src/models/fullyConnectedNet.js';
import { Rng, Tensor, type FloatTensor } from '../../src/tensor/index.js';
import { accuracy, fixture, fromFixture, snapshot } from '../helpers.js';

type T = { shape: number[]; data: number[] };
interface NetCase {
  normalization: Normalization;
  hiddenDims: number[];
  inputDim: number;
  numClasses: number;
  reg: number;
  X: T;
  y: number[];
  params: Record<string, T>;
  loss: number;
  grads: Record<string, T>;
  runningAfter: Record<string, T>;
  testScores: T;
}
const ref = fixture<{ cases: NetCase[] }>('fc_net');

function toyBatch(
  N: number,
  D: number,
  C: number,
  seed: number,
): { X: FloatTensor; y: Int32Array } {
  const rng = new Rng(seed);
  return {
    X: Tensor.randn([N, D], { rng, dtype: 'float64' }),
    y: Int32Array.from({ length: N }, () => rng.int(C)),
  };
}

/**
 * max |a − b| / max(floor, |a| + |b|): relative error for entries above `floor`, absolute error
 * (scaled by 1/floor) below it. gradcheck's relError uses floor 1e-8, which turns the rounding
 * noise of a centred difference (≈ eps·|loss|/h ≈ 1e-11 here) on a near-zero gradient entry
 * (a dropped or dead unit, a bias in front of batch norm) into a spurious large "relative" error.
 */
function scaledError(
  a: Tensor | ArrayLike<number>,
  b: Tensor | ArrayLike<number>,
  floor: number,
): number {
  const x = a instanceof Tensor ? a.data : a,
    z = b instanceof Tensor ? b.data : b;
  expect(x.length).toBe(z.length);
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    worst = Math.max(
      worst,
      Math.abs(x[i] - z[i]) / Math.max(floor, Math.abs(x[i]) + Math.abs(z[i])),
    );
  }
  return Number.isNaN(worst) ? Infinity : worst;
}

/** Error of each analytic gradient against centred differences of the loss (floor 1e-3, see above). */
function gradErrors(model: FullyConnectedNet, X: Tensor, y: Int32Array): Record<string, number> {
  // dropout: every evaluation must see the same masks, so each one restarts the model's generator
  const state = model.rng?.getState();
  const lossAt = (): number => {
    if (state) model.rng!.setState(state);
    return model.loss(X, y).loss;
  };
  if (state) model.rng!.setState(state);
  const { grads } = model.loss(X, y);
  const errors: Record<string, number> = {};
  for (const [k, p] of Object.entries(model.params))
    errors[k] = scaledError(grads[k], evalNumericalGradient(lossAt, p), 1e-3);
  return errors;
}

describe('FullyConnectedNet: PyTorch reference values (float64)', () => {
  ref.cases.forEach((c, i) => {
    it(`case ${i}: normalization ${c.normalization}, hiddenDims [${c.hiddenDims}], reg ${c.reg}`, () => {
      const model = new FullyConnectedNet({
        inputDim: c.inputDim,
        hiddenDims: c.hiddenDims,
        numClasses: c.numClasses,
        reg: c.reg,
        normalization: c.normalization,
        dtype: 'float64',
        seed: 0,
      });
      expect(Object.keys(model.params).sort()).toEqual(Object.keys(c.params).sort());
      for (const [k, v] of Object.entries(c.params)) model.params[k].data.set(v.data);
      const X = fromFixture(c.X);
      const { loss, grads } = model.loss(X, c.y);
      expect(relError(loss, c.loss)).toBeLessThan(1e-12);
      // b_i in front of batch norm has a zero gradient (the batch mean removes it): both sides are
      // rounding residue ~1e-17 there, so entries below 1e-6 are compared absolutely
      for (const [k, g] of Object.entries(c.grads))
        expect(scaledError(grads[k], g.data, 1e-6), k).toBeLessThan(1e-9);
      expect(Object.keys(model.buffers).sort()).toEqual(Object.keys(c.runningAfter).sort());
      for (const [k, r] of Object.entries(c.runningAfter))
        expect(relError(model.buffers[k], r.data), k).toBeLessThan(1e-12);
      expect(relError(model.loss(X), c.testScores.data)).toBeLessThan(1e-10);
    });
  });
});

describe('FullyConnectedNet: whole-model gradient checks (float64)', () => {
  const { X, y } = toyBatch(4, 5, 3, 1);
  const base: FullyConnectedNetOptions = {
    inputDim: 5,
    hiddenDims: [6, 4],
    numClasses: 3,
    weightScale: 0.7,
    dtype: 'float64',
    seed: 2,
  };
  const cases: Array<[string, FullyConnectedNetOptions]> = [
    ['no normalisation, reg 0', {}],
    ['no normalisation, reg 0.3', { reg: 0.3 }],
    ['batchnorm, reg 0.1', { normalization: 'batchnorm', reg: 0.1 }],
    ['layernorm', { normalization: 'layernorm' }],
    ['dropout 0.3 (masks fixed by restoring the model rng)', { dropout: 0.3, seed: 5 }],
    ['batchnorm + dropout 0.25', { normalization: 'batchnorm', dropout: 0.25 }],
  ];
  for (const [name, extra] of cases) {
    it(name, () => {
      const model = new FullyConnectedNet({ ...base, ...extra });
      for (const [k, err] of Object.entries(gradErrors(model, X, y)))
        expect(err, k).toBeLessThan(1e-7);
    });
  }
});

describe('FullyConnectedNet: training and modes', () => {
  for (const normalization of [null, 'batchnorm', 'layernorm'] as const) {
    it(`a 3-layer net (${normalization ?? 'no normalisation'}) overfits 50 samples`, () => {
      const { X, y } = toyBatch(50, 20, 10, 11); // random labels: only memorising can fit them
      const model = new FullyConnectedNet({
        inputDim: 20,
        hiddenDims: [100, 100],
        numClasses: 10,
        weightScale: 0.1,
        normalization,
        dtype: 'float64',
        seed: 3,
      });
      const first = model.loss(X, y).loss;
      let last = first;
      for (let step = 0; step < 100; step++) {
        const { loss, grads } = model.loss(X, y);
        last = loss;
        for (const [k, p] of Object.entries(model.params))
          for (let i = 0; i < p.size; i++) p.data[i] -= 0.2 * grads[k].data[i];
      }
      expect(last).toBeLessThan(0.05 * first);
      if (normalization === 'batchnorm') {
        // a few more train-mode passes so that the running statistics catch up with the weights
        for (let i = 0; i < 60; i++) model.loss(X, y);
      }
      expect(accuracy(model.loss(X), y)).toBe(1);
    });
  }

  it('test mode uses no dropout, leaves the running statistics alone and does not draw from rng', () => {
    const { X, y } = toyBatch(8, 5, 3, 4);
    const model = new FullyConnectedNet({
      inputDim: 5,
      hiddenDims: [7],
      numClasses: 3,
      dropout: 0.5,
      normalization: 'batchnorm',
      dtype: 'float64',
      seed: 1,
    });
    const mean = model.buffers.runningMean1,
      rngState = model.rng!.getState(),
      unchanged = snapshot(X);
    const a = model.loss(X),
      b = model.loss(X);
    expect([...a.data]).toEqual([...b.data]);
    expect([...mean.data].every((v) => v === 0)).toBe(true);
    expect(model.rng!.getState()).toEqual(rngState);
    model.loss(X, y);
    expect(model.buffers.runningMean1).toBe(mean); // updated in place: the record stays live
    expect([...mean.data].some((v) => v !== 0)).toBe(true);
    expect(model.rng!.getState()).not.toEqual(rngState);
    expect(unchanged()).toBe(true); // X is never written
  });

  it('dropout draws fresh masks on every train call from the model rng, reproducibly per seed', () => {
    const { X, y } = toyBatch(8, 5, 3, 4);
    const opts: FullyConnectedNetOptions = {
      inputDim: 5,
      hiddenDims: [20],
      numClasses: 3,
      dropout: 0.5,
      dtype: 'float64',
      seed: 9,
    };
    const m1 = new FullyConnectedNet(opts),
      m2 = new FullyConnectedNet(opts);
    const l1 = [m1.loss(X, y).loss, m1.loss(X, y).loss],
      l2 = [m2.loss(X, y).loss, m2.loss(X, y).loss];
    expect(l1).toEqual(l2);
    expect(l1[0]).not.toBe(l1[1]);
  });

  it('initialises as documented and describes itself', () => {
    const model = new FullyConnectedNet({
      inputDim: 30,
      hiddenDims: [200, 40],
      numClasses: 10,
      normalization: 'batchnorm',
      seed: 1,
    });
    expect(Object.keys(model.params)).toEqual([
      'W1',
      'b1',
      'gamma1',
      'beta1',
      'W2',
      'b2',
      'gamma2',
      'beta2',
      'W3',
      'b3',
    ]);
    expect(Object.keys(model.buffers)).toEqual([
      'runningMean1',
      'runningVar1',
      'runningMean2',
      'runningVar2',
    ]);
    expect(model.params.W1.shape).toEqual([30, 200]);
    expect(model.params.W1.dtype).toBe('float32');
    const w = model.params.W1.data,
      std = Math.sqrt(Array.from(w).reduce((s, v) => s + v * v, 0) / w.length);
    expect(Math.abs(std - 1e-2)).toBeLessThan(1e-3); // 6000 draws of 1e-2·N(0, 1)
    expect(model.params.b2.data.every((v) => v === 0)).toBe(true);
    expect(model.params.gamma2.data.every((v) => v === 1)).toBe(true);
    expect(model.buffers.runningVar2.data.every((v) => v === 1)).toBe(true);
    expect(model.rng).toBeUndefined();
    expect(model.config).toEqual({
      type: 'FullyConnectedNet',
      options: {
        inputDim: 30,
        hiddenDims: [200, 40],
        numClasses: 10,
        normalization: 'batchnorm',
        seed: 1,
      },
    });
    const same = new FullyConnectedNet({
      inputDim: 30,
      hiddenDims: [200, 40],
      numClasses: 10,
      normalization: 'batchnorm',
      seed: 1,
      dropout: 0.5,
    });
    expect([...same.params.W2.data]).toEqual([...model.params.W2.data]); // dropout does not shift the weights
  });

  it('names the option or argument at fault', () => {
    expect(() => new FullyConnectedNet({ hidden_dims: [3] } as never)).toThrow(
      "FullyConnectedNet: unknown option 'hidden_dims' (did you mean 'hiddenDims'?)",
    );
    expect(() => new FullyConnectedNet({ dropout: 1 })).toThrow(
      'FullyConnectedNet: dropout must be < 1, got 1',
    );
    expect(() => new FullyConnectedNet({ normalization: 'bn' as never })).toThrow(
      "FullyConnectedNet: normalization must be 'batchnorm', 'layernorm', 'groupnorm' or null, got 'bn'",
    );
    expect(() => new FullyConnectedNet({ hiddenDims: [10, 0] })).toThrow(
      'FullyConnectedNet: hiddenDims[1] must be >= 1, got 0',
    );
    const model = new FullyConnectedNet({ inputDim: 6, hiddenDims: [4], numClasses: 3 });
    expect(() => model.loss(Tensor.zeros([2, 5]))).toThrow(
      'FullyConnectedNet.loss: X has shape [2,5] but inputDim is 6',
    );
    expect(() => model.loss(Tensor.zeros([2, 6], 'float64'))).toThrow(
      'FullyConnectedNet.loss: X has dtype float64 but the model is float32',
    );
    expect(() => model.loss(Tensor.zeros([2, 2, 3]), [0, 3])).toThrow(
      'softmaxLoss: y[1] = 3 is outside [0, 3)',
    );
  });
});
