// src/layers/batchnorm.ts: batch normalisation (Ioffe & Szegedy 2015, https://arxiv.org/abs/1502.03167)
// of (N, D) features; per channel of (N, C, H, W) images in spatialBatchnorm.ts. Both read x as
// (A, C, B): (N, D, 1) here, (N, C, H·W) there, with statistics per C over A·B, and share the
// helpers of batchnormCommon.ts.
import { expectFloat, expectNdim, Tensor, type FloatTensor } from '../tensor/index.js';
import {
  checkBn,
  checkDout,
  checkTrainBatch,
  normalize,
  normStats,
  testModeDx,
  type BnParam,
  type Layout,
} from './batchnormCommon.js';

export type { BnParam } from './batchnormCommon.js';

export interface BatchnormCache {
  readonly mode: 'train' | 'test';
  readonly xmu: FloatTensor; // shape of x: x − μ (batch μ in train mode, running μ in test mode)
  readonly xhat: FloatTensor; // shape of x: (x − μ) / √(σ² + eps)
  readonly invStd: FloatTensor; // (C): 1 / √(σ² + eps)
  readonly gamma: FloatTensor; // (C)
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
