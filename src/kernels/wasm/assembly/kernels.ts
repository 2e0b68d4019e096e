// src/kernels/wasm/assembly/kernels.ts: the float32 kernels of the WASM backend, in
// AssemblyScript. Every function mirrors one function of src/kernels/reference.ts (named in the
// comment above it) and must agree with it to 1e-5 relative. Pointers are byte addresses in the
// (imported, possibly shared) memory; the TypeScript wrapper (../index.ts) owns the layout.
// Built twice by scripts/build-wasm.mjs: with and without relaxed SIMD (ASC_FEATURE_RELAXED_SIMD
// then selects the fused multiply-add, else a separate multiply and add).

// GEMM blocking (GotoBLAS order). A micro-tile is MR rows x NR columns of out, held in 8
// registers of f32x4; packed panels of a (MR x KC) and b (KC x NR) stream through it.
const MR: i32 = 4;
const NR: i32 = 8;
const KC: i32 = 256; // depth of one packed block: a b micro-panel (KC x NR) is 8 KiB, in L1
const MC: i32 = 128; // rows of a per packed block: 128 KiB, in L2
const NC: i32 = 512; // columns of b per packed block: 512 KiB, in L2 (NC 1024 measured no faster, at twice the scratch)

// Where gemm counts the packed blocks it has finished (0: nowhere). runJob points it at the
// calling worker's progress slot, so that the thread waiting for the workers can tell a busy
// worker from a dead one (see runShared in ../index.ts). Globals are per instance, so per thread.
let progress: usize = 0;

// reference.ts: gemm (no loop here: the scratch bytes one gemm call needs for packed a, packed b
// and one edge tile).
export function gemmScratchBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) * 4;
}

// reference.ts: gemm (one multiply-add, no loop): acc + a * b, fused when relaxed SIMD is
// enabled at build time (rounding once instead of twice; both stay within 1e-5 of the reference).
// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(f32x4.mul(a, b), acc);
}

