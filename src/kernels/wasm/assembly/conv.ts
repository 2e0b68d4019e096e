// src/kernels/wasm/assembly/conv.ts: the convolution kernels (src/kernels/reference/conv.ts):
// the lowering of images to columns and back (im2col, col2im), and the direct convolution at
// stride 1 with its weight gradient, for a network's first layer.
import {
  addFloats, copyFloats, intArg, madd, promoteHigh, ptrArg, zeroFloats,
} from './common';

// The output columns wo whose tap j of a window lands inside a row of W pixels,
// 0 <= wo·stride − pad + j < W: from windowStart (inclusive) to windowEnd (exclusive, <= Wout).
// @ts-ignore: decorator
@inline function windowStart(j: i32, stride: i32, pad: i32): i32 {
  return j >= pad ? 0 : (pad - j + stride - 1) / stride;
}
// @ts-ignore: decorator
@inline function windowEnd(j: i32, stride: i32, pad: i32, W: i32, Wout: i32): i32 {
  return min(Wout, W + pad - j > 0 ? (W + pad - j - 1) / stride + 1 : 0);
}

// reference/conv.ts: im2col. cols[(c·HH + i)·WW + j, n·Hout·Wout + ho·Wout + wo] = x[n, c,
// ho·stride − pad + i, wo·stride − pad + j], 0 off the image, for N images; this call does the
// (channel, image) pairs q = c·N + n in [q0, q1) (a thread's share; the whole call is [0, C·N)).
// The interior of each output row (where the window is inside the image) is copied without
// bounds tests.
export function im2col(
  cols: usize, x: usize, C: i32, H: i32, W: i32, HH: i32, WW: i32, stride: i32, pad: i32,
  Hout: i32, Wout: i32, N: i32, q0: i32, q1: i32,
): void {
  const HWout = Hout * Wout;
  for (let q = q0; q < q1; q++) {
    const c = q / N, n = q % N; // c outer: the rows of one channel are written together
    const xChan = (n * C + c) * H * W;
    for (let i = 0; i < HH; i++) {
      for (let j = 0; j < WW; j++) {
        const colRow = (((c * HH + i) * WW + j) * N + n) * HWout;
        const woLo = windowStart(j, stride, pad), woHi = windowEnd(j, stride, pad, W, Wout);
        for (let ho = 0; ho < Hout; ho++) {
          const h = ho * stride - pad + i;
          const outOff = cols + (<usize>(colRow + ho * Wout) << 2);
          if (h < 0 || h >= H || woLo >= woHi) {
            zeroFloats(outOff, Wout);
            continue;
          }
          const xRow = x + (<usize>(xChan + h * W) << 2);
          zeroFloats(outOff, woLo);
          if (stride == 1) {
            copyFloats(
              outOff + (<usize>woLo << 2), xRow + (<usize>(woLo - pad + j) << 2), woHi - woLo,
            );
          } else {
            for (let wo = woLo; wo < woHi; wo++) {
              const src = xRow + (<usize>(wo * stride - pad + j) << 2);
              store<f32>(outOff + (<usize>wo << 2), load<f32>(src));
            }
          }
          zeroFloats(outOff + (<usize>woHi << 2), Wout - woHi);
        }
      }
    }
  }
}

// reference/conv.ts: im2col, over the (channel, image) pairs [lo, hi). Arguments (jobs.ts:
// im2col): cols, x | C, H, W, HH, WW, stride, pad, Hout, Wout, N.
export function im2colJob(ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize): void {
  im2col(
    ptrArg(ints, 0), ptrArg(ints, 1), intArg(ints, 2), intArg(ints, 3), intArg(ints, 4),
    intArg(ints, 5), intArg(ints, 6), intArg(ints, 7), intArg(ints, 8), intArg(ints, 9),
    intArg(ints, 10), intArg(ints, 11), lo, hi,
  );
}

