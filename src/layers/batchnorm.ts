// src/layers/batchnorm.ts: batch normalisation (Ioffe & Szegedy 2015, https://arxiv.org/abs/1502.03167)
// of (N, D) features and, per channel, of (N, C, H, W) images. Both read x as (A, C, B): (N, D, 1)
// for batchnorm, (N, C, H·W) for spatial batchnorm, with statistics per C over A·B, and share the
// forward's helpers; the spatial cache keeps x rather than two more image-sized intermediates.
import { kernelsFor } from '../kernels/index.js';
import {
  expectOneOf,
  expectFloat,
  expectNdim,
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

export interface BatchnormCache {
  readonly mode: 'train' | 'test';
  readonly xmu: FloatTensor; // shape of x: x − μ (batch μ in train mode, running μ in test mode)
  readonly xhat: FloatTensor; // shape of x: (x − μ) / √(σ² + eps)
  readonly invStd: FloatTensor; // (C): 1 / √(σ² + eps)
  readonly gamma: FloatTensor; // (C)
}

/**
 * The spatial cache keeps x instead of x − μ and xhat: at N·C·H·W values each, two fewer fresh
 * full-size tensors per step. The backward recomputes xhat = (x − μ)·invStd on the fly.
 */
export interface SpatialBatchnormCache {
  readonly mode: 'train' | 'test';
  readonly x: FloatTensor; // (N, C, H, W)
  readonly mean: Float64Array; // (C): μ (batch μ in train mode, running μ in test mode)
  readonly invStd: FloatTensor; // (C): 1 / √(σ² + eps)
  readonly gamma: FloatTensor; // (C)
}

/** x read as (A, C, B): element (a, c, b) sits at (a·C + c)·B + b. */
interface Layout {
  readonly A: number;
  readonly C: number;
  readonly B: number;
}

/** Validates gamma, beta and bnParam against C features/channels and fills in the defaults. */
function checkBn(
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

type BnOpts = { mode: 'train' | 'test'; eps: number; momentum: number };

/**
 * Per-channel mean and BIASED variance over the (A, C, B) layout in one pass, in float64.
 * The sums run over d = x − K with K = x[0, c, 0], a value of the channel itself, so that
 * (K − μ)² ≤ M·σ²: the cancellation in σ² = mean(d²) − mean(d)² then costs at most about
 * M·ε₆₄ relative (the textbook mean(x²) − μ² is unsafe exactly when |μ| ≫ σ).
 */
function channelStats(
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
function normStats(
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
function normalize(
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

/** x − μ and xhat = (x − μ)·invStd, the intermediates batchnormBackward's graph walk needs. */
function centred(
  x: FloatTensor,
  mean: Float64Array,
  invStd: FloatTensor,
  { A, C, B }: Layout,
): { xmu: FloatTensor; xhat: FloatTensor } {
  const xmu = Tensor.zeros(x.shape, x.dtype),
    xhat = Tensor.zeros(x.shape, x.dtype);
  const xd = x.data,
    md = xmu.data,
    hd = xhat.data;
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const off = (a * C + c) * B,
        mu = mean[c],
        is = invStd.data[c];
      for (let b = 0; b < B; b++) {
        md[off + b] = xd[off + b] - mu;
        hd[off + b] = md[off + b] * is;
      }
    }
  }
  return { xmu, xhat };
}

/** Per-channel sums Σ dout and Σ dout·xhat over the (A, C, B) layout, i.e. dbeta and dgamma. */
function paramGrads(
  dout: FloatTensor,
  xhat: FloatTensor,
  { A, C, B }: Layout,
): { dgamma: FloatTensor; dbeta: FloatTensor } {
  const dgamma = Tensor.zeros([C], dout.dtype),
    dbeta = Tensor.zeros([C], dout.dtype);
  const gd = dout.data,
    hd = xhat.data,
    dg = dgamma.data,
    db = dbeta.data;
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const off = (a * C + c) * B;
      let sg = 0,
        sb = 0;
      for (let b = 0; b < B; b++) {
        sb += gd[off + b];
        sg += gd[off + b] * hd[off + b];
      }
      dg[c] += sg;
      db[c] += sb;
    }
  }
  return { dgamma, dbeta };
}

/** Test mode: μ and σ² are constants, so dx = dout·γ/√(σ² + eps). */
function testModeDx(
  dout: FloatTensor,
  { invStd, gamma }: Pick<BatchnormCache, 'invStd' | 'gamma'>,
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

/** Train mode, node by node through the forward graph (see batchnormBackward). */
function graphDx(
  dout: FloatTensor,
  { xmu, invStd, gamma }: BatchnormCache,
  { A, C, B }: Layout,
): FloatTensor {
  const M = A * B,
    gd = dout.data,
    md = xmu.data;
  const dx = Tensor.zeros(dout.shape, dout.dtype),
    dd = dx.data;
  // dinvStd[c] = Σ dxhat·xmu, with dxhat = dout·γ            (xhat = xmu·invStd)
  const dinvStd = new Float64Array(C);
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const off = (a * C + c) * B,
        g = gamma.data[c];
      let s = 0;
      for (let b = 0; b < B; b++) s += gd[off + b] * g * md[off + b];
      dinvStd[c] += s;
    }
  }
  const dsq = new Float64Array(C); // ∂L/∂(xmu²), the same for every element of a channel
  for (let c = 0; c < C; c++) {
    const std = 1 / invStd.data[c];
    const dstd = -dinvStd[c] / (std * std); // invStd = 1 / std
    const dvar = (0.5 * dstd) / std; // std = √(var + eps)
    dsq[c] = dvar / M; // var = mean(xmu²)
  }
  // dx1 = dxhat·invStd + 2·xmu·dsq  (the two paths into xmu); dmu = −Σ dx1  (xmu = x − μ)
  const dmu = new Float64Array(C);
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const off = (a * C + c) * B,
        g = gamma.data[c],
        is = invStd.data[c],
        q = dsq[c];
      let s = 0;
      for (let b = 0; b < B; b++) {
        const i = off + b;
        dd[i] = gd[i] * g * is + 2 * md[i] * q;
        s += dd[i];
      }
      dmu[c] -= s;
    }
  }
  // dx = dx1 + dmu/M  (μ = mean(x))
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const off = (a * C + c) * B,
        k = dmu[c] / M;
      for (let b = 0; b < B; b++) dd[off + b] += k;
    }
  }
  return dx;
}

