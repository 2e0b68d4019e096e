// src/data/preprocess.ts: the classic input preprocessing, fitted on the training set and stored
// as plain JSON beside a checkpoint, so that evaluation and prediction apply exactly the same.
import {
  unknownName,
  expectOneOf,
  fmt,
  ShapeError,
  Tensor,
  ValueError,
  expectFloat,
  type FloatTensor,
} from '../tensor/index.js';

export type PreprocessingKind = 'mean-image' | 'per-channel' | 'none';
export const PREPROCESSING_KINDS: readonly PreprocessingKind[] = [
  'mean-image',
  'per-channel',
  'none',
];

/**
 * A fitted preprocessing, JSON-serialisable (JSON.stringify / parsePreprocessing round-trip):
 * - 'mean-image': x - mean, mean is the average training image, shape = one sample's shape;
 * - 'per-channel': (x - mean[c]) / std[c] over axis 1 (channels), statistics over N, H, W;
 * - 'none': the identity.
 */
export type Preprocessing =
  | { kind: 'none' }
  | { kind: 'mean-image'; shape: number[]; mean: number[] }
  | { kind: 'per-channel'; mean: number[]; std: number[] };

/**
 * Fits a preprocessing on training data X: (N, d1..dk), N >= 1. 'per-channel' treats axis 1 as
 * channels ((N, C, H, W) or (N, D) -> per feature) and uses the biased std sqrt(mean((x-mu)^2));
 * a channel with std 0 (constant) gets std 1, so it is centred but not scaled. Statistics are
 * accumulated in float64.
 */
export function fitPreprocessing(X: Tensor, kind: PreprocessingKind): Preprocessing {
  expectFloat('fitPreprocessing', 'X', X);
  expectOneOf('fitPreprocessing', 'kind', kind, PREPROCESSING_KINDS);
  if (kind === 'none') return { kind };
  if (X.shape.length < 2 || X.shape[0] === 0) {
    throw new ShapeError(
      `fitPreprocessing: X has shape ${fmt(X.shape)} but must be (N, ...) with N >= 1`,
    );
  }
  const N = X.shape[0],
    D = X.size / N,
    x = X.data;
  if (kind === 'mean-image') {
    const sum = new Float64Array(D);
    for (let n = 0; n < N; n++) {
      const row = n * D;
      for (let j = 0; j < D; j++) sum[j] += x[row + j];
    }
    return { kind, shape: X.shape.slice(1), mean: Array.from(sum, (s) => s / N) };
  }
  const C = X.shape[1],
    S = D / C,
    count = N * S; // S: spatial positions per channel
  const mean = new Float64Array(C),
    sq = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const off = (n * C + c) * S;
      let s = 0;
      for (let j = 0; j < S; j++) s += x[off + j];
      mean[c] += s;
    }
  }
  for (let c = 0; c < C; c++) mean[c] /= count;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const off = (n * C + c) * S,
        mu = mean[c];
      let s = 0;
      for (let j = 0; j < S; j++) s += (x[off + j] - mu) ** 2;
      sq[c] += s;
    }
  }
  const std = Array.from(sq, (s) => Math.sqrt(s / count) || 1);
  return { kind, mean: Array.from(mean), std };
}

/**
 * Applies a fitted preprocessing to X: (N, d1..dk) and returns a new tensor of X's dtype (X is
 * not modified; 'none' returns a copy). X's sample shape must match what was fitted.
 */
export function applyPreprocessing<T extends Tensor>(X: T, prep: Preprocessing): T & FloatTensor {
  expectFloat('applyPreprocessing', 'X', X);
  const p = parsePreprocessing(prep, 'applyPreprocessing');
  const out = X.clone();
  if (p.kind === 'none') return out;
  const N = X.shape[0],
    D = N === 0 ? 0 : X.size / N,
    y = out.data;
  if (p.kind === 'mean-image') {
    const sample = X.shape.slice(1);
    if (sample.length !== p.shape.length || sample.some((d, i) => d !== p.shape[i])) {
      throw new ShapeError(
        `applyPreprocessing: X has shape ${fmt(X.shape)} but the mean image has shape ${fmt(p.shape)}`,
      );
    }
    for (let n = 0; n < N; n++) {
      const row = n * D;
      for (let j = 0; j < D; j++) y[row + j] -= p.mean[j];
    }
    return out;
  }
  const C = p.mean.length;
  if (X.shape.length < 2 || X.shape[1] !== C) {
    throw new ShapeError(
      `applyPreprocessing: X has shape ${fmt(X.shape)} but the statistics are for ${C} channels (axis 1)`,
    );
  }
  const S = D / C;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const off = (n * C + c) * S,
        mu = p.mean[c],
        inv = 1 / p.std[c];
      for (let j = 0; j < S; j++) y[off + j] = (y[off + j] - mu) * inv;
    }
  }
  return out;
}

/**
 * Checks a preprocessing read back from JSON (e.g. a checkpoint) and returns it typed; throws a
 * message naming the bad field.
 */
export function parsePreprocessing(value: unknown, fn = 'parsePreprocessing'): Preprocessing {
  const bad = (why: string): never => {
    throw new ValueError(`${fn}: invalid preprocessing: ${why}`);
  };
  if (value === null || typeof value !== 'object') return bad('expected an object');
  const v = value as Record<string, unknown>;
  const numbers = (
    key: string,
    check: (x: number) => boolean = Number.isFinite,
    what = 'finite numbers',
  ): number[] => {
    const a = v[key];
    if (!Array.isArray(a) || !a.every((x) => typeof x === 'number' && check(x))) {
      return bad(`'${key}' must be an array of ${what}`);
    }
    return a as number[];
  };
  const keys = (want: string[]) => {
    const extra = Object.keys(v).filter((k) => !want.includes(k));
    if (extra.length > 0) bad(`kind '${String(v.kind)}': ${unknownName('key', extra[0], want)}`);
  };
  const kind = expectOneOf(`${fn}: invalid preprocessing`, 'kind', v.kind, PREPROCESSING_KINDS);
  switch (kind) {
    case 'none':
      keys(['kind']);
      return { kind: 'none' };
    case 'mean-image': {
      keys(['kind', 'shape', 'mean']);
      const shape = numbers('shape', (d) => Number.isInteger(d) && d >= 1, 'positive integers'),
        mean = numbers('mean');
      const size = shape.reduce((a, b) => a * b, 1);
      if (mean.length !== size)
        bad(`'mean' has ${mean.length} values but shape ${fmt(shape)} needs ${size}`);
      return { kind: 'mean-image', shape, mean };
    }
    case 'per-channel': {
      keys(['kind', 'mean', 'std']);
      const mean = numbers('mean'),
        std = numbers('std', (s) => Number.isFinite(s) && s > 0, 'positive finite numbers');
      if (mean.length !== std.length || mean.length === 0) {
        bad(
          `'mean' has ${mean.length} values and 'std' ${std.length}; they must match and be non-empty`,
        );
      }
      return { kind: 'per-channel', mean, std };
    }
  }
}
