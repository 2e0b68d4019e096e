// src/nn/pool.ts: MaxPool2d and AvgPool2d, parameter-free wrappers of layers/pool.ts that keep
// the cache of their last forward (as torch.nn.MaxPool2d wraps F.max_pool2d).
import {
  avgPoolBackward,
  avgPoolForward,
  maxPoolBackward,
  maxPoolForward,
  type AvgPoolCache,
  type MaxPoolCache,
  type PoolParam,
} from '../layers/index.js';
import { expectNumber, fmt, ValueError, type FloatTensor, type Tensor } from '../tensor/index.js';
import { kernelSizeOf } from './conv.js';
import { Module } from './module.js';
import { lastCache } from './util.js';

/** kernelSize n or [poolHeight, poolWidth]; stride defaults to the kernel size, as in torch. */
function poolParamOf(
  fn: string,
  kernelSize: number | readonly [number, number],
  stride: number | undefined,
): PoolParam {
  const [poolHeight, poolWidth] = kernelSizeOf(fn, 'kernelSize', kernelSize);
  if (stride === undefined && poolHeight !== poolWidth) {
    throw new ValueError(
      `${fn}: kernelSize ${fmt([poolHeight, poolWidth])} is not square, so give a stride (one stride serves H and W)`,
    );
  }
  const s = stride ?? poolHeight;
  expectNumber(fn, 'stride', s, { integer: true, min: 1 });
  return { poolHeight, poolWidth, stride: s };
}

/** out = maxPoolForward(x, { poolHeight, poolWidth, stride }).   x: (N, C, H, W) => out: (N, C, Hout, Wout) */
export class MaxPool2d extends Module {
  readonly poolParam: PoolParam;
  private cache: MaxPoolCache | null = null;

  constructor(kernelSize: number | readonly [number, number], stride?: number) {
    super();
    this.poolParam = poolParamOf('MaxPool2d', kernelSize, stride);
  }

  forward(x: Tensor): FloatTensor {
    const { out, cache } = maxPoolForward(x, this.poolParam);
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): FloatTensor {
    return maxPoolBackward(dout, lastCache('MaxPool2d.backward', this.cache)).dx;
  }

  override toString(): string {
    const { poolHeight, poolWidth, stride } = this.poolParam;
    return `MaxPool2d(${poolHeight}x${poolWidth}, stride ${stride})`;
  }
}

/** out = avgPoolForward(x, { poolHeight, poolWidth, stride }).   x: (N, C, H, W) => out: (N, C, Hout, Wout) */
export class AvgPool2d extends Module {
  readonly poolParam: PoolParam;
  private cache: AvgPoolCache | null = null;

  constructor(kernelSize: number | readonly [number, number], stride?: number) {
    super();
    this.poolParam = poolParamOf('AvgPool2d', kernelSize, stride);
  }

  forward(x: Tensor): FloatTensor {
    const { out, cache } = avgPoolForward(x, this.poolParam);
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): FloatTensor {
    return avgPoolBackward(dout, lastCache('AvgPool2d.backward', this.cache)).dx;
  }

  override toString(): string {
    const { poolHeight, poolWidth, stride } = this.poolParam;
    return `AvgPool2d(${poolHeight}x${poolWidth}, stride ${stride})`;
  }
}
