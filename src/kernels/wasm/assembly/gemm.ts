// src/kernels/wasm/assembly/gemm.ts: the matrix products (src/kernels/reference/gemm.ts), on a
// GotoBLAS blocking around one 4x8 register tile of f32x4. Built with and without relaxed SIMD
// (ASC_FEATURE_RELAXED_SIMD then selects the fused multiply-add, else a multiply and an add).
import { beat, intArg, madd, ptrArg } from './common';

// GEMM blocking (GotoBLAS order). A micro-tile is MR rows x NR columns of out, held in 8
// registers of f32x4; packed panels of a (MR x KC) and b (KC x NR) stream through it.
const MR: i32 = 4;
const NR: i32 = 8;
const KC: i32 = 256; // depth of one packed block: a b micro-panel (KC x NR) is 8 KiB, in L1
const MC: i32 = 128; // rows of a per packed block: 128 KiB, in L2
// columns of b per packed block: 512 KiB, in L2 (NC 1024 measured no faster, at twice the scratch)
const NC: i32 = 512;

// reference/gemm.ts: gemm (no loop here: the scratch bytes one gemm call needs for packed a,
// packed b and one edge tile).
export function gemmScratchBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) * 4;
}

// reference/gemm.ts: gemm (the micro-kernel). C[0..MR, 0..NR] (row stride ldc floats) =
// (accumulate ? C : 0) + Ap (KC x MR, k-major) · Bp (KC x NR, k-major), over kc steps. Packing
// pads partial tiles with zeros, so there is no tail here: edgeTile is the scalar tail of the
// product. Exported for bench/ceiling.ts, which times it on data in L1.
export function kernel4x8(
  Ap: usize, Bp: usize, kc: i32, C: usize, ldc: i32, accumulate: bool,
): void {
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

// reference/gemm.ts: gemm (a 4x4 block transposed, no loop). Stores rows r0..r3 (4 floats each)
// as columns: dst[k·step + i] = r_i[k] for k, i < 4 (step in bytes between the 4 output vectors).
// @ts-ignore: decorator
@inline function store4x4T(
  dst: usize, step: usize, r0: v128, r1: v128, r2: v128, r3: v128,
): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(dst + step, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * step, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * step, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

// reference/gemm.ts: gemm (packing of op(a)). Ap[panel p][k][r] = op(a)[i0 + p·MR + r, k0 + k],
// with op(a)[i, k] = a[i·rsA + k·csA]; rows past mc are zero so edge tiles run the same kernel.
// The scalar loop at the end is the tail (partial panels, and the k left after 4x4 blocks).
function packA(
  Ap: usize, a: usize, rsA: i32, csA: i32, i0: i32, mc: i32, k0: i32, kc: i32,
): void {
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
      const r0 = a + (<usize>((i0 + p) * rsA + k0) << 2), r1 = r0 + rs, r2 = r1 + rs;
      const r3 = r2 + rs;
      for (; kDone + 4 <= kc; kDone += 4) {
        const o = <usize>kDone << 2;
        store4x4T(
          panel + (<usize>(kDone * MR) << 2), 16,
          v128.load(r0 + o), v128.load(r1 + o), v128.load(r2 + o), v128.load(r3 + o),
        );
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

// reference/gemm.ts: gemm (packing of op(b)). Bp[panel q][k][c] = op(b)[k0 + k, j0 + q·NR + c],
// with op(b)[k, j] = b[k·rsB + j·csB]; columns past nc are zero. The scalar loop at the end is
// the tail (partial panels, and the k left after 4x4 blocks).
function packB(
  Bp: usize, b: usize, rsB: i32, csB: i32, k0: i32, kc: i32, j0: i32, nc: i32,
): void {
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
          const o = s0 + (<usize>k << 2) + h * 4 * cs;
          const dst = panel + (<usize>(k * NR) << 2) + h * 16;
          store4x4T(
            dst, 32, v128.load(o), v128.load(o + cs), v128.load(o + 2 * cs), v128.load(o + 3 * cs),
          );
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

// reference/gemm.ts: gemm. out (M x N, row stride ldc) = op(a) (M x K) · op(b) (K x N), where
// op(a)[i, k] = a[i·rsA + k·csA] and op(b)[k, j] = b[k·rsB + j·csB] (element strides; this one
// form covers all four transpose combinations and the row/column slices the threads take).
// Overwrites out. scratch holds gemmScratchBytes() bytes. The partial tiles at the edges go
// through edgeTile (the scalar tail).
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
        beat();
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

// reference/gemm.ts: gemm (scalar tail). C[r, c] (+)= tile[r, c] for the rows x cols valid part
// of a partial micro-tile.
function edgeTile(
  C: usize, ldc: i32, tile: usize, rows: i32, cols: i32, accumulate: bool,
): void {
  for (let r = 0; r < rows; r++) {
    const dst = C + (<usize>(r * ldc) << 2), src = tile + (<usize>(r * NR) << 2);
    for (let c = 0; c < cols; c++) {
      const o = <usize>c << 2;
      const v = load<f32>(src + o);
      store<f32>(dst + o, accumulate ? load<f32>(dst + o) + v : v);
    }
  }
}

// reference/gemm.ts: gemm, rows (or columns) lo .. hi of out: the product of those rows of op(a)
// (or columns of op(b)). Arguments (jobs.ts: gemm): out, a, b | M, K, N, rsA, csA, rsB, csB,
// byRows.
export function gemmJob(ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize): void {
  const out = ptrArg(ints, 0), a = ptrArg(ints, 1), b = ptrArg(ints, 2);
  const M = intArg(ints, 3), K = intArg(ints, 4), N = intArg(ints, 5);
  const rsA = intArg(ints, 6), csA = intArg(ints, 7), rsB = intArg(ints, 8), csB = intArg(ints, 9);
  const byRows = intArg(ints, 10) != 0, ldc = N;
  const rows = byRows ? hi - lo : M, cols = byRows ? N : hi - lo;
  const outAt = byRows ? lo * ldc : lo, aAt = byRows ? lo * rsA : 0, bAt = byRows ? 0 : lo * csB;
  gemm(
    out + (<usize>outAt << 2), a + (<usize>aAt << 2), b + (<usize>bAt << 2), rows, K, cols,
    rsA, csA, rsB, csB, ldc, scratch,
  );
}

// reference/gemm.ts: gemmBatched, rows lo .. hi of the batch·M rows of all the outputs (row r of
// matrix i is row i·M + r): out[i] (M x N, at i·strideOut) = op(a[i]) · op(b[i]), a[i] at
// i·strideA and b[i] at i·strideB (a stride of 0: one matrix for every i), op as in gemm. Each
// matrix's share of the rows is one gemm call, whose sums per element do not depend on the rows
// it is given, so the split across threads changes no result. Arguments (jobs.ts: gemmBatched):
// out, a, b | M, K, N, rsA, csA, rsB, csB, strideA, strideB, strideOut.
export function gemmBatchedJob(
  ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize,
): void {
  const out = ptrArg(ints, 0), a = ptrArg(ints, 1), b = ptrArg(ints, 2);
  const M = intArg(ints, 3), K = intArg(ints, 4), N = intArg(ints, 5);
  const rsA = intArg(ints, 6), csA = intArg(ints, 7), rsB = intArg(ints, 8), csB = intArg(ints, 9);
  const strideA = intArg(ints, 10), strideB = intArg(ints, 11), strideOut = intArg(ints, 12);
  if (M <= 0) return;
  for (let i = lo / M; i * M < hi; i++) {
    const r0 = max(lo - i * M, 0), r1 = min(hi - i * M, M); // rows [r0, r1) of matrix i
    const outAt = i * strideOut + r0 * N, aAt = i * strideA + r0 * rsA, bAt = i * strideB;
    gemm(
      out + (<usize>outAt << 2), a + (<usize>aAt << 2), b + (<usize>bAt << 2), r1 - r0, K, N,
      rsA, csA, rsB, csB, N, scratch,
    );
  }
}
