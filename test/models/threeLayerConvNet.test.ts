// test/models/threeLayerConvNet.test.ts: ThreeLayerConvNet against torch (loss, gradients,
// running statistics, test-mode scores), whole-model gradient checks, overfitting a small batch,
// option errors and bookkeeping.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { loadModel, saveModel } from '../../src/io/checkpoint.js';
import { evalNumericalGradient, relError } from '../../src/gradcheck/index.js';
import { kernelsFor } from '../../src/kernels/index.js';
import { convBackward, convForward } from '../../src/layers/index.js';
import {
  ThreeLayerConvNet,
  type ThreeLayerConvNetOptions,
} from '../../src/models/threeLayerConvNet.js';
import { Rng, Tensor } from '../../src/tensor/index.js';
import { accuracy, adamSteps, fixture, fromFixture, randn64, snapshot } from '../helpers.js';

type Entry = { shape: number[]; data: number[] };
interface ModelCase {
  options: ThreeLayerConvNetOptions;
  X: Entry;
  y: number[];
  params: Record<string, Entry>;
  loss: number;
  grads: Record<string, Entry>;
  testScores: Entry;
  buffers?: Record<string, Entry>;
}

/**
 * A bias right before batch norm shifts the batch mean by the same amount and cancels, so its
 * exact gradient is 0: b1 (before spatial batch norm) and b2 (before batch norm). Relative
 * errors between two roundings of 0 say nothing; those are checked to be 0 to rounding instead.
 */
const cancelled = (key: string) => key === 'b1' || key === 'b2';
const maxAbs = (t: Tensor) => Math.max(0, ...Array.from(t.data, Math.abs));

/**
 * relError with the denominator floored at 1e-4 instead of 1e-8: some entries are exactly 0 for
 * a structural reason (e.g. beta1 of a channel that relu passes everywhere, whose shift then
 * cancels in the second batch norm), and centred differences of a loss of size 1 carry about
 * 1e-11 of rounding noise. Entries of size 1e-2 and up are still compared to 1e-6 relative.
 */
function gradError(a: Tensor, b: Tensor): number {
  let worst = 0;
  for (let i = 0; i < a.size; i++) {
    worst = Math.max(
      worst,
      Math.abs(a.data[i] - b.data[i]) / Math.max(1e-4, Math.abs(a.data[i]) + Math.abs(b.data[i])),
    );
  }
  return worst;
}

describe('ThreeLayerConvNet against torch autograd (float64 fixture)', () => {
  const { cases, generator } = fixture<{ cases: ModelCase[] }>('three_layer_convnet');
  it('comes from the committed generator', () => {
    expect(generator).toContain('test/fixtures/gen/three_layer_convnet.py');
    expect(cases.map((c) => c.options.normalization)).toEqual([null, 'batchnorm']);
  });
  for (const c of cases) {
    it(`normalization ${c.options.normalization}: loss, grads, running statistics, test scores`, () => {
      const model = new ThreeLayerConvNet({ ...c.options, dtype: 'float64', seed: 0 });
      expect(Object.keys(model.params).sort()).toEqual(Object.keys(c.params).sort());
      for (const [key, entry] of Object.entries(c.params)) {
        expect(model.params[key].shape).toEqual(entry.shape);
        model.params[key].data.set(entry.data);
      }
      const X = fromFixture(c.X);
      const { loss, grads } = model.loss(X, c.y);
      expect(relError(loss, c.loss)).toBeLessThan(1e-10);
      for (const [key, entry] of Object.entries(c.grads)) {
        if (c.options.normalization && cancelled(key))
          expect(maxAbs(grads[key]), key).toBeLessThan(1e-12);
        else expect(relError(grads[key], fromFixture(entry)), key).toBeLessThan(1e-8);
      }
      for (const [key, entry] of Object.entries(c.buffers ?? {})) {
        expect(relError(model.buffers[key], fromFixture(entry)), key).toBeLessThan(1e-10);
      }
      expect(relError(model.loss(X), fromFixture(c.testScores))).toBeLessThan(1e-8);
    });
  }
});

