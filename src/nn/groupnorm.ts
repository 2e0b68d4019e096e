// src/nn/groupnorm.ts: GroupNorm, wrapping layers/groupnorm.ts as torch.nn.GroupNorm(numGroups,
// numChannels): params weight (γ, ones) and bias (β, zeros) per channel, no buffers (group
// statistics are per sample, so train and eval mode are the same). Takes (N, C, H, W) images or
// (N, C) features, which it reads as (N, C, 1, 1).
import {
  spatialGroupnormBackward,
  spatialGroupnormForward,
  type SpatialGroupnormCache,
} from '../layers/index.js';
import {
  floatDType,
  expectFloat,
  expectNumber,
  expectOptions,
  fmt,
  ShapeError,
  Tensor,
  ValueError,
  type FloatDType,
  type FloatTensor,
} from '../tensor/index.js';
import { Module } from './module.js';
import { lastCache } from './util.js';

export interface GroupNormOptions {
  eps?: number; // default 1e-5
  dtype?: FloatDType; // default 'float32'
}

/** Group norm over numGroups groups of channels.   x: (N, numChannels, H, W) or (N, numChannels) => same shape */
export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  private cache: { gn: SpatialGroupnormCache; shape: readonly number[] } | null = null;

  constructor(numGroups: number, numChannels: number, options: GroupNormOptions = {}) {
    super();
    const fn = 'GroupNorm';
    expectNumber(fn, 'numGroups', numGroups, { integer: true, min: 1 });
    expectNumber(fn, 'numChannels', numChannels, { integer: true, min: 1 });
    if (numChannels % numGroups !== 0)
      throw new ValueError(
        `${fn}: numGroups = ${numGroups} does not divide numChannels = ${numChannels}`,
      );
    expectOptions(fn, options, ['eps', 'dtype']);
    const dtype = floatDType(fn, options.dtype ?? 'float32');
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = options.eps ?? 1e-5;
    expectNumber(fn, 'eps', this.eps, { min: 0, minExclusive: true });
    this.params.weight = Tensor.full([numChannels], 1, dtype);
    this.params.bias = Tensor.zeros([numChannels], dtype);
  }

  forward(x: Tensor): FloatTensor {
    expectFloat('GroupNorm.forward', 'x', x);
    if (x.shape.length !== 2 && x.shape.length !== 4)
      throw new ShapeError(
        `GroupNorm.forward: x has shape ${fmt(x.shape)} but must be (N, C, H, W) or (N, C)`,
      );
    const images = x.shape.length === 4 ? x : x.reshape([x.shape[0], x.shape[1], 1, 1]);
    const { out, cache } = spatialGroupnormForward(images, this.params.weight, this.params.bias, {
      groups: this.numGroups,
      eps: this.eps,
    });
    this.cache = { gn: cache, shape: x.shape };
    return out.reshape(x.shape);
  }

  backward(dout: Tensor): FloatTensor {
    const { gn, shape } = lastCache('GroupNorm.backward', this.cache);
    expectFloat('GroupNorm.backward', 'dout', dout);
    const d = dout.shape.length === 2 ? dout.reshape([...dout.shape, 1, 1]) : dout;
    const { dx, dgamma, dbeta } = spatialGroupnormBackward(d, gn);
    this.grads.weight = dgamma;
    this.grads.bias = dbeta;
    return dx.reshape(shape);
  }

  override toString(): string {
    return `GroupNorm(${this.numGroups}, ${this.numChannels})`;
  }
}
