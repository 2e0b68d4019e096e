// src/layers/groupnorm.ts: group normalisation (Wu & He 2018, https://arxiv.org/abs/1803.08494),
// torch.nn.GroupNorm: the C channels of each sample are split into `groups` groups of C/groups
// consecutive channels, each normalised by its own mean and biased variance over (C/groups, H, W),
// then scaled and shifted per channel. groups = 1 normalises each sample over (C, H, W) (layer
// norm of images); groups = C is instance norm. No batch statistics: train and test are the same.
// The sweeps run on batch norm's channel kernels, with x read as (1, N·groups, C/groups·H·W) for
// the statistics and as (1, N·C, H·W) for the per-channel scale and shift.
import { kernelsFor } from '../kernels/index.js';
import {
  expectFloat,
  expectNdim,
  expectNumber,
  expectOptions,
  expectSameDType,
  expectShape,
  fmt,
  ShapeError,
  Tensor,
  ValueError,
  type FloatTensor,
} from '../tensor/index.js';

export interface GnParam {
  /** Number of channel groups; must divide C. */
  readonly groups: number;
  /** Added to the variance before the square root; default 1e-5. */
  readonly eps?: number;
}

export interface SpatialGroupnormCache {
  readonly x: FloatTensor; // (N, C, H, W); xhat is recomputed from it in the backward
  readonly groups: number;
  readonly mean: Float64Array; // (N·groups): μ of each (sample, group)
  readonly invStd: Float64Array; // (N·groups): 1/√(σ² + eps)
  readonly gamma: FloatTensor; // (C)
}

/** Per (sample, channel) copies of the group statistics: the layout of (1, N·C, H·W). */
function perChannel(stat: Float64Array, N: number, C: number, groups: number): Float64Array {
  const out = new Float64Array(N * C),
    Cg = C / groups;
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) out[n * C + c] = stat[n * groups + Math.floor(c / Cg)];
  return out;
}

/**
 * Per sample n and group g (channels g·C/G .. (g+1)·C/G − 1): μ, σ² = mean and biased variance
 * over those channels and all of H, W; out[n, c] = γ[c]·(x[n, c] − μ)/√(σ² + eps) + β[c].
 * x: (N, C, H, W), gamma: (C), beta: (C) => out: (N, C, H, W)
 */
export function spatialGroupnormForward(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  gnParam: GnParam,
): { out: FloatTensor; cache: SpatialGroupnormCache } {
  const fn = 'spatialGroupnormForward';
  expectFloat(fn, 'x', x);
  expectFloat(fn, 'gamma', gamma);
  expectFloat(fn, 'beta', beta);
  expectNdim(fn, 'x', x, 4, '(N, C, H, W)');
  const [N, C, H, W] = x.shape;
  expectShape(fn, 'gamma', gamma, [C], `x has ${C} channels`);
  expectShape(fn, 'beta', beta, [C], `x has ${C} channels`);
  expectSameDType(fn, { x, gamma, beta });
  if (gnParam === null || typeof gnParam !== 'object')
    throw new TypeError(`${fn}: gnParam must be an object with groups`);
  expectOptions(fn, gnParam, ['groups', 'eps']);
  const { groups } = gnParam,
    eps = gnParam.eps ?? 1e-5;
  expectNumber(fn, 'gnParam.groups', groups, { integer: true, min: 1 });
  expectNumber(fn, 'gnParam.eps', eps, { min: 0, minExclusive: true });
  if (C % groups !== 0)
    throw new ValueError(`${fn}: gnParam.groups = ${groups} does not divide the ${C} channels`);
  if (H * W === 0)
    throw new ShapeError(`${fn}: x has shape ${fmt(x.shape)} but needs at least one pixel`);

  // Statistics: x as (1, N·G, D), D = C/G·H·W values per group, shifted by each group's first
  // value (see channelStats in batchnorm.ts: the cancellation then stays small)
  const NG = N * groups,
    D = (C / groups) * H * W,
    k = kernelsFor(x.dtype);
  const sums = new Float64Array(2 * NG); // (2·N·G): Σ d, Σ d² per group
  k.channelMoments(sums, x.data, 1, NG, D);
  const mean = new Float64Array(NG),
    invStd = new Float64Array(NG); // (N·G)
  for (let q = 0; q < NG; q++) {
    const meanD = sums[q] / D;
    mean[q] = x.data[q * D] + meanD;
    const variance = Math.max(0, sums[NG + q] / D - meanD * meanD); // biased, as torch
    invStd[q] = 1 / Math.sqrt(variance + eps);
  }
  // out = (x − μ)·(γ·invStd) + β, per (sample, channel) of (1, N·C, H·W)
  const meanC = perChannel(mean, N, C, groups),
    scale = perChannel(invStd, N, C, groups),
    shift = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      scale[n * C + c] *= gamma.data[c];
      shift[n * C + c] = beta.data[c];
    }
  }
  const out = Tensor.empty(x.shape, x.dtype); // written in full by the kernel
  k.channelNormalize(out.data, x.data, meanC, scale, shift, 1, N * C, H * W);
  return { out, cache: { x, groups, mean, invStd, gamma } };
}

