// src/kernels/wasm/assembly/pool.ts: 2x2 max pooling at stride 2 and its backward
// (src/kernels/reference/pool.ts), four windows at a time, bit for bit the reference's choice of
// each window's first maximum (ties, ±0 and NaN included); and the same with relu fused in front
// (reluMaxPool2x2Forward/Backward). The pool of relu(x) needs no relu of the cells: a window
// whose maximum is positive (or NaN) has the same first maximum in x as in relu(x), and one whose
// maximum is <= 0 pools to relu's 0 and passes no gradient whichever cell is chosen; so the
// fused forward is relu of the pooled value, the backward keeps the chosen cells where x > 0.
import { intArg, ptrArg } from './common';

// reference/pool.ts: firstMax2x2, for 4 windows at once. v0..v3 hold cells 0 (top-left),
// 1 (top-right), 2 (bottom-left), 3 (bottom-right) of 4 windows; returns the lane masks m0..m3 of
// the cell that is each window's first maximum (the first NaN if it has one), by a tournament in
// which a tie keeps the earlier cell. Results through the globals below (AssemblyScript returns
// one value).
let m0: v128 = i32x4.splat(0), m1: v128 = i32x4.splat(0);
let m2: v128 = i32x4.splat(0), m3: v128 = i32x4.splat(0);
// @ts-ignore: decorator
@inline function firstMaxMasks(v0: v128, v1: v128, v2: v128, v3: v128): void {
  const top = f32x4.gt(v1, v0), bottom = f32x4.gt(v3, v2);
  const lower = f32x4.gt(v128.bitselect(v3, v2, bottom), v128.bitselect(v1, v0, top));
  // no NaN: cell 0 unless lower or top, ...
  let k0 = v128.andnot(v128.not(top), lower), k1 = v128.andnot(top, lower);
  let k2 = v128.andnot(lower, bottom), k3 = v128.and(lower, bottom);
  const n0 = f32x4.ne(v0, v0), n1 = f32x4.ne(v1, v1), n2 = f32x4.ne(v2, v2), n3 = f32x4.ne(v3, v3);
  const anyNaN = v128.or(v128.or(n0, n1), v128.or(n2, n3));
  if (v128.any_true(anyNaN)) {
    const j1 = v128.andnot(n1, n0), j2 = v128.andnot(v128.andnot(n2, n0), n1);
    const j3 = v128.andnot(v128.andnot(v128.andnot(n3, n0), n1), n2);
    k0 = v128.bitselect(n0, k0, anyNaN);
    k1 = v128.bitselect(j1, k1, anyNaN);
    k2 = v128.bitselect(j2, k2, anyNaN);
    k3 = v128.bitselect(j3, k3, anyNaN);
  }
  m0 = k0; m1 = k1; m2 = k2; m3 = k3;
}

// reference/pool.ts: firstMax2x2 (scalar, for the windows past the last group of 4).
function firstMax2x2(r: usize, rowBytes: usize): i32 {
  const v0 = load<f32>(r), v1 = load<f32>(r, 4);
  const v2 = load<f32>(r + rowBytes), v3 = load<f32>(r + rowBytes, 4);
  if (v0 != v0) return 0;
  if (v1 != v1) return 1;
  if (v2 != v2) return 2;
  if (v3 != v3) return 3;
  const top = v1 > v0 ? 1 : 0, bottom = v3 > v2 ? 3 : 2;
  return (bottom == 3 ? v3 : v2) > (top == 1 ? v1 : v0) ? bottom : top;
}

// reference/elementwise.ts: reluForward, of 4 values: v where v > 0 or NaN, else +0.
// @ts-ignore: decorator
@inline function relu4(v: v128): v128 {
  return v128.and(v, v128.or(f32x4.gt(v, f32x4.splat(0)), f32x4.ne(v, v)));
}

