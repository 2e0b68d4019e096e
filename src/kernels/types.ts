// src/kernels/types.ts: the one interface behind which every hot loop lives. reference/ is
// its definition; a fast backend (kernels/wasm) must agree with it to 1e-5 relative in float32.
import type { DType } from '../tensor/index.js';

export type Buf = Float32Array | Float64Array;

export interface GemmOpts {
  /** a is stored (K, M) and used transposed. */
  readonly transA?: boolean;
  /** b is stored (N, K) and used transposed. */
  readonly transB?: boolean;
}

/** Where the matrices of gemmBatched lie: element offsets from one matrix to the next. */
export interface GemmBatchedOpts extends GemmOpts {
  /** From a[i] to a[i + 1] (default M·K; 0 uses one matrix of a for every i). */
  readonly strideA?: number;
  /** From b[i] to b[i + 1] (default K·N; 0 uses one matrix of b for every i). */
  readonly strideB?: number;
  /** From out[i] to out[i + 1] (default M·N; at least M·N, so that the outputs do not overlap). */
  readonly strideOut?: number;
}

/** One Adam step's scalars, bias corrections folded in (see adamStep). */
export interface AdamHypers {
  readonly beta1: number;
  readonly beta2: number;
  /** lr / (1 − β1^t) */
  readonly stepSize: number;
  /** 1 / √(1 − β2^t) */
  readonly invBc2Sqrt: number;
  readonly eps: number;
  /** L2 penalty added to the gradient (torch's weight_decay for Adam; 0 for AdamW). */
  readonly l2: number;
}

/** Geometry of one convolution: input (C, H, W), filters (HH, WW), output (Hout, Wout). */
export interface ConvGeometry {
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly HH: number;
  readonly WW: number;
  readonly stride: number;
  readonly pad: number;
  readonly Hout: number; // 1 + floor((H + 2 pad - HH) / stride)
  readonly Wout: number; // 1 + floor((W + 2 pad - WW) / stride)
}

/**
 * Kernels take contiguous row-major buffers and explicit sizes, trust their callers (the
 * layers validate) and overwrite their output; the in-place ones say so.
 */
