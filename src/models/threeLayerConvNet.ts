// src/models/threeLayerConvNet.ts: the first convolutional network of the curriculum,
//   conv - [spatial batch / group norm] - relu - 2x2 max pool - affine - [batch / group norm] - relu
//   - [dropout]
//   - affine - softmax,
// with the optional parts off by default. Conv stride 1 and pad (filterSize − 1)/2 keep H x W.
import { inOwnStepMemory } from '../kernels/index.js';
import {
  affineBackward,
  affineForward,
  batchnormBackward,
  batchnormForward,
  convBackward,
  convForward,
  dropoutBackward,
  dropoutForward,
  maxPoolBackward,
  maxPoolForward,
  reluBackward,
  reluForward,
  reluMaxPool2x2Backward,
  reluMaxPool2x2Forward,
  softmaxLoss,
  spatialBatchnormBackward,
  spatialBatchnormForward,
  spatialGroupnormBackward,
  spatialGroupnormForward,
  type BnParam,
} from '../layers/index.js';
import {
  expectOneOf,
  floatDType,
  defaultRng,
  expectFloat,
  expectNdim,
  expectNumber,
  expectOptions,
  expectSameDType,
  expectShape,
  fmt,
  Rng,
  Tensor,
  ValueError,
  type FloatDType,
  type FloatTensor,
  type Labels,
} from '../tensor/index.js';
import { gaussianWeight, groupsFor, nonNegative, positiveInt } from './init.js';
import {
  inputGradientOfTrace,
  type Classifier,
  type InputGradient,
  type LossResult,
  type ModelConfig,
  type TraceStep,
} from '../nn/index.js';
import { addL2 } from '../nn/internal.js';

export interface ThreeLayerConvNetOptions {
  inputDim?: readonly [number, number, number]; // [C, H, W], default [3, 32, 32]
  numFilters?: number; // F, default 32
  filterSize?: number; // odd, default 7
  hiddenDim?: number; // default 100
  numClasses?: number; // default 10
  weightScale?: number; // std of the initial weights, default 1e-3
  reg?: number; // L2 strength on W1, W2, W3, default 0
  /**
   * default null. 'groupnorm' normalises the conv output (N, F, H, W) per sample over groups of
   * F/groups channels, and the hidden layer (N, hiddenDim) over groups of hiddenDim/groups units
   * (the same layer read as (N, hiddenDim, 1, 1)): no batch statistics, so train = test.
   */
  normalization?: 'batchnorm' | 'groupnorm' | null;
  /** Groups of 'groupnorm': must divide numFilters and hiddenDim; default the largest of 32, 16, .., 1 that does. */
  groups?: number;
  dropout?: number; // probability of DROPPING a hidden unit, in [0, 1); default 0 (none)
  dtype?: FloatDType; // default 'float32'
  seed?: number;
}
const OPTIONS = [
  'inputDim',
  'numFilters',
  'filterSize',
  'hiddenDim',
  'numClasses',
  'weightScale',
  'reg',
  'normalization',
  'groups',
  'dropout',
  'dtype',
  'seed',
] as const;
const POOL = { poolHeight: 2, poolWidth: 2, stride: 2 } as const;

/**
 * params W1 (F, C, filterSize, filterSize), b1 (F), W2 (F·⌊H/2⌋·⌊W/2⌋, hiddenDim), b2 (hiddenDim),
 * W3 (hiddenDim, numClasses), b3 (numClasses); with batch or group norm also gamma1, beta1 (F)
 * and gamma2, beta2 (hiddenDim), with batch norm buffers runningMean1, runningVar1 (F), runningMean2, runningVar2
 * (hiddenDim). Weights ~ weightScale·N(0, 1), biases and betas 0, gammas 1, running means 0 and
 * running variances 1.
 */
export class ThreeLayerConvNet implements Classifier {
  readonly params: Record<string, FloatTensor>;
  readonly buffers: Record<string, FloatTensor>;
  readonly config: ModelConfig;
  /** loss() creates no state: the Solver may reuse its memory every step (see Model). */
  readonly reusesStepMemory = true;
  /** Draws the dropout masks; seeded from options.seed (after the initial weights). */
  readonly rng: Rng;
  readonly reg: number;
  readonly normalization: 'batchnorm' | 'groupnorm' | null;
  /** The group count of 'groupnorm' (0 otherwise). */
  readonly groups: number;
  readonly dropout: number;
  readonly inputDim: readonly [number, number, number];
  private readonly pad: number;

