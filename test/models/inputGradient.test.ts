// test/models/inputGradient.test.ts: Classifier.inputGradient of every classifier model and of
// Sequential chains, against centred differences of the test-mode scores (float64), against the
// numerical gradient of the softmax loss with respect to X, plus no mutation, no change of the
// model's state, and the error messages.
import { describe, expect, it } from 'vitest';
import { evalNumericalGradient, relError } from '../../src/gradcheck/index.js';
import { softmaxLoss } from '../../src/layers/index.js';
import {
  FullyConnectedNet,
  LinearClassifier,
  ThreeLayerConvNet,
  TwoLayerNet,
  type Classifier,
} from '../../src/models/index.js';
import {
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
  LayerNorm,
  Linear,
  MaxPool2d,
  ReLU,
  Sequential,
  Tanh,
  AvgPool2d,
} from '../../src/nn/index.js';
import { Rng, Tensor, type FloatTensor } from '../../src/tensor/index.js';
import { numericGrad, randn64, snapshot } from '../helpers.js';

/** Puts random but valid running statistics into every batch-norm buffer (var in [0.5, 2]). */
function randomBuffers(buffers: Record<string, FloatTensor>, seed: number): void {
  const rng = new Rng(seed);
  for (const [key, t] of Object.entries(buffers)) {
    for (let i = 0; i < t.size; i++)
      t.data[i] = /var/i.test(key) ? 0.5 + 1.5 * rng.uniform() : 0.5 * rng.normal();
  }
}

interface Case {
  name: string;
  make: () => Classifier;
  /** One sample's shape. */
  sample: number[];
  numClasses: number;
}

const conv = (o: object = {}) =>
  new ThreeLayerConvNet({
    inputDim: [2, 6, 6],
    numFilters: 3,
    filterSize: 3,
    hiddenDim: 7,
    numClasses: 4,
    weightScale: 0.3,
    dtype: 'float64',
    seed: 1,
    ...o,
  });
const fc = (o: object = {}) =>
  new FullyConnectedNet({
    inputDim: 12,
    hiddenDims: [9, 8],
    numClasses: 5,
    weightScale: 0.4,
    dtype: 'float64',
    seed: 2,
    ...o,
  });
const f64 = { dtype: 'float64' as const };

// Relu and max pooling have kinks; with these seeds no input lies within h = 1e-5 of one, so the
// smooth-layer bound 1e-7 holds (a kink crossed would show as an error near 1e-2, not 1e-6).
const CASES: Case[] = [
  {
    name: 'LinearClassifier',
    make: () =>
      new LinearClassifier({ inputDim: 12, numClasses: 4, weightScale: 0.5, ...f64, seed: 3 }),
    sample: [3, 2, 2],
    numClasses: 4,
  },
  {
    name: 'TwoLayerNet',
    make: () =>
      new TwoLayerNet({ inputDim: 12, hiddenDim: 10, numClasses: 4, weightScale: 0.5, ...f64 }),
    sample: [12],
    numClasses: 4,
  },
  { name: 'FullyConnectedNet', make: () => fc(), sample: [12], numClasses: 5 },
  {
    name: 'FullyConnectedNet, batch norm (running statistics) and dropout 0.5',
    make: () => fc({ normalization: 'batchnorm', dropout: 0.5 }),
    sample: [3, 4],
    numClasses: 5,
  },
  {
    name: 'FullyConnectedNet, layer norm and dropout 0.3',
    make: () => fc({ normalization: 'layernorm', dropout: 0.3 }),
    sample: [12],
    numClasses: 5,
  },
  {
    name: 'FullyConnectedNet, group norm (2 groups) and dropout 0.3',
    make: () => fc({ normalization: 'groupnorm', hiddenDims: [8, 6], groups: 2, dropout: 0.3 }),
    sample: [12],
    numClasses: 5,
  },
  { name: 'ThreeLayerConvNet', make: () => conv(), sample: [2, 6, 6], numClasses: 4 },
  {
    name: 'ThreeLayerConvNet, group norm and dropout 0.4',
    make: () => conv({ normalization: 'groupnorm', dropout: 0.4 }),
    sample: [2, 6, 6],
    numClasses: 4,
  },
  {
    name: 'ThreeLayerConvNet, batch norm and dropout 0.4',
    make: () => conv({ normalization: 'batchnorm', dropout: 0.4 }),
    sample: [2, 6, 6],
    numClasses: 4,
  },
  {
    name: 'Sequential: conv, batch norm, relu, max pool, dropout, flatten, linear, layer norm, tanh',
    make: () =>
      new Sequential(
        new Conv2d(2, 3, 3, { pad: 1, seed: 4, ...f64 }),
        new BatchNorm2d(3, f64),
        new ReLU(),
        new MaxPool2d(2),
        new Dropout(0.5),
        new Flatten(),
        new Linear(27, 8, { seed: 5, ...f64 }),
        new LayerNorm(8, f64),
        new Tanh(),
        new Linear(8, 4, { seed: 6, ...f64 }),
        { seed: 7 },
      ),
    sample: [2, 6, 6],
    numClasses: 4,
  },
  {
    name: 'Sequential nested, with stride-2 conv, average pool and BatchNorm1d',
    make: () =>
      new Sequential(
        new Sequential(new Conv2d(1, 2, 3, { stride: 2, pad: 1, seed: 8, ...f64 }), new ReLU()),
        new AvgPool2d(2),
        new Flatten(),
        new Sequential(new Linear(8, 6, { seed: 9, ...f64 }), new BatchNorm1d(6, f64)),
        new ReLU(),
        new Linear(6, 3, { seed: 10, ...f64 }),
      ),
    sample: [1, 8, 8],
    numClasses: 3,
  },
];

