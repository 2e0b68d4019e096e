// src/kernels/reference/elementwise.ts: the elementwise and row kernels: a row vector added to
// every row, row sums, relu and its backward, and the swap of two outer axes.
import type { Buf } from '../types.js';

/** In place: x[m, n] += v[n]. */
export function addRowVector(x: Buf, v: Buf, M: number, N: number): void {
  for (let m = 0; m < M; m++) {
    const row = m * N;
    for (let n = 0; n < N; n++) x[row + n] += v[n];
  }
}

/** out[n] = Σ_m x[m, n]. */
export function sumRows(out: Buf, x: Buf, M: number, N: number): void {
  out.fill(0, 0, N);
  for (let m = 0; m < M; m++) {
    const row = m * N;
    for (let n = 0; n < N; n++) out[n] += x[row + n];
  }
}

/** out = max(x, 0). NaN stays NaN so that a diverging net is caught, not hidden. */
export function reluForward(out: Buf, x: Buf): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    out[i] = v > 0 ? v : v === v ? 0 : v;
  }
}

/** dx = dout where x > 0, else 0 (the subgradient at 0 is taken as 0, as torch does). */
export function reluBackward(dx: Buf, dout: Buf, x: Buf): void {
  for (let i = 0; i < x.length; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
}

/** out (B, A, P) = x (A, B, P): the two outer axes swapped, rows of P copied whole. Overwrites out. */
export function swapOuterAxes(out: Buf, x: Buf, A: number, B: number, P: number): void {
  for (let a = 0; a < A; a++) {
    for (let b = 0; b < B; b++)
      out.set(x.subarray((a * B + b) * P, (a * B + b + 1) * P), (b * A + a) * P);
  }
}

/** buf = 0 (Kernels.zero: a fill that a fast backend splits across threads). Overwrites buf. */
export function zero(buf: Buf): void {
  buf.fill(0);
}
