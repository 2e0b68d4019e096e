// src/models/fullyConnectedNet.ts: a fully connected net of any depth,
// {affine - [batchnorm | layernorm | groupnorm] - relu - [dropout]} x (L - 1) - affine - softmax,
// the model of the curriculum's regularisation and normalisation experiments.
import { inOwnStepMemory } from '../kernels/index.js';
import {
  affineBackward,
  affineForward,
  batchnormBackward,
  batchnormBackwardAlt,
  batchnormForward,
  dropoutBackward,
  dropoutForward,
  layernormBackward,
  layernormForward,
  reluBackward,
  reluForward,
  softmaxLoss,
  spatialGroupnormBackward,
  spatialGroupnormForward,
  type AffineCache,
  type BatchnormCache,
  type DropoutCache,
  type LayernormCache,
  type ReluCache,
  type SpatialGroupnormCache,
} from '../layers/index.js';
import {
  expectOneOf,
  floatDType,
  expectFloat,
  expectNumber,
  expectOptions,
  fmt,
  Rng,
  ShapeError,
  Tensor,
  DTypeError,
  ValueError,
  type FloatDType,
  type FloatTensor,
  type Labels,
} from '../tensor/index.js';
import { gaussianWeight, groupsFor, nonNegative, positiveInt, rngFor } from './init.js';
import {
  inputGradientOfTrace,
  type Classifier,
  type InputGradient,
  type LossResult,
  type ModelConfig,
  type TraceStep,
} from '../nn/index.js';
import { addL2 } from '../nn/internal.js';

export type Normalization = 'batchnorm' | 'layernorm' | 'groupnorm' | null;

export interface FullyConnectedNetOptions {
  hiddenDims?: readonly number[]; // sizes of the L − 1 hidden layers, default [100, 100]
  inputDim?: number; // D, default 3072 (3·32·32)
  numClasses?: number; // C, default 10
  dropout?: number; // probability of DROPPING a hidden unit in train mode, in [0, 1); 0 = no dropout
  /**
   * default null. 'groupnorm' normalises each hidden layer's (N, d) per sample over groups of
   * d/groups units (read as (N, d, 1, 1) by spatialGroupnormForward); groups = 1 is the same maths
   * as 'layernorm', and, like it, it uses no batch statistics (train = test).
   */
  normalization?: Normalization;
  /** Groups of 'groupnorm': must divide every hidden dim; default the largest of 32, 16, .., 1 that does. */
  groups?: number;
  reg?: number; // L2 strength on W1..WL, default 0
  weightScale?: number; // std of the initial weights, default 1e-2
  dtype?: FloatDType; // default 'float32'
  seed?: number; // initial weights and the dropout generator
}
const OPTIONS = [
  'hiddenDims',
  'inputDim',
  'numClasses',
  'dropout',
  'normalization',
  'groups',
  'reg',
  'weightScale',
  'dtype',
  'seed',
] as const;

/** What one hidden layer's forward keeps for its backward. */
interface HiddenCache {
  readonly affine: AffineCache;
  readonly batchnorm?: BatchnormCache;
  readonly layernorm?: LayernormCache;
  readonly groupnorm?: SpatialGroupnormCache;
  readonly relu: ReluCache;
  readonly dropout?: DropoutCache;
}

/**
 * params: Wi (d(i−1), d(i)) ~ weightScale·N(0, 1), bi (d(i)) = 0 for i = 1..L, and for the hidden
 * layers with normalisation gammai = 1, betai = 0. buffers (batchnorm only): runningMeani = 0,
 * runningVari = 1, updated by every train-mode call. loss(X, y) runs in train mode (batch
 * statistics, dropout on, masks drawn from `rng`); loss(X) in test mode (running statistics,
 * no dropout).
 */
