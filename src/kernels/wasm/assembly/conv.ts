// src/kernels/wasm/assembly/conv.ts: the convolution kernels (src/kernels/reference/conv.ts):
// the lowering of images to columns and back (im2col, col2im), and the direct convolution at
// stride 1 with its weight gradient, for a network's first layer.
import { addFloats, copyFloats, intArg, ptrArg, zeroFloats } from './common';

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
// copied once into this thread's scratch with its zero border (C, H + 2pad, W + 2pad), then every
// output row is a sum of shifted rows of it. Output rows go 16 at a time through 4 f32x4
// accumulators (independent chains: an f32x4 add takes 4 cycles).

// Copies image x (C, H, W) into xp (C, Hp, Wp) with a zero border of pad, plus one zero row and
// 16 zero floats after it (the last output vectors of a row read up to 15 floats past it, and
// the odd last row of convDirect's row pairs one row further).
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

// reference/conv.ts: convDirect. out (N, F, Hout, Wout) = Σ over taps (c, i, j), in that order,
// of w[f, c, i, j]·x[n, c, ho − pad + i, wo − pad + j] (0 off the image), then + b[f]; this call
// does images [n0, n1). Hout = H + 2pad − HH + 1, Wout likewise. Two output rows at a time share
// each tap's weight: 8 accumulators of 4 outputs, enough independent adds to hide their latency.
// The tail of a row (fewer than 16 outputs) is stored lane by lane (storeRow16).
export function convDirect(
  out: usize, x: usize, w: usize, b: usize, C: i32, H: i32, W: i32, F: i32, HH: i32, WW: i32,
  pad: i32, n0: i32, n1: i32, scratch: usize,
): void {
  const Hp = H + 2 * pad, Wp = W + 2 * pad, Hout = Hp - HH + 1, Wout = Wp - WW + 1;
  const K = C * HH * WW;
  const rowBytes = <usize>Wp << 2;
  for (let n = n0; n < n1; n++) {
    padImage(scratch, x + (<usize>(n * C * H * W) << 2), C, H, W, pad);
    for (let f = 0; f < F; f++) {
      const wf = w + (<usize>(f * K) << 2), bias = f32x4.splat(load<f32>(b + (<usize>f << 2)));
      const plane = out + (<usize>((n * F + f) * Hout * Wout) << 2);
      for (let ho = 0; ho < Hout; ho += 2) {
        const two = ho + 1 < Hout; // the second row of the pair exists (else its sums are dropped)
        for (let wo = 0; wo < Wout; wo += 16) {
          let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
          let e0 = f32x4.splat(0), e1 = f32x4.splat(0), e2 = f32x4.splat(0), e3 = f32x4.splat(0);
          let tap = wf;
          for (let c = 0; c < C; c++) {
            for (let i = 0; i < HH; i++) {
              const row = scratch + (<usize>((c * Hp + ho + i) * Wp + wo) << 2);
              for (let j = 0; j < WW; j++) {
                const t = v128.load32_splat(tap), p = row + (<usize>j << 2), q = p + rowBytes;
                a0 = f32x4.add(a0, f32x4.mul(t, v128.load(p)));
                a1 = f32x4.add(a1, f32x4.mul(t, v128.load(p, 16)));
                a2 = f32x4.add(a2, f32x4.mul(t, v128.load(p, 32)));
                a3 = f32x4.add(a3, f32x4.mul(t, v128.load(p, 48)));
                e0 = f32x4.add(e0, f32x4.mul(t, v128.load(q)));
                e1 = f32x4.add(e1, f32x4.mul(t, v128.load(q, 16)));
                e2 = f32x4.add(e2, f32x4.mul(t, v128.load(q, 32)));
                e3 = f32x4.add(e3, f32x4.mul(t, v128.load(q, 48)));
                tap += 4;
              }
            }
          }
          const at = plane + (<usize>(ho * Wout + wo) << 2);
          storeRow16(
            at, Wout - wo,
            f32x4.add(a0, bias), f32x4.add(a1, bias), f32x4.add(a2, bias), f32x4.add(a3, bias),
          );
          if (two) {
            storeRow16(
              at + (<usize>Wout << 2), Wout - wo,
              f32x4.add(e0, bias), f32x4.add(e1, bias), f32x4.add(e2, bias), f32x4.add(e3, bias),
            );
          }
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

// Stores the first min(n, 16) floats of the 16 in v0..v3 at dst (n > 0).
function storeRow16(dst: usize, n: i32, v0: v128, v1: v128, v2: v128, v3: v128): void {
  storeLanes(dst, v0, n);
  if (n > 4) storeLanes(dst + 16, v1, n - 4);
  if (n > 8) storeLanes(dst + 32, v2, n - 8);
  if (n > 12) storeLanes(dst + 48, v3, n - 12);
}

// reference/conv.ts: convDirectWeightGrad. dw[f, c, i, j] = Σ over n, ho, wo of
// dout[n, f, ho, wo]·x[n, c, ho − pad + i, wo − pad + j] and db[f] = Σ over n, ho, wo of
// dout[n, f, ho, wo]; this call does filters [f0, f1) over all N images. Each image's sum runs in
// float32 (16 partial sums, then rowsDot's scalar tail), the images add up in float64 (kept in
// scratch after the padded image). Overwrites dw, db.
export function convDirectWeightGrad(
  dw: usize, db: usize, dout: usize, x: usize, N: i32, C: i32, H: i32, W: i32, F: i32, HH: i32,
  WW: i32, pad: i32, f0: i32, f1: i32, scratch: usize,
): void {
  const Hp = H + 2 * pad, Wp = W + 2 * pad, Hout = Hp - HH + 1, Wout = Wp - WW + 1;
  const K = C * HH * WW;
  // (f1 − f0, K + 1) float64, 8-byte aligned
  const sums = scratch + ((<usize>(C * Hp * Wp + Wp + 16) << 2) + 7 & ~7);
  memory.fill(sums, 0, <usize>((f1 - f0) * (K + 1)) << 3);
  for (let n = 0; n < N; n++) {
    padImage(scratch, x + (<usize>(n * C * H * W) << 2), C, H, W, pad);
    for (let f = f0; f < f1; f++) {
      const plane = dout + (<usize>((n * F + f) * Hout * Wout) << 2);
      const acc = sums + (<usize>((f - f0) * (K + 1)) << 3);
      for (let c = 0; c < C; c++) {
        for (let i = 0; i < HH; i++) {
          for (let j = 0; j < WW; j++) {
            const tap = (c * HH + i) * WW + j;
            const xAt = scratch + (<usize>((c * Hp + i) * Wp + j) << 2);
            const at = acc + (<usize>tap << 3);
            store<f64>(at, load<f64>(at) + rowsDot(plane, xAt, Hout, Wout, Wp));
          }
        }
      }
      const at = acc + (<usize>K << 3);
      store<f64>(at, load<f64>(at) + rowsDot(plane, 0, Hout, Wout, 0));
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

// Σ over ho, wo of d[ho, wo]·x[ho·xStride + wo] for d (Hout, Wout) contiguous, in float32 partial
// sums (4 accumulators of 4 lanes, then a scalar tail). x = 0: Σ d (the bias gradient).
function rowsDot(d: usize, x: usize, Hout: i32, Wout: i32, xStride: i32): f64 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let tail: f32 = 0;
  const ones = f32x4.splat(1);
  for (let ho = 0; ho < Hout; ho++) {
    const dr = d + (<usize>(ho * Wout) << 2), xr = x + (<usize>(ho * xStride) << 2);
    let wo = 0;
    if (x == 0) {
      for (; wo + 4 <= Wout; wo += 4) {
        a0 = f32x4.add(a0, f32x4.mul(v128.load(dr + (<usize>wo << 2)), ones));
      }
      for (; wo < Wout; wo++) tail += load<f32>(dr + (<usize>wo << 2));
      continue;
    }
    for (; wo + 16 <= Wout; wo += 16) {
      const o = <usize>wo << 2;
      a0 = f32x4.add(a0, f32x4.mul(v128.load(dr + o), v128.load(xr + o)));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(dr + o, 16), v128.load(xr + o, 16)));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(dr + o, 32), v128.load(xr + o, 32)));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(dr + o, 48), v128.load(xr + o, 48)));
    }
    for (; wo + 4 <= Wout; wo += 4) {
      const o = <usize>wo << 2;
      a1 = f32x4.add(a1, f32x4.mul(v128.load(dr + o), v128.load(xr + o)));
    }
    for (; wo < Wout; wo++) {
      tail += load<f32>(dr + (<usize>wo << 2)) * load<f32>(xr + (<usize>wo << 2));
    }
  }
  const s = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
  return <f64>f32x4.extract_lane(s, 0) + <f64>f32x4.extract_lane(s, 1) +
    <f64>f32x4.extract_lane(s, 2) + <f64>f32x4.extract_lane(s, 3) + <f64>tail;
}
