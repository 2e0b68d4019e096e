// src/layers/batchnorm.ts: batch normalisation (Ioffe & Szegedy 2015, https://arxiv.org/abs/1502.03167)
// of (N, D) features and, per channel, of (N, C, H, W) images. Both run one core that reads x as
// (A, C, B): (N, D, 1) for batchnorm, (N, C, H·W) for spatial batchnorm; statistics per C over A·B.
import {
  expectFloat, expectNdim, expectNumber, expectOptions, expectSameDType, expectShape, fmt, ShapeError, Tensor,
  ValueError, type FloatTensor,
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

export interface SpatialBatchnormCache {
  readonly bn: BatchnormCache; // over x read as (N, C, H·W)
}

/** x read as (A, C, B): element (a, c, b) sits at (a·C + c)·B + b. */
interface Layout {
  readonly A: number;
  readonly C: number;
  readonly B: number;
}

/** Validates gamma, beta and bnParam against C features/channels and fills in the defaults. */
function checkBn(
  fn: string, x: FloatTensor, gamma: Tensor, beta: Tensor, bnParam: BnParam, C: number, what: string,
): { mode: 'train' | 'test'; eps: number; momentum: number } {
  expectFloat(fn, 'gamma', gamma);
  expectFloat(fn, 'beta', beta);
  expectShape(fn, 'gamma', gamma, [C], `x has ${C} ${what}`);
  expectShape(fn, 'beta', beta, [C], `x has ${C} ${what}`);
  expectSameDType(fn, { x, gamma, beta });
  if (bnParam === null || typeof bnParam !== 'object') throw new TypeError(`${fn}: bnParam must be an object`);
  expectOptions(fn, bnParam, BN_KEYS);
  const { mode } = bnParam;
  if (mode !== 'train' && mode !== 'test') {
    throw new ValueError(`${fn}: bnParam.mode must be 'train' or 'test', got '${String(mode)}'`);
  }
  const eps = bnParam.eps ?? 1e-5, momentum = bnParam.momentum ?? 0.9;
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

/** The shared forward over the (A, C, B) layout; see batchnormForward for the maths. */
function bnForwardCore(
  x: FloatTensor, gamma: FloatTensor, beta: FloatTensor, bnParam: BnParam, { A, C, B }: Layout,
  opts: { mode: 'train' | 'test'; eps: number; momentum: number },
): { out: FloatTensor; cache: BatchnormCache } {
  const { mode, eps, momentum } = opts;
  const dtype = x.dtype, M = A * B; // M values per channel
  bnParam.runningMean ??= Tensor.zeros([C], dtype);
  bnParam.runningVar ??= Tensor.full([C], 1, dtype);
  const runMean = bnParam.runningMean.data, runVar = bnParam.runningVar.data;
  const mean = new Float64Array(C), variance = new Float64Array(C); // (C)
  const xd = x.data;
  if (mode === 'train') {
    for (let a = 0; a < A; a++) {
      for (let c = 0; c < C; c++) {
        const off = (a * C + c) * B;
        let s = 0;
        for (let b = 0; b < B; b++) s += xd[off + b];
        mean[c] += s;
      }
    }
    for (let c = 0; c < C; c++) mean[c] /= M;
    for (let a = 0; a < A; a++) {
      for (let c = 0; c < C; c++) {
        const off = (a * C + c) * B, mu = mean[c];
        let s = 0;
        for (let b = 0; b < B; b++) s += (xd[off + b] - mu) * (xd[off + b] - mu);
        variance[c] += s;
      }
    }
    for (let c = 0; c < C; c++) {
      variance[c] /= M; // biased: divides by M, as the normalisation itself does
      runMean[c] = momentum * runMean[c] + (1 - momentum) * mean[c];
      runVar[c] = momentum * runVar[c] + (1 - momentum) * variance[c]; // biased too (the contract)
    }
  } else {
    mean.set(runMean);
    variance.set(runVar);
  }
  const invStd = Tensor.zeros([C], dtype); // (C)
  for (let c = 0; c < C; c++) invStd.data[c] = 1 / Math.sqrt(variance[c] + eps);
  const xmu = Tensor.zeros(x.shape, dtype), xhat = Tensor.zeros(x.shape, dtype), out = Tensor.zeros(x.shape, dtype);
  const md = xmu.data, hd = xhat.data, od = out.data, gd = gamma.data, bd = beta.data, sd = invStd.data;
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const off = (a * C + c) * B, mu = mean[c], is = sd[c], g = gd[c], be = bd[c];
      for (let b = 0; b < B; b++) {
        const i = off + b;
        md[i] = xd[i] - mu;
        hd[i] = md[i] * is;
        od[i] = g * hd[i] + be;
      }
    }
  }
  return { out, cache: { mode, xmu, xhat, invStd, gamma } };
}

