// src/kernels/reference/optim.ts: the optimiser steps, in place, in float64 arithmetic.
import type { AdamHypers, Buf } from '../types.js';

/** torch's SGD step, in place: w[i] −= lr·(dw[i] + weightDecay·w[i]), in float64, rounded once. */
export function sgdStep(w: Buf, dw: Buf, lr: number, weightDecay: number): void {
  for (let i = 0; i < w.length; i++) w[i] -= lr * (dw[i] + weightDecay * w[i]);
}

/**
 * torch's Adam step, in place, in float64 (m and v rounded when stored; the update uses the
 * unrounded values): g = dw + l2·w;  m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g·g;
 * w −= stepSize·m / (√v·invBc2Sqrt + eps), where the caller folds the bias corrections into
 * stepSize = lr/(1 − β1^t) and invBc2Sqrt = 1/√(1 − β2^t).
 */
export function adamStep(w: Buf, dw: Buf, m: Buf, v: Buf, h: AdamHypers): void {
  const { beta1: b1, beta2: b2, stepSize, invBc2Sqrt, eps, l2 } = h;
  const c1 = 1 - b1,
    c2 = 1 - b2;
  for (let i = 0; i < w.length; i++) {
    const g = dw[i] + l2 * w[i];
    const mi = b1 * m[i] + c1 * g,
      vi = b2 * v[i] + c2 * g * g;
    m[i] = mi;
    v[i] = vi;
    w[i] -= (stepSize * mi) / (Math.sqrt(vi) * invBc2Sqrt + eps);
  }
}
