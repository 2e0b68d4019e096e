// test/helpers.ts: shared test utilities: seeded float64 tensors, gradient-check shorthands,
// fixtures, accuracy, full-batch Adam, Gaussian-blob data sets and bitwise comparison.
import { evalNumericalGradientArray } from '../src/gradcheck/index.js';
import type { Model } from '../src/models/index.js';
import { adam, type OptimConfig } from '../src/optim/index.js';
import { argmaxRows, Rng, Tensor, type FloatTensor } from '../src/tensor/index.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A seeded float64 standard-normal tensor (times `std`). */
export function randn64(shape: readonly number[], seed: number, std = 1): FloatTensor {
  return Tensor.randn(shape, { seed, dtype: 'float64', std });
}

/** Numerical vector-Jacobian product of f at x against dout (centred differences, h = 1e-5). */
export function numericGrad(f: (x: Tensor) => Tensor, x: Tensor, dout: Tensor, h = 1e-5): Tensor {
  return evalNumericalGradientArray(f, x, dout, h);
}

/** Reads test/fixtures/<name>.json (written by a committed script in test/fixtures/gen/). */
export function fixture<T = Record<string, unknown>>(
  name: string,
): T & { generator: string; version: string } {
  const path = fileURLToPath(new URL(`./fixtures/${name}.json`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** A tensor from a fixture entry { shape, data } in float64. */
export function fromFixture(entry: { shape: number[]; data: number[] }): FloatTensor {
  return Tensor.from(entry.data, entry.shape, 'float64');
}

/** max |a − b| / max |b|: the error relative to the size of the result (not entry by entry). */
export function normwiseError(a: Tensor, b: Tensor): number {
  if (a.shape.join() !== b.shape.join()) return Infinity;
  let diff = 0,
    scale = 0;
  for (let i = 0; i < a.size; i++) {
    diff = Math.max(diff, Math.abs(a.data[i] - b.data[i]));
    scale = Math.max(scale, Math.abs(b.data[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** A copy of the data, to assert later that a call did not modify its inputs. */
export function snapshot(...ts: Tensor[]): () => boolean {
  const copies = ts.map((t) => t.data.slice());
  return () => ts.every((t, i) => t.data.every((v, j) => Object.is(v, copies[i][j])));
}

/** True when a and b have the same length and the same bits in every entry (Object.is: -0 ≠ 0, NaN = NaN). */
export function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  return a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));
}

/** Fraction of rows of scores (N, C) whose argmax (first one on ties) is the label y[n]. */
export function accuracy(scores: Tensor, y: ArrayLike<number>): number {
  const pred = argmaxRows(scores);
  return pred.filter((p, n) => p === y[n]).length / pred.length;
}

/**
 * `steps` full-batch steps of the library's Adam (torch's defaults but the learning rate), one
 * config per param; returns the loss before each step.
 */
export function adamSteps(
  model: Model,
  X: Tensor,
  y: ArrayLike<number>,
  steps: number,
  learningRate: number,
): number[] {
  const configs: Record<string, OptimConfig> = {},
    losses: number[] = [];
  for (let t = 0; t < steps; t++) {
    const { loss, grads } = model.loss(X, y);
    losses.push(loss);
    for (const [key, w] of Object.entries(model.params))
      configs[key] = adam(w, grads[key], configs[key] ?? { learningRate });
  }
  return losses;
}

export interface BlobOptions {
  seed: number;
  /** Number of samples and their dimension. */
  N: number;
  D: number;
  /** Number of classes (blobs), default 3. */
  C?: number;
  /** Standard deviation of the blob centres (the points around them have std 1), default 1.5. */
  std?: number;
}

/** C Gaussian blobs in D dimensions (float32), labels 0..C-1: a seeded, learnable problem. */
export function blobs({ seed, N, D, C = 3, std = 1.5 }: BlobOptions): {
  X: FloatTensor;
  y: Int32Array;
} {
  const rng = new Rng(seed),
    centres = Tensor.randn([C, D], { rng, std });
  const X = Tensor.zeros([N, D]),
    y = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    y[n] = rng.int(C);
    for (let d = 0; d < D; d++) X.data[n * D + d] = centres.data[y[n] * D + d] + rng.normal();
  }
  return { X, y };
}

/** The first nTrain rows of X (N, D) and y as the training set, the rest as the validation set (views). */
export function trainValSplit({ X, y }: { X: FloatTensor; y: Int32Array }, nTrain: number) {
  const [N, D] = X.shape;
  return {
    XTrain: Tensor.from(X.data.subarray(0, nTrain * D), [nTrain, D]),
    yTrain: y.subarray(0, nTrain),
    XVal: Tensor.from(X.data.subarray(nTrain * D), [N - nTrain, D]),
    yVal: y.subarray(nTrain),
  };
}
