// src/kernels/reference/channels.ts: batch norm's per-channel sweeps over data read as
// (A, C, B) (A images, C channels of B values), in float64.
import type { Buf } from '../types.js';

/**
 * Per-channel moments of x read as (A, C, B) (A images, C channels of B values): for d = x[a, c, b]
 * − x[0, c, 0] (a value of the channel itself, so that the variance does not cancel catastrophically
 * when |mean| ≫ std), sums[c] = Σ d and sums[C + c] = Σ d² over a and b, in float64. Overwrites sums (2C).
 */
export function channelMoments(sums: Float64Array, x: Buf, A: number, C: number, B: number): void {
  sums.fill(0, 0, 2 * C);
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const off = (a * C + c) * B,
        K = x[c * B];
      let s = 0,
        s2 = 0;
      for (let b = 0; b < B; b++) {
        const d = x[off + b] - K;
        s += d;
        s2 += d * d;
      }
      sums[c] += s;
      sums[C + c] += s2;
    }
  }
}

/**
 * Per-channel sums over u, v read as (A, C, B): sums[c] = Σ u and sums[C + c] = Σ u·(v − mean[c])
 * over a and b, in float64 (batch norm's Σ dout and Σ dout·(x − μ)). Overwrites sums (2C).
 */
export function channelDots(
  sums: Float64Array,
  u: Buf,
  v: Buf,
  mean: Float64Array,
  A: number,
  C: number,
  B: number,
): void {
  sums.fill(0, 0, 2 * C);
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const off = (a * C + c) * B,
        mu = mean[c];
      let s = 0,
        t = 0;
      for (let b = 0; b < B; b++) {
        s += u[off + b];
        t += u[off + b] * (v[off + b] - mu);
      }
      sums[c] += s;
      sums[C + c] += t;
    }
  }
}

/**
 * out[a, c, b] = (x[a, c, b] − mean[c])·scale[c] + shift[c], evaluated in float64 and rounded once
 * (batch norm's normalisation). x, out: (A, C, B); mean, scale, shift: (C). Overwrites out.
 */
export function channelNormalize(
  out: Buf,
  x: Buf,
  mean: Float64Array,
  scale: Float64Array,
  shift: Float64Array,
  A: number,
  C: number,
  B: number,
): void {
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const off = (a * C + c) * B,
        mu = mean[c],
        k = scale[c],
        sh = shift[c];
      for (let b = 0; b < B; b++) out[off + b] = (x[off + b] - mu) * k + sh;
    }
  }
}

/**
 * out[a, c, b] = coef[c]·u[a, c, b] + coef[C + c]·(v[a, c, b] − mean[c]) + coef[2C + c], evaluated in
 * float64 in that order and rounded once (batch norm's closed-form dx). u, v, out: (A, C, B); mean (C),
 * coef (3C). Overwrites out.
 */
export function channelCombine(
  out: Buf,
  u: Buf,
  v: Buf,
  mean: Float64Array,
  coef: Float64Array,
  A: number,
  C: number,
  B: number,
): void {
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const off = (a * C + c) * B,
        mu = mean[c],
        ku = coef[c],
        kv = coef[C + c],
        k0 = coef[2 * C + c];
      for (let b = 0; b < B; b++) out[off + b] = ku * u[off + b] + kv * (v[off + b] - mu) + k0;
    }
  }
}
