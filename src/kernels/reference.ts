// src/kernels/reference.ts: the plain TypeScript kernels, the definition every fast backend is
// checked against. Written cache-friendly (contiguous inner loops, blocking, hoisted offsets),
// for float32 and float64 alike.
import type { DType } from '../tensor/index.js';
import type { AdamHypers, Buf, ConvGeometry, GemmOpts, Kernels } from './types.js';

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

/**
 * cols[(c·HH + i)·WW + j, n·Hout·Wout + ho·Wout + wo] = x[n, c, ho·stride − pad + i, wo·stride − pad + j],
 * 0 off the image, for x (N, C, H, W) and cols (C·HH·WW, N·Hout·Wout).
 */
export function im2col(cols: Buf, x: Buf, g: ConvGeometry, N = 1): void {
  const { C, H, W, HH, WW, stride, pad, Hout, Wout } = g;
  const HWout = Hout * Wout;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < HH; i++) {
      for (let j = 0; j < WW; j++) {
        for (let n = 0; n < N; n++) {
          const xChan = (n * C + c) * H * W,
            colRow = (((c * HH + i) * WW + j) * N + n) * HWout;
          for (let ho = 0; ho < Hout; ho++) {
            const h = ho * stride - pad + i;
            const outOff = colRow + ho * Wout;
            if (h < 0 || h >= H) {
              cols.fill(0, outOff, outOff + Wout);
              continue;
            }
            const xRow = xChan + h * W;
            for (let wo = 0; wo < Wout; wo++) {
              const w = wo * stride - pad + j;
              cols[outOff + wo] = w >= 0 && w < W ? x[xRow + w] : 0;
            }
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: dx[n, c, h, w] = Σ of every cols entry that im2col read from x[n, c, h, w]. */
export function col2im(dx: Buf, cols: Buf, g: ConvGeometry, N = 1): void {
  const { C, H, W, HH, WW, stride, pad, Hout, Wout } = g;
  const HWout = Hout * Wout;
  dx.fill(0, 0, N * C * H * W);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < HH; i++) {
      for (let j = 0; j < WW; j++) {
        for (let n = 0; n < N; n++) {
          const xChan = (n * C + c) * H * W,
            colRow = (((c * HH + i) * WW + j) * N + n) * HWout;
          for (let ho = 0; ho < Hout; ho++) {
            const h = ho * stride - pad + i;
            if (h < 0 || h >= H) continue;
            const xRow = xChan + h * W,
              colOff = colRow + ho * Wout;
            for (let wo = 0; wo < Wout; wo++) {
              const w = wo * stride - pad + j;
              if (w >= 0 && w < W) dx[xRow + w] += cols[colOff + wo];
            }
          }
        }
      }
    }
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

/** out (B, A, P) = x (A, B, P): the two outer axes swapped, rows of P copied whole. Overwrites out. */
export function swapOuterAxes(out: Buf, x: Buf, A: number, B: number, P: number): void {
  for (let a = 0; a < A; a++) {
    for (let b = 0; b < B; b++)
      out.set(x.subarray((a * B + b) * P, (a * B + b + 1) * P), (b * A + a) * P);
  }
}

/**
 * Per-channel moments of x read as (A, C, B) (A images, C channels of B values): for d = x[a, c, b]
 * − x[0, c, 0] (a value of the channel itself, so that the variance does not cancel catastrophically
 * when |mean| ≫ std), sums[c] = Σ d and sums[C + c] = Σ d² over a and b, in float64. Overwrites sums (2C).
 */
export function channelMoments(sums: Float64Array, x: Buf, A: number, C: number, B: number): void {
  sums.fill(0, 0, 2 * C);
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const off = (a * C + c) * B,
        K = x[c * B];
      let s = 0,
        s2 = 0;
      for (let b = 0; b < B; b++) {
        const d = x[off + b] - K;
        s += d;
        s2 += d * d;
      }
      sums[c] += s;
      sums[C + c] += s2;
    }
  }
}

/**
 * Per-channel sums over u, v read as (A, C, B): sums[c] = Σ u and sums[C + c] = Σ u·(v − mean[c])
 * over a and b, in float64 (batch norm's Σ dout and Σ dout·(x − μ)). Overwrites sums (2C).
 */
export function channelDots(
  sums: Float64Array,
  u: Buf,
  v: Buf,
  mean: Float64Array,
  A: number,
  C: number,
  B: number,
): void {
  sums.fill(0, 0, 2 * C);
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const off = (a * C + c) * B,
        mu = mean[c];
      let s = 0,
        t = 0;
      for (let b = 0; b < B; b++) {
        s += u[off + b];
        t += u[off + b] * (v[off + b] - mu);
      }
      sums[c] += s;
      sums[C + c] += t;
    }
  }
}

/**
 * out[a, c, b] = (x[a, c, b] − mean[c])·scale[c] + shift[c], evaluated in float64 and rounded once
 * (batch norm's normalisation). x, out: (A, C, B); mean, scale, shift: (C). Overwrites out.
 */
export function channelNormalize(
  out: Buf,
  x: Buf,
  mean: Float64Array,
  scale: Float64Array,
  shift: Float64Array,
  A: number,
  C: number,
  B: number,
): void {
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const off = (a * C + c) * B,
        mu = mean[c],
        k = scale[c],
        sh = shift[c];
      for (let b = 0; b < B; b++) out[off + b] = (x[off + b] - mu) * k + sh;
    }
  }
}

/**
 * out[a, c, b] = coef[c]·u[a, c, b] + coef[C + c]·(v[a, c, b] − mean[c]) + coef[2C + c], evaluated in
 * float64 in that order and rounded once (batch norm's closed-form dx). u, v, out: (A, C, B); mean (C),
 * coef (3C). Overwrites out.
 */
