// src/layers/activations.ts: elementwise nonlinearities. Each forward caches what its backward
// needs (the input for relu and leaky relu, the output for sigmoid and tanh), never a reference
// to dout; each backward writes a fresh dx.
import { kernelsFor } from '../kernels/index.js';
import {
  expectFloat,
  expectNumber,
  expectSameDType,
  expectShape,
  fmt,
  Tensor,
  type FloatTensor,
} from '../tensor/index.js';

export interface ReluCache {
  readonly x: FloatTensor; // any shape
}
export interface LeakyReluCache {
  readonly x: FloatTensor; // any shape
  readonly slope: number;
}
export interface SigmoidCache {
  readonly out: FloatTensor; // σ(x), any shape
}
export interface TanhCache {
  readonly out: FloatTensor; // tanh(x), any shape
}

/** Checks dout against the shape and dtype the forward produced. */
function checkDout(fn: string, dout: Tensor, like: FloatTensor): asserts dout is FloatTensor {
  expectFloat(fn, 'dout', dout);
  expectShape(fn, 'dout', dout, like.shape, `the forward input was ${fmt(like.shape)}`);
  expectSameDType(fn, { dout, x: like });
}

/** out = max(x, 0).   x: any shape => out: same shape */
export function reluForward(x: Tensor): { out: FloatTensor; cache: ReluCache } {
  expectFloat('reluForward', 'x', x);
  const out = Tensor.empty(x.shape, x.dtype); // written in full by the kernel
  kernelsFor(x.dtype).reluForward(out.data, x.data);
  return { out, cache: { x } };
}

/** dx = dout · [x > 0] (0 at x = 0, as torch). */
export function reluBackward(dout: Tensor, cache: ReluCache): { dx: FloatTensor } {
  const { x } = cache;
  checkDout('reluBackward', dout, x);
  const dx = Tensor.empty(x.shape, x.dtype); // written in full by the kernel
  kernelsFor(x.dtype).reluBackward(dx.data, dout.data, x.data);
  return { dx };
}

/** out = x if x > 0 else slope·x.   x: any shape => out: same shape */
export function leakyReluForward(
  x: Tensor,
  slope = 0.01,
): { out: FloatTensor; cache: LeakyReluCache } {
  expectFloat('leakyReluForward', 'x', x);
  expectNumber('leakyReluForward', 'slope', slope);
  const out = Tensor.zeros(x.shape, x.dtype),
    xd = x.data,
    od = out.data;
  for (let i = 0; i < xd.length; i++) od[i] = xd[i] > 0 ? xd[i] : slope * xd[i];
  return { out, cache: { x, slope } };
}

/** dx = dout · (1 if x > 0 else slope). */
export function leakyReluBackward(dout: Tensor, cache: LeakyReluCache): { dx: FloatTensor } {
  const { x, slope } = cache;
  checkDout('leakyReluBackward', dout, x);
  const dx = Tensor.zeros(x.shape, x.dtype),
    xd = x.data,
    gd = dout.data,
    dd = dx.data;
  for (let i = 0; i < xd.length; i++) dd[i] = xd[i] > 0 ? gd[i] : slope * gd[i];
  return { dx };
}

/** σ(v) = 1 / (1 + e^−v), evaluated so that exp never overflows: e^v / (1 + e^v) for v < 0. */
export function stableSigmoid(v: number): number {
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}

/** out = σ(x), finite and in [0, 1] for any |x|.   x: any shape => out: same shape */
export function sigmoidForward(x: Tensor): { out: FloatTensor; cache: SigmoidCache } {
  expectFloat('sigmoidForward', 'x', x);
  const out = Tensor.zeros(x.shape, x.dtype),
    xd = x.data,
    od = out.data;
  for (let i = 0; i < xd.length; i++) od[i] = stableSigmoid(xd[i]);
  return { out, cache: { out } };
}

/** dx = dout · σ(x)(1 − σ(x)), from the cached output. */
export function sigmoidBackward(dout: Tensor, cache: SigmoidCache): { dx: FloatTensor } {
  const { out } = cache;
  checkDout('sigmoidBackward', dout, out);
  const dx = Tensor.zeros(out.shape, out.dtype),
    od = out.data,
    gd = dout.data,
    dd = dx.data;
  for (let i = 0; i < od.length; i++) dd[i] = gd[i] * od[i] * (1 - od[i]);
  return { dx };
}

/** out = tanh(x).   x: any shape => out: same shape */
export function tanhForward(x: Tensor): { out: FloatTensor; cache: TanhCache } {
  expectFloat('tanhForward', 'x', x);
  const out = Tensor.zeros(x.shape, x.dtype),
    xd = x.data,
    od = out.data;
  for (let i = 0; i < xd.length; i++) od[i] = Math.tanh(xd[i]);
  return { out, cache: { out } };
}

/** dx = dout · (1 − tanh²(x)), from the cached output. */
export function tanhBackward(dout: Tensor, cache: TanhCache): { dx: FloatTensor } {
  const { out } = cache;
  checkDout('tanhBackward', dout, out);
  const dx = Tensor.zeros(out.shape, out.dtype),
    od = out.data,
    gd = dout.data,
    dd = dx.data;
  for (let i = 0; i < od.length; i++) dd[i] = gd[i] * (1 - od[i] * od[i]);
  return { dx };
}
