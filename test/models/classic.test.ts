import { describe, expect, it } from 'vitest';
import { evalNumericalGradient, relError } from '../../src/gradcheck/index.js';
import { LinearClassifier, TwoLayerNet, type Model } from '../../src/models/index.js';
import { Rng, Tensor, type FloatTensor } from '../../src/tensor/index.js';
import { accuracy, fixture, fromFixture, randn64 } from '../helpers.js';

type T = { shape: number[]; data: number[] };
interface ModelCase {
  X: T;
  y: number[];
  reg: number;
  params: Record<string, T>;
  loss: number;
  grads: Record<string, T>;
  scores?: T;
}
const cases = fixture<{ cases: Record<string, ModelCase> }>('fc_layers').cases;

function loadParams(model: Model, params: Record<string, T>): void {
  for (const [k, v] of Object.entries(params)) model.params[k].data.set(v.data);
}

/** Every analytic gradient of model against centred differences of its loss. */
function gradErrors(model: Model, X: Tensor, y: number[]): Record<string, number> {
  const { grads } = model.loss(X, y);
  const errors: Record<string, number> = {};
  for (const [k, p] of Object.entries(model.params)) {
    errors[k] = relError(
      grads[k],
      evalNumericalGradient(() => model.loss(X, y).loss, p),
    );
  }
  return errors;
}

/** Plain SGD until the batch is memorised; returns the final training accuracy. */
function overfit(model: Model, X: FloatTensor, y: Int32Array, steps: number, lr: number): number {
  for (let s = 0; s < steps; s++) {
    const { grads } = model.loss(X, y);
    for (const [k, p] of Object.entries(model.params))
      for (let i = 0; i < p.size; i++) p.data[i] -= lr * grads[k].data[i];
  }
  return accuracy(model.loss(X), y);
}

function toyBatch(
  N: number,
  D: number,
  C: number,
  seed: number,
): { X: FloatTensor; y: Int32Array } {
  const rng = new Rng(seed);
  return { X: Tensor.randn([N, D], { rng }), y: Int32Array.from({ length: N }, () => rng.int(C)) };
}

describe('TwoLayerNet', () => {
  it('matches PyTorch scores, loss (with reg) and gradients', () => {
    const ref = cases.twoLayerNet;
    const model = new TwoLayerNet({
      inputDim: 6,
      hiddenDim: 5,
      numClasses: 3,
      reg: ref.reg,
      dtype: 'float64',
    });
    loadParams(model, ref.params);
    const X = fromFixture(ref.X);
    expect(relError(model.loss(X), ref.scores!.data)).toBeLessThan(1e-12);
    const { loss, grads } = model.loss(X, ref.y);
    expect(relError(loss, ref.loss)).toBeLessThan(1e-12);
    for (const k of ['W1', 'b1', 'W2', 'b2'])
      expect(relError(grads[k], ref.grads[k].data), k).toBeLessThan(1e-10);
  });

  it('whole-model gradients match centred differences, with and without reg', () => {
    for (const reg of [0, 0.7]) {
      const model = new TwoLayerNet({
        inputDim: 5,
        hiddenDim: 6,
        numClasses: 4,
        weightScale: 0.5,
        reg,
        dtype: 'float64',
        seed: 3,
      });
      for (const p of Object.values(model.params))
        if (p.shape.length === 1) p.data.set(randn64(p.shape, 8, 0.1).data); // nonzero biases
      const errors = gradErrors(model, randn64([4, 5], 1), [0, 3, 1, 2]);
      for (const [k, e] of Object.entries(errors)) expect(e, `${k}, reg ${reg}`).toBeLessThan(1e-7);
    }
  });

  it('overfits a small batch to 100% training accuracy', () => {
    const { X, y } = toyBatch(20, 10, 5, 4);
    const model = new TwoLayerNet({
      inputDim: 10,
      hiddenDim: 50,
      numClasses: 5,
      weightScale: 0.1,
      seed: 1,
    });
    expect(overfit(model, X, y, 300, 0.5)).toBe(1);
  });

  it('is reproducible from a seed and rejects bad options', () => {
    const a = new TwoLayerNet({ inputDim: 4, hiddenDim: 3, numClasses: 2, seed: 9 });
    const b = new TwoLayerNet({ inputDim: 4, hiddenDim: 3, numClasses: 2, seed: 9 });
    expect([...a.params.W1.data]).toEqual([...b.params.W1.data]);
    expect([...a.params.b1.data]).toEqual([0, 0, 0]);
    expect(() => new TwoLayerNet({ hiddenDims: 3 } as never)).toThrow(
      "TwoLayerNet: unknown option 'hiddenDims' (did you mean 'hiddenDim'?)",
    );
    expect(() => new TwoLayerNet({ hiddenDim: 0 })).toThrow(
      'TwoLayerNet: hiddenDim must be >= 1, got 0',
    );
    expect(() => new TwoLayerNet({ reg: -1 })).toThrow('TwoLayerNet: reg must be >= 0, got -1');
    const model = new TwoLayerNet({ inputDim: 4, hiddenDim: 3, numClasses: 2 });
    expect(() => model.loss(Tensor.zeros([2, 5]), [0, 1])).toThrow(
      'affineForward: w has shape [4,3] but x flattens to [2,5]',
    );
  });
});

describe('LinearClassifier', () => {
  for (const lossType of ['svm', 'softmax'] as const) {
    it(`${lossType}: matches PyTorch loss and gradients with reg`, () => {
      const ref = cases[`linear_${lossType}`];
      const model = new LinearClassifier({
        inputDim: 4,
        numClasses: 3,
        loss: lossType,
        reg: ref.reg,
        dtype: 'float64',
      });
      loadParams(model, ref.params);
      const { loss, grads } = model.loss(fromFixture(ref.X), ref.y);
      expect(relError(loss, ref.loss)).toBeLessThan(1e-12);
      expect(relError(grads.W, ref.grads.W.data)).toBeLessThan(1e-10);
      expect(relError(grads.b, ref.grads.b.data)).toBeLessThan(1e-10);
    });

    it(`${lossType}: gradients match centred differences and a small batch is overfit`, () => {
      const model = new LinearClassifier({
        inputDim: 6,
        numClasses: 3,
        loss: lossType,
        weightScale: 0.3,
        reg: 0.1,
        dtype: 'float64',
        seed: 2,
      });
      for (const [k, e] of Object.entries(gradErrors(model, randn64([5, 6], 3), [0, 1, 2, 1, 0])))
        expect(e, k).toBeLessThan(1e-7);
      const { X, y } = toyBatch(8, 20, 3, 6); // 8 points in 20-D are linearly separable
      const fresh = new LinearClassifier({ inputDim: 20, numClasses: 3, loss: lossType, seed: 2 });
      expect(overfit(fresh, X, y, 200, 0.5)).toBe(1);
    });
  }

  it('rejects an unknown loss', () => {
    expect(() => new LinearClassifier({ loss: 'hinge' as never })).toThrow(
      "LinearClassifier: loss must be 'svm' or 'softmax', got 'hinge'",
    );
  });
});