export class FullyConnectedNet implements Classifier {
  readonly params: Record<string, FloatTensor> = {};
  readonly buffers: Record<string, FloatTensor> = {};
  readonly config: ModelConfig;
  /** loss() creates no state: the Solver may reuse its memory every step (see Model). */
  readonly reusesStepMemory = true;
  /** Draws the dropout masks (present when dropout > 0); checkpoints save its state. */
  readonly rng?: Rng;
  readonly numLayers: number; // L
  readonly reg: number;
  readonly dropout: number;
  readonly normalization: Normalization;
  /** The group count of 'groupnorm' (0 otherwise). */
  readonly groups: number;
  readonly dtype: FloatDType;
  private readonly inputDim: number;

  constructor(options: FullyConnectedNetOptions = {}) {
    const fn = 'FullyConnectedNet';
    expectOptions(fn, options, OPTIONS);
    const hiddenDims = options.hiddenDims ?? [100, 100];
    if (!Array.isArray(hiddenDims))
      throw new TypeError(`${fn}: hiddenDims must be an array of layer sizes`);
    hiddenDims.forEach((h, i) => positiveInt(fn, `hiddenDims[${i}]`, h));
    this.inputDim = positiveInt(fn, 'inputDim', options.inputDim ?? 3072);
    const C = positiveInt(fn, 'numClasses', options.numClasses ?? 10);
    const dropout = options.dropout ?? 0;
    expectNumber(fn, 'dropout', dropout, { min: 0, max: 1, maxExclusive: true });
    this.dropout = dropout;
    const normalization = expectOneOf(fn, 'normalization', options.normalization ?? null, [
      'batchnorm',
      'layernorm',
      'groupnorm',
      null,
    ] as const);
    this.normalization = normalization;
    if (normalization !== 'groupnorm' && options.groups !== undefined)
      throw new ValueError(`${fn}: groups is an option of normalization 'groupnorm'`);
    this.groups =
      normalization === 'groupnorm'
        ? groupsFor(
            fn,
            options.groups,
            hiddenDims.map((h, i) => [`hiddenDims[${i}]`, h] as const),
          )
        : 0;
    this.reg = nonNegative(fn, 'reg', options.reg ?? 0);
    const weightScale = nonNegative(fn, 'weightScale', options.weightScale ?? 1e-2);
    const dtype = (this.dtype = floatDType(fn, options.dtype ?? 'float32'));

    const rng = rngFor(options.seed);
    const dims = [this.inputDim, ...hiddenDims, C];
    this.numLayers = dims.length - 1;
    for (let i = 1; i <= this.numLayers; i++) {
      this.params[`W${i}`] = gaussianWeight([dims[i - 1], dims[i]], weightScale, dtype, rng);
      this.params[`b${i}`] = Tensor.zeros([dims[i]], dtype);
      if (i === this.numLayers || normalization === null) continue;
      this.params[`gamma${i}`] = Tensor.full([dims[i]], 1, dtype);
      this.params[`beta${i}`] = Tensor.zeros([dims[i]], dtype);
      if (normalization === 'batchnorm') {
        this.buffers[`runningMean${i}`] = Tensor.zeros([dims[i]], dtype);
        this.buffers[`runningVar${i}`] = Tensor.full([dims[i]], 1, dtype);
      }
    }
    // drawn after the weights, so the same seed gives the same weights with or without dropout
    if (dropout > 0) this.rng = new Rng(rng.nextUint32());
    this.config = {
      type: 'FullyConnectedNet',
      options: { ...options, hiddenDims: [...hiddenDims] },
    };
  }

  loss(X: Tensor): FloatTensor;
  loss(X: Tensor, y: Labels): LossResult;
  loss(X: Tensor, y?: Labels): FloatTensor | LossResult {
    // a training call runs in the model's own step memory unless it is in one already
    return y === undefined ? this.compute(X) : inOwnStepMemory(this, () => this.compute(X, y));
  }