// reference.ts: gemm (the micro-kernel). C[0..MR, 0..NR] (row stride ldc floats) = (accumulate
// ? C : 0) + Ap (KC x MR, k-major) · Bp (KC x NR, k-major), over kc steps. Packing pads partial
// tiles with zeros, so there is no tail here: edgeTile is the scalar tail of the product.
// Exported for bench/ceiling.ts, which times it on data in L1.
export function kernel4x8(Ap: usize, Bp: usize, kc: i32, C: usize, ldc: i32, accumulate: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(Bp), b1 = v128.load(Bp, 16);
    let a = v128.load32_splat(Ap);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(Ap, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(Ap, 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(Ap, 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    Ap += 16;
    Bp += 32;
  }
  const rs = <usize>ldc << 2;
  const C1 = C + rs, C2 = C1 + rs, C3 = C2 + rs;
  if (accumulate) {
    c00 = f32x4.add(c00, v128.load(C));
    c01 = f32x4.add(c01, v128.load(C, 16));
    c10 = f32x4.add(c10, v128.load(C1));
    c11 = f32x4.add(c11, v128.load(C1, 16));
    c20 = f32x4.add(c20, v128.load(C2));
    c21 = f32x4.add(c21, v128.load(C2, 16));
    c30 = f32x4.add(c30, v128.load(C3));
    c31 = f32x4.add(c31, v128.load(C3, 16));
  }
  v128.store(C, c00);
  v128.store(C, c01, 16);
  v128.store(C1, c10);
  v128.store(C1, c11, 16);
  v128.store(C2, c20);
  v128.store(C2, c21, 16);
  v128.store(C3, c30);
  v128.store(C3, c31, 16);
}

// reference.ts: gemm (a 4x4 block transposed, no loop). Stores rows r0..r3 (4 floats each) as
// columns: dst[k·step + i] = r_i[k] for k, i < 4 (step in bytes between the 4 output vectors).
// @ts-ignore: decorator
@inline function store4x4T(dst: usize, step: usize, r0: v128, r1: v128, r2: v128, r3: v128): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(dst + step, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * step, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * step, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

// reference.ts: gemm (packing of op(a)). Ap[panel p][k][r] = op(a)[i0 + p·MR + r, k0 + k], with
// op(a)[i, k] = a[i·rsA + k·csA]; rows past mc are zero so edge tiles run the same kernel.
function packA(Ap: usize, a: usize, rsA: i32, csA: i32, i0: i32, mc: i32, k0: i32, kc: i32): void {
  for (let p = 0; p < mc; p += MR) {
    const rows = min(MR, mc - p);
    const panel = Ap + (<usize>(p * kc) << 2);
    if (rows == MR && rsA == 1) {
      // a stored transposed: the MR values of one k are contiguous.
      for (let k = 0; k < kc; k++) {
        const src = a + (<usize>((i0 + p) + (k0 + k) * csA) << 2);
        v128.store(panel + (<usize>(k * MR) << 2), v128.load(src));
      }
      continue;
    }
    let kDone = 0;
    if (rows == MR && csA == 1) {
      // a stored plainly: each row is contiguous in k; 4x4 blocks are transposed into the panel.
      const rs = <usize>rsA << 2;
      const r0 = a + (<usize>((i0 + p) * rsA + k0) << 2), r1 = r0 + rs, r2 = r1 + rs, r3 = r2 + rs;
      for (; kDone + 4 <= kc; kDone += 4) {
        const o = <usize>kDone << 2;
        store4x4T(panel + (<usize>(kDone * MR) << 2), 16, v128.load(r0 + o), v128.load(r1 + o), v128.load(r2 + o), v128.load(r3 + o));
      }
    }
    for (let r = 0; r < MR; r++) {
      if (r >= rows) {
        for (let k = 0; k < kc; k++) store<f32>(panel + (<usize>(k * MR + r) << 2), 0);
        continue;
      }
      const row = a + (<usize>((i0 + p + r) * rsA + (k0 + kDone) * csA) << 2);
      const step = <usize>csA << 2;
      let src = row;
      for (let k = kDone; k < kc; k++) {
        store<f32>(panel + (<usize>(k * MR + r) << 2), load<f32>(src));
        src += step;
      }
    }
  }
}

// reference.ts: gemm (packing of op(b)). Bp[panel q][k][c] = op(b)[k0 + k, j0 + q·NR + c], with
// op(b)[k, j] = b[k·rsB + j·csB]; columns past nc are zero.
function packB(Bp: usize, b: usize, rsB: i32, csB: i32, k0: i32, kc: i32, j0: i32, nc: i32): void {
  for (let q = 0; q < nc; q += NR) {
    const cols = min(NR, nc - q);
    const panel = Bp + (<usize>(q * kc) << 2);
    if (cols == NR && csB == 1) {
      for (let k = 0; k < kc; k++) {
        const src = b + (<usize>((k0 + k) * rsB + j0 + q) << 2);
        const dst = panel + (<usize>(k * NR) << 2);
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
      }
      continue;
    }
    let k = 0;
    if (cols == NR && rsB == 1) {
      // b stored transposed: each column of op(b) is contiguous in k; two 4x4 blocks per 4 k.
      const cs = <usize>csB << 2;
      const s0 = b + (<usize>((j0 + q) * csB + k0) << 2);
      for (; k + 4 <= kc; k += 4) {
        for (let h: usize = 0; h < 2; h++) { // columns 0-3, then 4-7
          const o = s0 + (<usize>k << 2) + h * 4 * cs, dst = panel + (<usize>(k * NR) << 2) + h * 16;
          store4x4T(dst, 32, v128.load(o), v128.load(o + cs), v128.load(o + 2 * cs), v128.load(o + 3 * cs));
        }
      }
    }
    for (; k < kc; k++) {
      const dst = panel + (<usize>(k * NR) << 2);
      const src = b + (<usize>((k0 + k) * rsB + (j0 + q) * csB) << 2);
      const step = <usize>csB << 2;
      let c = 0;
      for (; c < cols; c++) store<f32>(dst + (<usize>c << 2), load<f32>(src + <usize>c * step));
      for (; c < NR; c++) store<f32>(dst + (<usize>c << 2), 0);
    }
  }
}

// reference.ts: gemm. out (M x N, row stride ldc) = op(a) (M x K) · op(b) (K x N), where
// op(a)[i, k] = a[i·rsA + k·csA] and op(b)[k, j] = b[k·rsB + j·csB] (element strides; this one
// form covers all four transpose combinations and the row/column slices the threads take).
// Overwrites out. scratch holds gemmScratchBytes() bytes.
export function gemm(
  out: usize, a: usize, b: usize, M: i32, K: i32, N: i32,
  rsA: i32, csA: i32, rsB: i32, csB: i32, ldc: i32, scratch: usize,
): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (let i = 0; i < M; i++) memory.fill(out + (<usize>(i * ldc) << 2), 0, <usize>N << 2);
    return;
  }
  const Ap = scratch;
  const Bp = Ap + (<usize>(MC * KC) << 2);
  const tile = Bp + (<usize>(KC * NC) << 2);
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      const accumulate = pc > 0;
      packB(Bp, b, rsB, csB, pc, kc, jc, nc);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        if (progress != 0) atomic.add<i32>(progress, 1);
        packA(Ap, a, rsA, csA, ic, mc, pc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min(NR, nc - jr);
          const Bpanel = Bp + (<usize>(jr * kc) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const rows = min(MR, mc - ir);
            const Apanel = Ap + (<usize>(ir * kc) << 2);
            const C = out + (<usize>((ic + ir) * ldc + jc + jr) << 2);
            if (rows == MR && cols == NR) {
              kernel4x8(Apanel, Bpanel, kc, C, ldc, accumulate);
            } else {
              kernel4x8(Apanel, Bpanel, kc, tile, NR, false);
              edgeTile(C, ldc, tile, rows, cols, accumulate);
            }
          }
        }
      }
    }
  }
}

// reference.ts: gemm (scalar tail). C[r, c] (+)= tile[r, c] for the rows x cols valid part of a
// partial micro-tile.
function edgeTile(C: usize, ldc: i32, tile: usize, rows: i32, cols: i32, accumulate: bool): void {
  for (let r = 0; r < rows; r++) {
    const dst = C + (<usize>(r * ldc) << 2), src = tile + (<usize>(r * NR) << 2);
    for (let c = 0; c < cols; c++) {
      const o = <usize>c << 2;
      const v = load<f32>(src + o);
      store<f32>(dst + o, accumulate ? load<f32>(dst + o) + v : v);
    }
  }
}