describe('ThreeLayerConvNet gradients match centred differences (float64)', () => {
  // relu and max pool have kinks; with random inputs none lies within h = 1e-5 of the point, so
  // the check holds at 1e-6 (DESIGN allows 1e-5 for kinked functions). reg > 0 keeps every
  // weight gradient well away from 0, where relative errors only measure rounding.
  const configs: Array<[string, ThreeLayerConvNetOptions]> = [
    ['plain', {}],
    ['batchnorm', { normalization: 'batchnorm' }],
    ['dropout 0.3 with a fixed mask', { dropout: 0.3 }],
    ['batchnorm and dropout', { normalization: 'batchnorm', dropout: 0.25 }],
  ];
  for (const [name, extra] of configs) {
    it(name, () => {
      const model = new ThreeLayerConvNet({
        inputDim: [2, 6, 5],
        numFilters: 3,
        filterSize: 3,
        hiddenDim: 6,
        numClasses: 4,
        weightScale: 0.3,
        reg: 0.05,
        dtype: 'float64',
        seed: 11,
        ...extra,
      });
      const X = randn64([3, 2, 6, 5], 12),
        y = [0, 3, 1];
      const state = model.rng.getState(); // replayed before every call: the same dropout mask
      const lossAt = () => {
        model.rng.setState(state);
        return model.loss(X, y);
      };
      const { grads } = lossAt();
      for (const [key, param] of Object.entries(model.params)) {
        const numeric = evalNumericalGradient(() => lossAt().loss, param);
        if (extra.normalization && cancelled(key)) {
          expect(maxAbs(grads[key]), key).toBeLessThan(1e-12);
          expect(maxAbs(numeric), key).toBeLessThan(1e-9);
        } else {
          expect(gradError(grads[key], numeric), key).toBeLessThan(1e-6);
        }
      }
    });
  }
});

describe('ThreeLayerConvNet skips the input gradient of its conv layer (its input is X)', () => {
  it('runs no col2im in loss(X, y), float32 and float64, while a full conv backward does', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const model = new ThreeLayerConvNet({
        inputDim: [2, 6, 5],
        numFilters: 3,
        filterSize: 3,
        hiddenDim: 6,
        numClasses: 4,
        weightScale: 0.3,
        dtype,
        seed: 1,
      });
      const X = Tensor.randn([3, 2, 6, 5], { seed: 2, dtype });
      const col2im = vi.spyOn(kernelsFor(dtype), 'col2im');
      try {
        const { grads } = model.loss(X, [0, 3, 1]);
        expect(
          grads.W1.data.some((v) => v !== 0),
          dtype,
        ).toBe(true);
        expect(col2im, dtype).not.toHaveBeenCalled();
        const { out, cache } = convForward(X, model.params.W1, model.params.b1, { pad: 1 });
        convBackward(Tensor.randn(out.shape, { seed: 3, dtype }), cache); // the control: dx goes through col2im
        expect(col2im, dtype).toHaveBeenCalled();
      } finally {
        col2im.mockRestore();
      }
    }
  });
});

describe('ThreeLayerConvNet training', () => {
  it('overfits 50 samples to 100% train accuracy with full-batch Adam', () => {
    const rng = new Rng(3);
    const X = Tensor.randn([50, 3, 8, 8], { seed: 2 }),
      y = Array.from({ length: 50 }, () => rng.int(10));
    const model = new ThreeLayerConvNet({
      inputDim: [3, 8, 8],
      numFilters: 8,
      filterSize: 3,
      hiddenDim: 50,
      weightScale: 0.05,
      seed: 1,
    });
    const before = accuracy(model.loss(X), y);
    const losses = adamSteps(model, X, y, 120, 5e-3);
    expect(before).toBeLessThan(0.5);
    expect(losses[losses.length - 1]).toBeLessThan(0.1 * losses[0]);
    expect(accuracy(model.loss(X), y)).toBe(1);
  });

  it('with batch norm and dropout it still overfits, and keeps its running statistics', () => {
    const rng = new Rng(4);
    const X = Tensor.randn([50, 1, 8, 8], { seed: 5 }),
      y = Array.from({ length: 50 }, () => rng.int(5));
    const model = new ThreeLayerConvNet({
      inputDim: [1, 8, 8],
      numFilters: 8,
      filterSize: 5,
      hiddenDim: 60,
      numClasses: 5,
      weightScale: 0.05,
      normalization: 'batchnorm',
      dropout: 0.1,
      seed: 6,
    });
    adamSteps(model, X, y, 150, 5e-3);
    expect(model.buffers.runningVar1.data.some((v) => v !== 1)).toBe(true);
    expect(accuracy(model.loss(X), y)).toBe(1);
  });
});

