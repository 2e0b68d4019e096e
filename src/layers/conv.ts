// src/layers/conv.ts: 2-D convolution (cross-correlation with zero padding, as torch's conv2d).
// The naive pair is the readable definition, loop by loop; the fast pair lowers blocks of images
// to columns (im2col) so that the work is one gemm per block and product, with the bias folded in. Both share one cache, so either
// backward accepts either forward's cache.
import { kernelsFor, type Buf, type ConvGeometry, type Kernels } from '../kernels/index.js';
import {
  expectFloat,
  expectNdim,
  expectNumber,
  expectOptions,
  expectSameDType,
  expectShape,
  fmt,
  ShapeError,
  Tensor,
  type FloatTensor,
} from '../tensor/index.js';

/** Convolution options: the same stride and zero padding along H and W. */
export interface ConvParam {
  readonly stride?: number; // default 1
  readonly pad?: number; // zero padding on each side, default 0
}

export interface ConvCache {
  readonly x: FloatTensor; // (N, C, H, W)
  readonly w: FloatTensor; // (F, C, HH, WW)
  readonly geometry: ConvGeometry; // per image: stride, pad, Hout, Wout
}

/** The gradients of a conv backward: dx (N, C, H, W), dw (F, C, HH, WW), db (F). */
export type ConvGrads = { dx: FloatTensor; dw: FloatTensor; db: FloatTensor };
/** The gradients of a conv backward with inputGrad false: dw (F, C, HH, WW), db (F), no dx. */
export type ConvParamGrads = { dw: FloatTensor; db: FloatTensor };

/**
 * Options of a conv backward. inputGrad false skips dx entirely (torch's needs_input_grad), for a
 * layer whose input needs no gradient, such as a network's first layer, whose input is the data.
 */
export interface ConvBackwardOptions {
  readonly inputGrad?: boolean; // compute dx, default true
}

/** Validates a conv backward's options and returns whether dx is wanted. */
function wantsInputGrad(fn: string, options: ConvBackwardOptions): boolean {
  expectOptions(fn, options, ['inputGrad']);
  const inputGrad: unknown = options.inputGrad === undefined ? true : options.inputGrad;
  if (typeof inputGrad !== 'boolean') {
    const got = typeof inputGrad === 'string' ? `'${inputGrad}'` : String(inputGrad);
    throw new TypeError(`${fn}: inputGrad must be true or false, got ${got}`);
  }
  return inputGrad;
}

/** Validates the arguments of a conv forward and returns them with the per-image geometry. */
function convArgs(
  fn: string,
  x: Tensor,
  w: Tensor,
  b: Tensor,
  convParam: ConvParam,
): { x: FloatTensor; w: FloatTensor; b: FloatTensor; g: ConvGeometry } {
  expectFloat(fn, 'x', x);
  expectFloat(fn, 'w', w);
  expectFloat(fn, 'b', b);
  expectNdim(fn, 'x', x, 4, '(N, C, H, W)');
  expectNdim(fn, 'w', w, 4, '(F, C, HH, WW)');
  expectSameDType(fn, { x, w, b });
  const [, C, H, W] = x.shape;
  const [F, , HH, WW] = w.shape;
  expectShape(fn, 'w', w, [F, C, HH, WW], `x has ${C} channels`);
  expectShape(fn, 'b', b, [F], `w has ${F} filters`);
  expectOptions(fn, convParam, ['stride', 'pad']);
  const stride = convParam.stride ?? 1,
    pad = convParam.pad ?? 0;
  expectNumber(fn, 'stride', stride, { integer: true, min: 1 });
  expectNumber(fn, 'pad', pad, { integer: true, min: 0 });
  if (HH < 1 || WW < 1)
    throw new ShapeError(`${fn}: w has shape ${fmt(w.shape)} but filters must be at least 1x1`);
  if (H + 2 * pad < HH || W + 2 * pad < WW) {
    throw new ShapeError(
      `${fn}: the ${HH}x${WW} filter does not fit the padded input ${H + 2 * pad}x${W + 2 * pad} ` +
        `(x has shape ${fmt(x.shape)}, pad ${pad}), so the output would be empty`,
    );
  }
  const Hout = 1 + Math.floor((H + 2 * pad - HH) / stride);
  const Wout = 1 + Math.floor((W + 2 * pad - WW) / stride);
  return { x, w, b, g: { C, H, W, HH, WW, stride, pad, Hout, Wout } };
}