/** Train mode in closed form: dx = γ·invStd/M · (M·dout − Σ dout − xhat·Σ dout·xhat). */
function closedFormDx(
  dout: FloatTensor,
  { xhat, invStd, gamma }: BatchnormCache,
  sums: { dgamma: FloatTensor; dbeta: FloatTensor },
  { A, C, B }: Layout,
): FloatTensor {
  const M = A * B,
    gd = dout.data,
    hd = xhat.data,
    sg = sums.dgamma.data,
    sb = sums.dbeta.data;
  const dx = Tensor.zeros(dout.shape, dout.dtype),
    dd = dx.data;
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const off = (a * C + c) * B,
        k = (gamma.data[c] * invStd.data[c]) / M,
        sumG = sb[c],
        sumGH = sg[c];
      for (let b = 0; b < B; b++) {
        const i = off + b;
        dd[i] = k * (M * gd[i] - sumG - hd[i] * sumGH);
      }
    }
  }
  return dx;
}

/**
 * The spatial backward's two sweeps, with xhat = (x − μ)·invStd recomputed from the cached x.
 * Sweep 1: per-channel Σ dout and Σ dout·xhat, i.e. dbeta and dgamma (float64 accumulators).
 */
function spatialParamGrads(
  dout: FloatTensor,
  { x, mean, invStd }: SpatialBatchnormCache,
  { A, C, B }: Layout,
): { dgamma: FloatTensor; dbeta: FloatTensor } {
  const sums = new Float64Array(2 * C); // (2C): Σ dout, Σ dout·(x − μ) per channel
  kernelsFor(dout.dtype).channelDots(sums, dout.data, x.data, mean, A, C, B);
  const dgamma = Tensor.zeros([C], dout.dtype),
    dbeta = Tensor.zeros([C], dout.dtype);
  for (let c = 0; c < C; c++) {
    dbeta.data[c] = sums[c];
    dgamma.data[c] = sums[C + c] * invStd.data[c]; // Σ dout·xhat = invStd·Σ dout·(x − μ)
  }
  return { dgamma, dbeta };
}