describe('ThreeLayerConvNet construction and errors', () => {
  it('builds the classic shapes, buffers and config', () => {
    const model = new ThreeLayerConvNet({ normalization: 'batchnorm', dropout: 0.5, seed: 1 });
    const shapes = Object.fromEntries(Object.entries(model.params).map(([k, t]) => [k, t.shape]));
    expect(shapes).toEqual({
      W1: [32, 3, 7, 7],
      b1: [32],
      W2: [32 * 16 * 16, 100],
      b2: [100],
      W3: [100, 10],
      b3: [10],
      gamma1: [32],
      beta1: [32],
      gamma2: [100],
      beta2: [100],
    });
    expect(Object.keys(model.buffers).sort()).toEqual([
      'runningMean1',
      'runningMean2',
      'runningVar1',
      'runningVar2',
    ]);
    expect(model.buffers.runningVar2.data.every((v) => v === 1)).toBe(true);
    expect(model.config).toEqual({
      type: 'ThreeLayerConvNet',
      options: { normalization: 'batchnorm', dropout: 0.5, seed: 1 },
    });
    expect(model.params.W1.dtype).toBe('float32');
    expect(new ThreeLayerConvNet().buffers).toEqual({});
  });

  it('pools odd sizes by floor, as torch does: W2 has F·⌊H/2⌋·⌊W/2⌋ rows', () => {
    const model = new ThreeLayerConvNet({
      inputDim: [1, 7, 5],
      numFilters: 2,
      filterSize: 3,
      hiddenDim: 4,
      seed: 0,
    });
    expect(model.params.W2.shape).toEqual([2 * 3 * 2, 4]);
    expect(model.loss(Tensor.zeros([2, 1, 7, 5])).shape).toEqual([2, 10]);
  });

  it('the same seed gives the same weights; X and y are not modified; test mode leaves buffers alone', () => {
    const opts: ThreeLayerConvNetOptions = {
      inputDim: [1, 6, 6],
      numFilters: 2,
      filterSize: 3,
      hiddenDim: 5,
      normalization: 'batchnorm',
      seed: 9,
    };
    const a = new ThreeLayerConvNet(opts),
      b = new ThreeLayerConvNet(opts);
    expect(a.params.W2.data).toEqual(b.params.W2.data);
    const X = Tensor.randn([4, 1, 6, 6], { seed: 1 }),
      y = Int32Array.from([0, 1, 2, 3]);
    const same = snapshot(X),
      yCopy = y.slice();
    a.loss(X);
    expect(a.buffers.runningMean1.data.every((v) => v === 0)).toBe(true);
    a.loss(X, y);
    expect(same()).toBe(true);
    expect(y).toEqual(yCopy);
  });

  it('round-trips through a checkpoint with its config, params and running statistics', () => {
    const model = new ThreeLayerConvNet({
      inputDim: [2, 6, 6],
      numFilters: 3,
      filterSize: 3,
      hiddenDim: 5,
      numClasses: 4,
      weightScale: 0.1,
      normalization: 'batchnorm',
      dropout: 0.2,
      seed: 3,
    });
    const X = Tensor.randn([5, 2, 6, 6], { seed: 4 });
    adamSteps(model, X, [0, 1, 2, 3, 0], 3, 1e-2); // moves params and running statistics
    const dir = mkdtempSync(join(tmpdir(), 'layerwise-convnet-'));
    try {
      saveModel(join(dir, 'model.safetensors'), model);
      const loaded = loadModel<ThreeLayerConvNet>(join(dir, 'model.safetensors'));
      expect(loaded).toBeInstanceOf(ThreeLayerConvNet);
      expect(loaded.buffers.runningVar1.data).toEqual(model.buffers.runningVar1.data);
      expect(loaded.loss(X).data).toEqual(model.loss(X).data); // test mode: running statistics, no dropout
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects an even filterSize, bad options and inputs of the wrong shape or dtype', () => {
    expect(() => new ThreeLayerConvNet({ filterSize: 4 })).toThrow(
      'ThreeLayerConvNet: filterSize must be odd so that pad = (filterSize - 1) / 2 keeps H and W, got 4',
    );
    expect(() => new ThreeLayerConvNet({ numFilter: 3 } as ThreeLayerConvNetOptions)).toThrow(
      "ThreeLayerConvNet: unknown option 'numFilter' (did you mean 'numFilters'?)",
    );
    expect(() => new ThreeLayerConvNet({ normalization: 'layernorm' as 'batchnorm' })).toThrow(
      "ThreeLayerConvNet: normalization must be 'batchnorm', 'groupnorm' or null, got 'layernorm'",
    );
    expect(() => new ThreeLayerConvNet({ dropout: 1 })).toThrow(
      'ThreeLayerConvNet: dropout must be < 1, got 1',
    );
    expect(
      () => new ThreeLayerConvNet({ inputDim: [3, 32] as unknown as [number, number, number] }),
    ).toThrow('ThreeLayerConvNet: inputDim must be [C, H, W], got [3,32]');
    const model = new ThreeLayerConvNet({
      inputDim: [1, 6, 6],
      numFilters: 2,
      filterSize: 3,
      hiddenDim: 5,
      seed: 0,
    });
    expect(() => model.loss(Tensor.zeros([2, 3, 6, 6]))).toThrow(
      'ThreeLayerConvNet.loss: X has shape [2,3,6,6] but the model was built for inputDim [1,6,6]',
    );
    expect(() => model.loss(Tensor.zeros([2, 1, 6, 6], 'float64'))).toThrow(
      'ThreeLayerConvNet.loss: W1 has dtype float32 but X has dtype float64',
    );
    expect(() => model.loss(Tensor.zeros([2, 1, 6, 6]), [0, 10])).toThrow(
      'softmaxLoss: y[1] = 10 is outside [0, 10)',
    );
  });
});
