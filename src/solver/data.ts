// src/solver/data.ts: what the Solver trains on. The model it needs, the data (X rows with labels
// or target rows), checked once into Targets, minibatches gathered by row indices, and the
// batched accuracy count of the test-mode scores.
import { gatherLabels, gatherRows } from '../data/internal.js';
import { stepMemory } from '../kernels/index.js';
import type { LossResult, Model } from '../models/index.js';
import {
  argmaxRows,
  expectNumber,
  expectOptions,
  expectTensor,
  fmt,
  ShapeError,
  Tensor,
  ValueError,
  type Labels,
  type Rng,
} from '../tensor/index.js';

/**
 * What the Solver trains. `loss(X, y)` returns { loss, grads } with one gradient per param.
 * `loss(X)` (no labels) returns the scores (N, C) in test mode; it is needed only for
 * metric 'accuracy' (the default). A model without a scores mode (e.g. CaptioningRNN, whose
 * loss(features, captions) always returns { loss, grads }) trains with metric: 'none' or an
 * `evaluate` hook.
 */
export interface SolverModel extends Pick<
  Model,
  'params' | 'buffers' | 'config' | 'rng' | 'reusesStepMemory'
> {
  /** Train mode: { loss, grads }. For metric 'accuracy', loss(X) without y must give scores (N, C). */
  loss(X: Tensor, y: Labels): Tensor | LossResult;
}

/**
 * The data. X: (N, ...) float rows; y: class labels (Int32Array, number[] or an int32 Tensor
 * (N)) or any Tensor of rows (N, ...), e.g. captions (N, T) int32; minibatches gather rows of
 * X and y with the same indices.
 */
export interface SolverData {
  XTrain: Tensor;
  yTrain: Labels;
  /** Validation data; without it there is no valAccHistory, best-params tracking or patience. */
  XVal?: Tensor;
  yVal?: Labels;
}

/** Labels or rows of y, gathered by the same indices as X. */
export type Targets = { kind: 'rows'; t: Tensor } | { kind: 'labels'; y: Int32Array };

/** The checked data: X with its targets, and the validation pair or null. */
export interface CheckedData {
  readonly X: Tensor;
  readonly y: Targets;
  readonly XVal: Tensor | null;
  readonly yVal: Targets | null;
}

/** Checks y against N rows of X: a Tensor of N rows, or N integer labels. */
export function targetsOf(fn: string, arg: string, y: Labels, N: number): Targets {
  if (y instanceof Tensor) {
    if (y.shape.length === 0 || y.shape[0] !== N) {
      throw new ShapeError(`${fn}: ${arg} has shape ${fmt(y.shape)} but X has ${N} rows`);
    }
    return { kind: 'rows', t: y };
  }
  if (y === null || typeof y !== 'object' || typeof (y as ArrayLike<number>).length !== 'number') {
    throw new TypeError(`${fn}: ${arg} must be a Tensor, an Int32Array or an array of labels`);
  }
  if (y.length !== N)
    throw new ShapeError(`${fn}: ${arg} has ${y.length} labels but X has ${N} rows`);
  for (let i = 0; i < N; i++) {
    if (!Number.isInteger(y[i]))
      throw new ValueError(`${fn}: ${arg}[${i}] = ${y[i]} is not an integer label`);
  }
  return { kind: 'labels', y: y instanceof Int32Array ? y : Int32Array.from(y) };
}

/** Checks the data: row counts of X and y agree, both or neither validation parts given. */
export function checkData(fn: string, data: SolverData): CheckedData {
  expectOptions(`${fn}: data`, data, ['XTrain', 'yTrain', 'XVal', 'yVal']);
  const rows = (arg: string, X: Tensor): number => {
    expectTensor(fn, arg, X);
    if (X.shape.length === 0 || X.shape[0] === 0) {
      throw new ShapeError(`${fn}: ${arg} has shape ${fmt(X.shape)} but needs at least one row`);
    }
    return X.shape[0];
  };
  const y = targetsOf(fn, 'yTrain', data.yTrain, rows('XTrain', data.XTrain));
  if ((data.XVal === undefined) !== (data.yVal === undefined)) {
    throw new ValueError(`${fn}: give both XVal and yVal, or neither`);
  }
  if (data.XVal === undefined || data.yVal === undefined)
    return { X: data.XTrain, y, XVal: null, yVal: null };
  return {
    X: data.XTrain,
    y,
    XVal: data.XVal,
    yVal: targetsOf(fn, 'yVal', data.yVal, rows('XVal', data.XVal)),
  };
}

