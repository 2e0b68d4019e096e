// src/kernels/wasm/assembly/elementwise.ts: the elementwise and row kernels
// (src/kernels/reference/elementwise.ts): a row vector added to every row, row sums, relu and its
// backward, and the swap of two outer axes. Each rounds as the reference does, so bit for bit.
import { addFloats, ptrArg, intArg } from './common';

// reference/elementwise.ts: addRowVector. In place: x[m, n] += v[n] for x (M, N), v (N); this
// call does rows [m0, m1). The scalar tail is addFloats'.
export function addRowVector(x: usize, v: usize, N: i32, m0: i32, m1: i32): void {
  for (let m = m0; m < m1; m++) addFloats(x + (<usize>(m * N) << 2), v, N);
}

// reference/elementwise.ts: addRowVector, over the rows [lo, hi). Arguments (jobs.ts:
// addRowVector): x, v | N.
export function addRowVectorJob(
  ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize,
): void {
  addRowVector(ptrArg(ints, 0), ptrArg(ints, 1), intArg(ints, 2), lo, hi);
}

// reference/elementwise.ts: sumRows. out[n] = Σ_m x[m, n] for x (M, N), over the columns
// [n0, n1). Overwrites out there. Summed in row order, like the reference, so the rounding is
// the same. The scalar tail is addFloats'.
export function sumRows(out: usize, x: usize, M: i32, N: i32, n0: i32, n1: i32): void {
  const o = out + (<usize>n0 << 2);
  memory.fill(o, 0, <usize>(n1 - n0) << 2);
  for (let m = 0; m < M; m++) addFloats(o, x + (<usize>(m * N + n0) << 2), n1 - n0);
}

// reference/elementwise.ts: sumRows, over the columns [lo, hi). Arguments (jobs.ts: sumRows):
// out, x | M, N.
export function sumRowsJob(ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize): void {
  sumRows(ptrArg(ints, 0), ptrArg(ints, 1), intArg(ints, 2), intArg(ints, 3), lo, hi);
}

// reference/elementwise.ts: reluForward. out = max(x, 0) over elements [lo, hi) (a thread's
// share; the whole call is [0, len)); NaN stays NaN (f32x4.max propagates NaN, and max(-0, +0)
// is +0 as in the reference).
export function reluForward(out: usize, x: usize, lo: i32, hi: i32): void {
  const zero = f32x4.splat(0);
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.max(v128.load(x + o), zero));
  }
  for (; i < hi; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(out + o, v > 0 ? v : v == v ? 0 : v);
  }
}

// reference/elementwise.ts: reluForward, over the elements [lo, hi). Arguments (jobs.ts:
// reluForward): out, x.
export function reluForwardJob(
  ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize,
): void {
  reluForward(ptrArg(ints, 0), ptrArg(ints, 1), lo, hi);
}

// reference/elementwise.ts: reluBackward. dx = dout where x > 0, else 0, over elements [lo, hi).
export function reluBackward(dx: usize, dout: usize, x: usize, lo: i32, hi: i32): void {
  const zero = f32x4.splat(0);
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, v128.and(v128.load(dout + o), f32x4.gt(v128.load(x + o), zero)));
  }
  for (; i < hi; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(x + o) > 0 ? load<f32>(dout + o) : 0);
  }
}

// reference/elementwise.ts: reluBackward, over the elements [lo, hi). Arguments (jobs.ts:
// reluBackward): dx, dout, x.
export function reluBackwardJob(
  ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize,
): void {
  reluBackward(ptrArg(ints, 0), ptrArg(ints, 1), ptrArg(ints, 2), lo, hi);
}

// reference/elementwise.ts: swapOuterAxes. out (B, A, P) = x (A, B, P), rows of P floats copied
// whole (memory.copy has no tail to write); this call does a in [a0, a1).
export function swapOuterAxes(
  out: usize, x: usize, A: i32, B: i32, P: i32, a0: i32, a1: i32,
): void {
  const row = <usize>P << 2;
  for (let a = a0; a < a1; a++) {
    for (let b = 0; b < B; b++) {
      memory.copy(out + <usize>(b * A + a) * row, x + <usize>(a * B + b) * row, row);
    }
  }
}

// reference/elementwise.ts: swapOuterAxes, over a in [lo, hi). Arguments (jobs.ts:
// swapOuterAxes): out, x | A, B, P.
export function swapOuterAxesJob(
  ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize,
): void {
  swapOuterAxes(
    ptrArg(ints, 0), ptrArg(ints, 1), intArg(ints, 2), intArg(ints, 3), intArg(ints, 4), lo, hi,
  );
}

// reference/elementwise.ts: zero. buf[k] = 0 for the elements [lo, hi). Arguments (jobs.ts:
// zero): buf.
export function zeroJob(ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize): void {
  memory.fill(ptrArg(ints, 0) + (<usize>lo << 2), 0, <usize>(hi - lo) << 2);
}
