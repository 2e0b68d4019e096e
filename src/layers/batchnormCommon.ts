// src/layers/batchnormCommon.ts: what batchnorm.ts (features) and spatialBatchnorm.ts (images)
// share: bnParam's checks and defaults, the (A, C, B) layout, the forward's statistics and
// normalisation, test mode's dx, and the shape checks. Not part of the public layers.
import { kernelsFor } from '../kernels/index.js';
import {
  expectOneOf,
  expectFloat,
  expectNumber,
  expectOptions,
  expectSameDType,
  expectShape,
  fmt,
  ShapeError,
  Tensor,
  type FloatTensor,
} from '../tensor/index.js';

/**
 * Options and state of one batch-norm layer. The forward updates runningMean/runningVar in
 * place (train mode) and creates them (zeros / ones, shape (D) or (C), dtype of x) when absent,
 * storing them here: the one documented mutation of an argument in layers/.
 */
export interface BnParam {
  mode: 'train' | 'test';
  /** Added to the variance before the square root; default 1e-5. */
  eps?: number;
  /** running = momentum·running + (1 − momentum)·batch; default 0.9 (torch's momentum 0.1). */
  momentum?: number;
  runningMean?: FloatTensor; // (D) or (C)
  runningVar?: FloatTensor; // (D) or (C)
}
const BN_KEYS = ['mode', 'eps', 'momentum', 'runningMean', 'runningVar'] as const;

/** x read as (A, C, B): element (a, c, b) sits at (a·C + c)·B + b. */
export interface Layout {
  readonly A: number;
  readonly C: number;
  readonly B: number;
}

/** Validates gamma, beta and bnParam against C features/channels and fills in the defaults. */
export function checkBn(
  fn: string,
  x: FloatTensor,
  gamma: Tensor,
  beta: Tensor,
  bnParam: BnParam,
  C: number,
  what: string,
): { mode: 'train' | 'test'; eps: number; momentum: number } {
  expectFloat(fn, 'gamma', gamma);
  expectFloat(fn, 'beta', beta);
  expectShape(fn, 'gamma', gamma, [C], `x has ${C} ${what}`);
  expectShape(fn, 'beta', beta, [C], `x has ${C} ${what}`);
  expectSameDType(fn, { x, gamma, beta });
  if (bnParam === null || typeof bnParam !== 'object')
    throw new TypeError(`${fn}: bnParam must be an object`);
  expectOptions(fn, bnParam, BN_KEYS);
  const { mode } = bnParam;
  expectOneOf(fn, 'bnParam.mode', mode, ['train', 'test']);
  const eps = bnParam.eps ?? 1e-5,
    momentum = bnParam.momentum ?? 0.9;
  expectNumber(fn, 'bnParam.eps', eps, { min: 0, minExclusive: true });
  expectNumber(fn, 'bnParam.momentum', momentum, { min: 0, max: 1 });
  for (const key of ['runningMean', 'runningVar'] as const) {
    const t = bnParam[key];
    if (t === undefined) continue;
    expectFloat(fn, `bnParam.${key}`, t);
    expectShape(fn, `bnParam.${key}`, t, [C], `x has ${C} ${what}`);
    expectSameDType(fn, { x, [`bnParam.${key}`]: t });
  }
  return { mode, eps, momentum };
}

export type BnOpts = { mode: 'train' | 'test'; eps: number; momentum: number };

/**
 * Per-channel mean and BIASED variance over the (A, C, B) layout in one pass, in float64.
 * The sums run over d = x − K with K = x[0, c, 0], a value of the channel itself, so that
 * (K − μ)² ≤ M·σ²: the cancellation in σ² = mean(d²) − mean(d)² then costs at most about
 * M·ε₆₄ relative (the textbook mean(x²) − μ² is unsafe exactly when |μ| ≫ σ).
 */