// dst[k] += src[k] for k < n (elementwise, so the rounding is the reference's).
// @ts-ignore: decorator
@inline function addFloats(dst: usize, src: usize, n: i32): void {
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const o = <usize>k << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
  for (; k < n; k++) {
    const o = <usize>k << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}

// reference.ts: addRowVector. In place: x[m, n] += v[n] for x (M, N), v (N).
export function addRowVector(x: usize, v: usize, M: i32, N: i32): void {
  for (let m = 0; m < M; m++) addFloats(x + (<usize>(m * N) << 2), v, N);
}

// reference.ts: sumRows. out[n] = Σ_m x[m, n] for x (M, N). Overwrites out. Summed in row
// order, like the reference, so the rounding is the same.
export function sumRows(out: usize, x: usize, M: i32, N: i32): void {
  memory.fill(out, 0, <usize>N << 2);
  for (let m = 0; m < M; m++) addFloats(out, x + (<usize>(m * N) << 2), N);
}

// reference.ts: reluForward. out = max(x, 0) over elements [lo, hi) (a thread's share; the whole
// call is [0, len)); NaN stays NaN (f32x4.max propagates NaN, and max(-0, +0) is +0 as in the
// reference).
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

// reference.ts: reluBackward. dx = dout where x > 0, else 0, over elements [lo, hi).
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

// n floats from src to dst (not overlapping): a v128 loop for the short rows of im2col (a call
// to memory.copy costs more than copying 28 floats), memory.copy for long ones.
// @ts-ignore: decorator
@inline function copyFloats(dst: usize, src: usize, n: i32): void {
  if (n >= 64) {
    memory.copy(dst, src, <usize>n << 2);
    return;
  }
  let k = 0;
  for (; k + 4 <= n; k += 4) v128.store(dst + (<usize>k << 2), v128.load(src + (<usize>k << 2)));
  for (; k < n; k++) store<f32>(dst + (<usize>k << 2), load<f32>(src + (<usize>k << 2)));
}

// n zero floats at dst (a loop for the few of a padded border, memory.fill for long runs).
// @ts-ignore: decorator
@inline function zeroFloats(dst: usize, n: i32): void {
  if (n >= 64) {
    memory.fill(dst, 0, <usize>n << 2);
    return;
  }
  for (let k = 0; k < n; k++) store<f32>(dst + (<usize>k << 2), 0);
}

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

// reference.ts: im2col. cols[(c·HH + i)·WW + j, n·Hout·Wout + ho·Wout + wo] = x[n, c, ho·stride −
// pad + i, wo·stride − pad + j], 0 off the image, for N images; this call does the (channel,
// image) pairs q = c·N + n in [q0, q1) (a thread's share; the whole call is [0, C·N)). The
// interior of each output row (where the window is inside the image) is copied without bounds
// tests.
export function im2col(
  cols: usize, x: usize, C: i32, H: i32, W: i32, HH: i32, WW: i32, stride: i32, pad: i32, Hout: i32, Wout: i32, N: i32,
  q0: i32, q1: i32,
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
            copyFloats(outOff + (<usize>woLo << 2), xRow + (<usize>(woLo - pad + j) << 2), woHi - woLo);
          } else {
            for (let wo = woLo; wo < woHi; wo++) {
              store<f32>(outOff + (<usize>wo << 2), load<f32>(xRow + (<usize>(wo * stride - pad + j) << 2)));
            }
          }
          zeroFloats(outOff + (<usize>woHi << 2), Wout - woHi);
        }
      }
    }
  }
}