  private compute(X: Tensor, y?: Labels): FloatTensor | LossResult {
    this.checkInput(X);
    const mode = y === undefined ? 'test' : 'train';
    const L = this.numLayers,
      caches: HiddenCache[] = [];
    let h: FloatTensor = X;
    for (let i = 1; i < L; i++) {
      const { out, cache } = this.hiddenForward(h, i, mode);
      h = out;
      caches.push(cache);
    }
    const last = affineForward(h, this.params[`W${L}`], this.params[`b${L}`]); // (N, C)
    if (y === undefined) return last.out;

    const { loss, dx: dscores } = softmaxLoss(last.out, y);
    const grads: Record<string, FloatTensor> = {};
    const top = affineBackward(dscores, last.cache, { inputGrad: L > 1 }); // layer 1's input is X: no dx
    grads[`W${L}`] = top.dw;
    grads[`b${L}`] = top.db;
    let dh = 'dx' in top ? top.dx : null;
    for (let i = L - 1; i >= 1 && dh; i--) dh = this.hiddenBackward(dh, caches[i - 1], i, grads);
    const weights = Array.from({ length: L }, (_, i) => `W${i + 1}`);
    return { loss: addL2(loss, grads, this.params, weights, this.reg), grads };
  }

  /**
   * Test-mode scores (running batch-norm statistics, no dropout) and dscores carried back to X,
   * first layer included (see Classifier).
   */
  inputGradient(X: Tensor, dscores: Tensor): InputGradient {
    const fn = 'FullyConnectedNet.inputGradient';
    return inputGradientOfTrace(fn, this.traceAs(fn, X), dscores);
  }

  /**
   * The test-mode forward one layer at a time: affine1, [batchnorm1 | layernorm1], relu1, ...,
   * affineL (the scores). Dropout is the identity in test mode and has no step.
   */
  trace(X: Tensor): TraceStep[] {
    return this.traceAs('FullyConnectedNet.trace', X);
  }

  private traceAs(fn: string, X: Tensor): TraceStep[] {
    this.checkInput(X, fn);
    const p = this.params,
      steps: TraceStep[] = [];
    let h: FloatTensor = X;
    for (let i = 1; i <= this.numLayers; i++) {
      const affine = affineForward(h, p[`W${i}`], p[`b${i}`]); // (N, d(i))
      steps.push({
        name: `affine${i}`,
        out: affine.out,
        backward: (d) => affineBackward(d, affine.cache).dx,
      });
      h = affine.out;
      if (i === this.numLayers) break;
      if (this.normalization === 'batchnorm') {
        const bnParam = {
          mode: 'test' as const,
          runningMean: this.buffers[`runningMean${i}`],
          runningVar: this.buffers[`runningVar${i}`],
        };
        const bn = batchnormForward(h, p[`gamma${i}`], p[`beta${i}`], bnParam);
        steps.push({
          name: `batchnorm${i}`,
          out: bn.out,
          backward: (d) => batchnormBackward(d, bn.cache).dx,
        });
        h = bn.out;
      } else if (this.normalization === 'layernorm') {
        const ln = layernormForward(h, p[`gamma${i}`], p[`beta${i}`]);
        steps.push({
          name: `layernorm${i}`,
          out: ln.out,
          backward: (d) => layernormBackward(d, ln.cache).dx,
        });
        h = ln.out;
      } else if (this.normalization === 'groupnorm') {
        // (N, d) read as (N, d, 1, 1), as in loss()
        const [N, d] = h.shape;
        const gn = spatialGroupnormForward(h.reshape([N, d, 1, 1]), p[`gamma${i}`], p[`beta${i}`], {
          groups: this.groups,
        });
        const out = gn.out.reshape([N, d]);
        steps.push({
          name: `groupnorm${i}`,
          out,
          backward: (g) =>
            spatialGroupnormBackward(g.reshape([N, d, 1, 1]), gn.cache).dx.reshape([N, d]),
        });
        h = out;
      }
      const relu = reluForward(h);
      steps.push({
        name: `relu${i}`,
        out: relu.out,
        backward: (d) => reluBackward(d, relu.cache).dx,
      });
      h = relu.out;
    }
    return steps;
  }

