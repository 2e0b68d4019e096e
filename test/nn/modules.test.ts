import { describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import {
  affineForward,
  batchnormForward,
  spatialBatchnormForward,
} from '../../src/layers/index.js';
import { Dropout, Flatten, LeakyReLU, Linear, ReLU, Sigmoid, Tanh } from '../../src/nn/index.js';
import { BatchNorm1d, BatchNorm2d, LayerNorm } from '../../src/nn/normalization.js';
import type { Module } from '../../src/nn/module.js';
import { Rng, Tensor, type FloatTensor } from '../../src/tensor/index.js';
import { numericGrad, randn64, snapshot } from '../helpers.js';

/**
 * Checks a module's backward (dx and every param gradient) against centred differences of its
 * forward, in its current mode. Returns the worst relative error.
 */
function moduleGradError(m: Module, x: FloatTensor, seed: number): number {
  const out = m.forward(x),
    dout = randn64(out.shape, seed);
  const dx = m.backward(dout);
  const grads = { ...m.grads };
  let worst = relError(
    dx,
    numericGrad((t) => m.forward(t), x, dout),
  );
  for (const [k, p] of Object.entries(m.params)) {
    worst = Math.max(
      worst,
      relError(
        grads[k],
        numericGrad(() => m.forward(x), p, dout),
      ),
    );
  }
  return worst;
}

/** x away from 0, so that ±h never straddles the kink of relu or leaky relu. */
function awayFromZero(shape: readonly number[], seed: number): FloatTensor {
  const x = randn64(shape, seed);
  for (let i = 0; i < x.size; i++) x.data[i] += x.data[i] >= 0 ? 0.1 : -0.1;
  return x;
}

describe('Linear', () => {
  it('is affineForward on its own weight (in, out) and bias, with checked gradients', () => {
    const lin = new Linear(6, 4, { dtype: 'float64', seed: 1 });
    const x = randn64([3, 2, 3], 2);
    expect(lin.params.weight.shape).toEqual([6, 4]);
    expect([...lin.forward(x).data]).toEqual([
      ...affineForward(x, lin.params.weight, lin.params.bias).out.data,
    ]);
    expect(moduleGradError(lin, x, 3)).toBeLessThan(1e-7);
    expect(lin.backward(randn64([3, 4], 4)).shape).toEqual([3, 2, 3]);
  });

  it('initialises like torch by default (U(−k, k), k = 1/√in) or as weightScale·N(0, 1), biases 0', () => {
    const torchLike = new Linear(100, 50, { seed: 1 });
    const k = 1 / Math.sqrt(100);
    expect(torchLike.params.weight.data.every((v) => Math.abs(v) <= k)).toBe(true);
    expect(torchLike.params.bias.data.some((v) => v !== 0)).toBe(true);
    const classic = new Linear(100, 50, { weightScale: 1e-2, seed: 1 });
    const w = classic.params.weight.data,
      std = Math.sqrt(Array.from(w).reduce((s, v) => s + v * v, 0) / w.length);
    expect(Math.abs(std - 1e-2)).toBeLessThan(5e-4); // 5000 draws
    expect(classic.params.bias.data.every((v) => v === 0)).toBe(true);
    const again = new Linear(100, 50, { seed: 1 });
    expect([...again.params.weight.data]).toEqual([...torchLike.params.weight.data]);
    const shared = new Rng(1);
    expect([...new Linear(100, 50, { rng: shared }).params.weight.data]).toEqual([
      ...torchLike.params.weight.data,
    ]);
  });

  it('bias: false keeps the bias at zero with a zero gradient', () => {
    const lin = new Linear(3, 2, { bias: false, dtype: 'float64', seed: 1 });
    lin.forward(randn64([4, 3], 1));
    lin.backward(randn64([4, 2], 2));
    expect(lin.grads.bias.data.every((v) => v === 0)).toBe(true);
    expect(String(lin)).toBe('Linear(3 -> 2, no bias)');
  });

  it('names the module and argument at fault', () => {
    const lin = new Linear(5, 2);
    expect(() => lin.backward(Tensor.zeros([1, 2]))).toThrow('Linear.backward: call forward first');
    expect(() => lin.forward(Tensor.zeros([2, 4]))).toThrow(
      'Linear.forward: x has shape [2,4] but inFeatures is 5',
    );
    expect(() => new Linear(5, 0)).toThrow('Linear: outFeatures must be >= 1, got 0');
    expect(() => new Linear(5, 2, { weight_scale: 1 } as never)).toThrow(
      "Linear: unknown option 'weight_scale' (did you mean 'weightScale'?)",
    );
  });
});

describe('activation modules', () => {
  for (const m of [new ReLU(), new LeakyReLU(0.2), new Sigmoid(), new Tanh()]) {
    it(`${String(m)}: gradients match centred differences`, () => {
      expect(moduleGradError(m, awayFromZero([4, 5], 1), 2)).toBeLessThan(1e-7);
    });
  }
  it('ReLU.backward before forward names the module', () => {
    expect(() => new ReLU().backward(Tensor.zeros([1]))).toThrow(
      'ReLU.backward: call forward first',
    );
  });
});

describe('normalisation modules', () => {
  it('BatchNorm1d: batch statistics in train mode, its running buffers in eval mode', () => {
    const bn = new BatchNorm1d(4, { dtype: 'float64', momentum: 0.8 });
    bn.params.weight.data.set([1, 2, 3, 4]);
    const x = randn64([6, 4], 1, 3),
      mean = bn.buffers.runningMean;
    const ref = batchnormForward(x, bn.params.weight, bn.params.bias, {
      mode: 'train',
      momentum: 0.8,
    });
    expect(relError(bn.forward(x), ref.out)).toBe(0);
    expect(bn.buffers.runningMean).toBe(mean); // updated in place
    const bnParam = {
      mode: 'test' as const,
      runningMean: mean.clone(),
      runningVar: bn.buffers.runningVar.clone(),
    };
    bn.eval();
    const evalOut = bn.forward(x);
    expect(
      relError(evalOut, batchnormForward(x, bn.params.weight, bn.params.bias, bnParam).out),
    ).toBe(0);
    expect(relError(bn.forward(x), evalOut)).toBe(0); // eval mode leaves the buffers alone
  });

  it('BatchNorm1d, BatchNorm2d and LayerNorm: gradients match centred differences (train and eval)', () => {
    for (const training of [true, false]) {
      const bn1 = new BatchNorm1d(3, { dtype: 'float64' }).train(training);
      bn1.params.weight.data.set([0.5, 1.5, -1]);
      expect(moduleGradError(bn1, randn64([5, 3], 1, 2), 2)).toBeLessThan(1e-7);
      const bn2 = new BatchNorm2d(2, { dtype: 'float64' }).train(training);
      bn2.params.bias.data.set([0.3, -0.2]);
      expect(moduleGradError(bn2, randn64([2, 2, 3, 3], 3, 2), 4)).toBeLessThan(1e-7);
    }
    expect(
      moduleGradError(new LayerNorm(5, { dtype: 'float64' }), randn64([3, 5], 5, 2), 6),
    ).toBeLessThan(1e-7);
  });

  it('BatchNorm2d keeps per-channel buffers of shape (C)', () => {
    const bn = new BatchNorm2d(3, { dtype: 'float64' });
    const x = randn64([2, 3, 2, 2], 7);
    const ref = spatialBatchnormForward(x, bn.params.weight, bn.params.bias, { mode: 'train' });
    expect(relError(bn.forward(x), ref.out)).toBe(0);
    expect(bn.buffers.runningVar.shape).toEqual([3]);
    expect(Object.keys(bn.params)).toEqual(['weight', 'bias']);
    expect(Object.keys(bn.buffers)).toEqual(['runningMean', 'runningVar']);
  });

  it('names the module and argument at fault', () => {
    expect(() => new BatchNorm1d(3, { momentum: 2 })).toThrow(
      'BatchNorm1d: momentum must be <= 1, got 2',
    );
    expect(() => new BatchNorm2d(0)).toThrow('BatchNorm2d: numFeatures must be >= 1, got 0');
    expect(() => new BatchNorm1d(3).forward(Tensor.zeros([2, 4]))).toThrow(
      'batchnormForward: gamma has shape [3] but x has 4 features',
    );
    expect(() => new LayerNorm(3).backward(Tensor.zeros([2, 3]))).toThrow(
      'LayerNorm.backward: call forward first',
    );
  });
});

describe('Dropout and Flatten', () => {
  it('Dropout: fresh masks in train mode, identity in eval mode, reproducible by seed', () => {
    const x = Tensor.full([50, 40], 1, 'float64');
    const d = new Dropout(0.4, { seed: 3 }),
      same = new Dropout(0.4, { seed: 3 });
    const a = d.forward(x),
      b = d.forward(x);
    expect([...a.data]).not.toEqual([...b.data]);
    expect([...same.forward(x).data]).toEqual([...a.data]);
    const dropped = a.data.filter((v) => v === 0).length / a.size;
    expect(Math.abs(dropped - 0.4)).toBeLessThan(5 * Math.sqrt((0.4 * 0.6) / 2000)); // 5 std of a Binomial fraction
    const dout = randn64([50, 40], 1),
      dx = d.backward(dout);
    for (let i = 0; i < dx.size; i++) expect(dx.data[i]).toBe(dout.data[i] * b.data[i]);
    d.eval();
    expect([...d.forward(x).data]).toEqual([...x.data]);
    expect(() => new Dropout(1.2)).toThrow('Dropout: p must be <= 1, got 1.2');
  });

  it('Flatten: (N, d1..dk) -> (N, D) and back, with a fresh gradient', () => {
    const f = new Flatten(),
      x = randn64([2, 3, 2, 2], 1);
    const out = f.forward(x);
    expect(out.shape).toEqual([2, 12]);
    expect([...out.data]).toEqual([...x.data]);
    const dout = randn64([2, 12], 2),
      unchanged = snapshot(dout);
    const dx = f.backward(dout);
    expect(dx.shape).toEqual([2, 3, 2, 2]);
    expect(dx.data).not.toBe(dout.data);
    expect(unchanged()).toBe(true);
    expect(() => f.backward(Tensor.zeros([2, 11]))).toThrow(
      'Flatten.backward: dout has shape [2,11] but the forward output was [2,12]',
    );
  });
});