// reference/pool.ts: maxPool2x2Forward (relu false) and reluMaxPool2x2Forward (relu true).
// out (planes, H/2, W/2) = each 2x2 window's first maximum (then relu'd, with relu). Four windows
// at a time: two rows of 8 floats, split into even (left) and odd (right) cells. A row whose
// Wout is not a multiple of 4 ends with the 4 windows up to Wout (overlapping the group before:
// those windows are recomputed to the same values); a row of fewer than 4 goes one window at a
// time. This call does planes [p0, p1).
export function maxPool2x2Forward(
  out: usize, x: usize, p0: i32, p1: i32, H: i32, W: i32, relu: bool,
): void {
  const Hout = H >> 1, Wout = W >> 1, rowBytes = <usize>W << 2;
  for (let p = p0; p < p1; p++) {
    for (let ho = 0; ho < Hout; ho++) {
      const top = x + (<usize>((p * H + 2 * ho) * W) << 2), bot = top + rowBytes;
      const o = out + (<usize>((p * Hout + ho) * Wout) << 2);
      if (Wout < 4) {
        for (let wo = 0; wo < Wout; wo++) {
          const r = top + (<usize>wo << 3), k = firstMax2x2(r, rowBytes);
          const v = load<f32>(r + (k >> 1 ? rowBytes : 0) + (<usize>(k & 1) << 2));
          store<f32>(o + (<usize>wo << 2), !relu || v > 0 || v != v ? v : 0);
        }
        continue;
      }
      for (let wo = 0; wo < Wout; wo += 4) {
        const w4 = min(wo, Wout - 4); // the last group ends at Wout
        const t = top + (<usize>w4 << 3), b = bot + (<usize>w4 << 3);
        const ta = v128.load(t), tb = v128.load(t, 16), ba = v128.load(b), bb = v128.load(b, 16);
        const v0 = v128.shuffle<f32>(ta, tb, 0, 2, 4, 6);
        const v1 = v128.shuffle<f32>(ta, tb, 1, 3, 5, 7);
        const v2 = v128.shuffle<f32>(ba, bb, 0, 2, 4, 6);
        const v3 = v128.shuffle<f32>(ba, bb, 1, 3, 5, 7);
        firstMaxMasks(v0, v1, v2, v3);
        const best = v128.or(
          v128.or(v128.and(v0, m0), v128.and(v1, m1)), v128.or(v128.and(v2, m2), v128.and(v3, m3)),
        );
        v128.store(o + (<usize>w4 << 2), relu ? relu4(best) : best);
      }
    }
  }
}

// reference/pool.ts: maxPool2x2Forward, over the planes [lo, hi). Arguments (jobs.ts:
// maxPool2x2Forward): out, x | H, W.
export function maxPool2x2ForwardJob(
  ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize,
): void {
  maxPool2x2Forward(
    ptrArg(ints, 0), ptrArg(ints, 1), lo, hi, intArg(ints, 2), intArg(ints, 3), false,
  );
}

// reference/pool.ts: reluMaxPool2x2Forward, over the planes [lo, hi). Arguments (jobs.ts:
// reluMaxPool2x2Forward): out, x | H, W.
export function reluMaxPool2x2ForwardJob(
  ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize,
): void {
  maxPool2x2Forward(
    ptrArg(ints, 0), ptrArg(ints, 1), lo, hi, intArg(ints, 2), intArg(ints, 3), true,
  );
}