/**
 * Sweep 2, train mode: closedFormDx with xhat recomputed,
 *   dx = γ·invStd/M · (M·dout − Σ dout − xhat·Σ dout·xhat).
 */
function spatialClosedFormDx(
  dout: FloatTensor,
  { x, mean, invStd, gamma }: SpatialBatchnormCache,
  sums: { dgamma: FloatTensor; dbeta: FloatTensor },
  { A, C, B }: Layout,
): FloatTensor {
  const M = A * B,
    sg = sums.dgamma.data,
    sb = sums.dbeta.data;
  // dx = k·M·dout − k·(invStd·Σ dout·xhat)·(x − μ) − k·Σ dout, k = γ·invStd/M: coef (3C) of channelCombine
  const coef = new Float64Array(3 * C);
  for (let c = 0; c < C; c++) {
    const is = invStd.data[c],
      k = (gamma.data[c] * is) / M;
    coef[c] = k * M;
    coef[C + c] = -k * is * sg[c];
    coef[2 * C + c] = -k * sb[c];
  }
  const dx = Tensor.empty(dout.shape, dout.dtype); // written in full by the kernel
  kernelsFor(dout.dtype).channelCombine(dx.data, dout.data, x.data, mean, coef, A, C, B);
  return dx;
}

/** dout must have the shape and dtype of the forward input x (or of xhat, its stand-in). */
function checkDout(fn: string, dout: Tensor, x: FloatTensor): asserts dout is FloatTensor {
  expectFloat(fn, 'dout', dout);
  expectShape(fn, 'dout', dout, x.shape, `the forward input was ${fmt(x.shape)}`);
  expectSameDType(fn, { dout, x });
}

function checkTrainBatch(fn: string, x: Tensor, M: number, mode: 'train' | 'test'): void {
  if (mode === 'train' && M === 0) {
    throw new ShapeError(
      `${fn}: x has shape ${fmt(x.shape)} but train mode needs at least one value per feature`,
    );
  }
}

/**
 * Batch normalisation of features. train: μ, σ² = mean and BIASED variance of each column over
 * the batch; out = γ·(x − μ)/√(σ² + eps) + β; running = momentum·running + (1 − momentum)·batch
 * (μ and the biased σ², where torch would use the unbiased one). test: the running statistics
 * take the place of μ and σ². Running statistics start at zeros / ones when bnParam has none.
 * x: (N, D), gamma: (D), beta: (D)  =>  out: (N, D)
 */
export function batchnormForward(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  bnParam: BnParam,
): { out: FloatTensor; cache: BatchnormCache } {
  const fn = 'batchnormForward';
  expectFloat(fn, 'x', x);
  expectNdim(fn, 'x', x, 2, '(N, D) features');
  const [N, D] = x.shape;
  const opts = checkBn(fn, x, gamma, beta, bnParam, D, 'features');
  checkTrainBatch(fn, x, N, opts.mode);
  const layout = { A: N, C: D, B: 1 };
  const { mean, invStd } = normStats(x, bnParam, layout, opts);
  const out = normalize(x, mean, invStd, gamma as FloatTensor, beta as FloatTensor, layout);
  const { xmu, xhat } = centred(x, mean, invStd, layout);
  return { out, cache: { mode: opts.mode, xmu, xhat, invStd, gamma: gamma as FloatTensor } };
}

/**
 * Backward through the computational graph of the forward, one node at a time:
 *   dβ = Σₙ dout,  dγ = Σₙ dout·xhat,  dxhat = dout·γ,
 *   dinvStd = Σₙ dxhat·(x − μ),  dσ² = −½·dinvStd·(σ² + eps)^(−3/2),
 *   d(x − μ) = dxhat·invStd + 2(x − μ)·dσ²/N,  dμ = −Σₙ d(x − μ),  dx = d(x − μ) + dμ/N.
 * In test mode μ and σ² are constants: dx = dout·γ/√(σ² + eps).   dout: (N, D)
 */