export interface Kernels {
  readonly name: string;
  /** Whether this backend runs that dtype; kernelsFor() sends the rest to the reference. */
  supports(dtype: DType): boolean;
  /** out (M, N) = op(a) (M, K) · op(b) (K, N). Overwrites out. */
  gemm(out: Buf, a: Buf, b: Buf, M: number, K: number, N: number, opts?: GemmOpts): void;
  /**
   * A batch of products (attention's scores and weighted sums): for i < batch,
   * out[i] (M, N) = op(a[i]) (M, K) · op(b[i]) (K, N), where matrix i of a starts at element
   * i·strideA (default M·K; 0 broadcasts one matrix to every i), of b at i·strideB (default K·N)
   * and of out at i·strideOut (default M·N); transA / transB as in gemm, per matrix (a[i] stored
   * (K, M), b[i] stored (N, K)). Overwrites the batch·M·N elements of out it addresses.
   */
  gemmBatched(
    out: Buf,
    a: Buf,
    b: Buf,
    batch: number,
    M: number,
    K: number,
    N: number,
    opts?: GemmBatchedOpts,
  ): void;
  /** In place: x[m, n] += v[n] for x (M, N), v (N). */
  addRowVector(x: Buf, v: Buf, M: number, N: number): void;
  /** out[n] = Σ_m x[m, n] for x (M, N), out (N). Overwrites out. */
  sumRows(out: Buf, x: Buf, M: number, N: number): void;
  /**
   * cols (C·HH·WW, N·Hout·Wout) from N images x (N, C, H, W) (N defaults to 1): column
   * n·Hout·Wout + ho·Wout + wo holds image n's window at (ho, wo); zero where it is in the padding.
   */
  im2col(cols: Buf, x: Buf, g: ConvGeometry, N?: number): void;
  /** dx (N, C, H, W) = the sum of every column entry back at the pixel it was read from. Overwrites dx. */
  col2im(dx: Buf, cols: Buf, g: ConvGeometry, N?: number): void;
  /** out = max(x, 0) elementwise. Overwrites out. */
  reluForward(out: Buf, x: Buf): void;
  /** dx = dout where x > 0, else 0. Overwrites dx. */
  reluBackward(dx: Buf, dout: Buf, x: Buf): void;
  /**
   * out (planes, ⌊H/2⌋, ⌊W/2⌋) = max pooling of x (planes, H, W) over 2x2 windows at stride 2: each
   * window's first maximum in row-major order (a tie keeps the earlier cell; a NaN wins, the first
   * one). Overwrites out.
   */
  maxPool2x2Forward(out: Buf, x: Buf, planes: number, H: number, W: number): void;
  /** dx (planes, H, W) = dout routed to each window's first maximum in x (as the forward chose it), 0 elsewhere. Overwrites dx. */
  maxPool2x2Backward(dx: Buf, dout: Buf, x: Buf, planes: number, H: number, W: number): void;
  /**
   * relu then 2x2 max pooling in one pass: out = maxPool2x2Forward(relu(x)) exactly (relu keeps
   * NaN; x: (planes, H, W) => out: (planes, ⌊H/2⌋, ⌊W/2⌋)). Overwrites out.
   */
  reluMaxPool2x2Forward(out: Buf, x: Buf, planes: number, H: number, W: number): void;
  /**
   * Its backward: dx (planes, H, W) = dout routed to each window's first maximum of relu(x), where
   * x there is > 0; 0 elsewhere (exactly maxPool2x2Backward on relu(x), then reluBackward). x is
   * the relu's input. Overwrites dx.
   */
  reluMaxPool2x2Backward(dx: Buf, dout: Buf, x: Buf, planes: number, H: number, W: number): void;
  /** out (B, A, P) = x (A, B, P): the two outer axes swapped. Overwrites out. */
  swapOuterAxes(out: Buf, x: Buf, A: number, B: number, P: number): void;
  /**
   * Per-channel moments of x read as (A, C, B): with d = x[a, c, b] − x[0, c, 0], sums[c] = Σ d and
   * sums[C + c] = Σ d² over a and b, in float64. Overwrites sums (2C).
   */
  channelMoments(sums: Float64Array, x: Buf, A: number, C: number, B: number): void;
  /** sums[c] = Σ u and sums[C + c] = Σ u·(v − mean[c]) over a and b of u, v (A, C, B), in float64. Overwrites sums (2C). */
  channelDots(
    sums: Float64Array,
    u: Buf,
    v: Buf,
    mean: Float64Array,
    A: number,
    C: number,
    B: number,
  ): void;
  /** out = (x − mean[c])·scale[c] + shift[c] over (A, C, B), in float64, rounded once. Overwrites out. */
  channelNormalize(
    out: Buf,
    x: Buf,
    mean: Float64Array,
    scale: Float64Array,
    shift: Float64Array,
    A: number,
    C: number,
    B: number,
  ): void;
  /** out = coef[c]·u + coef[C + c]·(v − mean[c]) + coef[2C + c] over (A, C, B), in float64, rounded once. Overwrites out. */
  channelCombine(
    out: Buf,
    u: Buf,
    v: Buf,
    mean: Float64Array,
    coef: Float64Array,
    A: number,
    C: number,
    B: number,
  ): void;
  /**
   * Direct convolution at stride 1 (for a small C·HH·WW, e.g. a network's first layer):
   * out (N, F, Hout, Wout) = Σ over taps (c, i, j) of w[f, c, i, j]·x[n, c, ho − pad + i, wo − pad + j]
   * (zero off the image) + b[f], Hout = H + 2pad − HH + 1. Overwrites out.
   */
  convDirect(
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
  ): void;
  /** dw (F, C, HH, WW) and db (F) of convDirect from dout (N, F, Hout, Wout) and x. Overwrites dw, db. */
  convDirectWeightGrad(
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
  ): void;
  /**
   * Optional: whether this backend wants convDirect for this geometry (faster than im2col + gemm,
   * and its per-thread scratch holds a padded image). Layers never send convolutions to the
   * convDirect of a backend without it; the reference's convDirect is the definition only.
   */
  convDirectFits?(C: number, H: number, W: number, pad: number): boolean;
  /** In place, torch's SGD: w −= lr·(dw + weightDecay·w), in float64, rounded once. */
  sgdStep(w: Buf, dw: Buf, lr: number, weightDecay: number): void;
  /** In place, torch's Adam: updates w, m and v (see reference/optim.ts: adamStep), in float64. */
  adamStep(w: Buf, dw: Buf, m: Buf, v: Buf, h: AdamHypers): void;
  /** Optional: buf.fill(0), done faster where buf is resident (see residentBlock). */
  zero?(buf: Float32Array): void;
  /**
   * Optional: a zeroed block of `length` float32s inside the backend's own memory, which its
   * kernels then read and write in place instead of copying (see StepMemory). The block stays
   * valid until it is given back with releaseBlock. null when the backend cannot hand out such
   * blocks (e.g. WASM memory that is not shared, whose growth would detach them).
   */
  residentBlock?(length: number): Float32Array | null;
  /** Takes back a block of residentBlock for reuse; views of it must no longer be used. */
  releaseBlock?(block: Float32Array): void;
  /** Optional: whether buf lies in the backend's own memory (a block of residentBlock or a view of one). */
  isResident?(buf: Buf): boolean;
}