// reference.ts: col2im. dx[n, c, h, w] = Σ of every cols entry that im2col read from x[n, c, h, w].
// Overwrites dx. Every pixel sums over (i, j) in the reference's order, so the rounding is the same.
// This call does the planes dx[n, c] of the pairs q = c·N + n in [q0, q1).
export function col2im(
  dx: usize, cols: usize, C: i32, H: i32, W: i32, HH: i32, WW: i32, stride: i32, pad: i32, Hout: i32, Wout: i32, N: i32,
  q0: i32, q1: i32,
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
            addFloats(xRow + (<usize>(woLo - pad + j) << 2), colOff + (<usize>woLo << 2), woHi - woLo);
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

// The job that threads share (int32 slots at `job`, see runShared in ../index.ts): 0 the next
// chunk (an atomic counter), 1 the chunk count, 2 the kernel (JOB_* below), 3 units per chunk,
// 4 units in all, 5..16 the kernel's integer arguments, and from byte 72 its float arguments.
// Every thread calls runJob with its own scratch and takes chunks from the counter until none
// are left, so a thread that starts late (or is descheduled) simply takes fewer. A chunk is a
// range [lo, hi) of the kernel's outer unit: rows or columns of out for gemm, elements for relu,
// (channel, image) pairs for im2col/col2im, planes for pooling, channels or images for batch
// norm's sweeps. Each writes only its own part of the output, so the split changes no result.
const JOB_GEMM_ROWS = 0, JOB_GEMM_COLS = 1, JOB_RELU_FWD = 2, JOB_RELU_BWD = 3, JOB_IM2COL = 4, JOB_COL2IM = 5;
const JOB_SWAP = 6, JOB_POOL_FWD = 7, JOB_POOL_BWD = 8, JOB_MOMENTS = 9, JOB_DOTS = 10, JOB_NORMALIZE = 11;
const JOB_COMBINE = 12, JOB_CONV_DIRECT = 13, JOB_CONV_DW = 14;

// @ts-ignore: decorator
@inline function arg(job: usize, k: i32): i32 {
  return load<i32>(job + 20 + (<usize>k << 2));
}

// `counter` (0 for none) is an int32 this thread bumps as it works (its heartbeat: per packed
// block in gemm, per chunk otherwise).
export function runJob(job: usize, scratch: usize, counter: usize): void {
  progress = counter;
  const nChunks = load<i32>(job, 4), kind = load<i32>(job, 8), chunk = load<i32>(job, 12), total = load<i32>(job, 16);
  for (let i = atomic.add<i32>(job, 1); i < nChunks; i = atomic.add<i32>(job, 1)) {
    const lo = i * chunk, hi = min(total, lo + chunk);
    if (kind == JOB_GEMM_ROWS || kind == JOB_GEMM_COLS) gemmChunk(job, scratch, kind == JOB_GEMM_ROWS, lo, hi);
    else rangeChunk(job, kind, lo, hi, scratch);
    if (progress != 0) atomic.add<i32>(progress, 1);
  }
  progress = 0;
}

// reference.ts: gemm, rows (or columns) lo .. hi of out: the product of those rows of op(a) (or
// columns of op(b)). Arguments: out, a, b, M, K, N, rsA, csA, rsB, csB, ldc.
function gemmChunk(job: usize, scratch: usize, byRows: bool, lo: i32, hi: i32): void {
  const out = <usize>arg(job, 0), a = <usize>arg(job, 1), b = <usize>arg(job, 2);
  const M = arg(job, 3), K = arg(job, 4), N = arg(job, 5), rsA = arg(job, 6), csA = arg(job, 7);
  const rsB = arg(job, 8), csB = arg(job, 9), ldc = arg(job, 10);
  const rows = byRows ? hi - lo : M, cols = byRows ? N : hi - lo;
  const outAt = byRows ? lo * ldc : lo, aAt = byRows ? lo * rsA : 0, bAt = byRows ? 0 : lo * csB;
  gemm(out + (<usize>outAt << 2), a + (<usize>aAt << 2), b + (<usize>bAt << 2), rows, K, cols, rsA, csA, rsB, csB, ldc, scratch);
}

// The other kernels over their unit range [lo, hi), arguments in the order of their exports.
function rangeChunk(job: usize, kind: i32, lo: i32, hi: i32, scratch: usize): void {
  const p0 = <usize>arg(job, 0), p1 = <usize>arg(job, 1), p2 = <usize>arg(job, 2);
  switch (kind) {
    case JOB_RELU_FWD: reluForward(p0, p1, lo, hi); break;
    case JOB_RELU_BWD: reluBackward(p0, p1, p2, lo, hi); break;
    case JOB_IM2COL:
      im2col(p0, p1, arg(job, 2), arg(job, 3), arg(job, 4), arg(job, 5), arg(job, 6), arg(job, 7), arg(job, 8),
        arg(job, 9), arg(job, 10), arg(job, 11), lo, hi);
      break;
    case JOB_COL2IM:
      col2im(p0, p1, arg(job, 2), arg(job, 3), arg(job, 4), arg(job, 5), arg(job, 6), arg(job, 7), arg(job, 8),
        arg(job, 9), arg(job, 10), arg(job, 11), lo, hi);
      break;
    case JOB_SWAP: swapOuterAxes(p0, p1, arg(job, 2), arg(job, 3), arg(job, 4), lo, hi); break;
    case JOB_POOL_FWD: maxPool2x2Forward(p0, p1, lo, hi, arg(job, 2), arg(job, 3)); break;
    case JOB_POOL_BWD: maxPool2x2Backward(p0, p1, p2, lo, hi, arg(job, 3), arg(job, 4)); break;
    case JOB_MOMENTS: channelMoments(p0, p1, arg(job, 2), arg(job, 3), arg(job, 4), lo, hi); break;
    case JOB_DOTS: channelDots(p0, p1, p2, <usize>arg(job, 3), arg(job, 4), arg(job, 5), arg(job, 6), lo, hi); break;
    case JOB_NORMALIZE:
      channelNormalize(p0, p1, p2, <usize>arg(job, 3), <usize>arg(job, 4), lo, hi, arg(job, 5), arg(job, 6));
      break;
    case JOB_COMBINE:
      channelCombine(p0, p1, p2, <usize>arg(job, 3), <usize>arg(job, 4), lo, hi, arg(job, 5), arg(job, 6));
      break;
    case JOB_CONV_DIRECT:
      convDirect(p0, p1, p2, <usize>arg(job, 3), arg(job, 4), arg(job, 5), arg(job, 6), arg(job, 7), arg(job, 8),
        arg(job, 9), arg(job, 10), lo, hi, scratch);
      break;
    case JOB_CONV_DW:
      convDirectWeightGrad(p0, p1, p2, <usize>arg(job, 3), arg(job, 4), arg(job, 5), arg(job, 6), arg(job, 7),
        arg(job, 8), arg(job, 9), arg(job, 10), arg(job, 11), lo, hi, scratch);
      break;
    default: unreachable();
  }
}

// reference.ts: zero (Kernels.zero, no loop): bytes zero bytes at ptr.
export function zero(ptr: usize, bytes: usize): void {
  memory.fill(ptr, 0, bytes);
}

// reference.ts: swapOuterAxes. out (B, A, P) = x (A, B, P), rows of P floats copied whole; this
// call does a in [a0, a1).
export function swapOuterAxes(out: usize, x: usize, A: i32, B: i32, P: i32, a0: i32, a1: i32): void {
  const row = <usize>P << 2;
  for (let a = a0; a < a1; a++) {
    for (let b = 0; b < B; b++) memory.copy(out + <usize>(b * A + a) * row, x + <usize>(a * B + b) * row, row);
  }
}

// reference.ts: firstMax2x2, for 4 windows at once. v0..v3 hold cells 0 (top-left), 1 (top-right),
// 2 (bottom-left), 3 (bottom-right) of 4 windows; returns the lane masks m0..m3 of the cell that is
// each window's first maximum (the first NaN if it has one), by a tournament in which a tie keeps
// the earlier cell. Results through the globals below (AssemblyScript returns one value).
let m0: v128 = i32x4.splat(0), m1: v128 = i32x4.splat(0), m2: v128 = i32x4.splat(0), m3: v128 = i32x4.splat(0);
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

// reference.ts: firstMax2x2 (scalar, for the windows past the last group of 4).
function firstMax2x2(r: usize, rowBytes: usize): i32 {
  const v0 = load<f32>(r), v1 = load<f32>(r, 4), v2 = load<f32>(r + rowBytes), v3 = load<f32>(r + rowBytes, 4);
  if (v0 != v0) return 0;
  if (v1 != v1) return 1;
  if (v2 != v2) return 2;
  if (v3 != v3) return 3;
  const top = v1 > v0 ? 1 : 0, bottom = v3 > v2 ? 3 : 2;
  return (bottom == 3 ? v3 : v2) > (top == 1 ? v1 : v0) ? bottom : top;
}

// reference.ts: maxPool2x2Forward. out (planes, H/2, W/2) = each 2x2 window's first maximum.
// Four windows at a time: two rows of 8 floats, split into even (left) and odd (right) cells.
// This call does planes [p0, p1).
export function maxPool2x2Forward(out: usize, x: usize, p0: i32, p1: i32, H: i32, W: i32): void {
  const Hout = H >> 1, Wout = W >> 1, rowBytes = <usize>W << 2;
  for (let p = p0; p < p1; p++) {
    for (let ho = 0; ho < Hout; ho++) {
      const top = x + (<usize>((p * H + 2 * ho) * W) << 2), bot = top + rowBytes;
      const o = out + (<usize>((p * Hout + ho) * Wout) << 2);
      let wo = 0;
      for (; wo + 4 <= Wout; wo += 4) {
        const t = top + (<usize>wo << 3), b = bot + (<usize>wo << 3);
        const ta = v128.load(t), tb = v128.load(t, 16), ba = v128.load(b), bb = v128.load(b, 16);
        const v0 = v128.shuffle<f32>(ta, tb, 0, 2, 4, 6), v1 = v128.shuffle<f32>(ta, tb, 1, 3, 5, 7);
        const v2 = v128.shuffle<f32>(ba, bb, 0, 2, 4, 6), v3 = v128.shuffle<f32>(ba, bb, 1, 3, 5, 7);
        firstMaxMasks(v0, v1, v2, v3);
        const best = v128.or(v128.or(v128.and(v0, m0), v128.and(v1, m1)), v128.or(v128.and(v2, m2), v128.and(v3, m3)));
        v128.store(o + (<usize>wo << 2), best);
      }
      for (; wo < Wout; wo++) {
        const r = top + (<usize>wo << 3), k = firstMax2x2(r, rowBytes);
        store<f32>(o + (<usize>wo << 2), load<f32>(r + (k >> 1 ? rowBytes : 0) + (<usize>(k & 1) << 2)));
      }
    }
  }
}

// reference.ts: maxPool2x2Backward. dx (planes, H, W) = dout at each window's first maximum of x, 0
// elsewhere (an odd last row or column too).
// This call does planes [p0, p1).
export function maxPool2x2Backward(dx: usize, dout: usize, x: usize, p0: i32, p1: i32, H: i32, W: i32): void {
  const Hout = H >> 1, Wout = W >> 1, rowBytes = <usize>W << 2;
  memory.fill(dx + (<usize>(p0 * H * W) << 2), 0, <usize>((p1 - p0) * H * W) << 2);
  for (let p = p0; p < p1; p++) {
    for (let ho = 0; ho < Hout; ho++) {
      const at = <usize>((p * H + 2 * ho) * W) << 2, top = x + at, bot = top + rowBytes;
      const dtop = dx + at, dbot = dtop + rowBytes;
      const g = dout + (<usize>((p * Hout + ho) * Wout) << 2);
      let wo = 0;
      for (; wo + 4 <= Wout; wo += 4) {
        const off = <usize>wo << 3, t = top + off, b = bot + off;
        const ta = v128.load(t), tb = v128.load(t, 16), ba = v128.load(b), bb = v128.load(b, 16);
        firstMaxMasks(
          v128.shuffle<f32>(ta, tb, 0, 2, 4, 6), v128.shuffle<f32>(ta, tb, 1, 3, 5, 7),
          v128.shuffle<f32>(ba, bb, 0, 2, 4, 6), v128.shuffle<f32>(ba, bb, 1, 3, 5, 7),
        );
        const d = v128.load(g + (<usize>wo << 2));
        const d0 = v128.and(d, m0), d1 = v128.and(d, m1), d2 = v128.and(d, m2), d3 = v128.and(d, m3);
        v128.store(dtop + off, v128.shuffle<f32>(d0, d1, 0, 4, 1, 5));
        v128.store(dtop + off, v128.shuffle<f32>(d0, d1, 2, 6, 3, 7), 16);
        v128.store(dbot + off, v128.shuffle<f32>(d2, d3, 0, 4, 1, 5));
        v128.store(dbot + off, v128.shuffle<f32>(d2, d3, 2, 6, 3, 7), 16);
      }
      for (; wo < Wout; wo++) {
        const off = <usize>wo << 3, k = firstMax2x2(top + off, rowBytes);
        store<f32>(dtop + off + (k >> 1 ? rowBytes : 0) + (<usize>(k & 1) << 2), load<f32>(g + (<usize>wo << 2)));
      }
    }
  }
}

// Batch norm's per-channel sweeps over x read as (A, C, B), in float64 like the reference: each f32x4
// of x is widened to two f64x2 (lanes 0-1 and 2-3). Sums run in two f64x2 accumulators per quantity,
// so their order differs from the reference's (well within 1e-5); the elementwise maps are the
// reference's float64 expressions in the same order, rounded once: bit for bit the same.

// The high two lanes of an f32x4, widened to f64x2.
// @ts-ignore: decorator
@inline function promoteHigh(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
}

// Two f64x2 rounded to float32 and joined into one f32x4 (lanes of lo, then of hi).
// @ts-ignore: decorator
@inline function demote2(lo: v128, hi: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

// reference.ts: channelMoments. sums (2C, float64) = [Σ d, Σ d²] per channel, d = x − x[0, c, 0].
// This call does channels [c0, c1).
export function channelMoments(sums: usize, x: usize, A: i32, C: i32, B: i32, c0: i32, c1: i32): void {
  for (let c = c0; c < c1; c++) {
    const K = <f64>load<f32>(x + (<usize>(c * B) << 2)), K2 = f64x2.splat(K);
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0), q0 = f64x2.splat(0), q1 = f64x2.splat(0);
    let s: f64 = 0, q: f64 = 0;
    for (let a = 0; a < A; a++) {
      const row = x + (<usize>((a * C + c) * B) << 2);
      let b = 0;
      for (; b + 4 <= B; b += 4) {
        const v = v128.load(row + (<usize>b << 2));
        const d0 = f64x2.sub(f64x2.promote_low_f32x4(v), K2), d1 = f64x2.sub(promoteHigh(v), K2);
        s0 = f64x2.add(s0, d0);
        s1 = f64x2.add(s1, d1);
        q0 = f64x2.add(q0, f64x2.mul(d0, d0));
        q1 = f64x2.add(q1, f64x2.mul(d1, d1));
      }
      for (; b < B; b++) {
        const d = <f64>load<f32>(row + (<usize>b << 2)) - K;
        s += d;
        q += d * d;
      }
    }
    const st = f64x2.add(s0, s1), qt = f64x2.add(q0, q1);
    store<f64>(sums + (<usize>c << 3), s + f64x2.extract_lane(st, 0) + f64x2.extract_lane(st, 1));
    store<f64>(sums + (<usize>(C + c) << 3), q + f64x2.extract_lane(qt, 0) + f64x2.extract_lane(qt, 1));
  }
}

// reference.ts: channelDots. sums (2C, float64) = [Σ u, Σ u·(v − mean[c])] per channel.
// This call does channels [c0, c1).
export function channelDots(sums: usize, u: usize, v: usize, mean: usize, A: i32, C: i32, B: i32, c0: i32, c1: i32): void {
  for (let c = c0; c < c1; c++) {
    const mu = load<f64>(mean + (<usize>c << 3)), mu2 = f64x2.splat(mu);
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0), t0 = f64x2.splat(0), t1 = f64x2.splat(0);
    let s: f64 = 0, t: f64 = 0;
    for (let a = 0; a < A; a++) {
      const at = <usize>((a * C + c) * B) << 2, ur = u + at, vr = v + at;
      let b = 0;
      for (; b + 4 <= B; b += 4) {
        const o = <usize>b << 2, uu = v128.load(ur + o), vv = v128.load(vr + o);
        const u0 = f64x2.promote_low_f32x4(uu), u1 = promoteHigh(uu);
        s0 = f64x2.add(s0, u0);
        s1 = f64x2.add(s1, u1);
        t0 = f64x2.add(t0, f64x2.mul(u0, f64x2.sub(f64x2.promote_low_f32x4(vv), mu2)));
        t1 = f64x2.add(t1, f64x2.mul(u1, f64x2.sub(promoteHigh(vv), mu2)));
      }
      for (; b < B; b++) {
        const o = <usize>b << 2, uu = <f64>load<f32>(ur + o);
        s += uu;
        t += uu * (<f64>load<f32>(vr + o) - mu);
      }
    }
    const st = f64x2.add(s0, s1), tt = f64x2.add(t0, t1);
    store<f64>(sums + (<usize>c << 3), s + f64x2.extract_lane(st, 0) + f64x2.extract_lane(st, 1));
    store<f64>(sums + (<usize>(C + c) << 3), t + f64x2.extract_lane(tt, 0) + f64x2.extract_lane(tt, 1));
  }
}