  constructor(options: ThreeLayerConvNetOptions = {}) {
    const fn = 'ThreeLayerConvNet';
    expectOptions(fn, options, OPTIONS);
    const inputDim = options.inputDim ?? [3, 32, 32];
    if (!Array.isArray(inputDim) || inputDim.length !== 3) {
      throw new ValueError(`${fn}: inputDim must be [C, H, W], got ${JSON.stringify(inputDim)}`);
    }
    const C = positiveInt(fn, 'inputDim[0] (C)', inputDim[0]);
    const H = positiveInt(fn, 'inputDim[1] (H)', inputDim[1]);
    const W = positiveInt(fn, 'inputDim[2] (W)', inputDim[2]);
    if (H < 2 || W < 2)
      throw new ValueError(`${fn}: inputDim ${fmt(inputDim)} is too small for the 2x2 max pool`);
    this.inputDim = [C, H, W];
    const F = positiveInt(fn, 'numFilters', options.numFilters ?? 32);
    const filterSize = positiveInt(fn, 'filterSize', options.filterSize ?? 7);
    if (filterSize % 2 === 0) {
      throw new ValueError(
        `${fn}: filterSize must be odd so that pad = (filterSize - 1) / 2 keeps H and W, got ${filterSize}`,
      );
    }
    this.pad = (filterSize - 1) / 2;
    const hidden = positiveInt(fn, 'hiddenDim', options.hiddenDim ?? 100);
    const classes = positiveInt(fn, 'numClasses', options.numClasses ?? 10);
    const weightScale = nonNegative(fn, 'weightScale', options.weightScale ?? 1e-3);
    this.reg = nonNegative(fn, 'reg', options.reg ?? 0);
    const normalization = expectOneOf(fn, 'normalization', options.normalization ?? null, [
      'batchnorm',
      'groupnorm',
      null,
    ] as const);
    this.normalization = normalization;
    if (normalization !== 'groupnorm' && options.groups !== undefined)
      throw new ValueError(`${fn}: groups is an option of normalization 'groupnorm'`);
    this.dropout = options.dropout ?? 0;
    expectNumber(fn, 'dropout', this.dropout, { min: 0, max: 1, maxExclusive: true });
    const dtype = floatDType(fn, options.dtype ?? 'float32');
    this.groups =
      normalization === 'groupnorm'
        ? groupsFor(fn, options.groups, [
            ['numFilters', F],
            ['hiddenDim', hidden],
          ])
        : 0;

    // One generator per model: the weights first, then the dropout masks, so a seed fixes both.
    this.rng =
      options.seed !== undefined ? new Rng(options.seed) : new Rng(defaultRng().nextUint32());
    const pooled = F * Math.floor(H / 2) * Math.floor(W / 2);
    this.params = {
      W1: gaussianWeight([F, C, filterSize, filterSize], weightScale, dtype, this.rng),
      b1: Tensor.zeros([F], dtype),
      W2: gaussianWeight([pooled, hidden], weightScale, dtype, this.rng),
      b2: Tensor.zeros([hidden], dtype),
      W3: gaussianWeight([hidden, classes], weightScale, dtype, this.rng),
      b3: Tensor.zeros([classes], dtype),
    };
    this.buffers = {};
    if (normalization !== null) {
      Object.assign(this.params, {
        gamma1: Tensor.full([F], 1, dtype),
        beta1: Tensor.zeros([F], dtype),
        gamma2: Tensor.full([hidden], 1, dtype),
        beta2: Tensor.zeros([hidden], dtype),
      });
    }
    if (normalization === 'batchnorm') {
      Object.assign(this.buffers, {
        runningMean1: Tensor.zeros([F], dtype),
        runningVar1: Tensor.full([F], 1, dtype),
        runningMean2: Tensor.zeros([hidden], dtype),
        runningVar2: Tensor.full([hidden], 1, dtype),
      });
    }
    this.config = {
      type: 'ThreeLayerConvNet',
      options: { ...options, ...(options.inputDim ? { inputDim: [...options.inputDim] } : {}) },
    };
  }

