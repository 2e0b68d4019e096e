// src/models/linearClassifier.ts: one affine layer scored by the SVM or the softmax loss, the
// first model of the curriculum.
import { inOwnStepMemory } from '../kernels/index.js';
import { affineBackward, affineForward, softmaxLoss, svmLoss } from '../layers/index.js';
import {
  expectOneOf,
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

export interface LinearClassifierOptions {
  inputDim?: number; // D, default 3072 (3·32·32)
  numClasses?: number; // C, default 10
  loss?: 'svm' | 'softmax'; // default 'softmax'
  weightScale?: number; // std of the initial W, default 1e-3
  reg?: number; // L2 strength, default 0
  dtype?: FloatDType; // default 'float32'
  seed?: number;
}
const OPTIONS = ['inputDim', 'numClasses', 'loss', 'weightScale', 'reg', 'dtype', 'seed'] as const;

/** scores = X·W + b; params W (D, C), b (C). */
export class LinearClassifier implements Classifier {
  readonly params: Record<string, FloatTensor>;
  readonly config: ModelConfig;
  /** loss() creates no state: the Solver may reuse its memory every step (see Model). */
  readonly reusesStepMemory = true;
  readonly reg: number;
  readonly lossType: 'svm' | 'softmax';

  constructor(options: LinearClassifierOptions = {}) {
    const fn = 'LinearClassifier';
    expectOptions(fn, options, OPTIONS);
    const D = positiveInt(fn, 'inputDim', options.inputDim ?? 3072);
    const C = positiveInt(fn, 'numClasses', options.numClasses ?? 10);
    const weightScale = nonNegative(fn, 'weightScale', options.weightScale ?? 1e-3);
    this.reg = nonNegative(fn, 'reg', options.reg ?? 0);
    const dtype = floatDType(fn, options.dtype ?? 'float32');
    this.lossType = expectOneOf(fn, 'loss', options.loss ?? 'softmax', ['svm', 'softmax'] as const);
    const rng = rngFor(options.seed);
    this.params = {
      W: gaussianWeight([D, C], weightScale, dtype, rng),
      b: Tensor.zeros([C], dtype),
    };
    this.config = { type: 'LinearClassifier', options: { ...options } };
  }

  loss(X: Tensor): FloatTensor;
  loss(X: Tensor, y: Labels): LossResult;
  loss(X: Tensor, y?: Labels): FloatTensor | LossResult {
    // a training call runs in the model's own step memory unless it is in one already
    return y === undefined ? this.compute(X) : inOwnStepMemory(this, () => this.compute(X, y));
  }

  private compute(X: Tensor, y?: Labels): FloatTensor | LossResult {
    const { W, b } = this.params;
    const { out: scores, cache } = affineForward(X, W, b); // (N, C)
    if (y === undefined) return scores;
    const { loss, dx: dscores } =
      this.lossType === 'svm' ? svmLoss(scores, y) : softmaxLoss(scores, y);
    const { dw, db } = affineBackward(dscores, cache, { inputGrad: false }); // the input is X
    const grads = { W: dw, b: db };
    return { loss: addL2(loss, grads, this.params, ['W'], this.reg), grads };
  }

  /** Test-mode scores and dX = dscores·Wᵀ (see Classifier).   X: (N, D), dscores: (N, C) */
  inputGradient(X: Tensor, dscores: Tensor): InputGradient {
    const fn = 'LinearClassifier.inputGradient';
    return inputGradientOfTrace(fn, this.traceAs(fn, X), dscores);
  }

  /** The forward as one step, 'affine' (its output is the scores). */
  trace(X: Tensor): TraceStep[] {
    return this.traceAs('LinearClassifier.trace', X);
  }

  private traceAs(fn: string, X: Tensor): TraceStep[] {
    const { W, b } = this.params;
    expectDenseInput(fn, X, W.shape[0], W.dtype);
    const affine = affineForward(X, W, b); // (N, C)
    return [
      { name: 'affine', out: affine.out, backward: (d) => affineBackward(d, affine.cache).dx },
    ];
  }
}