/** Checks dout against the output shape the forward produced. */
function checkDout(
  fn: string,
  dout: Tensor,
  { x, w, geometry: g }: ConvCache,
): asserts dout is FloatTensor {
  expectFloat(fn, 'dout', dout);
  const want = [x.shape[0], w.shape[0], g.Hout, g.Wout];
  expectShape(fn, 'dout', dout, want, `the forward output was ${fmt(want)}`);
  expectSameDType(fn, { x, dout });
}

/**
 * out[n, f, ho, wo] = b[f] + Σ_{c,i,j} w[f, c, i, j] · xpad[n, c, ho·stride + i, wo·stride + j],
 * xpad = x with `pad` zeros on each side; Hout = 1 + ⌊(H + 2·pad − HH) / stride⌋ (same for W).
 * The loop-by-loop definition.   x: (N, C, H, W), w: (F, C, HH, WW), b: (F) => out: (N, F, Hout, Wout)
 */
export function convForwardNaive(
  xIn: Tensor,
  wIn: Tensor,
  bIn: Tensor,
  convParam: ConvParam = {},
): { out: FloatTensor; cache: ConvCache } {
  const { x, w, b, g } = convArgs('convForwardNaive', xIn, wIn, bIn, convParam);
  const { C, H, W, HH, WW, stride, pad, Hout, Wout } = g;
  const N = x.shape[0],
    F = w.shape[0];
  const out = Tensor.zeros([N, F, Hout, Wout], x.dtype);
  const xd = x.data,
    wd = w.data,
    bd = b.data,
    od = out.data;
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      for (let ho = 0; ho < Hout; ho++) {
        for (let wo = 0; wo < Wout; wo++) {
          let s = bd[f];
          for (let c = 0; c < C; c++) {
            for (let i = 0; i < HH; i++) {
              const h = ho * stride - pad + i;
              if (h < 0 || h >= H) continue; // a padding row: zeros
              for (let j = 0; j < WW; j++) {
                const col = wo * stride - pad + j;
                if (col < 0 || col >= W) continue;
                s += wd[((f * C + c) * HH + i) * WW + j] * xd[((n * C + c) * H + h) * W + col];
              }
            }
          }
          od[((n * F + f) * Hout + ho) * Wout + wo] = s;
        }
      }
    }
  }
  return { out, cache: { x, w, geometry: g } };
}

/**
 * The forward loops run backwards: each out[n, f, ho, wo] sends dout[n, f, ho, wo] to
 * db[f], to dw[f, c, i, j] times the input it read, and to dx at that input times w[f, c, i, j]
 * (nothing goes to the padding).   dout: (N, F, Hout, Wout) => dx: (N, C, H, W), dw: (F, C, HH, WW), db: (F)
 * With { inputGrad: false } nothing goes to dx, which is not allocated: => dw, db only.
 */
export function convBackwardNaive(
  dout: Tensor,
  cache: ConvCache,
  options?: { readonly inputGrad?: true },
): ConvGrads;
export function convBackwardNaive(
  dout: Tensor,
  cache: ConvCache,
  options: { readonly inputGrad: false },
): ConvParamGrads;
export function convBackwardNaive(
  dout: Tensor,
  cache: ConvCache,
  options?: ConvBackwardOptions,
): ConvGrads | ConvParamGrads;
export function convBackwardNaive(
  dout: Tensor,
  cache: ConvCache,
  options: ConvBackwardOptions = {},
): ConvGrads | ConvParamGrads {
  const fn = 'convBackwardNaive';
  const inputGrad = wantsInputGrad(fn, options);
  checkDout(fn, dout, cache);
  const { x, w, geometry: g } = cache;
  const { C, H, W, HH, WW, stride, pad, Hout, Wout } = g;
  const N = x.shape[0],
    F = w.shape[0];
  const dx = inputGrad ? Tensor.zeros(x.shape, x.dtype) : null;
  const dw = Tensor.zeros(w.shape, x.dtype),
    db = Tensor.zeros([F], x.dtype);
  const xd = x.data,
    wd = w.data,
    gd = dout.data,
    dxd = dx?.data;
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      for (let ho = 0; ho < Hout; ho++) {
        for (let wo = 0; wo < Wout; wo++) {
          const d = gd[((n * F + f) * Hout + ho) * Wout + wo];
          db.data[f] += d;
          for (let c = 0; c < C; c++) {
            for (let i = 0; i < HH; i++) {
              const h = ho * stride - pad + i;
              if (h < 0 || h >= H) continue;
              for (let j = 0; j < WW; j++) {
                const col = wo * stride - pad + j;
                if (col < 0 || col >= W) continue;
                const xAt = ((n * C + c) * H + h) * W + col,
                  wAt = ((f * C + c) * HH + i) * WW + j;
                dw.data[wAt] += d * xd[xAt];
                if (dxd) dxd[xAt] += d * wd[wAt];
              }
            }
          }
        }
      }
    }
  }
  return dx ? { dx, dw, db } : { dw, db };
}