  loss(X: Tensor): FloatTensor;
  loss(X: Tensor, y: Labels): LossResult;
  loss(X: Tensor, y?: Labels): FloatTensor | LossResult {
    // a training call runs in the model's own step memory unless it is in one already
    return y === undefined ? this.compute(X) : inOwnStepMemory(this, () => this.compute(X, y));
  }

  private compute(X: Tensor, y?: Labels): FloatTensor | LossResult {
    this.checkInput('ThreeLayerConvNet.loss', X);
    const mode = y === undefined ? 'test' : 'train';
    const p = this.params,
      bn = this.normalization === 'batchnorm',
      gn = this.normalization === 'groupnorm' ? { groups: this.groups } : null,
      drop = this.dropout > 0;

    const conv = convForward(X, p.W1, p.b1, { stride: 1, pad: this.pad }); // (N, F, H, W)
    const bn1 = bn
      ? spatialBatchnormForward(conv.out, p.gamma1, p.beta1, this.bnParam(mode, 1))
      : null;
    const gn1 = gn ? spatialGroupnormForward(conv.out, p.gamma1, p.beta1, gn) : null;
    // relu1 and the 2x2 pool in one pass (reluMaxPool2x2Forward: the same numbers as the pair)
    const pool = reluMaxPool2x2Forward((bn1 ?? gn1 ?? conv).out); // (N, F, H/2, W/2)
    const fc1 = affineForward(pool.out, p.W2, p.b2); // (N, hidden)
    const bn2 = bn ? batchnormForward(fc1.out, p.gamma2, p.beta2, this.bnParam(mode, 2)) : null;
    const N = X.shape[0],
      hidden = p.W2.shape[1];
    const gn2 = gn
      ? spatialGroupnormForward(fc1.out.reshape([N, hidden, 1, 1]), p.gamma2, p.beta2, gn)
      : null;
    const relu2 = reluForward(gn2 ? gn2.out.reshape([N, hidden]) : (bn2 ?? fc1).out);
    const dropped = drop
      ? dropoutForward(relu2.out, { p: this.dropout, mode, rng: this.rng })
      : null;
    const fc2 = affineForward(dropped ? dropped.out : relu2.out, p.W3, p.b3); // (N, classes)
    if (y === undefined) return fc2.out;

    const { loss, dx: dscores } = softmaxLoss(fc2.out, y);
    const grads: Record<string, FloatTensor> = {};
    const d3 = affineBackward(dscores, fc2.cache);
    [grads.W3, grads.b3] = [d3.dw, d3.db];
    let dh = dropped ? dropoutBackward(d3.dx, dropped.cache).dx : d3.dx;
    dh = reluBackward(dh, relu2.cache).dx;
    if (bn2) {
      const g = batchnormBackward(dh, bn2.cache);
      [dh, grads.gamma2, grads.beta2] = [g.dx, g.dgamma, g.dbeta];
    }
    if (gn2) {
      const g = spatialGroupnormBackward(dh.reshape([N, hidden, 1, 1]), gn2.cache);
      [dh, grads.gamma2, grads.beta2] = [g.dx.reshape([N, hidden]), g.dgamma, g.dbeta];
    }
    const d2 = affineBackward(dh, fc1.cache);
    [grads.W2, grads.b2] = [d2.dw, d2.db];
    let da = reluMaxPool2x2Backward(d2.dx, pool.cache).dx;
    if (bn1) {
      const g = spatialBatchnormBackward(da, bn1.cache);
      [da, grads.gamma1, grads.beta1] = [g.dx, g.dgamma, g.dbeta];
    }
    if (gn1) {
      const g = spatialGroupnormBackward(da, gn1.cache);
      [da, grads.gamma1, grads.beta1] = [g.dx, g.dgamma, g.dbeta];
    }
    const d1 = convBackward(da, conv.cache, { inputGrad: false }); // the input is X: no dx wanted
    [grads.W1, grads.b1] = [d1.dw, d1.db];
    return { loss: addL2(loss, grads, p, ['W1', 'W2', 'W3'], this.reg), grads };
  }

  /**
   * Test-mode scores (running batch-norm statistics, no dropout) and dscores carried back to X
   * through the first conv layer (see Classifier).
   */
  inputGradient(X: Tensor, dscores: Tensor): InputGradient {
    const fn = 'ThreeLayerConvNet.inputGradient';
    return inputGradientOfTrace(fn, this.traceAs(fn, X), dscores);
  }