// reference.ts: channelNormalize. out = (x − mean[c])·scale[c] + shift[c], in float64, rounded once.
// This call does images [a0, a1).
export function channelNormalize(out: usize, x: usize, mean: usize, scale: usize, shift: usize, a0: i32, a1: i32, C: i32, B: i32): void {
  for (let a = a0; a < a1; a++) {
    for (let c = 0; c < C; c++) {
      const at = <usize>((a * C + c) * B) << 2, xr = x + at, orow = out + at, o8 = <usize>c << 3;
      const mu = load<f64>(mean + o8), k = load<f64>(scale + o8), sh = load<f64>(shift + o8);
      const mu2 = f64x2.splat(mu), k2 = f64x2.splat(k), sh2 = f64x2.splat(sh);
      let b = 0;
      for (; b + 4 <= B; b += 4) {
        const o = <usize>b << 2, v = v128.load(xr + o);
        const lo = f64x2.add(f64x2.mul(f64x2.sub(f64x2.promote_low_f32x4(v), mu2), k2), sh2);
        const hi = f64x2.add(f64x2.mul(f64x2.sub(promoteHigh(v), mu2), k2), sh2);
        v128.store(orow + o, demote2(lo, hi));
      }
      for (; b < B; b++) {
        const o = <usize>b << 2;
        store<f32>(orow + o, <f32>((<f64>load<f32>(xr + o) - mu) * k + sh));
      }
    }
  }
}

