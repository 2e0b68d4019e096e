// src/nn/conv.ts: Conv2d, the stateful wrapper of layers/conv.ts (as torch.nn.Conv2d wraps
// F.conv2d): it owns weight (F, C, HH, WW) and bias (F) and keeps the cache of its last forward.
import { convBackward, convForward, type ConvCache } from '../layers/index.js';
import {
  floatDType,
  expectNumber,
  expectOptions,
  Tensor,
  ValueError,
  type FloatDType,
  type FloatTensor,
  type Rng,
} from '../tensor/index.js';
import { Module } from './module.js';
import { initRng, lastCache } from './util.js';

export interface Conv2dOptions {
  stride?: number; // default 1
  pad?: number; // zero padding on each side, default 0
  bias?: boolean; // default true; false keeps bias at 0 and never updates it
  /** Initialise weight ~ weightScale·N(0, 1) and bias = 0 (the classic models' init) instead of torch's. */
  weightScale?: number;
  dtype?: FloatDType; // default 'float32'
  seed?: number; // a fresh Rng(seed) draws the initial values
  rng?: Rng; // draw them from this generator instead (e.g. one shared by a whole network)
}
const OPTIONS = ['stride', 'pad', 'bias', 'weightScale', 'dtype', 'seed', 'rng'] as const;

/** Reads a kernel size given as n (square) or [height, width]. */
export function kernelSizeOf(
  fn: string,
  arg: string,
  size: number | readonly [number, number],
): [number, number] {
  const [h, w] =
    typeof size === 'number'
      ? [size, size]
      : Array.isArray(size) && size.length === 2
        ? size
        : [NaN, NaN];
  if (Number.isNaN(h))
    throw new ValueError(
      `${fn}: ${arg} must be a number or [height, width], got ${JSON.stringify(size)}`,
    );
  expectNumber(fn, `${arg} (height)`, h, { integer: true, min: 1 });
  expectNumber(fn, `${arg} (width)`, w, { integer: true, min: 1 });
  return [h, w];
}

/**
 * out = convForward(x, weight, bias, { stride, pad }).   x: (N, inChannels, H, W) => out: (N, outChannels, Hout, Wout).
 * weight (outChannels, inChannels, HH, WW) and bias (outChannels) start ~ U(−k, k),
 * k = 1/√(inChannels·HH·WW), torch's default; with weightScale, weight ~ weightScale·N(0, 1), bias = 0.
 */
export class Conv2d extends Module {
  readonly stride: number;
  readonly pad: number;
  readonly hasBias: boolean;
  private cache: ConvCache | null = null;

  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number | readonly [number, number],
    options: Conv2dOptions = {},
  ) {
    super();
    const fn = 'Conv2d';
    expectNumber(fn, 'inChannels', inChannels, { integer: true, min: 1 });
    expectNumber(fn, 'outChannels', outChannels, { integer: true, min: 1 });
    const [HH, WW] = kernelSizeOf(fn, 'kernelSize', kernelSize);
    expectOptions(fn, options, OPTIONS);
    this.stride = options.stride ?? 1;
    this.pad = options.pad ?? 0;
    expectNumber(fn, 'stride', this.stride, { integer: true, min: 1 });
    expectNumber(fn, 'pad', this.pad, { integer: true, min: 0 });
    const dtype = floatDType(fn, options.dtype ?? 'float32');
    const rng = initRng(fn, options);
    this.hasBias = options.bias ?? true;
    const shape = [outChannels, inChannels, HH, WW];
    if (options.weightScale !== undefined) {
      expectNumber(fn, 'weightScale', options.weightScale, { min: 0 });
      this.params.weight = Tensor.randn(shape, { dtype, std: options.weightScale, rng });
      this.params.bias = Tensor.zeros([outChannels], dtype);
    } else {
      const k = 1 / Math.sqrt(inChannels * HH * WW);
      this.params.weight = Tensor.rand(shape, { dtype, low: -k, high: k, rng });
      this.params.bias = this.hasBias
        ? Tensor.rand([outChannels], { dtype, low: -k, high: k, rng })
        : Tensor.zeros([outChannels], dtype);
    }
  }

  forward(x: Tensor): FloatTensor {
    const { out, cache } = convForward(x, this.params.weight, this.params.bias, {
      stride: this.stride,
      pad: this.pad,
    });
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): FloatTensor {
    const { dx, dw, db } = convBackward(dout, lastCache('Conv2d.backward', this.cache));
    this.grads.weight = dw;
    this.grads.bias = this.hasBias ? db : Tensor.zeros(db.shape, db.dtype);
    return dx;
  }

  override toString(): string {
    const [F, C, HH, WW] = this.params.weight.shape;
    return `Conv2d(${C} -> ${F}, ${HH}x${WW}, stride ${this.stride}, pad ${this.pad}${this.hasBias ? '' : ', no bias'})`;
  }
}