/**
 * With xhat = (x − μ)·invStd recomputed and dxhat = dout·γ, per sample and group (D values):
 *   dx = invStd/D · (D·dxhat − Σ dxhat − xhat·Σ dxhat·xhat)   (the sums over the group),
 *   dγ[c] = Σ_{n,h,w} dout·xhat,  dβ[c] = Σ_{n,h,w} dout.   dout: (N, C, H, W)
 */
export function spatialGroupnormBackward(
  dout: Tensor,
  cache: SpatialGroupnormCache,
): { dx: FloatTensor; dgamma: FloatTensor; dbeta: FloatTensor } {
  const fn = 'spatialGroupnormBackward';
  const { x, groups, mean, invStd, gamma } = cache;
  expectFloat(fn, 'dout', dout);
  expectShape(fn, 'dout', dout, x.shape, `the forward input was ${fmt(x.shape)}`);
  expectSameDType(fn, { dout, x });
  const [N, C, H, W] = x.shape,
    HW = H * W,
    Cg = C / groups,
    D = Cg * HW,
    k = kernelsFor(dout.dtype);
  // Sweep 1, per (sample, channel): Σ dout and Σ dout·(x − μ)
  const meanC = perChannel(mean, N, C, groups);
  const sums = new Float64Array(2 * N * C);
  k.channelDots(sums, dout.data, x.data, meanC, 1, N * C, HW);
  const dgamma = Tensor.zeros([C], dout.dtype),
    dbeta = Tensor.zeros([C], dout.dtype);
  // per group: Σ dxhat = Σ_c γ[c]·Σ dout,  Σ dxhat·xhat = invStd·Σ_c γ[c]·Σ dout·(x − μ)
  const sumDxhat = new Float64Array(N * groups),
    sumDxhatXhat = new Float64Array(N * groups);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const q = n * groups + Math.floor(c / Cg),
        sd = sums[n * C + c],
        sdx = sums[N * C + n * C + c];
      dbeta.data[c] += sd;
      dgamma.data[c] += sdx * invStd[q];
      sumDxhat[q] += gamma.data[c] * sd;
      sumDxhatXhat[q] += gamma.data[c] * sdx * invStd[q];
    }
  }
  // Sweep 2: dx = (invStd·γ)·dout − (invStd²/D·Σ dxhat·xhat)·(x − μ) − invStd/D·Σ dxhat
  const coef = new Float64Array(3 * N * C); // channelCombine's coefficients over (1, N·C, H·W)
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const q = n * groups + Math.floor(c / Cg),
        is = invStd[q],
        nc = n * C + c;
      coef[nc] = is * gamma.data[c];
      coef[N * C + nc] = (-is * is * sumDxhatXhat[q]) / D;
      coef[2 * N * C + nc] = (-is * sumDxhat[q]) / D;
    }
  }
  const dx = Tensor.empty(x.shape, dout.dtype); // written in full by the kernel
  k.channelCombine(dx.data, dout.data, x.data, meanC, coef, 1, N * C, HW);
  return { dx, dgamma, dbeta };
}