// reference.ts: channelCombine. out = coef[c]·u + coef[C + c]·(v − mean[c]) + coef[2C + c], in float64.
// This call does images [a0, a1).
export function channelCombine(out: usize, u: usize, v: usize, mean: usize, coef: usize, a0: i32, a1: i32, C: i32, B: i32): void {
  for (let a = a0; a < a1; a++) {
    for (let c = 0; c < C; c++) {
      const at = <usize>((a * C + c) * B) << 2, ur = u + at, vr = v + at, orow = out + at, o8 = <usize>c << 3;
      const mu = load<f64>(mean + o8), ku = load<f64>(coef + o8);
      const kv = load<f64>(coef + (<usize>(C + c) << 3)), k0 = load<f64>(coef + (<usize>(2 * C + c) << 3));
      const mu2 = f64x2.splat(mu), ku2 = f64x2.splat(ku), kv2 = f64x2.splat(kv), k02 = f64x2.splat(k0);
      let b = 0;
      for (; b + 4 <= B; b += 4) {
        const o = <usize>b << 2, uu = v128.load(ur + o), vv = v128.load(vr + o);
        const lo = f64x2.add(f64x2.add(f64x2.mul(ku2, f64x2.promote_low_f32x4(uu)), f64x2.mul(kv2, f64x2.sub(f64x2.promote_low_f32x4(vv), mu2))), k02);
        const hi = f64x2.add(f64x2.add(f64x2.mul(ku2, promoteHigh(uu)), f64x2.mul(kv2, f64x2.sub(promoteHigh(vv), mu2))), k02);
        v128.store(orow + o, demote2(lo, hi));
      }
      for (; b < B; b++) {
        const o = <usize>b << 2;
        store<f32>(orow + o, <f32>(ku * <f64>load<f32>(ur + o) + kv * (<f64>load<f32>(vr + o) - mu) + k0));
      }
    }
  }
}

