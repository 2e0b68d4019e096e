// src/kernels/wasm/assembly/optim.ts: the optimiser steps (src/kernels/reference/optim.ts), in
// place on float32 parameters but in float64 arithmetic like the reference (two f64x2 per f32x4),
// each result rounded once: bit for bit the reference's.
import { demote2, floatArg, promoteHigh, ptrArg } from './common';

// reference/optim.ts: sgdStep. In place: w −= lr·(dw + wd·w), in float64, rounded once. This
// call does elements [lo, hi).
export function sgdStep(w: usize, dw: usize, lo: i32, hi: i32, lr: f64, wd: f64): void {
  const lr2 = f64x2.splat(lr), wd2 = f64x2.splat(wd);
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const o = <usize>i << 2, x = v128.load(w + o), g = v128.load(dw + o);
    const xl = f64x2.promote_low_f32x4(x), xh = promoteHigh(x);
    const rlo = f64x2.sub(
      xl, f64x2.mul(lr2, f64x2.add(f64x2.promote_low_f32x4(g), f64x2.mul(wd2, xl))),
    );
    const rhi = f64x2.sub(xh, f64x2.mul(lr2, f64x2.add(promoteHigh(g), f64x2.mul(wd2, xh))));
    v128.store(w + o, demote2(rlo, rhi));
  }
  for (; i < hi; i++) {
    const o = <usize>i << 2, x = <f64>load<f32>(w + o);
    store<f32>(w + o, <f32>(x - lr * (<f64>load<f32>(dw + o) + wd * x)));
  }
}

// reference/optim.ts: sgdStep, over the elements [lo, hi). Arguments (jobs.ts: sgdStep):
// w, dw | floats lr, weightDecay.
export function sgdStepJob(ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize): void {
  sgdStep(ptrArg(ints, 0), ptrArg(ints, 1), lo, hi, floatArg(floats, 0), floatArg(floats, 1));
}

// Adam's per-element update on two f64 lanes (see adamStep); writes m and v (rounded on store by
// the caller) through the globals below and returns the new w.
let adamM: v128 = f64x2.splat(0), adamV: v128 = f64x2.splat(0);
// @ts-ignore: decorator
@inline function adamLanes(
  x: v128, g0: v128, m: v128, v: v128, b1: v128, b2: v128, c1: v128, c2: v128, step: v128,
  ibc: v128, eps: v128, l2: v128,
): v128 {
  const g = f64x2.add(g0, f64x2.mul(l2, x));
  const mi = f64x2.add(f64x2.mul(b1, m), f64x2.mul(c1, g));
  const vi = f64x2.add(f64x2.mul(b2, v), f64x2.mul(f64x2.mul(c2, g), g));
  adamM = mi;
  adamV = vi;
  const denominator = f64x2.add(f64x2.mul(f64x2.sqrt(vi), ibc), eps);
  return f64x2.sub(x, f64x2.div(f64x2.mul(step, mi), denominator));
}

// reference/optim.ts: adamStep. In place on w, m, v (n floats each), in float64 as the
// reference. This call does elements [lo, hi).
export function adamStep(
  w: usize, dw: usize, m: usize, v: usize, lo: i32, hi: i32,
  beta1: f64, beta2: f64, stepSize: f64, invBc2Sqrt: f64, eps: f64, l2: f64,
): void {
  const b1 = f64x2.splat(beta1), b2 = f64x2.splat(beta2);
  const c1 = f64x2.splat(1 - beta1), c2 = f64x2.splat(1 - beta2);
  const step = f64x2.splat(stepSize), ibc = f64x2.splat(invBc2Sqrt);
  const e = f64x2.splat(eps), k2 = f64x2.splat(l2);
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const o = <usize>i << 2, x = v128.load(w + o), g = v128.load(dw + o);
    const mm = v128.load(m + o), vv = v128.load(v + o);
    const rlo = adamLanes(
      f64x2.promote_low_f32x4(x), f64x2.promote_low_f32x4(g), f64x2.promote_low_f32x4(mm),
      f64x2.promote_low_f32x4(vv), b1, b2, c1, c2, step, ibc, e, k2,
    );
    const mLo = adamM, vLo = adamV;
    const rhi = adamLanes(
      promoteHigh(x), promoteHigh(g), promoteHigh(mm), promoteHigh(vv), b1, b2, c1, c2, step,
      ibc, e, k2,
    );
    v128.store(m + o, demote2(mLo, adamM));
    v128.store(v + o, demote2(vLo, adamV));
    v128.store(w + o, demote2(rlo, rhi));
  }
  for (; i < hi; i++) {
    const o = <usize>i << 2, x = <f64>load<f32>(w + o);
    const g = <f64>load<f32>(dw + o) + l2 * x;
    const mi = beta1 * <f64>load<f32>(m + o) + (1 - beta1) * g;
    const vi = beta2 * <f64>load<f32>(v + o) + (1 - beta2) * g * g;
    store<f32>(m + o, <f32>mi);
    store<f32>(v + o, <f32>vi);
    store<f32>(w + o, <f32>(x - (stepSize * mi) / (Math.sqrt(vi) * invBc2Sqrt + eps)));
  }
}

// reference/optim.ts: adamStep, over the elements [lo, hi). Arguments (jobs.ts: adamStep):
// w, dw, m, v | floats beta1, beta2, stepSize, invBc2Sqrt, eps, l2.
export function adamStepJob(ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize): void {
  adamStep(
    ptrArg(ints, 0), ptrArg(ints, 1), ptrArg(ints, 2), ptrArg(ints, 3), lo, hi,
    floatArg(floats, 0), floatArg(floats, 1), floatArg(floats, 2), floatArg(floats, 3),
    floatArg(floats, 4), floatArg(floats, 5),
  );
}
