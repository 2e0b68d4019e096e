// src/data/batching.ts: row selection and the seeded train/validation holdout shared by every
// loader. The Solver draws its own minibatches; these helpers are for building data sets.
import {
  expectId,
  fmt,
  Rng,
  Tensor,
  ValueError,
  expectNumber,
  expectTensor,
  type FloatTensor,
} from '../tensor/index.js';

/** A labelled image classification data set, split three ways. */
export interface ClassificationData {
  XTrain: FloatTensor; // (Ntrain, C, H, W) float32
  yTrain: Int32Array; // (Ntrain) class indices in [0, classNames.length)
  XVal: FloatTensor; // (Nval, C, H, W)
  yVal: Int32Array; // (Nval)
  XTest: FloatTensor; // (Ntest, C, H, W)
  yTest: Int32Array; // (Ntest)
  classNames: string[];
}

/**
 * Rows `indices` of X along its first axis, copied into a new tensor of the same dtype.
 * X: (N, d1..dk), indices: (B) in [0, N)  =>  out: (B, d1..dk)
 */
export function gatherRows<T extends Tensor>(X: T, indices: ArrayLike<number>): T {
  expectTensor('gatherRows', 'X', X);
  if (X.shape.length === 0)
    throw new ValueError('gatherRows: X must have at least 1 dimension, got a scalar');
  const N = X.shape[0],
    D = N === 0 ? 0 : X.size / N,
    B = indices.length;
  const out = Tensor.zeros([B, ...X.shape.slice(1)], X.dtype),
    where = { why: `for X of shape ${fmt(X.shape)}` };
  for (let b = 0; b < B; b++) {
    const n = indices[b];
    expectId('gatherRows', 'indices', n, b, N, where);
    out.data.set(X.data.subarray(n * D, (n + 1) * D), b * D);
  }
  return out as T;
}

/** Labels `indices` of y, as a new Int32Array. */
export function gatherLabels(y: ArrayLike<number>, indices: ArrayLike<number>): Int32Array {
  const out = new Int32Array(indices.length);
  for (let b = 0; b < indices.length; b++) {
    const n = indices[b];
    expectId('gatherLabels', 'indices', n, b, y.length);
    out[b] = y[n];
  }
  return out;
}

/**
 * The seeded holdout used by every loader: a random round(N * valFraction) of 0..N-1 (drawn by
 * Rng(seed).permutation) become validation rows; both index lists are returned in ascending
 * order, so the training rows keep the source order.
 */
export function holdoutSplit(
  N: number,
  valFraction: number,
  seed: number,
): { train: Int32Array; val: Int32Array } {
  expectNumber('holdoutSplit', 'N', N, { min: 0, integer: true });
  expectNumber('holdoutSplit', 'valFraction', valFraction, { min: 0, max: 1, maxExclusive: true });
  expectNumber('holdoutSplit', 'seed', seed);
  const nVal = Math.round(N * valFraction);
  const perm = new Rng(seed).permutation(N);
  const val = perm.slice(0, nVal).sort();
  const train = perm.slice(nVal).sort();
  return { train, val };
}

/**
 * Where each of N source rows goes under holdoutSplit(N, valFraction, seed), so a loader can
 * write every sample straight into its final tensor: source row i goes to row `row[i]` of the
 * validation set when isVal[i] is 1, else of the training set (both in source order).
 */
export function holdoutDestinations(
  N: number,
  valFraction: number,
  seed: number,
): {
  nTrain: number;
  nVal: number;
  isVal: Uint8Array;
  row: Int32Array;
} {
  const { train, val } = holdoutSplit(N, valFraction, seed);
  const isVal = new Uint8Array(N),
    row = new Int32Array(N);
  train.forEach((i, r) => (row[i] = r));
  val.forEach((i, r) => ((row[i] = r), (isVal[i] = 1)));
  return { nTrain: train.length, nVal: val.length, isVal, row };
}

/** Splits (X, y) into a training part and a seeded validation holdout (see holdoutSplit). */
export function splitValidation(
  X: FloatTensor,
  y: Int32Array,
  valFraction: number,
  seed: number,
): { XTrain: FloatTensor; yTrain: Int32Array; XVal: FloatTensor; yVal: Int32Array } {
  const { train, val } = holdoutSplit(X.shape[0], valFraction, seed);
  return {
    XTrain: gatherRows(X, train),
    yTrain: gatherLabels(y, train),
    XVal: gatherRows(X, val),
    yVal: gatherLabels(y, val),
  };
}
