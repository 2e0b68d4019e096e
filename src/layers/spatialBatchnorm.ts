// src/layers/spatialBatchnorm.ts: batch normalisation per channel of (N, C, H, W) images, read as
// (A, C, B) = (N, C, H·W) with statistics per C over A·B (see batchnorm.ts for (N, D) features and
// batchnormCommon.ts for the shared helpers). Its cache keeps x rather than two more image-sized
// intermediates.
import { kernelsFor } from '../kernels/index.js';
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