  /** affine - [norm] - relu - [dropout] for hidden layer i.   h: (N, d(i−1)) => out: (N, d(i)) */
  private hiddenForward(
    h: FloatTensor,
    i: number,
    mode: 'train' | 'test',
  ): { out: FloatTensor; cache: HiddenCache } {
    const p = this.params;
    const affine = affineForward(h, p[`W${i}`], p[`b${i}`]);
    let a = affine.out;
    let batchnorm: BatchnormCache | undefined,
      layernorm: LayernormCache | undefined,
      groupnorm: SpatialGroupnormCache | undefined;
    if (this.normalization === 'batchnorm') {
      // read the buffers on every call, so that a restored (replaced) buffer tensor is used
      const bnParam = {
        mode,
        runningMean: this.buffers[`runningMean${i}`],
        runningVar: this.buffers[`runningVar${i}`],
      };
      const bn = batchnormForward(a, p[`gamma${i}`], p[`beta${i}`], bnParam);
      [a, batchnorm] = [bn.out, bn.cache];
    } else if (this.normalization === 'layernorm') {
      const ln = layernormForward(a, p[`gamma${i}`], p[`beta${i}`]);
      [a, layernorm] = [ln.out, ln.cache];
    } else if (this.normalization === 'groupnorm') {
      const [N, d] = a.shape;
      const gn = spatialGroupnormForward(a.reshape([N, d, 1, 1]), p[`gamma${i}`], p[`beta${i}`], {
        groups: this.groups,
      });
      [a, groupnorm] = [gn.out.reshape([N, d]), gn.cache];
    }
    const relu = reluForward(a);
    let out = relu.out,
      dropout: DropoutCache | undefined;
    if (this.dropout > 0 && mode === 'train') {
      const d = dropoutForward(out, { p: this.dropout, mode, rng: this.rng });
      [out, dropout] = [d.out, d.cache];
    }
    return {
      out,
      cache: { affine: affine.cache, batchnorm, layernorm, groupnorm, relu: relu.cache, dropout },
    };
  }

  /**
   * The reverse of hiddenForward; writes dWi, dbi (and dgammai, dbetai) into grads, returns dh
   * (null for layer 1, whose input is X).
   */
  private hiddenBackward(
    dout: FloatTensor,
    cache: HiddenCache,
    i: number,
    grads: Record<string, FloatTensor>,
  ): FloatTensor | null {
    let d = cache.dropout ? dropoutBackward(dout, cache.dropout).dx : dout;
    d = reluBackward(d, cache.relu).dx;
    const norm = cache.batchnorm
      ? batchnormBackwardAlt(d, cache.batchnorm)
      : cache.layernorm
        ? layernormBackward(d, cache.layernorm)
        : cache.groupnorm
          ? groupnormOfFeatures(d, cache.groupnorm)
          : undefined;
    if (norm) {
      grads[`gamma${i}`] = norm.dgamma;
      grads[`beta${i}`] = norm.dbeta;
      d = norm.dx;
    }
    const affine = affineBackward(d, cache.affine, { inputGrad: i > 1 });
    grads[`W${i}`] = affine.dw;
    grads[`b${i}`] = affine.db;
    return 'dx' in affine ? affine.dx : null;
  }

  private checkInput(X: Tensor, fn = 'FullyConnectedNet.loss'): asserts X is FloatTensor {
    expectFloat(fn, 'X', X);
    const D = X.shape.slice(1).reduce((a, b) => a * b, 1); // (N, d1..dk) is read as (N, D)
    if (X.shape.length < 2 || D !== this.inputDim) {
      throw new ShapeError(`${fn}: X has shape ${fmt(X.shape)} but inputDim is ${this.inputDim}`);
    }
    if (X.dtype !== this.dtype)
      throw new DTypeError(`${fn}: X has dtype ${X.dtype} but the model is ${this.dtype}`);
  }
}

/** spatialGroupnormBackward for features: dout (N, d) read as (N, d, 1, 1), dx back as (N, d). */
function groupnormOfFeatures(
  dout: FloatTensor,
  cache: SpatialGroupnormCache,
): { dx: FloatTensor; dgamma: FloatTensor; dbeta: FloatTensor } {
  const [N, d] = dout.shape;
  const g = spatialGroupnormBackward(dout.reshape([N, d, 1, 1]), cache);
  return { ...g, dx: g.dx.reshape([N, d]) };
}