/** The most taps (C·HH·WW) for which convolutions at stride 1 run the direct kernel. */
const DIRECT_MAX_TAPS = 75;

/**
 * Whether this convolution runs the direct kernel (convDirect) instead of im2col + gemm: stride 1
 * and few taps (C·HH·WW up to 3x5x5, a network's first layer), where the lowered product is only
 * that many rows deep and lowering, packing and the axis swap cost more than the arithmetic; on
 * backends that offer it (convDirectFits: the wasm one; the reference keeps the lowered path).
 * (The weight gradient goes direct only without dx, which the lowered path computes alongside.)
 */
function directConv(k: Kernels, g: ConvGeometry): boolean {
  return (
    g.stride === 1 &&
    g.C * g.HH * g.WW <= DIRECT_MAX_TAPS &&
    (k.convDirectFits?.(g.C, g.H, g.W, g.pad) ?? false)
  );
}

/**
 * Images per lowered block: cols holds (C·HH·WW + 1)·G·Hout·Wout entries, at most 2^16 (256 KiB in
 * float32) unless one image needs more, so that a block's columns and outputs stay in L2. Measured
 * on the bench's CNN layer (64x1x28x28, 32 5x5 filters, shared 2-core machine): fwd+bwd 15 ms at
 * 2^15-2^16 (1-3 images a block), 21-26 ms at 2^17, 39 ms with the whole batch in one block (2^22).
 */
function imagesPerBlock(N: number, K: number, P: number): number {
  return Math.max(1, Math.min(N, Math.floor(2 ** 16 / ((K + 1) * P))));
}

/**
 * Lowers images n0 .. n0 + G − 1 of x to columns with a row of ones below them:
 * cols (K + 1, G·P), cols[r, n·P + p] = im2col(x[n0 + n])[r, p] for r < K, cols[K, :] = 1.
 * The ones row carries the bias through the forward product and db out of the backward one.
 */
function lowerImages(cols: Buf, x: Buf, g: ConvGeometry, n0: number, G: number): void {
  const K = g.C * g.HH * g.WW,
    P = g.Hout * g.Wout,
    CHW = g.C * g.H * g.W;
  kernelsFor(x instanceof Float32Array ? 'float32' : 'float64').im2col(
    cols,
    x.subarray(n0 * CHW, (n0 + G) * CHW),
    g,
    G,
  );
  cols.fill(1, K * G * P, (K + 1) * G * P);
}

/**
 * Same maths as convForwardNaive, lowered for a block of G images to one matrix product:
 * cols = [im2col(x[n0 .. n0+G]); 1] (C·HH·WW + 1, G·Hout·Wout), outT = [w | b] (F, C·HH·WW + 1) · cols,
 * out[n0 + n, f] = outT[f, n·P .. (n+1)·P]. A block is as many images as keep cols in L2.
 * x: (N, C, H, W), w: (F, C, HH, WW), b: (F) => out: (N, F, Hout, Wout)
 */
export function convForward(
  xIn: Tensor,
  wIn: Tensor,
  bIn: Tensor,
  convParam: ConvParam = {},
): { out: FloatTensor; cache: ConvCache } {
  const { x, w, b, g } = convArgs('convForward', xIn, wIn, bIn, convParam);
  const N = x.shape[0],
    F = w.shape[0];
  const K = g.C * g.HH * g.WW,
    P = g.Hout * g.Wout,
    G = imagesPerBlock(N, K, P);
  const k = kernelsFor(x.dtype);
  if (directConv(k, g)) {
    const out = Tensor.empty([N, F, g.Hout, g.Wout], x.dtype); // written in full by the kernel
    k.convDirect(out.data, x.data, w.data, b.data, N, g.C, g.H, g.W, F, g.HH, g.WW, g.pad);
    return { out, cache: { x, w, geometry: g } };
  }
  // empty: out, cols and outT are written in full below (swapOuterAxes, im2col + ones, gemm)
  const out = Tensor.empty([N, F, g.Hout, g.Wout], x.dtype);
  const wb = withBias(w.data, b.data, F, K); // (F, K + 1)
  const cols = Tensor.empty([K + 1, G * P], x.dtype).data;
  const outT = Tensor.empty([F, G * P], x.dtype).data;
  for (let n0 = 0; n0 < N; n0 += G) {
    const B = Math.min(G, N - n0);
    lowerImages(cols, x.data, g, n0, B);
    k.gemm(outT, wb, cols, F, K + 1, B * P); // (F, K + 1)·(K + 1, B·P)
    k.swapOuterAxes(out.data.subarray(n0 * F * P), outT, F, B, P); // (F, B, P) -> (B, F, P)
  }
  return { out, cache: { x, w, geometry: g } };
}