// reference/conv.ts: col2im. dx[n, c, h, w] = Σ of every cols entry that im2col read from
// x[n, c, h, w]. Overwrites dx. Every pixel sums over (i, j) in the reference's order, so the
// rounding is the same. This call does the planes dx[n, c] of the pairs q = c·N + n in [q0, q1).
// The scalar tail is addFloats' (stride 1) or the strided loop.
export function col2im(
  dx: usize, cols: usize, C: i32, H: i32, W: i32, HH: i32, WW: i32, stride: i32, pad: i32,
  Hout: i32, Wout: i32, N: i32, q0: i32, q1: i32,
): void {
  const HWout = Hout * Wout;
  for (let q = q0; q < q1; q++) {
    const c = q / N, n = q % N;
    const xChan = (n * C + c) * H * W;
    memory.fill(dx + (<usize>xChan << 2), 0, <usize>(H * W) << 2);
    for (let i = 0; i < HH; i++) {
      for (let j = 0; j < WW; j++) {
        const colRow = (((c * HH + i) * WW + j) * N + n) * HWout;
        const woLo = windowStart(j, stride, pad), woHi = windowEnd(j, stride, pad, W, Wout);
        for (let ho = 0; ho < Hout; ho++) {
          const h = ho * stride - pad + i;
          if (h < 0 || h >= H) continue;
          const xRow = dx + (<usize>(xChan + h * W) << 2);
          const colOff = cols + (<usize>(colRow + ho * Wout) << 2);
          if (stride == 1) {
            // dx[h, wo − pad + j] += cols[.., wo] for wo in [woLo, woHi): contiguous on both sides
            addFloats(
              xRow + (<usize>(woLo - pad + j) << 2), colOff + (<usize>woLo << 2), woHi - woLo,
            );
          } else {
            for (let wo = woLo; wo < woHi; wo++) {
              const p = xRow + (<usize>(wo * stride - pad + j) << 2);
              store<f32>(p, load<f32>(p) + load<f32>(colOff + (<usize>wo << 2)));
            }
          }
        }
      }
    }
  }
}

// reference/conv.ts: col2im, over the (channel, image) pairs [lo, hi). Arguments (jobs.ts:
// col2im): dx, cols | C, H, W, HH, WW, stride, pad, Hout, Wout, N.
export function col2imJob(ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize): void {
  col2im(
    ptrArg(ints, 0), ptrArg(ints, 1), intArg(ints, 2), intArg(ints, 3), intArg(ints, 4),
    intArg(ints, 5), intArg(ints, 6), intArg(ints, 7), intArg(ints, 8), intArg(ints, 9),
    intArg(ints, 10), intArg(ints, 11), lo, hi,
  );
}

// Direct convolution at stride 1 for a small C·HH·WW (a network's first layer, whose columns
// would be a 25-row product that im2col, packing and the axis swap cost more than): each image is
// copied once into this thread's scratch with its zero border (C, H + 2pad, W + 2pad); then, like
// the gemm's micro-kernel, a register tile of 4 filters x 8 output pixels (8 f32x4 accumulators)
// runs over the taps (c, i, j): per tap 2 loads of shifted image pixels, 4 weight splats and 8
// multiply-adds (fused in the relaxed build). The weight gradient is the same product reduced
// over pixels instead of taps: a tile of 4 filters x 2 taps, per 4 pixels 4 dout loads, 2 image
// loads and 8 multiply-adds.

// Copies image x (C, H, W) into xp (C, Hp, Wp) with a zero border of pad, plus one zero row and
// 16 zero floats after it (the last output vectors of a row read up to 7 floats past it).
function padImage(xp: usize, x: usize, C: i32, H: i32, W: i32, pad: i32): void {
  const Hp = H + 2 * pad, Wp = W + 2 * pad;
  memory.fill(xp, 0, <usize>(C * Hp * Wp + Wp + 16) << 2);
  for (let c = 0; c < C; c++) {
    for (let h = 0; h < H; h++) {
      const dst = xp + (<usize>((c * Hp + h + pad) * Wp + pad) << 2);
      copyFloats(dst, x + (<usize>((c * H + h) * W) << 2), W);
    }
  }
}