// reference.ts: sgdStep. In place: w −= lr·(dw + wd·w), in float64 (two f64x2 per f32x4), rounded once.
// This call does elements [lo, hi).
export function sgdStep(w: usize, dw: usize, lo: i32, hi: i32, lr: f64, wd: f64): void {
  const lr2 = f64x2.splat(lr), wd2 = f64x2.splat(wd);
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const o = <usize>i << 2, x = v128.load(w + o), g = v128.load(dw + o);
    const xl = f64x2.promote_low_f32x4(x), xh = promoteHigh(x);
    const rlo = f64x2.sub(xl, f64x2.mul(lr2, f64x2.add(f64x2.promote_low_f32x4(g), f64x2.mul(wd2, xl))));
    const rhi = f64x2.sub(xh, f64x2.mul(lr2, f64x2.add(promoteHigh(g), f64x2.mul(wd2, xh))));
    v128.store(w + o, demote2(rlo, rhi));
  }
  for (; i < hi; i++) {
    const o = <usize>i << 2, x = <f64>load<f32>(w + o);
    store<f32>(w + o, <f32>(x - lr * (<f64>load<f32>(dw + o) + wd * x)));
  }
}

// Adam's per-element update on two f64 lanes (see adamStep); writes m and v (rounded on store by
// the caller) through the globals below and returns the new w.
let adamM: v128 = f64x2.splat(0), adamV: v128 = f64x2.splat(0);
// @ts-ignore: decorator
@inline function adamLanes(
  x: v128, g0: v128, m: v128, v: v128, b1: v128, b2: v128, c1: v128, c2: v128, step: v128, ibc: v128, eps: v128, l2: v128,
): v128 {
  const g = f64x2.add(g0, f64x2.mul(l2, x));
  const mi = f64x2.add(f64x2.mul(b1, m), f64x2.mul(c1, g));
  const vi = f64x2.add(f64x2.mul(b2, v), f64x2.mul(f64x2.mul(c2, g), g));
  adamM = mi;
  adamV = vi;
  return f64x2.sub(x, f64x2.div(f64x2.mul(step, mi), f64x2.add(f64x2.mul(f64x2.sqrt(vi), ibc), eps)));
}

