// test/models/groupnorm.test.ts: normalization 'groupnorm' in ThreeLayerConvNet and
// FullyConnectedNet: params and the default group count, gradients against centred differences,
// train = test, a tiny batch overfitted, and the option errors.
import { describe, expect, it } from 'vitest';
import { evalNumericalGradient, relError } from '../../src/gradcheck/index.js';
import { FullyConnectedNet, ThreeLayerConvNet } from '../../src/models/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { accuracy, randn64 } from '../helpers.js';

/** |a − b| / max(|a| + |b|, 1e-4): the floor keeps entries that are 0 by structure from counting rounding. */
function gradError(a: Tensor, b: Tensor): number {
  let worst = 0;
  for (let i = 0; i < a.size; i++) {
    const d = Math.abs(a.data[i] - b.data[i]);
    worst = Math.max(worst, d / Math.max(1e-4, Math.abs(a.data[i]) + Math.abs(b.data[i])));
  }
  return worst;
}

describe("ThreeLayerConvNet with normalization 'groupnorm'", () => {
  it('has gamma1, beta1 (F), gamma2, beta2 (hiddenDim), no buffers, and 32 .. 1 groups by default', () => {
    const model = new ThreeLayerConvNet({
      inputDim: [1, 8, 8],
      numFilters: 16,
      hiddenDim: 24,
      normalization: 'groupnorm',
    });
    expect(model.groups).toBe(8); // 32 and 16 do not divide 24
    expect(model.params.gamma1.shape).toEqual([16]);
    expect(model.params.beta2.shape).toEqual([24]);
    expect(model.buffers).toEqual({});
    expect(
      new ThreeLayerConvNet({ numFilters: 32, hiddenDim: 64, normalization: 'groupnorm' }).groups,
    ).toBe(32);
  });

  it('gradients match centred differences with 1 and 3 groups (float64; relu and max pool kinks: 1e-6)', () => {
    for (const groups of [1, 3]) {
      const model = new ThreeLayerConvNet({
        inputDim: [2, 6, 5],
        numFilters: 6,
        filterSize: 3,
        hiddenDim: 9,
        numClasses: 4,
        weightScale: 0.3,
        reg: 0.05,
        normalization: 'groupnorm',
        groups,
        dtype: 'float64',
        seed: 11,
      });
      const X = randn64([3, 2, 6, 5], 12),
        y = [0, 3, 1];
      const { grads } = model.loss(X, y);
      for (const [key, param] of Object.entries(model.params)) {
        const numeric = evalNumericalGradient(() => model.loss(X, y).loss, param);
        expect(gradError(grads[key], numeric), `groups ${groups} ${key}`).toBeLessThan(1e-6);
      }
    }
  });

  it('scores one sample the same alone or in a batch (no batch statistics) and overfits 20 samples', () => {
    const model = new ThreeLayerConvNet({
      inputDim: [1, 8, 8],
      numFilters: 8,
      filterSize: 3,
      hiddenDim: 32,
      numClasses: 5,
      weightScale: 0.1,
      normalization: 'groupnorm',
      groups: 4,
      dtype: 'float64',
      seed: 1,
    });
    const X = randn64([20, 1, 8, 8], 2),
      y = Array.from({ length: 20 }, (_, i) => i % 5);
    const all = model.loss(X);
    const one = model.loss(Tensor.from(X.data.subarray(64, 128), [1, 1, 8, 8], 'float64'));
    expect(relError(one, Tensor.from(all.data.subarray(5, 10), [1, 5], 'float64'))).toBeLessThan(
      1e-12,
    );
    const first = model.loss(X, y).loss;
    for (let step = 0; step < 60; step++) {
      const { grads } = model.loss(X, y);
      for (const [k, p] of Object.entries(model.params))
        for (let i = 0; i < p.size; i++) p.data[i] -= 0.1 * grads[k].data[i];
    }
    expect(model.loss(X, y).loss).toBeLessThan(0.1 * first);
    expect(accuracy(model.loss(X), y)).toBe(1);
  });

  it('rejects groups that do not divide numFilters or hiddenDim, and groups without groupnorm', () => {
    expect(
      () =>
        new ThreeLayerConvNet({
          numFilters: 6,
          hiddenDim: 8,
          normalization: 'groupnorm',
          groups: 4,
        }),
    ).toThrow('ThreeLayerConvNet: groups = 4 does not divide numFilters = 6');
    expect(
      () =>
        new ThreeLayerConvNet({
          numFilters: 8,
          hiddenDim: 6,
          normalization: 'groupnorm',
          groups: 4,
        }),
    ).toThrow('ThreeLayerConvNet: groups = 4 does not divide hiddenDim = 6');
    expect(() => new ThreeLayerConvNet({ normalization: 'batchnorm', groups: 2 })).toThrow(
      "ThreeLayerConvNet: groups is an option of normalization 'groupnorm'",
    );
  });
});

describe("FullyConnectedNet with normalization 'groupnorm'", () => {
  it('gradients match centred differences (float64; relu kinks: 1e-6)', () => {
    const model = new FullyConnectedNet({
      inputDim: 5,
      hiddenDims: [6, 9],
      numClasses: 3,
      weightScale: 0.7,
      normalization: 'groupnorm',
      groups: 3,
      reg: 0.1,
      dtype: 'float64',
      seed: 2,
    });
    expect(model.buffers).toEqual({});
    const X = randn64([4, 5], 1),
      y = [0, 2, 1, 1];
    const { grads } = model.loss(X, y);
    for (const [key, param] of Object.entries(model.params)) {
      const numeric = evalNumericalGradient(() => model.loss(X, y).loss, param);
      expect(gradError(grads[key], numeric), key).toBeLessThan(1e-6);
    }
  });

  it("with one group it computes what 'layernorm' does", () => {
    const options = {
      inputDim: 6,
      hiddenDims: [8, 8],
      numClasses: 3,
      dtype: 'float64',
      seed: 3,
    } as const;
    const gn = new FullyConnectedNet({ ...options, normalization: 'groupnorm', groups: 1 });
    const ln = new FullyConnectedNet({ ...options, normalization: 'layernorm' });
    const X = randn64([5, 6], 4);
    expect(relError(gn.loss(X), ln.loss(X))).toBeLessThan(1e-12);
    const a = gn.loss(X, [0, 1, 2, 0, 1]),
      b = ln.loss(X, [0, 1, 2, 0, 1]);
    expect(relError(a.loss, b.loss)).toBeLessThan(1e-12);
    for (const key of Object.keys(b.grads))
      expect(relError(a.grads[key], b.grads[key]), key).toBeLessThan(1e-9);
  });

  it('defaults to the largest of 32 .. 1 dividing every hidden dim and rejects groups that do not', () => {
    expect(new FullyConnectedNet({ hiddenDims: [64, 48], normalization: 'groupnorm' }).groups).toBe(
      16,
    );
    expect(
      () => new FullyConnectedNet({ hiddenDims: [64, 48], normalization: 'groupnorm', groups: 32 }),
    ).toThrow('FullyConnectedNet: groups = 32 does not divide hiddenDims[1] = 48');
  });
});
