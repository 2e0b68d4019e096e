// src/kernels/reference/pool.ts: 2x2 max pooling at stride 2 and its backward, which routes
// each gradient to the cell the forward chose.
import type { Buf } from '../types.js';
import { reluBackward, reluForward } from './elementwise.js';

/**
 * Offset (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right) of the first maximum, in
 * row-major order, of the 2x2 window whose top-left cell is x[r] (rows W apart). A tournament:
 * the first maximum of the top row and of the bottom row, then the bottom one only if strictly
 * larger, so that a tie keeps the earlier cell. A window with a NaN gives its first NaN (which
 * then propagates, as in torch, so that a diverging net shows).
 */
function firstMax2x2(x: Buf, r: number, W: number): number {
  const v0 = x[r],
    v1 = x[r + 1],
    v2 = x[r + W],
    v3 = x[r + W + 1];
  if (v0 !== v0) return 0;
  if (v1 !== v1) return 1;
  if (v2 !== v2) return 2;
  if (v3 !== v3) return 3;
  const top = v1 > v0 ? 1 : 0,
    bottom = v3 > v2 ? 3 : 2;
  return x[r + (bottom >> 1) * W + (bottom & 1)] > x[r + top] ? bottom : top;
}

/**
 * Calls visit(o, cell) for every 2x2 window at stride 2 of `planes` planes (H, W), in output
 * order: o is the window's index in (planes, ⌊H/2⌋, ⌊W/2⌋), cell the index in x of its first
 * maximum (firstMax2x2); an odd last row or column is not read.
 */
function forEachWindowMax(
  x: Buf,
  planes: number,
  H: number,
  W: number,
  visit: (o: number, cell: number) => void,
): void {
  const Hout = H >> 1,
    Wout = W >> 1;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    for (let ho = 0; ho < Hout; ho++) {
      const row = (p * H + 2 * ho) * W;
      for (let wo = 0; wo < Wout; wo++, o++) {
        const r = row + 2 * wo,
          best = firstMax2x2(x, r, W);
        visit(o, r + (best >> 1) * W + (best & 1));
      }
    }
  }
}

/**
 * Max pooling over 2x2 windows at stride 2 of `planes` planes (H, W): out[p, ho, wo] = the first
 * maximum (firstMax2x2) of x[p, 2ho .. 2ho + 1, 2wo .. 2wo + 1].
 * x: (planes, H, W) => out: (planes, ⌊H/2⌋, ⌊W/2⌋). Overwrites out.
 */
export function maxPool2x2Forward(out: Buf, x: Buf, planes: number, H: number, W: number): void {
  forEachWindowMax(x, planes, H, W, (o, cell) => {
    out[o] = x[cell];
  });
}

/**
 * The backward of maxPool2x2Forward: dout[p, ho, wo] goes to the cell of x that was the window's
 * first maximum (found again from x, as the forward found it); every other cell gets 0.
 * dout: (planes, ⌊H/2⌋, ⌊W/2⌋), x: (planes, H, W) => dx: (planes, H, W). Overwrites dx.
 */
export function maxPool2x2Backward(
  dx: Buf,
  dout: Buf,
  x: Buf,
  planes: number,
  H: number,
  W: number,
): void {
  dx.fill(0, 0, planes * H * W);
  forEachWindowMax(x, planes, H, W, (o, cell) => {
    dx[cell] = dout[o];
  });
}

/** A new array of n elements of x's type. */
const like = (x: Buf, n: number): Buf =>
  x instanceof Float32Array ? new Float32Array(n) : new Float64Array(n);

/** relu(x) = max(x, 0) of x's first n elements, NaN kept (elementwise.ts: reluForward), in a new array. */
function relu(x: Buf, n: number): Buf {
  const r = like(x, n);
  reluForward(r, x.subarray(0, n));
  return r;
}

/**
 * relu then 2x2 max pooling, the pair a CNN has after its first convolution: out = maxPool2x2(
 * relu(x)), by definition (the two kernels above, through a temporary relu(x)).
 * x: (planes, H, W) => out: (planes, ⌊H/2⌋, ⌊W/2⌋). Overwrites out.
 */
export function reluMaxPool2x2Forward(
  out: Buf,
  x: Buf,
  planes: number,
  H: number,
  W: number,
): void {
  maxPool2x2Forward(out, relu(x, planes * H * W), planes, H, W);
}

/**
 * The backward of reluMaxPool2x2Forward, by definition: the pool's backward on relu(x), then
 * relu's (dx = that where x > 0, else 0). dout: (planes, ⌊H/2⌋, ⌊W/2⌋), x: (planes, H, W), the
 * relu's input => dx: (planes, H, W). Overwrites dx.
 */
export function reluMaxPool2x2Backward(
  dx: Buf,
  dout: Buf,
  x: Buf,
  planes: number,
  H: number,
  W: number,
): void {
  const n = planes * H * W,
    dr = like(x, n); // the gradient at relu(x)
  maxPool2x2Backward(dr, dout, relu(x, n), planes, H, W);
  reluBackward(dx.subarray(0, n), dr, x.subarray(0, n));
}