/**
 * Per block of G images, with cols = [im2col(x[n0 .. n0+G]); 1] and doutT = dout[n0 .. n0+G]
 * read as (F, G·P): [dw | db]ᵀ += cols·doutTᵀ;  dx[n0 .. n0+G] = col2im(wᵀ·doutT).
 * dout: (N, F, Hout, Wout) => dx: (N, C, H, W), dw: (F, C, HH, WW), db: (F)
 * With { inputGrad: false } the dx half (the wᵀ·doutT gemm and col2im, about a third of the work)
 * is skipped and dx not allocated: => dw, db only, bit-identical to the default call's.
 */
export function convBackward(
  dout: Tensor,
  cache: ConvCache,
  options?: { readonly inputGrad?: true },
): ConvGrads;
export function convBackward(
  dout: Tensor,
  cache: ConvCache,
  options: { readonly inputGrad: false },
): ConvParamGrads;
export function convBackward(
  dout: Tensor,
  cache: ConvCache,
  options?: ConvBackwardOptions,
): ConvGrads | ConvParamGrads;
export function convBackward(
  dout: Tensor,
  cache: ConvCache,
  options: ConvBackwardOptions = {},
): ConvGrads | ConvParamGrads {
  const fn = 'convBackward';
  const inputGrad = wantsInputGrad(fn, options);
  checkDout(fn, dout, cache);
  const { x, w, geometry: g } = cache;
  const N = x.shape[0],
    F = w.shape[0];
  const K = g.C * g.HH * g.WW,
    P = g.Hout * g.Wout,
    CHW = g.C * g.H * g.W,
    G = imagesPerBlock(N, K, P);
  const k = kernelsFor(x.dtype);
  if (!inputGrad && directConv(k, g)) {
    const dw = Tensor.empty(w.shape, x.dtype),
      db = Tensor.empty([F], x.dtype); // written in full by the kernel
    k.convDirectWeightGrad(
      dw.data,
      db.data,
      dout.data,
      x.data,
      N,
      g.C,
      g.H,
      g.W,
      F,
      g.HH,
      g.WW,
      g.pad,
    );
    return { dw, db };
  }
  // empty: dx (col2im per block), cols, doutT and dwbT are written in full; dw, db accumulate
  const dx = inputGrad ? Tensor.empty(x.shape, x.dtype) : null;
  const dw = Tensor.zeros(w.shape, x.dtype),
    db = Tensor.zeros([F], x.dtype);
  const cols = Tensor.empty([K + 1, G * P], x.dtype).data; // lowered x, then reused for dcols
  const doutT = Tensor.empty([F, G * P], x.dtype).data;
  const dwbT = Tensor.empty([K + 1, F], x.dtype).data; // one block's [dw | db]ᵀ
  for (let n0 = 0; n0 < N; n0 += G) {
    const B = Math.min(G, N - n0);
    k.swapOuterAxes(doutT, dout.data.subarray(n0 * F * P), B, F, P); // (B, F, P) -> (F, B, P)
    lowerImages(cols, x.data, g, n0, B);
    // [dw | db]ᵀ = (K + 1, B·P)·(B·P, F): ~10% faster than [dw | db] for the bench's 32 5x5 filters
    // (the gemm's 8-column micro-tiles waste less on F = 32 columns than on K + 1 = 26)
    k.gemm(dwbT, cols, doutT, K + 1, B * P, F, { transB: true });
    for (let f = 0; f < F; f++) {
      for (let r = 0; r < K; r++) dw.data[f * K + r] += dwbT[r * F + f];
      db.data[f] += dwbT[K * F + f];
    }
    if (!dx) continue;
    k.gemm(cols, w.data, doutT, K, F, B * P, { transA: true }); // dcols (K, B·P) = wᵀ·doutT
    k.col2im(dx.data.subarray(n0 * CHW, (n0 + B) * CHW), cols, g, B);
  }
  return dx ? { dx, dw, db } : { dw, db };
}

/** [w | b]: w (F, K) with b (F) as an extra last column, (F, K + 1). */
function withBias(w: Buf, b: Buf, F: number, K: number): Buf {
  const wb = Tensor.zeros([F, K + 1], w instanceof Float32Array ? 'float32' : 'float64').data;
  for (let f = 0; f < F; f++) {
    wb.set(w.subarray(f * K, (f + 1) * K), f * (K + 1));
    wb[f * (K + 1) + K] = b[f];
  }
  return wb;
}