// Results of the tiles below (AssemblyScript returns one value): the accumulators of up to 4
// filters r, 2 vectors each (r0: filter 0's pixels 0-3, s0: its pixels 4-7; or, in the weight
// gradient, filter r's partial sums of tap 0 in r_, of tap 1 in s_).
let r0: v128 = f32x4.splat(0), r1: v128 = f32x4.splat(0);
let r2: v128 = f32x4.splat(0), r3: v128 = f32x4.splat(0);
let s0: v128 = f32x4.splat(0), s1: v128 = f32x4.splat(0);
let s2: v128 = f32x4.splat(0), s3: v128 = f32x4.splat(0);

// reference/conv.ts: convDirect (the register tile). For 4 filters whose weights start at w,
// w + o1, w + o2 and w + o3, and 8 output pixels whose window corner is at xp (padded image,
// channel planes cb bytes apart, rows rb bytes apart): r_/s_ = Σ over taps (c, i, j), in that
// order, of w[f, c, i, j]·xp[c, i, j + 0..7]. Each output sums its taps in the reference's order.
function tile4x8(
  w: usize, o1: usize, o2: usize, o3: usize, xp: usize, cb: usize, rb: usize,
  C: i32, HH: i32, WW: i32,
): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let e0 = f32x4.splat(0), e1 = f32x4.splat(0), e2 = f32x4.splat(0), e3 = f32x4.splat(0);
  let tap = w;
  for (let c = 0; c < C; c++) {
    let row = xp + <usize>c * cb;
    for (let i = 0; i < HH; i++) {
      for (let j = 0; j < WW; j++) {
        const p = row + (<usize>j << 2);
        const x0 = v128.load(p), x1 = v128.load(p, 16);
        let t = v128.load32_splat(tap);
        a0 = madd(t, x0, a0);
        e0 = madd(t, x1, e0);
        t = v128.load32_splat(tap + o1);
        a1 = madd(t, x0, a1);
        e1 = madd(t, x1, e1);
        t = v128.load32_splat(tap + o2);
        a2 = madd(t, x0, a2);
        e2 = madd(t, x1, e2);
        t = v128.load32_splat(tap + o3);
        a3 = madd(t, x0, a3);
        e3 = madd(t, x1, e3);
        tap += 4;
      }
      row += rb;
    }
  }
  r0 = a0; r1 = a1; r2 = a2; r3 = a3;
  s0 = e0; s1 = e1; s2 = e2; s3 = e3;
}

// reference/conv.ts: convDirect (the narrow register tile, for the last 1-4 pixels of a row): as
// tile4x8 for 4 output pixels, into r0..r3.
function tile4x4(
  w: usize, o1: usize, o2: usize, o3: usize, xp: usize, cb: usize, rb: usize,
  C: i32, HH: i32, WW: i32,
): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let tap = w;
  for (let c = 0; c < C; c++) {
    let row = xp + <usize>c * cb;
    for (let i = 0; i < HH; i++) {
      for (let j = 0; j < WW; j++) {
        const x0 = v128.load(row + (<usize>j << 2));
        a0 = madd(v128.load32_splat(tap), x0, a0);
        a1 = madd(v128.load32_splat(tap + o1), x0, a1);
        a2 = madd(v128.load32_splat(tap + o2), x0, a2);
        a3 = madd(v128.load32_splat(tap + o3), x0, a3);
        tap += 4;
      }
      row += rb;
    }
  }
  r0 = a0; r1 = a1; r2 = a2; r3 = a3;
}

// Stores the first n (1..8) of the 8 floats in lo, hi + bias at dst.
// @ts-ignore: decorator
@inline function storePixels(dst: usize, n: i32, lo: v128, hi: v128, bias: v128): void {
  if (n >= 8) {
    v128.store(dst, f32x4.add(lo, bias));
    v128.store(dst, f32x4.add(hi, bias), 16);
    return;
  }
  storeLanes(dst, f32x4.add(lo, bias), n);
  if (n > 4) storeLanes(dst + 16, f32x4.add(hi, bias), n - 4);
}

