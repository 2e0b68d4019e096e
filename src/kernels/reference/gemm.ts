// src/kernels/reference/gemm.ts: the matrix products, the definition the WASM gemm
// (src/kernels/wasm/assembly/gemm.ts) is checked against. Written cache-friendly (contiguous
// inner loops, blocking, hoisted offsets), for float32 and float64 alike.
import type { Buf, GemmBatchedOpts, GemmOpts } from '../types.js';

const BLOCK_K = 128; // rows of b kept hot while a panel of out is updated
const BLOCK_N = 512; // columns of out / b per panel (512 float64 = 4 KiB per row)

/**
 * out (M, N) = op(a) · op(b). Plain case: for each row i of out, out[i, :] += a[i, k] * b[k, :]
 * over k (an axpy on contiguous rows), blocked over k and n, four rows of b at a time.
 */
export function gemm(
  out: Buf,
  a: Buf,
  b: Buf,
  M: number,
  K: number,
  N: number,
  opts: GemmOpts = {},
): void {
  if (opts.transB) {
    if (opts.transA) {
      gemmTransA(out, a, transpose(b, N, K), M, K, N); // b (N, K) -> (K, N)
    } else {
      gemmTransB(out, a, b, M, K, N);
    }
    return;
  }
  if (opts.transA) gemmTransA(out, a, b, M, K, N);
  else gemmPlain(out, a, b, M, K, N);
}

/** out = a · b with a (M, K), b (K, N). */
function gemmPlain(out: Buf, a: Buf, b: Buf, M: number, K: number, N: number): void {
  out.fill(0, 0, M * N);
  for (let j0 = 0; j0 < N; j0 += BLOCK_N) {
    const j1 = Math.min(j0 + BLOCK_N, N);
    for (let k0 = 0; k0 < K; k0 += BLOCK_K) {
      const k1 = Math.min(k0 + BLOCK_K, K);
      for (let i = 0; i < M; i++) {
        const outRow = i * N,
          aRow = i * K;
        let k = k0;
        for (; k + 3 < k1; k += 4) {
          const a0 = a[aRow + k],
            a1 = a[aRow + k + 1],
            a2 = a[aRow + k + 2],
            a3 = a[aRow + k + 3];
          const b0 = k * N,
            b1 = b0 + N,
            b2 = b1 + N,
            b3 = b2 + N;
          for (let j = j0; j < j1; j++) {
            out[outRow + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
          }
        }
        for (; k < k1; k++) {
          const ak = a[aRow + k],
            bRow = k * N;
          for (let j = j0; j < j1; j++) out[outRow + j] += ak * b[bRow + j];
        }
      }
    }
  }
}

/** out = aᵀ · b with a stored (K, M), b (K, N). */
function gemmTransA(out: Buf, a: Buf, b: Buf, M: number, K: number, N: number): void {
  out.fill(0, 0, M * N);
  for (let j0 = 0; j0 < N; j0 += BLOCK_N) {
    const j1 = Math.min(j0 + BLOCK_N, N);
    for (let k0 = 0; k0 < K; k0 += BLOCK_K) {
      const k1 = Math.min(k0 + BLOCK_K, K);
      for (let i = 0; i < M; i++) {
        const outRow = i * N;
        let k = k0;
        for (; k + 3 < k1; k += 4) {
          const a0 = a[k * M + i],
            a1 = a[(k + 1) * M + i],
            a2 = a[(k + 2) * M + i],
            a3 = a[(k + 3) * M + i];
          const b0 = k * N,
            b1 = b0 + N,
            b2 = b1 + N,
            b3 = b2 + N;
          for (let j = j0; j < j1; j++) {
            out[outRow + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
          }
        }
        for (; k < k1; k++) {
          const ak = a[k * M + i],
            bRow = k * N;
          for (let j = j0; j < j1; j++) out[outRow + j] += ak * b[bRow + j];
        }
      }
    }
  }
}

/** out = a · bᵀ with a (M, K), b stored (N, K): dot products of contiguous rows, 4 at a time. */
function gemmTransB(out: Buf, a: Buf, b: Buf, M: number, K: number, N: number): void {
  for (let i = 0; i < M; i++) {
    const aRow = i * K,
      outRow = i * N;
    let j = 0;
    for (; j + 3 < N; j += 4) {
      const b0 = j * K,
        b1 = b0 + K,
        b2 = b1 + K,
        b3 = b2 + K;
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      for (let k = 0; k < K; k++) {
        const ak = a[aRow + k];
        s0 += ak * b[b0 + k];
        s1 += ak * b[b1 + k];
        s2 += ak * b[b2 + k];
        s3 += ak * b[b3 + k];
      }
      out[outRow + j] = s0;
      out[outRow + j + 1] = s1;
      out[outRow + j + 2] = s2;
      out[outRow + j + 3] = s3;
    }
    for (; j < N; j++) {
      const bRow = j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += a[aRow + k] * b[bRow + k];
      out[outRow + j] = s;
    }
  }
}

/** A copy of x (R, C) transposed to (C, R), in the same precision. */
function transpose(x: Buf, R: number, C: number): Buf {
  const t = x instanceof Float32Array ? new Float32Array(R * C) : new Float64Array(R * C);
  for (let r = 0; r < R; r++) {
    const row = r * C;
    for (let c = 0; c < C; c++) t[c * R + r] = x[row + c];
  }
  return t;
}

/**
 * A batch of products, the definition in plain loops: for i < batch, out[i] (M, N) =
 * op(a[i]) (M, K) · op(b[i]) (K, N), where matrix i of a starts at i·strideA (default M·K; 0
 * gives every i the same matrix), of b at i·strideB (default K·N), of out at i·strideOut
 * (default M·N), and op transposes a[i] stored (K, M) or b[i] stored (N, K) as in gemm. Each
 * element is one sum over k, in order. Overwrites out.
 */
export function gemmBatched(
  out: Buf,
  a: Buf,
  b: Buf,
  batch: number,
  M: number,
  K: number,
  N: number,
  opts: GemmBatchedOpts = {},
): void {
  const { transA = false, transB = false } = opts;
  const { strideA = M * K, strideB = K * N, strideOut = M * N } = opts;
  // op(a[i])[m, k] = a[i·strideA + m·rsA + k·csA], op(b[i])[k, n] = b[i·strideB + k·rsB + n·csB]
  const rsA = transA ? 1 : K,
    csA = transA ? M : 1;
  const rsB = transB ? 1 : N,
    csB = transB ? K : 1;
  for (let i = 0; i < batch; i++) {
    const aAt = i * strideA,
      bAt = i * strideB,
      outAt = i * strideOut;
    for (let m = 0; m < M; m++) {
      const aRow = aAt + m * rsA,
        outRow = outAt + m * N;
      for (let n = 0; n < N; n++) {
        const bCol = bAt + n * csB;
        let s = 0;
        for (let k = 0; k < K; k++) s += a[aRow + k * csA] * b[bCol + k * rsB];
        out[outRow + n] = s;
      }
    }
  }
}
