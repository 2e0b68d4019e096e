// src/nn/normalization.ts: BatchNorm1d, BatchNorm2d and LayerNorm, wrapping layers/batchnorm.ts
// and layers/layernorm.ts. params weight (γ, ones) and bias (β, zeros) as in torch; the batch
// norms also own the buffers runningMean (zeros) and runningVar (ones), updated in place in
// train mode and used in eval mode.
import {
  batchnormBackwardAlt,
  batchnormForward,
  layernormBackward,
  layernormForward,
  spatialBatchnormBackward,
  spatialBatchnormForward,
  type BatchnormCache,
  type BnParam,
  type LayernormCache,
  type SpatialBatchnormCache,
} from '../layers/index.js';
import {
  floatDType,
  expectNumber,
  expectOptions,
  Tensor,
  type FloatDType,
  type FloatTensor,
} from '../tensor/index.js';
import { lastCache } from './util.js';
import { Module } from './module.js';

export interface BatchNormOptions {
  eps?: number; // default 1e-5
  /**
   * running = momentum·running + (1 − momentum)·batch, default 0.9 (layers' BnParam convention;
   * torch's BatchNorm momentum=0.1 is the same update). The batch variance is the biased one.
   */
  momentum?: number;
  dtype?: FloatDType; // default 'float32'
}
const BN_OPTIONS = ['eps', 'momentum', 'dtype'] as const;

/** What BatchNorm1d and BatchNorm2d share: params, buffers and the bnParam they pass down. */
abstract class BatchNormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number;

  constructor(fn: string, numFeatures: number, options: BatchNormOptions) {
    super();
    expectNumber(fn, 'numFeatures', numFeatures, { integer: true, min: 1 });
    expectOptions(fn, options, BN_OPTIONS);
    const dtype = floatDType(fn, options.dtype ?? 'float32');
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.9;
    expectNumber(fn, 'eps', this.eps, { min: 0, minExclusive: true });
    expectNumber(fn, 'momentum', this.momentum, { min: 0, max: 1 });
    this.params.weight = Tensor.full([numFeatures], 1, dtype);
    this.params.bias = Tensor.zeros([numFeatures], dtype);
    this.buffers.runningMean = Tensor.zeros([numFeatures], dtype);
    this.buffers.runningVar = Tensor.full([numFeatures], 1, dtype);
  }

  /** Read on every call, so that a buffer replaced from outside (a loaded checkpoint) is used. */
  protected bnParam(): BnParam {
    return {
      mode: this.training ? 'train' : 'test',
      eps: this.eps,
      momentum: this.momentum,
      runningMean: this.buffers.runningMean,
      runningVar: this.buffers.runningVar,
    };
  }

  protected setGrads({ dgamma, dbeta }: { dgamma: FloatTensor; dbeta: FloatTensor }): void {
    this.grads.weight = dgamma;
    this.grads.bias = dbeta;
  }

  override toString(): string {
    return `${this.constructor.name}(${this.numFeatures})`;
  }
}

/** Batch norm of features.   x: (N, numFeatures) => out: same shape */
export class BatchNorm1d extends BatchNormBase {
  private cache: BatchnormCache | null = null;
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super('BatchNorm1d', numFeatures, options);
  }
  forward(x: Tensor): FloatTensor {
    const { out, cache } = batchnormForward(
      x,
      this.params.weight,
      this.params.bias,
      this.bnParam(),
    );
    this.cache = cache;
    return out;
  }
  backward(dout: Tensor): FloatTensor {
    const g = batchnormBackwardAlt(dout, lastCache('BatchNorm1d.backward', this.cache));
    this.setGrads(g);
    return g.dx;
  }
}

/** Batch norm per channel of images.   x: (N, numFeatures, H, W) => out: same shape */
export class BatchNorm2d extends BatchNormBase {
  private cache: SpatialBatchnormCache | null = null;
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super('BatchNorm2d', numFeatures, options);
  }
  forward(x: Tensor): FloatTensor {
    const { out, cache } = spatialBatchnormForward(
      x,
      this.params.weight,
      this.params.bias,
      this.bnParam(),
    );
    this.cache = cache;
    return out;
  }
  backward(dout: Tensor): FloatTensor {
    const g = spatialBatchnormBackward(dout, lastCache('BatchNorm2d.backward', this.cache));
    this.setGrads(g);
    return g.dx;
  }
}

export interface LayerNormOptions {
  eps?: number; // default 1e-5
  dtype?: FloatDType; // default 'float32'
}

/** Layer norm over the last dimension; the same in train and eval mode.   x: (N, D) => out: (N, D) */
export class LayerNorm extends Module {
  readonly normalizedShape: number;
  readonly eps: number;
  private cache: LayernormCache | null = null;

  constructor(normalizedShape: number, options: LayerNormOptions = {}) {
    super();
    const fn = 'LayerNorm';
    expectNumber(fn, 'normalizedShape', normalizedShape, { integer: true, min: 1 });
    expectOptions(fn, options, ['eps', 'dtype']);
    const dtype = floatDType(fn, options.dtype ?? 'float32');
    this.normalizedShape = normalizedShape;
    this.eps = options.eps ?? 1e-5;
    expectNumber(fn, 'eps', this.eps, { min: 0, minExclusive: true });
    this.params.weight = Tensor.full([normalizedShape], 1, dtype);
    this.params.bias = Tensor.zeros([normalizedShape], dtype);
  }

  forward(x: Tensor): FloatTensor {
    const { out, cache } = layernormForward(x, this.params.weight, this.params.bias, {
      eps: this.eps,
    });
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): FloatTensor {
    const { dx, dgamma, dbeta } = layernormBackward(
      dout,
      lastCache('LayerNorm.backward', this.cache),
    );
    this.grads.weight = dgamma;
    this.grads.bias = dbeta;
    return dx;
  }

  override toString(): string {
    return `LayerNorm(${this.normalizedShape})`;
  }
}
