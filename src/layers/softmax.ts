// src/layers/softmax.ts: the one numerically stable softmax of a row, shared by the softmax losses,
// the captioning model's sampling, `layerwise predict` and attention (masked rows); and the
// softmax layer over the last axis of any shape.
import {
  expectFloat,
  expectSameDType,
  expectShape,
  fmt,
  ShapeError,
  Tensor,
  type FloatData,
  type FloatTensor,
} from '../tensor/index.js';

/**
 * The shift of a stable softmax over x[off .. off + n): max = maxⱼ xⱼ and
 * logSum = log Σⱼ exp(xⱼ − max), so that log softmax(x)ⱼ = xⱼ − max − logSum and
 * softmax(x)ⱼ = exp(xⱼ − max − logSum). Subtracting the max keeps every exp in (0, 1] and the
 * sum in [1, n], so logits of any size (1e4, −1e4) give finite results, never Infinity/Infinity.
 */
export function softmaxShift(
  x: ArrayLike<number>,
  off: number,
  n: number,
): { max: number; logSum: number } {
  let max = -Infinity;
  for (let j = 0; j < n; j++) max = Math.max(max, x[off + j]);
  let sumExp = 0;
  for (let j = 0; j < n; j++) sumExp += Math.exp(x[off + j] - max);
  return { max, logSum: Math.log(sumExp) };
}

/**
 * Cross-entropy of one row of logits x[off .. off + n) against `label`, returned as
 * −log softmax(x)_label = logSum − (x_label − max); writes its gradient
 * dx[off + j] = (softmax(x)ⱼ − [j = label]) / N (N, the batch size, makes it a batch mean).
 */
export function softmaxCrossEntropyRow(
  x: ArrayLike<number>,
  dx: { [j: number]: number },
  off: number,
  n: number,
  label: number,
  N: number,
): number {
  const { max, logSum } = softmaxShift(x, off, n);
  for (let j = 0; j < n; j++) dx[off + j] = Math.exp(x[off + j] - max - logSum) / N;
  dx[off + label] -= 1 / N;
  return logSum - (x[off + label] - max);
}

/**
 * Writes softmax(x[off .. off + n)) into out[off .. off + n), over the entries that `allowed`
 * lets through (allowed(j) for j < n; all when absent); excluded entries get 0. A row with no
 * allowed entry is all zeros (attention's fully masked query), never NaN.
 */
export function softmaxRowInto(
  out: FloatData,
  x: ArrayLike<number>,
  off: number,
  n: number,
  allowed?: (j: number) => boolean,
): void {
  let max = -Infinity;
  for (let j = 0; j < n; j++) if (!allowed || allowed(j)) max = Math.max(max, x[off + j]);
  if (max === -Infinity) {
    out.fill(0, off, off + n); // nothing allowed (or every logit −∞): no weight anywhere
    return;
  }
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const e = !allowed || allowed(j) ? Math.exp(x[off + j] - max) : 0; // in (0, 1]: no overflow
    out[off + j] = e;
    sum += e;
  }
  const inv = 1 / sum; // sum >= 1: the max contributes exp(0)
  for (let j = 0; j < n; j++) out[off + j] *= inv;
}

/**
 * The vector-Jacobian product of one softmax row p = out[off .. off + n):
 * dx_j = p_j · (dout_j − Σ_k dout_k p_k). Entries with p_j = 0 (masked) get 0.
 */
export function softmaxRowBackward(
  dx: FloatData,
  dout: ArrayLike<number>,
  p: ArrayLike<number>,
  off: number,
  n: number,
): void {
  let dot = 0;
  for (let j = 0; j < n; j++) dot += dout[off + j] * p[off + j];
  for (let j = 0; j < n; j++) dx[off + j] = p[off + j] * (dout[off + j] - dot);
}

export interface SoftmaxCache {
  readonly out: FloatTensor; // shape of x: the probabilities (backward needs only them)
}

/**
 * out[..., j] = exp(x[..., j] − m) / Σₖ exp(x[..., k] − m), m = maxₖ x[..., k]: softmax over the
 * last axis (torch.softmax(x, dim=-1)). Subtracting the max keeps logits of any size finite.
 * x: (..., D), D >= 1  =>  out: same shape
 */
export function softmaxForward(x: Tensor): { out: FloatTensor; cache: SoftmaxCache } {
  const fn = 'softmaxForward';
  expectFloat(fn, 'x', x);
  const D = x.shape[x.shape.length - 1];
  if (x.shape.length === 0 || D === 0)
    throw new ShapeError(`${fn}: x has shape ${fmt(x.shape)} but needs a non-empty last axis`);
  const out = Tensor.empty(x.shape, x.dtype),
    rows = x.size / D;
  for (let r = 0; r < rows; r++) softmaxRowInto(out.data, x.data, r * D, D);
  return { out, cache: { out } };
}

/** dx = out ⊙ (dout − Σ_last (dout ⊙ out)), row by row over the last axis.   dout: shape of x */
export function softmaxBackward(dout: Tensor, cache: SoftmaxCache): { dx: FloatTensor } {
  const fn = 'softmaxBackward';
  const { out } = cache;
  expectFloat(fn, 'dout', dout);
  expectShape(fn, 'dout', dout, out.shape, `the forward input was ${fmt(out.shape)}`);
  expectSameDType(fn, { dout, x: out });
  const D = out.shape[out.shape.length - 1],
    rows = out.size / D,
    dx = Tensor.empty(out.shape, out.dtype);
  for (let r = 0; r < rows; r++) softmaxRowBackward(dx.data, dout.data, out.data, r * D, D);
  return { dx };
}
