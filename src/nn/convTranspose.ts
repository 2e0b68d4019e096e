// src/nn/convTranspose.ts: ConvTranspose2d, the stateful wrapper of layers/convTranspose.ts (as
// torch.nn.ConvTranspose2d wraps F.conv_transpose2d): it owns weight (inChannels, outChannels,
// HH, WW) in torch's layout and bias (outChannels), and keeps the cache of its last forward.
import {
  convTransposeBackward,
  convTransposeForward,
  type ConvTransposeCache,
} from '../layers/index.js';
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
import { kernelSizeOf } from './conv.js';
import { Module } from './module.js';
import { initRng, lastCache } from './util.js';

export interface ConvTranspose2dOptions {
  stride?: number; // default 1
  pad?: number; // rows and columns cropped from each side of the full output, default 0
  outputPad?: number; // extra rows and columns on the bottom and right, below stride; default 0
  bias?: boolean; // default true; false keeps bias at 0 and never updates it
  /** Initialise weight ~ weightScale·N(0, 1) and bias = 0 (as DCGAN's N(0, 0.02)) instead of torch's. */
  weightScale?: number;
  dtype?: FloatDType; // default 'float32'
  seed?: number; // a fresh Rng(seed) draws the initial values
  rng?: Rng; // draw them from this generator instead (e.g. one shared by a whole network)
}
const OPTIONS = [
  'stride',
  'pad',
  'outputPad',
  'bias',
  'weightScale',
  'dtype',
  'seed',
  'rng',
] as const;

/**
 * out = convTransposeForward(x, weight, bias, { stride, pad, outputPad }).
 * x: (N, inChannels, H, W) => out: (N, outChannels, Hout, Wout), Hout = (H − 1)·stride − 2·pad + HH + outputPad.
 * weight (inChannels, outChannels, HH, WW) and bias start ~ U(−k, k), k = 1/√(outChannels·HH·WW):
 * torch computes a transposed conv's fan-in from weight.size(1), the output channels.
 */
export class ConvTranspose2d extends Module {
  readonly stride: number;
  readonly pad: number;
  readonly outputPad: number;
  readonly hasBias: boolean;
  private cache: ConvTransposeCache | null = null;

  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number | readonly [number, number],
    options: ConvTranspose2dOptions = {},
  ) {
    super();
    const fn = 'ConvTranspose2d';
    expectNumber(fn, 'inChannels', inChannels, { integer: true, min: 1 });
    expectNumber(fn, 'outChannels', outChannels, { integer: true, min: 1 });
    const [HH, WW] = kernelSizeOf(fn, 'kernelSize', kernelSize);
    expectOptions(fn, options, OPTIONS);
    this.stride = options.stride ?? 1;
    this.pad = options.pad ?? 0;
    this.outputPad = options.outputPad ?? 0;
    expectNumber(fn, 'stride', this.stride, { integer: true, min: 1 });
    expectNumber(fn, 'pad', this.pad, { integer: true, min: 0 });
    expectNumber(fn, 'outputPad', this.outputPad, { integer: true, min: 0 });
    if (this.outputPad >= this.stride) {
      throw new ValueError(
        `${fn}: outputPad must be smaller than stride, got ${this.outputPad} >= ${this.stride}`,
      );
    }
    const dtype = floatDType(fn, options.dtype ?? 'float32');
    const rng = initRng(fn, options);
    this.hasBias = options.bias ?? true;
    const shape = [inChannels, outChannels, HH, WW];
    if (options.weightScale !== undefined) {
      expectNumber(fn, 'weightScale', options.weightScale, { min: 0 });
      this.params.weight = Tensor.randn(shape, { dtype, std: options.weightScale, rng });
      this.params.bias = Tensor.zeros([outChannels], dtype);
    } else {
      const k = 1 / Math.sqrt(outChannels * HH * WW);
      this.params.weight = Tensor.rand(shape, { dtype, low: -k, high: k, rng });
      this.params.bias = this.hasBias
        ? Tensor.rand([outChannels], { dtype, low: -k, high: k, rng })
        : Tensor.zeros([outChannels], dtype);
    }
  }

  forward(x: Tensor): FloatTensor {
    const { out, cache } = convTransposeForward(x, this.params.weight, this.params.bias, {
      stride: this.stride,
      pad: this.pad,
      outputPad: this.outputPad,
    });
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): FloatTensor {
    const { dx, dw, db } = convTransposeBackward(
      dout,
      lastCache('ConvTranspose2d.backward', this.cache),
    );
    this.grads.weight = dw;
    this.grads.bias = this.hasBias ? db : Tensor.zeros(db.shape, db.dtype);
    return dx;
  }

  override toString(): string {
    const [C, F, HH, WW] = this.params.weight.shape;
    const extra = this.outputPad > 0 ? `, outputPad ${this.outputPad}` : '';
    return `ConvTranspose2d(${C} -> ${F}, ${HH}x${WW}, stride ${this.stride}, pad ${this.pad}${extra}${this.hasBias ? '' : ', no bias'})`;
  }
}