/**
 * The worst |a − b| / max(|a| + |b|, floor·max|b|) over the entries: relError, but an entry much
 * smaller than the largest is judged against the largest's scale, not its own (its centred
 * difference is mostly rounding noise of the scalar it differentiates).
 */
function scaledError(a: FloatTensor, b: Tensor, floor: number): number {
  let largest = 0;
  for (let i = 0; i < b.size; i++) largest = Math.max(largest, Math.abs(b.data[i]));
  const scale = floor * largest;
  let worst = 0;
  for (let i = 0; i < a.size; i++) {
    const err =
      Math.abs(a.data[i] - b.data[i]) / Math.max(scale, Math.abs(a.data[i]) + Math.abs(b.data[i]));
    worst = Number.isNaN(err) ? Infinity : Math.max(worst, err);
  }
  return worst;
}

/** Test-mode scores of the model (what inputGradient differentiates). */
const scoresOf = (model: Classifier) => (X: Tensor) => model.loss(X);

describe('inputGradient matches centred differences (float64)', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const model = c.make();
      if ('buffers' in model && model.buffers) randomBuffers(model.buffers, 11);
      const X = randn64([3, ...c.sample], 12),
        dscores = randn64([3, c.numClasses], 13);
      const unchanged = snapshot(X, dscores);
      const { scores, dX } = model.inputGradient(X, dscores);
      expect(unchanged()).toBe(true);
      expect(dX.shape).toEqual(X.shape);
      expect(dX.dtype).toBe('float64');
      expect(relError(scores, model.loss(X))).toBe(0);
      expect(relError(dX, numericGrad(scoresOf(model), X, dscores))).toBeLessThan(1e-7);
    });
  }
});

describe('with dscores = the softmax loss gradient, dX is the gradient of the loss', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const model = c.make();
      if ('buffers' in model && model.buffers) randomBuffers(model.buffers, 14);
      const X = randn64([4, ...c.sample], 15),
        y = Int32Array.from({ length: 4 }, (_, n) => n % c.numClasses);
      const { dx: dscores } = softmaxLoss(model.loss(X), y);
      const { dX } = model.inputGradient(X, dscores);
      // The scalar loss (~1.4) carries rounding noise ~eps·L/h into every centred difference:
      // ~3e-11 at h = 1e-5, against entries of dX down to 1e-6. The fourth-order stencil at
      // h = 1e-4 cuts it to ~2e-12 (its truncation error is below that), and entries under 1% of
      // the largest are compared against that 1% (see scaledError), so 1e-7 still holds.
      const loss = (x: Tensor) => softmaxLoss(model.loss(x), y).loss;
      const numeric = evalNumericalGradient(loss, X, 1e-4, 4);
      expect(scaledError(dX, numeric, 0.01)).toBeLessThan(1e-7);
    });
  }
});

describe("inputGradient leaves the model's state alone", () => {
  it('params, batch-norm statistics and the dropout generator are unchanged', () => {
    const models: [Classifier & { rng?: Rng; buffers: Record<string, FloatTensor> }, number[]][] = [
      [conv({ normalization: 'batchnorm', dropout: 0.4 }), [2, 6, 6]],
      [fc({ normalization: 'batchnorm', dropout: 0.5 }), [12]],
    ];
    for (const [model, sample] of models) {
      const X = randn64([5, ...sample], 16);
      model.loss(X, [0, 1, 2, 3, 0]); // running statistics away from their initial values
      const unchanged = snapshot(...Object.values(model.params), ...Object.values(model.buffers));
      const rngState = model.rng?.getState();
      expect(rngState).toBeDefined();
      const C = model.loss(X).shape[1];
      model.inputGradient(X, randn64([5, C], 17));
      expect(unchanged()).toBe(true);
      expect(model.rng?.getState()).toEqual(rngState);
    }
  });

  it('a training step gives the same loss and gradients after inputGradient as without it', () => {
    const X = randn64([5, 2, 6, 6], 18),
      y = Int32Array.from([0, 1, 2, 3, 0]);
    const a = conv({ normalization: 'batchnorm', dropout: 0.4 }),
      b = conv({ normalization: 'batchnorm', dropout: 0.4 });
    b.inputGradient(X, randn64([5, 4], 19));
    const ra = a.loss(X, y),
      rb = b.loss(X, y);
    expect(rb.loss).toBe(ra.loss);
    for (const key of Object.keys(ra.grads)) expect(rb.grads[key].data).toEqual(ra.grads[key].data);
  });
});