/** The targets as Labels (what model.loss and evaluate take). */
export function targetLabels(y: Targets): Labels {
  return y.kind === 'rows' ? y.t : y.y;
}

/** The rows idx of the targets. */
export function gatherTargets(y: Targets, idx: Int32Array): Labels {
  return y.kind === 'rows' ? gatherRows(y.t, idx) : gatherLabels(y.y, idx);
}

export { gatherRows };

/** Calls the scores mode, loss(X), which SolverModel does not require (see metric). */
function scoresOf(model: SolverModel, X: Tensor): unknown {
  return (model as unknown as { loss(X: Tensor): unknown }).loss(X);
}

/**
 * How many rows of X have the argmax of their test-mode scores loss(X) at their label,
 * computed in minibatches of batchSize. `fn` names the caller in errors.
 */
export function countCorrect(
  fn: string,
  model: SolverModel,
  X: Tensor,
  y: Labels,
  batchSize: number,
): number {
  const labels = labelArray(fn, y);
  const M = X.shape[0],
    D = X.size / M;
  let correct = 0;
  // Each batch's scores are counted before the next batch runs: step memory serves them too
  // (given back at the end, so that an accuracy check called on its own keeps nothing).
  const mem = model.reusesStepMemory === true ? stepMemory() : null;
  try {
    for (let lo = 0; lo < M; lo += batchSize) {
      const hi = Math.min(lo + batchSize, M);
      // rows lo..hi-1 are contiguous: a view, no copy
      const Xb =
        lo === 0 && hi === M
          ? X
          : new Tensor(X.data.subarray(lo * D, hi * D), [hi - lo, ...X.shape.slice(1)]);
      const scores = mem ? mem.run(() => scoresOf(model, Xb)) : scoresOf(model, Xb);
      correct += correctInBatch(fn, scores, labels, lo, hi);
    }
  } finally {
    mem?.release();
  }
  return correct;
}

/** Class labels of targets for the accuracy check (1-D only). */
function labelArray(fn: string, y: Labels): ArrayLike<number> {
  if (!(y instanceof Tensor)) return y;
  if (y.shape.length !== 1) {
    throw new ShapeError(
      `${fn}: metric 'accuracy' needs 1-D labels but y has shape ${fmt(y.shape)}; use metric 'none' or evaluate`,
    );
  }
  return y.data;
}

/** How many rows of scores (rows lo..hi of the evaluated set) have their argmax at the label. */
function correctInBatch(
  fn: string,
  scores: unknown,
  labels: ArrayLike<number>,
  lo: number,
  hi: number,
): number {
  if (!(scores instanceof Tensor) || scores.shape.length !== 2 || scores.shape[0] !== hi - lo) {
    const got = scores instanceof Tensor ? `shape ${fmt(scores.shape)}` : 'no scores';
    throw new ValueError(
      `${fn}: model.loss(X) gave ${got} for ${hi - lo} rows; a model without a scores mode needs metric 'none' or evaluate`,
    );
  }
  return argmaxRows(scores).filter((p, n) => p === labels[lo + n]).length;
}

/**
 * The model's accuracy on (X, targets): countCorrect over the rows, or over numSamples (< N) of
 * them drawn without replacement from rng; with an evaluate hook, its score instead.
 */
export function accuracy<M extends SolverModel>(
  fn: string,
  model: M,
  X: Tensor,
  targets: Targets,
  opts: {
    readonly numSamples: number | null;
    readonly batchSize: number;
    readonly rng: Rng;
    readonly evaluate?: (model: M, X: Tensor, y: Labels) => number;
  },
): number {
  const N = X.shape[0];
  let Xs = X,
    ys = targetLabels(targets);
  if (opts.numSamples !== null && opts.numSamples < N) {
    const idx = opts.rng.permutation(N).subarray(0, opts.numSamples);
    Xs = gatherRows(X, idx);
    ys = gatherTargets(targets, idx);
  }
  if (opts.evaluate) {
    const score = opts.evaluate(model, Xs, ys);
    expectNumber(fn, 'the result of evaluate', score);
    return score;
  }
  return countCorrect(fn, model, Xs, ys, opts.batchSize) / Xs.shape[0];
}