/** Per-channel sums Σ dout and Σ dout·xhat over the (A, C, B) layout, i.e. dbeta and dgamma. */
function paramGrads(dout: FloatTensor, xhat: FloatTensor, { A, C, B }: Layout): { dgamma: FloatTensor; dbeta: FloatTensor } {
  const dgamma = Tensor.zeros([C], dout.dtype), dbeta = Tensor.zeros([C], dout.dtype);
  const gd = dout.data, hd = xhat.data, dg = dgamma.data, db = dbeta.data;
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const off = (a * C + c) * B;
      let sg = 0, sb = 0;
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
function testModeDx(dout: FloatTensor, { invStd, gamma }: BatchnormCache, { A, C, B }: Layout): FloatTensor {
  const dx = Tensor.zeros(dout.shape, dout.dtype), gd = dout.data, dd = dx.data;
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const off = (a * C + c) * B, k = gamma.data[c] * invStd.data[c];
      for (let b = 0; b < B; b++) dd[off + b] = gd[off + b] * k;
    }
  }
  return dx;
}

/** Train mode, node by node through the forward graph (see batchnormBackward). */
function graphDx(dout: FloatTensor, { xmu, invStd, gamma }: BatchnormCache, { A, C, B }: Layout): FloatTensor {
  const M = A * B, gd = dout.data, md = xmu.data;
  const dx = Tensor.zeros(dout.shape, dout.dtype), dd = dx.data;
  // dinvStd[c] = Σ dxhat·xmu, with dxhat = dout·γ            (xhat = xmu·invStd)
  const dinvStd = new Float64Array(C);
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const off = (a * C + c) * B, g = gamma.data[c];
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
      const off = (a * C + c) * B, g = gamma.data[c], is = invStd.data[c], q = dsq[c];
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
      const off = (a * C + c) * B, k = dmu[c] / M;
      for (let b = 0; b < B; b++) dd[off + b] += k;
    }
  }
  return dx;
}

/** Train mode in closed form: dx = γ·invStd/M · (M·dout − Σ dout − xhat·Σ dout·xhat). */
function closedFormDx(
  dout: FloatTensor, { xhat, invStd, gamma }: BatchnormCache, sums: { dgamma: FloatTensor; dbeta: FloatTensor },
  { A, C, B }: Layout,
): FloatTensor {
  const M = A * B, gd = dout.data, hd = xhat.data, sg = sums.dgamma.data, sb = sums.dbeta.data;
  const dx = Tensor.zeros(dout.shape, dout.dtype), dd = dx.data;
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const off = (a * C + c) * B, k = (gamma.data[c] * invStd.data[c]) / M, sumG = sb[c], sumGH = sg[c];
      for (let b = 0; b < B; b++) {
        const i = off + b;
        dd[i] = k * (M * gd[i] - sumG - hd[i] * sumGH);
      }
    }
  }
  return dx;
}

function checkDout(fn: string, dout: Tensor, cache: BatchnormCache): asserts dout is FloatTensor {
  expectFloat(fn, 'dout', dout);
  expectShape(fn, 'dout', dout, cache.xhat.shape, `the forward input was ${fmt(cache.xhat.shape)}`);
  expectSameDType(fn, { dout, x: cache.xhat });
}