// reference/pool.ts: maxPool2x2Backward (relu false) and reluMaxPool2x2Backward (relu true).
// dx (planes, H, W) = dout at each window's first maximum of x (with relu only where x > 0
// there), 0 elsewhere. Every cell of every window is written (the windows as in the forward: 4
// at a time, the last group of a row ending at Wout, rows of fewer than 4 one at a time), so only
// an odd last row or column is zeroed apart. This call does planes [p0, p1).
export function maxPool2x2Backward(
  dx: usize, dout: usize, x: usize, p0: i32, p1: i32, H: i32, W: i32, relu: bool,
): void {
  const Hout = H >> 1, Wout = W >> 1, rowBytes = <usize>W << 2, zero = f32x4.splat(0);
  for (let p = p0; p < p1; p++) {
    zeroOutside(dx + (<usize>(p * H * W) << 2), H, W);
    for (let ho = 0; ho < Hout; ho++) {
      const at = <usize>((p * H + 2 * ho) * W) << 2, top = x + at, bot = top + rowBytes;
      const dtop = dx + at, dbot = dtop + rowBytes;
      const g = dout + (<usize>((p * Hout + ho) * Wout) << 2);
      if (Wout < 4) {
        for (let wo = 0; wo < Wout; wo++) windowBackward(dtop, top, g, wo, rowBytes, relu);
        continue;
      }
      for (let wo = 0; wo < Wout; wo += 4) {
        const w4 = min(wo, Wout - 4); // the last group ends at Wout
        const off = <usize>w4 << 3, t = top + off, b = bot + off;
        const ta = v128.load(t), tb = v128.load(t, 16), ba = v128.load(b), bb = v128.load(b, 16);
        const v0 = v128.shuffle<f32>(ta, tb, 0, 2, 4, 6);
        const v1 = v128.shuffle<f32>(ta, tb, 1, 3, 5, 7);
        const v2 = v128.shuffle<f32>(ba, bb, 0, 2, 4, 6);
        const v3 = v128.shuffle<f32>(ba, bb, 1, 3, 5, 7);
        firstMaxMasks(v0, v1, v2, v3);
        if (relu) { // relu's backward: the chosen cell only where x > 0
          m0 = v128.and(m0, f32x4.gt(v0, zero));
          m1 = v128.and(m1, f32x4.gt(v1, zero));
          m2 = v128.and(m2, f32x4.gt(v2, zero));
          m3 = v128.and(m3, f32x4.gt(v3, zero));
        }
        const d = v128.load(g + (<usize>w4 << 2));
        const d0 = v128.and(d, m0), d1 = v128.and(d, m1), d2 = v128.and(d, m2);
        const d3 = v128.and(d, m3);
        v128.store(dtop + off, v128.shuffle<f32>(d0, d1, 0, 4, 1, 5));
        v128.store(dtop + off, v128.shuffle<f32>(d0, d1, 2, 6, 3, 7), 16);
        v128.store(dbot + off, v128.shuffle<f32>(d2, d3, 0, 4, 1, 5));
        v128.store(dbot + off, v128.shuffle<f32>(d2, d3, 2, 6, 3, 7), 16);
      }
    }
  }
}

// reference/pool.ts: maxPool2x2Backward (no loop but over 4 cells): window wo of the row pair at
// dtop (dx) / top (x): dout g[wo] into its first maximum (with relu only where x > 0 there), 0
// into its other cells.
function windowBackward(
  dtop: usize, top: usize, g: usize, wo: i32, rowBytes: usize, relu: bool,
): void {
  const off = <usize>wo << 3, k = firstMax2x2(top + off, rowBytes);
  const cell = off + (k >> 1 ? rowBytes : 0) + (<usize>(k & 1) << 2);
  store<f32>(dtop + off, 0);
  store<f32>(dtop + off, 0, 4);
  store<f32>(dtop + off + rowBytes, 0);
  store<f32>(dtop + off + rowBytes, 0, 4);
  if (!relu || load<f32>(top + cell) > 0) store<f32>(dtop + cell, load<f32>(g + (<usize>wo << 2)));
}

// reference/pool.ts: maxPool2x2Backward (the cells outside every window): zeros into the last
// column of an odd W and the last row of an odd H of the plane at d (H x W).
function zeroOutside(d: usize, H: i32, W: i32): void {
  if (W & 1) {
    for (let h = 0; h < H; h++) store<f32>(d + (<usize>(h * W + W - 1) << 2), 0);
  }
  if (H & 1) memory.fill(d + (<usize>((H - 1) * W) << 2), 0, <usize>W << 2);
}

// reference/pool.ts: maxPool2x2Backward, over the planes [lo, hi). Arguments (jobs.ts:
// maxPool2x2Backward): dx, dout, x | H, W.
export function maxPool2x2BackwardJob(
  ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize,
): void {
  maxPool2x2Backward(
    ptrArg(ints, 0), ptrArg(ints, 1), ptrArg(ints, 2), lo, hi, intArg(ints, 3), intArg(ints, 4),
    false,
  );
}

// reference/pool.ts: reluMaxPool2x2Backward, over the planes [lo, hi). Arguments (jobs.ts:
// reluMaxPool2x2Backward): dx, dout, x | H, W.
export function reluMaxPool2x2BackwardJob(
  ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize,
): void {
  maxPool2x2Backward(
    ptrArg(ints, 0), ptrArg(ints, 1), ptrArg(ints, 2), lo, hi, intArg(ints, 3), intArg(ints, 4),
    true,
  );
}