// reference/conv.ts: convDirect. out (N, F, Hout, Wout) = Σ over taps (c, i, j), in that order,
// of w[f, c, i, j]·x[n, c, ho − pad + i, wo − pad + j] (0 off the image), then + b[f]; this call
// does images [n0, n1). Hout = H + 2pad − HH + 1, Wout likewise. Filters go 4 at a time, pixels 8
// at a time along a row (tile4x8); the last 1-4 of a row go through tile4x4 and are stored lane by
// lane (storeLanes, the tail).
export function convDirect(
  out: usize, x: usize, w: usize, b: usize, C: i32, H: i32, W: i32, F: i32, HH: i32, WW: i32,
  pad: i32, n0: i32, n1: i32, scratch: usize,
): void {
  const Hp = H + 2 * pad, Wp = W + 2 * pad, Hout = Hp - HH + 1, Wout = Wp - WW + 1;
  const K = C * HH * WW, P = Hout * Wout;
  const rb = <usize>Wp << 2, cb = <usize>(Hp * Wp) << 2, plane = <usize>P << 2;
  for (let n = n0; n < n1; n++) {
    padImage(scratch, x + (<usize>(n * C * H * W) << 2), C, H, W, pad);
    for (let f = 0; f < F; f += 4) {
      // a partial block (rows < 4) repeats its last filter; those sums are not stored
      const rows = min(4, F - f), l1 = min(1, rows - 1), l2 = min(2, rows - 1);
      const l3 = min(3, rows - 1);
      const wf = w + (<usize>(f * K) << 2), bf = b + (<usize>f << 2);
      const o1 = <usize>(l1 * K) << 2, o2 = <usize>(l2 * K) << 2, o3 = <usize>(l3 * K) << 2;
      const b0 = v128.load32_splat(bf), b1 = v128.load32_splat(bf + (<usize>l1 << 2));
      const b2 = v128.load32_splat(bf + (<usize>l2 << 2));
      const b3 = v128.load32_splat(bf + (<usize>l3 << 2));
      const o0 = out + (<usize>((n * F + f) * P) << 2);
      for (let ho = 0; ho < Hout; ho++) {
        const xrow = scratch + <usize>ho * rb, orow = o0 + (<usize>(ho * Wout) << 2);
        for (let wo = 0; wo < Wout; wo += 8) {
          const left = Wout - wo, xp = xrow + (<usize>wo << 2), o = orow + (<usize>wo << 2);
          if (left > 4) tile4x8(wf, o1, o2, o3, xp, cb, rb, C, HH, WW);
          else tile4x4(wf, o1, o2, o3, xp, cb, rb, C, HH, WW);
          storePixels(o, left, r0, s0, b0);
          if (rows > 1) storePixels(o + plane, left, r1, s1, b1);
          if (rows > 2) storePixels(o + 2 * plane, left, r2, s2, b2);
          if (rows > 3) storePixels(o + 3 * plane, left, r3, s3, b3);
        }
      }
    }
  }
}

// reference/conv.ts: convDirect, over the images [lo, hi). Arguments (jobs.ts: convDirect):
// out, x, w, b | C, H, W, F, HH, WW, pad.
export function convDirectJob(
  ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize,
): void {
  convDirect(
    ptrArg(ints, 0), ptrArg(ints, 1), ptrArg(ints, 2), ptrArg(ints, 3), intArg(ints, 4),
    intArg(ints, 5), intArg(ints, 6), intArg(ints, 7), intArg(ints, 8), intArg(ints, 9),
    intArg(ints, 10), lo, hi, scratch,
  );
}