export function batchnormBackward(
  dout: Tensor,
  cache: BatchnormCache,
): { dx: FloatTensor; dgamma: FloatTensor; dbeta: FloatTensor } {
  checkDout('batchnormBackward', dout, cache.xhat);
  const layout = { A: dout.shape[0], C: dout.shape[1], B: 1 };
  const { dgamma, dbeta } = paramGrads(dout, cache.xhat, layout);
  const dx =
    cache.mode === 'train' ? graphDx(dout, cache, layout) : testModeDx(dout, cache, layout);
  return { dx, dgamma, dbeta };
}

/**
 * The same gradient as batchnormBackward, simplified on paper into one closed form:
 *   dx = γ/(N·√(σ² + eps)) · (N·dout − Σₙ dout − xhat·Σₙ dout·xhat),
 * reusing the sums that are dβ and dγ.   dout: (N, D)
 */
export function batchnormBackwardAlt(
  dout: Tensor,
  cache: BatchnormCache,
): { dx: FloatTensor; dgamma: FloatTensor; dbeta: FloatTensor } {
  checkDout('batchnormBackwardAlt', dout, cache.xhat);
  const layout = { A: dout.shape[0], C: dout.shape[1], B: 1 };
  const sums = paramGrads(dout, cache.xhat, layout);
  const dx =
    cache.mode === 'train'
      ? closedFormDx(dout, cache, sums, layout)
      : testModeDx(dout, cache, layout);
  return { dx, ...sums };
}

/**
 * Batch normalisation of images, per channel: the statistics of channel c are taken over all
 * N·H·W values of x[:, c, :, :]; otherwise exactly batchnormForward (same bnParam semantics,
 * running statistics of shape (C)), like torch's BatchNorm2d.
 * x: (N, C, H, W), gamma: (C), beta: (C)  =>  out: (N, C, H, W)
 */
export function spatialBatchnormForward(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  bnParam: BnParam,
): { out: FloatTensor; cache: SpatialBatchnormCache } {
  const fn = 'spatialBatchnormForward';
  expectFloat(fn, 'x', x);
  expectNdim(fn, 'x', x, 4, '(N, C, H, W) images');
  const [N, C, H, W] = x.shape;
  const opts = checkBn(fn, x, gamma, beta, bnParam, C, 'channels');
  checkTrainBatch(fn, x, N * H * W, opts.mode);
  const layout = { A: N, C, B: H * W };
  const { mean, invStd } = normStats(x, bnParam, layout, opts);
  const out = normalize(x, mean, invStd, gamma as FloatTensor, beta as FloatTensor, layout);
  return { out, cache: { mode: opts.mode, x, mean, invStd, gamma: gamma as FloatTensor } };
}

/**
 * The closed form of batchnormBackwardAlt with M = N·H·W values per channel:
 *   dx = γ/(M·√(σ² + eps)) · (M·dout − Σ dout − xhat·Σ dout·xhat),  sums over n, h, w,
 * with xhat = (x − μ)/√(σ² + eps) recomputed from the cached x. In test mode dx = dout·γ/√(σ² + eps).
 * dout: (N, C, H, W)  =>  dx: (N, C, H, W), dgamma: (C), dbeta: (C)
 */
export function spatialBatchnormBackward(
  dout: Tensor,
  cache: SpatialBatchnormCache,
): { dx: FloatTensor; dgamma: FloatTensor; dbeta: FloatTensor } {
  checkDout('spatialBatchnormBackward', dout, cache.x);
  const [N, C, H, W] = dout.shape;
  const layout = { A: N, C, B: H * W };
  const sums = spatialParamGrads(dout, cache, layout);
  const dx =
    cache.mode === 'train'
      ? spatialClosedFormDx(dout, cache, sums, layout)
      : testModeDx(dout, cache, layout);
  return { dx, ...sums };
}