export function channelCombine(
  out: Buf,
  u: Buf,
  v: Buf,
  mean: Float64Array,
  coef: Float64Array,
  A: number,
  C: number,
  B: number,
): void {
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const off = (a * C + c) * B,
        mu = mean[c],
        ku = coef[c],
        kv = coef[C + c],
        k0 = coef[2 * C + c];
      for (let b = 0; b < B; b++) out[off + b] = ku * u[off + b] + kv * (v[off + b] - mu) + k0;
    }
  }
}

/** torch's SGD step, in place: w[i] −= lr·(dw[i] + weightDecay·w[i]), in float64, rounded once. */
export function sgdStep(w: Buf, dw: Buf, lr: number, weightDecay: number): void {
  for (let i = 0; i < w.length; i++) w[i] -= lr * (dw[i] + weightDecay * w[i]);
}

/**
 * torch's Adam step, in place, in float64 (m and v rounded when stored; the update uses the
 * unrounded values): g = dw + l2·w;  m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g·g;
 * w −= stepSize·m / (√v·invBc2Sqrt + eps), where the caller folds the bias corrections into
 * stepSize = lr/(1 − β1^t) and invBc2Sqrt = 1/√(1 − β2^t).
 */
export function adamStep(w: Buf, dw: Buf, m: Buf, v: Buf, h: AdamHypers): void {
  const { beta1: b1, beta2: b2, stepSize, invBc2Sqrt, eps, l2 } = h;
  const c1 = 1 - b1,
    c2 = 1 - b2;
  for (let i = 0; i < w.length; i++) {
    const g = dw[i] + l2 * w[i];
    const mi = b1 * m[i] + c1 * g,
      vi = b2 * v[i] + c2 * g * g;
    m[i] = mi;
    v[i] = vi;
    w[i] -= (stepSize * mi) / (Math.sqrt(vi) * invBc2Sqrt + eps);
  }
}

/**
 * Direct convolution at stride 1: out[n, f, ho, wo] = Σ over taps (c, i, j), in that order, of
 * w[f, c, i, j]·x[n, c, ho − pad + i, wo − pad + j] (taps off the image skipped), then + b[f].
 * x: (N, C, H, W), w: (F, C, HH, WW), b: (F) => out: (N, F, H + 2pad − HH + 1, W + 2pad − WW + 1).
 * Overwrites out.
 */
export function convDirect(
  out: Buf,
  x: Buf,
  w: Buf,
  b: Buf,
  N: number,
  C: number,
  H: number,
  W: number,
  F: number,
  HH: number,
  WW: number,
  pad: number,
): void {
  const Hout = H + 2 * pad - HH + 1,
    Wout = W + 2 * pad - WW + 1;
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      for (let ho = 0; ho < Hout; ho++) {
        for (let wo = 0; wo < Wout; wo++, o++) {
          let s = 0;
          for (let c = 0; c < C; c++) {
            for (let i = 0; i < HH; i++) {
              const h = ho - pad + i;
              if (h < 0 || h >= H) continue;
              for (let j = 0; j < WW; j++) {
                const col = wo - pad + j;
                if (col >= 0 && col < W)
                  s += w[((f * C + c) * HH + i) * WW + j] * x[((n * C + c) * H + h) * W + col];
              }
            }
          }
          out[o] = s + b[f];
        }
      }
    }
  }
}

/**
 * The weight and bias gradients of convDirect: dw[f, c, i, j] = Σ over n, ho, wo of
 * dout[n, f, ho, wo]·x[n, c, ho − pad + i, wo − pad + j], db[f] = Σ over n, ho, wo of dout[n, f, ho, wo].
 * Overwrites dw (F, C, HH, WW) and db (F).
 */
export function convDirectWeightGrad(
  dw: Buf,
  db: Buf,
  dout: Buf,
  x: Buf,
  N: number,
  C: number,
  H: number,
  W: number,
  F: number,
  HH: number,
  WW: number,
  pad: number,
): void {
  const Hout = H + 2 * pad - HH + 1,
    Wout = W + 2 * pad - WW + 1;
  for (let f = 0; f < F; f++) {
    let sb = 0;
    for (let n = 0; n < N; n++) {
      const plane = (n * F + f) * Hout * Wout;
      for (let k = 0; k < Hout * Wout; k++) sb += dout[plane + k];
    }
    db[f] = sb;
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < HH; i++) {
        for (let j = 0; j < WW; j++) {
          let s = 0;
          for (let n = 0; n < N; n++) {
            const plane = (n * F + f) * Hout * Wout,
              chan = (n * C + c) * H * W;
            for (let ho = Math.max(0, pad - i); ho < Math.min(Hout, H + pad - i); ho++) {
              const h = ho - pad + i;
              for (let wo = Math.max(0, pad - j); wo < Math.min(Wout, W + pad - j); wo++) {
                s += dout[plane + ho * Wout + wo] * x[chan + h * W + wo - pad + j];
              }
            }
          }
          dw[((f * C + c) * HH + i) * WW + j] = s;
        }
      }
    }
  }
}

export const reference: Kernels = {
  name: 'reference',
  supports: (dtype: DType) => dtype === 'float32' || dtype === 'float64',
  gemm,
  addRowVector,
  sumRows,
  im2col,
  col2im,
  reluForward,
  reluBackward,
  maxPool2x2Forward,
  maxPool2x2Backward,
  swapOuterAxes,
  channelMoments,
  channelDots,
  channelNormalize,
  channelCombine,
  sgdStep,
  adamStep,
  convDirect,
  convDirectWeightGrad,
};