describe('trace: the layers of the test-mode forward', () => {
  it('names every layer; the last output is the scores and the steps chain to dX', () => {
    const model = conv({ normalization: 'batchnorm', dropout: 0.4 });
    const X = randn64([2, 2, 6, 6], 20);
    const steps = model.trace(X);
    expect(steps.map((s) => s.name)).toEqual([
      'conv1',
      'bn1',
      'relu1',
      'pool1',
      'affine2',
      'bn2',
      'relu2',
      'affine3',
    ]);
    expect(steps.map((s) => s.out.shape)).toEqual([
      [2, 3, 6, 6],
      [2, 3, 6, 6],
      [2, 3, 6, 6],
      [2, 3, 3, 3],
      [2, 7],
      [2, 7],
      [2, 7],
      [2, 4],
    ]);
    expect(steps[7].out.data).toEqual(model.loss(X).data);
    const seq = CASES.find((c) => c.name.startsWith('Sequential nested'))!.make() as Sequential;
    expect(seq.trace(randn64([1, 1, 8, 8], 21)).map((s) => s.name)).toEqual([
      '0.0 Conv2d',
      '0.1 ReLU',
      '1 AvgPool2d',
      '2 Flatten',
      '3.0 Linear',
      '3.1 BatchNorm1d',
      '4 ReLU',
      '5 Linear',
    ]);
    expect(
      fc({ normalization: 'layernorm' })
        .trace(randn64([1, 12], 22))
        .map((s) => s.name),
    ).toEqual(['affine1', 'layernorm1', 'relu1', 'affine2', 'layernorm2', 'relu2', 'affine3']);
    const gn = conv({ normalization: 'groupnorm' });
    const Xg = randn64([2, 2, 6, 6], 25);
    const gsteps = gn.trace(Xg);
    expect(gsteps.map((s) => s.name)).toEqual([
      'conv1',
      'gn1',
      'relu1',
      'pool1',
      'affine2',
      'gn2',
      'relu2',
      'affine3',
    ]);
    expect(gsteps[7].out.data).toEqual(gn.loss(Xg).data); // the group norm is not skipped
  });
});

describe('inputGradient errors name the model, the argument and the shapes', () => {
  it('dscores of the wrong shape or dtype, X of the wrong size', () => {
    const model = conv();
    const X = randn64([2, 2, 6, 6], 23);
    expect(() => model.inputGradient(X, randn64([2, 5], 24))).toThrow(
      'ThreeLayerConvNet.inputGradient: dscores has shape [2,5] but the scores have shape [2,4]',
    );
    expect(() => model.inputGradient(X, Tensor.zeros([2, 4]))).toThrow(
      'ThreeLayerConvNet.inputGradient: dscores has dtype float32 but the scores have dtype float64',
    );
    expect(() => model.inputGradient(randn64([2, 2, 7, 7], 25), randn64([2, 4], 26))).toThrow(
      'ThreeLayerConvNet.inputGradient: X has shape [2,2,7,7] but the model was built for inputDim [2,6,6]',
    );
    expect(() => fc().inputGradient(randn64([2, 13], 27), randn64([2, 5], 28))).toThrow(
      'FullyConnectedNet.inputGradient: X has shape [2,13] but inputDim is 12',
    );
    const two = new TwoLayerNet({ inputDim: 12, numClasses: 4, ...f64 });
    expect(() => two.inputGradient(randn64([2, 1, 3, 3], 29), randn64([2, 4], 30))).toThrow(
      'TwoLayerNet.inputGradient: X has shape [2,1,3,3] but the model takes inputDim 12',
    );
    expect(() => two.inputGradient(Tensor.zeros([2, 12]), Tensor.zeros([2, 4]))).toThrow(
      'TwoLayerNet.inputGradient: X has dtype float32 but the model is float64',
    );
    expect(() => new Sequential().inputGradient(X, randn64([2, 4], 31))).toThrow(
      'Sequential.inputGradient: the model has no layers',
    );
  });
});
