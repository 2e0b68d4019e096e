// src/layers/layernorm.ts: layer normalisation (Ba, Kiros & Hinton 2016,
// https://arxiv.org/abs/1607.06450): each row of (N, ..., D) (a sample, or one token of a
// sequence (N, S, D)) is normalised over its last axis by its own mean and biased variance, so
// train and test mode are the same and there are no running statistics.
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

export interface LnParam {
  /** Added to the variance before the square root; default 1e-5. */
  eps?: number;
  /** Accepted so that one param object can serve batch norm and layer norm; both modes compute the same. */
  mode?: 'train' | 'test';
}

export interface LayernormCache {
  readonly xhat: FloatTensor; // (N, ..., D): (x − μ)/√(σ² + eps), per row of the last axis
  readonly invStd: FloatTensor; // (N, ...): 1/√(σ² + eps), one per row
  readonly gamma: FloatTensor; // (D)
}

/**
 * Per row r of the last axis (x read as (R, D), R = N·...): μᵣ, σᵣ² = mean and biased variance
 * of x[r, :]; out[r, :] = γ ⊙ (x[r, :] − μᵣ)/√(σᵣ² + eps) + β (torch.nn.LayerNorm(D)).
 * x: (N, ..., D), gamma: (D), beta: (D)  =>  out: shape of x
 */
export function layernormForward(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  lnParam: LnParam = {},
): { out: FloatTensor; cache: LayernormCache } {
  const fn = 'layernormForward';
  expectFloat(fn, 'x', x);
  expectFloat(fn, 'gamma', gamma);
  expectFloat(fn, 'beta', beta);
  if (x.shape.length < 2)
    throw new ShapeError(
      `${fn}: x has shape ${fmt(x.shape)} but must be (N, ..., D), at least 2-D`,
    );
  const D = x.shape[x.shape.length - 1],
    N = D > 0 ? x.size / D : 0; // rows of the last axis
  expectShape(fn, 'gamma', gamma, [D], `x has ${D} features`);
  expectShape(fn, 'beta', beta, [D], `x has ${D} features`);
  expectSameDType(fn, { x, gamma, beta });
  expectOptions(fn, lnParam, ['eps', 'mode']);
  if (lnParam.mode !== undefined) expectOneOf(fn, 'lnParam.mode', lnParam.mode, ['train', 'test']);
  const eps = lnParam.eps ?? 1e-5;
  expectNumber(fn, 'lnParam.eps', eps, { min: 0, minExclusive: true });
  if (D === 0)
    throw new ShapeError(
      `${fn}: x has shape ${fmt(x.shape)} but needs at least one feature per row`,
    );

  const xhat = Tensor.zeros(x.shape, x.dtype),
    out = Tensor.zeros(x.shape, x.dtype),
    invStd = Tensor.zeros(x.shape.slice(0, -1), x.dtype);
  const xd = x.data,
    hd = xhat.data,
    od = out.data,
    gd = gamma.data,
    bd = beta.data;
  for (let n = 0; n < N; n++) {
    const row = n * D;
    let mean = 0;
    for (let j = 0; j < D; j++) mean += xd[row + j];
    mean /= D;
    let variance = 0;
    for (let j = 0; j < D; j++) variance += (xd[row + j] - mean) * (xd[row + j] - mean);
    variance /= D; // biased, as torch's layer_norm
    const is = 1 / Math.sqrt(variance + eps);
    invStd.data[n] = is;
    for (let j = 0; j < D; j++) {
      hd[row + j] = (xd[row + j] - mean) * is;
      od[row + j] = gd[j] * hd[row + j] + bd[j];
    }
  }
  return { out, cache: { xhat, invStd, gamma: gamma as FloatTensor } };
}

/**
 * batchnormBackwardAlt's closed form applied along each row r of the last axis (the roles of N
 * and D swap):
 *   dxhat = dout ⊙ γ,  dx[r, :] = invStdᵣ/D · (D·dxhat − Σⱼ dxhat − xhat[r, :]·Σⱼ dxhat·xhat[r, :]),
 *   dγ = Σᵣ dout ⊙ xhat,  dβ = Σᵣ dout.   dout: shape of x
 */
export function layernormBackward(
  dout: Tensor,
  cache: LayernormCache,
): { dx: FloatTensor; dgamma: FloatTensor; dbeta: FloatTensor } {
  const fn = 'layernormBackward';
  const { xhat, invStd, gamma } = cache;
  expectFloat(fn, 'dout', dout);
  expectShape(fn, 'dout', dout, xhat.shape, `the forward input was ${fmt(xhat.shape)}`);
  expectSameDType(fn, { dout, x: xhat });
  const D = gamma.shape[0],
    N = invStd.size; // rows of the last axis
  const dx = Tensor.zeros(xhat.shape, dout.dtype),
    dgamma = Tensor.zeros([D], dout.dtype),
    dbeta = Tensor.zeros([D], dout.dtype);
  const gd = dout.data,
    hd = xhat.data,
    dd = dx.data,
    dg = dgamma.data,
    db = dbeta.data,
    g = gamma.data;
  for (let n = 0; n < N; n++) {
    const row = n * D;
    let sum = 0,
      sumH = 0;
    for (let j = 0; j < D; j++) {
      const dxhat = gd[row + j] * g[j];
      sum += dxhat;
      sumH += dxhat * hd[row + j];
      dg[j] += gd[row + j] * hd[row + j];
      db[j] += gd[row + j];
    }
    const k = invStd.data[n] / D;
    for (let j = 0; j < D; j++)
      dd[row + j] = k * (D * gd[row + j] * g[j] - sum - hd[row + j] * sumH);
  }
  return { dx, dgamma, dbeta };
}
