// src/models/twoLayerNet.ts: affine - relu - affine - softmax, the first network of the curriculum.
import { inOwnStepMemory } from '../kernels/index.js';
import {
  affineBackward,
  affineForward,
  reluBackward,
  reluForward,
  softmaxLoss,
} from '../layers/index.js';
import {
  floatDType,
  expectOptions,
  Tensor,
  type FloatDType,
  type FloatTensor,
  type Labels,
} from '../tensor/index.js';
import { gaussianWeight, nonNegative, positiveInt, rngFor } from './init.js';
import {
  inputGradientOfTrace,
  type Classifier,
  type InputGradient,
  type LossResult,
  type ModelConfig,
  type TraceStep,
} from '../nn/index.js';
import { addL2, expectDenseInput } from '../nn/internal.js';

export interface TwoLayerNetOptions {
  inputDim?: number; // D, default 3072 (3·32·32)
  hiddenDim?: number; // H, default 100
  numClasses?: number; // C, default 10
  weightScale?: number; // std of the initial weights, default 1e-3
  reg?: number; // L2 strength, default 0
  dtype?: FloatDType; // default 'float32'
  seed?: number;
}
const OPTIONS = [
  'inputDim',
  'hiddenDim',
  'numClasses',
  'weightScale',
  'reg',
  'dtype',
  'seed',
] as const;

/** params W1 (D, H), b1 (H), W2 (H, C), b2 (C); weights ~ weightScale·N(0, 1), biases 0. */
export class TwoLayerNet implements Classifier {
  readonly params: Record<string, FloatTensor>;
  readonly config: ModelConfig;
  /** loss() creates no state: the Solver may reuse its memory every step (see Model). */
  readonly reusesStepMemory = true;
  readonly reg: number;

  constructor(options: TwoLayerNetOptions = {}) {
    const fn = 'TwoLayerNet';
    expectOptions(fn, options, OPTIONS);
    const D = positiveInt(fn, 'inputDim', options.inputDim ?? 3072);
    const H = positiveInt(fn, 'hiddenDim', options.hiddenDim ?? 100);
    const C = positiveInt(fn, 'numClasses', options.numClasses ?? 10);
    const weightScale = nonNegative(fn, 'weightScale', options.weightScale ?? 1e-3);
    this.reg = nonNegative(fn, 'reg', options.reg ?? 0);
    const dtype = floatDType(fn, options.dtype ?? 'float32');
    const rng = rngFor(options.seed);
    this.params = {
      W1: gaussianWeight([D, H], weightScale, dtype, rng),
      b1: Tensor.zeros([H], dtype),
      W2: gaussianWeight([H, C], weightScale, dtype, rng),
      b2: Tensor.zeros([C], dtype),
    };
    this.config = { type: 'TwoLayerNet', options: { ...options } };
  }

  loss(X: Tensor): FloatTensor;
  loss(X: Tensor, y: Labels): LossResult;
  loss(X: Tensor, y?: Labels): FloatTensor | LossResult {
    // a training call runs in the model's own step memory unless it is in one already
    return y === undefined ? this.compute(X) : inOwnStepMemory(this, () => this.compute(X, y));
  }

  private compute(X: Tensor, y?: Labels): FloatTensor | LossResult {
    const { W1, b1, W2, b2 } = this.params;
    const fc1 = affineForward(X, W1, b1); // (N, H)
    const relu = reluForward(fc1.out); // (N, H)
    const fc2 = affineForward(relu.out, W2, b2); // (N, C)
    if (y === undefined) return fc2.out;
    const { loss, dx: dscores } = softmaxLoss(fc2.out, y);
    const d2 = affineBackward(dscores, fc2.cache);
    const { dx: dh } = reluBackward(d2.dx, relu.cache);
    const d1 = affineBackward(dh, fc1.cache, { inputGrad: false }); // the input is X: no dx wanted
    const grads = { W1: d1.dw, b1: d1.db, W2: d2.dw, b2: d2.db };
    return { loss: addL2(loss, grads, this.params, ['W1', 'W2'], this.reg), grads };
  }

  /** Test-mode scores and dscores carried back to X, first layer included (see Classifier). */
  inputGradient(X: Tensor, dscores: Tensor): InputGradient {
    const fn = 'TwoLayerNet.inputGradient';
    return inputGradientOfTrace(fn, this.traceAs(fn, X), dscores);
  }

  /** The forward one layer at a time: affine1, relu1, affine2 (the scores). */
  trace(X: Tensor): TraceStep[] {
    return this.traceAs('TwoLayerNet.trace', X);
  }

  private traceAs(fn: string, X: Tensor): TraceStep[] {
    const { W1, b1, W2, b2 } = this.params;
    expectDenseInput(fn, X, W1.shape[0], W1.dtype);
    const fc1 = affineForward(X, W1, b1); // (N, H)
    const relu = reluForward(fc1.out); // (N, H)
    const fc2 = affineForward(relu.out, W2, b2); // (N, C)
    return [
      { name: 'affine1', out: fc1.out, backward: (d) => affineBackward(d, fc1.cache).dx },
      { name: 'relu1', out: relu.out, backward: (d) => reluBackward(d, relu.cache).dx },
      { name: 'affine2', out: fc2.out, backward: (d) => affineBackward(d, fc2.cache).dx },
    ];
  }
}