// Stores the first min(n, 4) lanes of v at dst.
// @ts-ignore: decorator
@inline function storeLanes(dst: usize, v: v128, n: i32): void {
  if (n >= 4) {
    v128.store(dst, v);
    return;
  }
  if (n > 0) store<f32>(dst, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(dst, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(dst, f32x4.extract_lane(v, 2), 8);
}

// The first n (0..3) floats at p in the low lanes of a vector, zeros above (a row's tail, read
// without touching memory past it).
function loadTail(p: usize, n: i32): v128 {
  let v = f32x4.splat(0);
  if (n > 0) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

// The 4 lanes of v summed in float64, added to the float64 at p.
// @ts-ignore: decorator
@inline function flush(p: usize, v: v128): void {
  const s = f64x2.add(f64x2.promote_low_f32x4(v), promoteHigh(v));
  store<f64>(p, load<f64>(p) + f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1));
}

// reference/conv.ts: convDirectWeightGrad (the register tile). For one image, 4 filters whose
// dout planes start at d, d + o1, d + o2, d + o3 (Hout, Wout each) and 2 taps whose shifted
// padded planes start at xa and xb (rows rb bytes apart): r_ = Σ over pixels of dout_r·xa,
// s_ = Σ dout_r·xb, in 4 lanes of partial sums (pixel wo of a row in lane wo mod 4; a row's
// last 1-3 pixels through loadTail, the tail).
function wgradTile(
  d: usize, o1: usize, o2: usize, o3: usize, xa: usize, xb: usize, rb: usize,
  Hout: i32, Wout: i32,
): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let e0 = f32x4.splat(0), e1 = f32x4.splat(0), e2 = f32x4.splat(0), e3 = f32x4.splat(0);
  const full = Wout & ~3, tail = Wout - full;
  let dr = d, pa = xa, pb = xb;
  for (let ho = 0; ho < Hout; ho++) {
    for (let wo = 0; wo < full; wo += 4) {
      const k = <usize>wo << 2;
      const g0 = v128.load(dr + k), g1 = v128.load(dr + o1 + k);
      const g2 = v128.load(dr + o2 + k), g3 = v128.load(dr + o3 + k);
      let v = v128.load(pa + k);
      a0 = madd(g0, v, a0);
      a1 = madd(g1, v, a1);
      a2 = madd(g2, v, a2);
      a3 = madd(g3, v, a3);
      v = v128.load(pb + k);
      e0 = madd(g0, v, e0);
      e1 = madd(g1, v, e1);
      e2 = madd(g2, v, e2);
      e3 = madd(g3, v, e3);
    }
    if (tail > 0) {
      const k = <usize>full << 2;
      const g0 = loadTail(dr + k, tail), g1 = loadTail(dr + o1 + k, tail);
      const g2 = loadTail(dr + o2 + k, tail), g3 = loadTail(dr + o3 + k, tail);
      let v = loadTail(pa + k, tail);
      a0 = madd(g0, v, a0);
      a1 = madd(g1, v, a1);
      a2 = madd(g2, v, a2);
      a3 = madd(g3, v, a3);
      v = loadTail(pb + k, tail);
      e0 = madd(g0, v, e0);
      e1 = madd(g1, v, e1);
      e2 = madd(g2, v, e2);
      e3 = madd(g3, v, e3);
    }
    dr += <usize>Wout << 2;
    pa += rb;
    pb += rb;
  }
  r0 = a0; r1 = a1; r2 = a2; r3 = a3;
  s0 = e0; s1 = e1; s2 = e2; s3 = e3;
}

// reference/conv.ts: convDirectWeightGrad. dw[f, c, i, j] = Σ over n, ho, wo of
// dout[n, f, ho, wo]·x[n, c, ho − pad + i, wo − pad + j] and db[f] = Σ over n, ho, wo of
// dout[n, f, ho, wo]; this call does filters [f0, f1) over all N images. Per image, filters 4 at
// a time by taps 2 at a time (wgradTile; a partial block repeats its last filter, an odd last
// tap is done twice, and the repeats are not kept) sum in float32 lanes; the images add up in
// float64 (kept in scratch after the padded image). Overwrites dw, db.
export function convDirectWeightGrad(
  dw: usize, db: usize, dout: usize, x: usize, N: i32, C: i32, H: i32, W: i32, F: i32, HH: i32,
  WW: i32, pad: i32, f0: i32, f1: i32, scratch: usize,
): void {
  const Hp = H + 2 * pad, Wp = W + 2 * pad, Hout = Hp - HH + 1, Wout = Wp - WW + 1;
  const K = C * HH * WW, P = Hout * Wout, rb = <usize>Wp << 2;
  // (f1 − f0, K + 1) float64, 8-byte aligned
  const sums = scratch + ((<usize>(C * Hp * Wp + Wp + 16) << 2) + 7 & ~7);
  memory.fill(sums, 0, <usize>((f1 - f0) * (K + 1)) << 3);
  for (let n = 0; n < N; n++) {
    padImage(scratch, x + (<usize>(n * C * H * W) << 2), C, H, W, pad);
    for (let f = f0; f < f1; f += 4) {
      const rows = min(4, f1 - f), l1 = min(1, rows - 1), l2 = min(2, rows - 1);
      const l3 = min(3, rows - 1);
      const d = dout + (<usize>((n * F + f) * P) << 2);
      const o1 = <usize>(l1 * P) << 2, o2 = <usize>(l2 * P) << 2, o3 = <usize>(l3 * P) << 2;
      const acc = sums + (<usize>((f - f0) * (K + 1)) << 3), fs = <usize>(K + 1) << 3;
      for (let t = 0; t < K; t += 2) {
        const u = min(t + 1, K - 1); // the second tap (t again when K is odd)
        wgradTile(d, o1, o2, o3, tapPlane(scratch, t, HH, WW, Hp, Wp),
          tapPlane(scratch, u, HH, WW, Hp, Wp), rb, Hout, Wout);
        const at = acc + (<usize>t << 3);
        flush(at, r0);
        if (rows > 1) flush(at + fs, r1);
        if (rows > 2) flush(at + 2 * fs, r2);
        if (rows > 3) flush(at + 3 * fs, r3);
        if (u == t) continue;
        flush(at + 8, s0);
        if (rows > 1) flush(at + fs + 8, s1);
        if (rows > 2) flush(at + 2 * fs + 8, s2);
        if (rows > 3) flush(at + 3 * fs + 8, s3);
      }
      for (let r = 0; r < rows; r++) {
        const at = acc + <usize>r * fs + (<usize>K << 3);
        store<f64>(at, load<f64>(at) + planeSum(d + (<usize>(r * P) << 2), P));
      }
    }
  }
  for (let f = f0; f < f1; f++) {
    const acc = sums + (<usize>((f - f0) * (K + 1)) << 3);
    for (let t = 0; t < K; t++) {
      store<f32>(dw + (<usize>(f * K + t) << 2), <f32>load<f64>(acc + (<usize>t << 3)));
    }
    store<f32>(db + (<usize>f << 2), <f32>load<f64>(acc + (<usize>K << 3)));
  }
}

// Where tap t = (c, i, j) of a window reads the padded image xp (C, Hp, Wp) for output (0, 0).
// @ts-ignore: decorator
@inline function tapPlane(xp: usize, t: i32, HH: i32, WW: i32, Hp: i32, Wp: i32): usize {
  const j = t % WW, ci = t / WW, i = ci % HH, c = ci / HH;
  return xp + (<usize>((c * Hp + i) * Wp + j) << 2);
}

// reference/conv.ts: convDirectWeightGrad, over the filters [lo, hi). Arguments (jobs.ts:
// convDirectWeightGrad): dw, db, dout, x | N, C, H, W, F, HH, WW, pad.
export function convDirectWeightGradJob(
  ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize,
): void {
  convDirectWeightGrad(
    ptrArg(ints, 0), ptrArg(ints, 1), ptrArg(ints, 2), ptrArg(ints, 3), intArg(ints, 4),
    intArg(ints, 5), intArg(ints, 6), intArg(ints, 7), intArg(ints, 8), intArg(ints, 9),
    intArg(ints, 10), intArg(ints, 11), lo, hi, scratch,
  );
}

// Σ of the n floats at d, in float32 partial sums (4 lanes, then a scalar tail), as float64
// (one image's share of the bias gradient).
function planeSum(d: usize, n: i32): f64 {
  let a = f32x4.splat(0), tail: f32 = 0, k = 0;
  for (; k + 4 <= n; k += 4) a = f32x4.add(a, v128.load(d + (<usize>k << 2)));
  for (; k < n; k++) tail += load<f32>(d + (<usize>k << 2));
  return <f64>f32x4.extract_lane(a, 0) + <f64>f32x4.extract_lane(a, 1) +
    <f64>f32x4.extract_lane(a, 2) + <f64>f32x4.extract_lane(a, 3) + <f64>tail;
}
