// src/nn/linear.ts: Linear, the stateful wrapper of layers/affine.ts (as torch.nn.Linear wraps
// F.linear). Its weight is stored (inFeatures, outFeatures), the layout affineForward takes;
// torch stores the transpose, (out_features, in_features), so copy torch weights transposed.
import { affineBackward, affineForward, type AffineCache } from '../layers/index.js';
import {
  floatDType,
  expectFloat,
  expectNumber,
  expectOptions,
  fmt,
  ShapeError,
  Tensor,
  type FloatDType,
  type FloatTensor,
  type Rng,
} from '../tensor/index.js';
import { Module } from './module.js';
import { initRng, lastCache } from './util.js';

export interface LinearOptions {
  bias?: boolean; // default true; false keeps bias at 0 and never updates it
  /** Initialise weight ~ weightScale·N(0, 1) and bias = 0 (the classic models' init) instead of torch's. */
  weightScale?: number;
  dtype?: FloatDType; // default 'float32'
  seed?: number; // a fresh Rng(seed) draws the initial values
  rng?: Rng; // draw them from this generator instead (e.g. one shared by a whole network)
}
const OPTIONS = ['bias', 'weightScale', 'dtype', 'seed', 'rng'] as const;

/**
 * out = x·weight + bias.   x: (N, d1..dk) with d1·..·dk = inFeatures  =>  out: (N, outFeatures).
 * Default init as torch: weight and bias ~ U(−k, k), k = 1/√inFeatures; with weightScale,
 * weight ~ weightScale·N(0, 1) and bias = 0.
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly hasBias: boolean;
  private cache: AffineCache | null = null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    const fn = 'Linear';
    expectNumber(fn, 'inFeatures', inFeatures, { integer: true, min: 1 });
    expectNumber(fn, 'outFeatures', outFeatures, { integer: true, min: 1 });
    expectOptions(fn, options, OPTIONS);
    const dtype = floatDType(fn, options.dtype ?? 'float32');
    const rng = initRng(fn, options);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.hasBias = options.bias ?? true;
    if (options.weightScale !== undefined) {
      expectNumber(fn, 'weightScale', options.weightScale, { min: 0 });
      this.params.weight = Tensor.randn([inFeatures, outFeatures], {
        dtype,
        std: options.weightScale,
        rng,
      });
      this.params.bias = Tensor.zeros([outFeatures], dtype);
    } else {
      const k = 1 / Math.sqrt(inFeatures);
      this.params.weight = Tensor.rand([inFeatures, outFeatures], { dtype, low: -k, high: k, rng });
      this.params.bias = this.hasBias
        ? Tensor.rand([outFeatures], { dtype, low: -k, high: k, rng })
        : Tensor.zeros([outFeatures], dtype);
    }
  }

  forward(x: Tensor): FloatTensor {
    expectFloat('Linear.forward', 'x', x);
    const D = x.shape.slice(1).reduce((a, b) => a * b, 1);
    if (x.shape.length < 2 || D !== this.inFeatures) {
      throw new ShapeError(
        `Linear.forward: x has shape ${fmt(x.shape)} but inFeatures is ${this.inFeatures}`,
      );
    }
    const { out, cache } = affineForward(x, this.params.weight, this.params.bias);
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): FloatTensor {
    const { dx, dw, db } = affineBackward(dout, lastCache('Linear.backward', this.cache));
    this.grads.weight = dw;
    this.grads.bias = this.hasBias ? db : Tensor.zeros(db.shape, db.dtype);
    return dx;
  }

  override toString(): string {
    return `Linear(${this.inFeatures} -> ${this.outFeatures}${this.hasBias ? '' : ', no bias'})`;
  }
}