function checkTrainBatch(fn: string, x: Tensor, M: number, mode: 'train' | 'test'): void {
  if (mode === 'train' && M === 0) {
    throw new ShapeError(`${fn}: x has shape ${fmt(x.shape)} but train mode needs at least one value per feature`);
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
  x: Tensor, gamma: Tensor, beta: Tensor, bnParam: BnParam,
): { out: FloatTensor; cache: BatchnormCache } {
  const fn = 'batchnormForward';
  expectFloat(fn, 'x', x);
  expectNdim(fn, 'x', x, 2, '(N, D) features');
  const [N, D] = x.shape;
  const opts = checkBn(fn, x, gamma, beta, bnParam, D, 'features');
  checkTrainBatch(fn, x, N, opts.mode);
  return bnForwardCore(x, gamma as FloatTensor, beta as FloatTensor, bnParam, { A: N, C: D, B: 1 }, opts);
}

/**
 * Backward through the computational graph of the forward, one node at a time:
 *   dβ = Σₙ dout,  dγ = Σₙ dout·xhat,  dxhat = dout·γ,
 *   dinvStd = Σₙ dxhat·(x − μ),  dσ² = −½·dinvStd·(σ² + eps)^(−3/2),
 *   d(x − μ) = dxhat·invStd + 2(x − μ)·dσ²/N,  dμ = −Σₙ d(x − μ),  dx = d(x − μ) + dμ/N.
 * In test mode μ and σ² are constants: dx = dout·γ/√(σ² + eps).   dout: (N, D)
 */
export function batchnormBackward(
  dout: Tensor, cache: BatchnormCache,
): { dx: FloatTensor; dgamma: FloatTensor; dbeta: FloatTensor } {
  checkDout('batchnormBackward', dout, cache);
  const layout = { A: dout.shape[0], C: dout.shape[1], B: 1 };
  const { dgamma, dbeta } = paramGrads(dout, cache.xhat, layout);
  const dx = cache.mode === 'train' ? graphDx(dout, cache, layout) : testModeDx(dout, cache, layout);
  return { dx, dgamma, dbeta };
}

/**
 * The same gradient as batchnormBackward, simplified on paper into one closed form:
 *   dx = γ/(N·√(σ² + eps)) · (N·dout − Σₙ dout − xhat·Σₙ dout·xhat),
 * reusing the sums that are dβ and dγ.   dout: (N, D)
 */
export function batchnormBackwardAlt(
  dout: Tensor, cache: BatchnormCache,
): { dx: FloatTensor; dgamma: FloatTensor; dbeta: FloatTensor } {
  checkDout('batchnormBackwardAlt', dout, cache);
  const layout = { A: dout.shape[0], C: dout.shape[1], B: 1 };
  const sums = paramGrads(dout, cache.xhat, layout);
  const dx = cache.mode === 'train' ? closedFormDx(dout, cache, sums, layout) : testModeDx(dout, cache, layout);
  return { dx, ...sums };
}

/**
 * Batch normalisation of images, per channel: the statistics of channel c are taken over all
 * N·H·W values of x[:, c, :, :]; otherwise exactly batchnormForward (same bnParam semantics,
 * running statistics of shape (C)), like torch's BatchNorm2d.
 * x: (N, C, H, W), gamma: (C), beta: (C)  =>  out: (N, C, H, W)
 */
export function spatialBatchnormForward(
  x: Tensor, gamma: Tensor, beta: Tensor, bnParam: BnParam,
): { out: FloatTensor; cache: SpatialBatchnormCache } {
  const fn = 'spatialBatchnormForward';
  expectFloat(fn, 'x', x);
  expectNdim(fn, 'x', x, 4, '(N, C, H, W) images');
  const [N, C, H, W] = x.shape;
  const opts = checkBn(fn, x, gamma, beta, bnParam, C, 'channels');
  checkTrainBatch(fn, x, N * H * W, opts.mode);
  const { out, cache } = bnForwardCore(x, gamma as FloatTensor, beta as FloatTensor, bnParam, { A: N, C, B: H * W }, opts);
  return { out, cache: { bn: cache } };
}

/**
 * The closed form of batchnormBackwardAlt with M = N·H·W values per channel:
 *   dx = γ/(M·√(σ² + eps)) · (M·dout − Σ dout − xhat·Σ dout·xhat),  sums over n, h, w.
 * dout: (N, C, H, W)  =>  dx: (N, C, H, W), dgamma: (C), dbeta: (C)
 */
export function spatialBatchnormBackward(
  dout: Tensor, cache: SpatialBatchnormCache,
): { dx: FloatTensor; dgamma: FloatTensor; dbeta: FloatTensor } {
  const { bn } = cache;
  checkDout('spatialBatchnormBackward', dout, bn);
  const [N, C, H, W] = dout.shape;
  const layout = { A: N, C, B: H * W };
  const sums = paramGrads(dout, bn.xhat, layout);
  const dx = bn.mode === 'train' ? closedFormDx(dout, bn, sums, layout) : testModeDx(dout, bn, layout);
  return { dx, ...sums };
}