export function channelStats(
  x: FloatTensor,
  { A, C, B }: Layout,
): { mean: Float64Array; variance: Float64Array } {
  const M = A * B,
    xd = x.data;
  const sums = new Float64Array(2 * C); // (2C): Σ d, Σ d² per channel, d = x − x[0, c, 0]
  kernelsFor(x.dtype).channelMoments(sums, xd, A, C, B);
  const mean = new Float64Array(C),
    variance = new Float64Array(C); // (C)
  for (let c = 0; c < C; c++) {
    const meanD = sums[c] / M;
    mean[c] = xd[c * B] + meanD;
    variance[c] = Math.max(0, sums[C + c] / M - meanD * meanD); // biased: divides by M
  }
  return { mean, variance };
}

/**
 * The μ and 1/√(σ² + eps) the forward normalises with: the batch's in train mode (updating the
 * running statistics, created at zeros / ones if absent), the running ones in test mode.
 */
export function normStats(
  x: FloatTensor,
  bnParam: BnParam,
  layout: Layout,
  { mode, eps, momentum }: BnOpts,
): { mean: Float64Array; invStd: FloatTensor } {
  const { C } = layout,
    dtype = x.dtype;
  bnParam.runningMean ??= Tensor.zeros([C], dtype);
  bnParam.runningVar ??= Tensor.full([C], 1, dtype);
  const runMean = bnParam.runningMean.data,
    runVar = bnParam.runningVar.data;
  let mean: Float64Array, variance: Float64Array; // (C)
  if (mode === 'train') {
    ({ mean, variance } = channelStats(x, layout));
    for (let c = 0; c < C; c++) {
      runMean[c] = momentum * runMean[c] + (1 - momentum) * mean[c];
      runVar[c] = momentum * runVar[c] + (1 - momentum) * variance[c]; // biased too (the contract)
    }
  } else {
    mean = Float64Array.from(runMean);
    variance = Float64Array.from(runVar);
  }
  const invStd = Tensor.zeros([C], dtype); // (C)
  for (let c = 0; c < C; c++) invStd.data[c] = 1 / Math.sqrt(variance[c] + eps);
  return { mean, invStd };
}

/** out = γ·(x − μ)·invStd + β over the (A, C, B) layout, into a fresh tensor shaped like x. */
export function normalize(
  x: FloatTensor,
  mean: Float64Array,
  invStd: FloatTensor,
  gamma: FloatTensor,
  beta: FloatTensor,
  { A, C, B }: Layout,
): FloatTensor {
  const out = Tensor.empty(x.shape, x.dtype); // written in full by the kernel
  const scale = new Float64Array(C),
    shift = Float64Array.from(beta.data); // (C): γ·invStd, β
  for (let c = 0; c < C; c++) scale[c] = gamma.data[c] * invStd.data[c];
  kernelsFor(x.dtype).channelNormalize(out.data, x.data, mean, scale, shift, A, C, B);
  return out;
}

/** Test mode: μ and σ² are constants, so dx = dout·γ/√(σ² + eps). */
export function testModeDx(
  dout: FloatTensor,
  { invStd, gamma }: { readonly invStd: FloatTensor; readonly gamma: FloatTensor },
  { A, C, B }: Layout,
): FloatTensor {
  const dx = Tensor.empty(dout.shape, dout.dtype); // written in full by the kernel
  const k = new Float64Array(C); // (C): γ·invStd
  for (let c = 0; c < C; c++) k[c] = gamma.data[c] * invStd.data[c];
  // (dout − 0)·k + (−0) is exactly dout·k, the sign of a zero included
  kernelsFor(dout.dtype).channelNormalize(
    dx.data,
    dout.data,
    new Float64Array(C),
    k,
    new Float64Array(C).fill(-0),
    A,
    C,
    B,
  );
  return dx;
}

/** dout must have the shape and dtype of the forward input x (or of xhat, its stand-in). */
export function checkDout(fn: string, dout: Tensor, x: FloatTensor): asserts dout is FloatTensor {
  expectFloat(fn, 'dout', dout);
  expectShape(fn, 'dout', dout, x.shape, `the forward input was ${fmt(x.shape)}`);
  expectSameDType(fn, { dout, x });
}

export function checkTrainBatch(fn: string, x: Tensor, M: number, mode: 'train' | 'test'): void {
  if (mode === 'train' && M === 0) {
    throw new ShapeError(
      `${fn}: x has shape ${fmt(x.shape)} but train mode needs at least one value per feature`,
    );
  }
}