// reference.ts: adamStep. In place on w, m, v (n floats each), in float64 as the reference.
// This call does elements [lo, hi).
export function adamStep(
  w: usize, dw: usize, m: usize, v: usize, lo: i32, hi: i32,
  beta1: f64, beta2: f64, stepSize: f64, invBc2Sqrt: f64, eps: f64, l2: f64,
): void {
  const b1 = f64x2.splat(beta1), b2 = f64x2.splat(beta2), c1 = f64x2.splat(1 - beta1), c2 = f64x2.splat(1 - beta2);
  const step = f64x2.splat(stepSize), ibc = f64x2.splat(invBc2Sqrt), e = f64x2.splat(eps), k2 = f64x2.splat(l2);
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const o = <usize>i << 2, x = v128.load(w + o), g = v128.load(dw + o), mm = v128.load(m + o), vv = v128.load(v + o);
    const rlo = adamLanes(f64x2.promote_low_f32x4(x), f64x2.promote_low_f32x4(g), f64x2.promote_low_f32x4(mm), f64x2.promote_low_f32x4(vv), b1, b2, c1, c2, step, ibc, e, k2);
    const mLo = adamM, vLo = adamV;
    const rhi = adamLanes(promoteHigh(x), promoteHigh(g), promoteHigh(mm), promoteHigh(vv), b1, b2, c1, c2, step, ibc, e, k2);
    v128.store(m + o, demote2(mLo, adamM));
    v128.store(v + o, demote2(vLo, adamV));
    v128.store(w + o, demote2(rlo, rhi));
  }
  for (; i < hi; i++) {
    const o = <usize>i << 2, x = <f64>load<f32>(w + o);
    const g = <f64>load<f32>(dw + o) + l2 * x;
    const mi = beta1 * <f64>load<f32>(m + o) + (1 - beta1) * g, vi = beta2 * <f64>load<f32>(v + o) + (1 - beta2) * g * g;
    store<f32>(m + o, <f32>mi);
    store<f32>(v + o, <f32>vi);
    store<f32>(w + o, <f32>(x - (stepSize * mi) / (Math.sqrt(vi) * invBc2Sqrt + eps)));
  }
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
      copyFloats(xp + (<usize>((c * Hp + h + pad) * Wp + pad) << 2), x + (<usize>((c * H + h) * W) << 2), W);
    }
  }
}

// reference.ts: convDirect. out (N, F, Hout, Wout) = Σ over taps (c, i, j), in that order, of
// w[f, c, i, j]·x[n, c, ho − pad + i, wo − pad + j] (0 off the image), then + b[f]; this call does
// images [n0, n1). Hout = H + 2pad − HH + 1, Wout likewise. Two output rows at a time share each
// tap's weight: 8 accumulators of 4 outputs, enough independent adds to hide their latency.
export function convDirect(
  out: usize, x: usize, w: usize, b: usize, C: i32, H: i32, W: i32, F: i32, HH: i32, WW: i32, pad: i32,
  n0: i32, n1: i32, scratch: usize,
): void {
  const Hp = H + 2 * pad, Wp = W + 2 * pad, Hout = Hp - HH + 1, Wout = Wp - WW + 1, K = C * HH * WW;
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
          storeRow16(at, Wout - wo, f32x4.add(a0, bias), f32x4.add(a1, bias), f32x4.add(a2, bias), f32x4.add(a3, bias));
          if (two) {
            storeRow16(at + (<usize>Wout << 2), Wout - wo,
              f32x4.add(e0, bias), f32x4.add(e1, bias), f32x4.add(e2, bias), f32x4.add(e3, bias));
          }
        }
      }
    }
  }
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

// reference.ts: convDirectWeightGrad. dw[f, c, i, j] = Σ over n, ho, wo of dout[n, f, ho, wo]·
// x[n, c, ho − pad + i, wo − pad + j] and db[f] = Σ over n, ho, wo of dout[n, f, ho, wo]; this call
// does filters [f0, f1) over all N images. Each image's sum runs in float32 (16 partial sums),
// the images add up in float64 (kept in scratch after the padded image). Overwrites dw, db.
export function convDirectWeightGrad(
  dw: usize, db: usize, dout: usize, x: usize, N: i32, C: i32, H: i32, W: i32, F: i32, HH: i32, WW: i32, pad: i32,
  f0: i32, f1: i32, scratch: usize,
): void {
  const Hp = H + 2 * pad, Wp = W + 2 * pad, Hout = Hp - HH + 1, Wout = Wp - WW + 1, K = C * HH * WW;
  const sums = scratch + ((<usize>(C * Hp * Wp + Wp + 16) << 2) + 7 & ~7); // (f1 − f0, K + 1) float64
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
            store<f64>(acc + (<usize>tap << 3), load<f64>(acc + (<usize>tap << 3)) + rowsDot(plane, xAt, Hout, Wout, Wp));
          }
        }
      }
      store<f64>(acc + (<usize>K << 3), load<f64>(acc + (<usize>K << 3)) + rowsDot(plane, 0, Hout, Wout, 0));
    }
  }
  for (let f = f0; f < f1; f++) {
    const acc = sums + (<usize>((f - f0) * (K + 1)) << 3);
    for (let t = 0; t < K; t++) store<f32>(dw + (<usize>(f * K + t) << 2), <f32>load<f64>(acc + (<usize>t << 3)));
    store<f32>(db + (<usize>f << 2), <f32>load<f64>(acc + (<usize>K << 3)));
  }
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
      for (; wo + 4 <= Wout; wo += 4) a0 = f32x4.add(a0, f32x4.mul(v128.load(dr + (<usize>wo << 2)), ones));
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
    for (; wo < Wout; wo++) tail += load<f32>(dr + (<usize>wo << 2)) * load<f32>(xr + (<usize>wo << 2));
  }
  const s = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
  return <f64>f32x4.extract_lane(s, 0) + <f64>f32x4.extract_lane(s, 1) + <f64>f32x4.extract_lane(s, 2) +
    <f64>f32x4.extract_lane(s, 3) + <f64>tail;
}