  /**
   * The test-mode forward one layer at a time: conv1, [bn1], relu1, pool1, affine2, [bn2], relu2,
   * affine3 (the scores). Dropout is the identity in test mode and has no step.
   */
  trace(X: Tensor): TraceStep[] {
    return this.traceAs('ThreeLayerConvNet.trace', X);
  }

  private traceAs(fn: string, X: Tensor): TraceStep[] {
    this.checkInput(fn, X);
    const p = this.params,
      bn = this.normalization === 'batchnorm';
    const steps: TraceStep[] = [];
    const conv = convForward(X, p.W1, p.b1, { stride: 1, pad: this.pad }); // (N, F, H, W)
    steps.push({ name: 'conv1', out: conv.out, backward: (d) => convBackward(d, conv.cache).dx });
    let h = conv.out;
    if (bn) {
      const bn1 = spatialBatchnormForward(h, p.gamma1, p.beta1, this.bnParam('test', 1));
      steps.push({
        name: 'bn1',
        out: bn1.out,
        backward: (d) => spatialBatchnormBackward(d, bn1.cache).dx,
      });
      h = bn1.out;
    }
    if (this.normalization === 'groupnorm') {
      const gn1 = spatialGroupnormForward(h, p.gamma1, p.beta1, { groups: this.groups });
      steps.push({
        name: 'gn1',
        out: gn1.out,
        backward: (d) => spatialGroupnormBackward(d, gn1.cache).dx,
      });
      h = gn1.out;
    }
    const relu1 = reluForward(h);
    const pool = maxPoolForward(relu1.out, POOL); // (N, F, H/2, W/2)
    const fc1 = affineForward(pool.out, p.W2, p.b2); // (N, hidden)
    steps.push(
      { name: 'relu1', out: relu1.out, backward: (d) => reluBackward(d, relu1.cache).dx },
      { name: 'pool1', out: pool.out, backward: (d) => maxPoolBackward(d, pool.cache).dx },
      { name: 'affine2', out: fc1.out, backward: (d) => affineBackward(d, fc1.cache).dx },
    );
    h = fc1.out;
    if (bn) {
      const bn2 = batchnormForward(h, p.gamma2, p.beta2, this.bnParam('test', 2));
      steps.push({
        name: 'bn2',
        out: bn2.out,
        backward: (d) => batchnormBackward(d, bn2.cache).dx,
      });
      h = bn2.out;
    }
    if (this.normalization === 'groupnorm') {
      // the hidden layer's (N, hidden) read as (N, hidden, 1, 1), as in loss()
      const [N, hidden] = h.shape;
      const gn2 = spatialGroupnormForward(h.reshape([N, hidden, 1, 1]), p.gamma2, p.beta2, {
        groups: this.groups,
      });
      const out = gn2.out.reshape([N, hidden]);
      steps.push({
        name: 'gn2',
        out,
        backward: (d) =>
          spatialGroupnormBackward(d.reshape([N, hidden, 1, 1]), gn2.cache).dx.reshape([N, hidden]),
      });
      h = out;
    }
    const relu2 = reluForward(h);
    const fc2 = affineForward(relu2.out, p.W3, p.b3); // (N, classes)
    steps.push(
      { name: 'relu2', out: relu2.out, backward: (d) => reluBackward(d, relu2.cache).dx },
      { name: 'affine3', out: fc2.out, backward: (d) => affineBackward(d, fc2.cache).dx },
    );
    return steps;
  }

  /** X: float (N, C, H, W) with [C, H, W] = inputDim, of the params' dtype. */
  private checkInput(fn: string, X: Tensor): asserts X is FloatTensor {
    expectFloat(fn, 'X', X);
    expectNdim(fn, 'X', X, 4, '(N, C, H, W)');
    const [C, H, W] = this.inputDim;
    expectShape(
      fn,
      'X',
      X,
      [-1, C, H, W],
      `the model was built for inputDim ${fmt(this.inputDim)}`,
    );
    expectSameDType(fn, { X, W1: this.params.W1 });
  }

  /** The bnParam of batch-norm layer i, over this model's running statistics (updated in place). */
  private bnParam(mode: 'train' | 'test', i: 1 | 2): BnParam {
    return {
      mode,
      runningMean: this.buffers[`runningMean${i}`],
      runningVar: this.buffers[`runningVar${i}`],
    };
  }
}
