// src/layers/convTranspose.ts: 2-D transposed convolution (torch's conv_transpose2d), the
// adjoint of conv: each input pixel stamps its channel's filters, scaled, onto a larger output.
// The naive pair is the definition, loop by loop; the fast pair runs on conv's kernels the other
// way round: gemm + col2im forward (conv's dx path), im2col + gemm backward (conv's forward and
// dw). Both share one cache, so either backward accepts either forward's cache.
import { kernelsFor, type ConvGeometry } from '../kernels/index.js';
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
  ValueError,
  type FloatTensor,
} from '../tensor/index.js';

/** Transposed-convolution options: the same stride, padding and output padding along H and W. */
export interface ConvTransposeParam {
  readonly stride?: number; // default 1
  readonly pad?: number; // rows and columns cropped from each side of the full output, default 0
  /** Extra rows and columns on the bottom and right, default 0, below stride (torch's output_padding). */
  readonly outputPad?: number;
}

export interface ConvTransposeCache {
  readonly x: FloatTensor; // (N, C, H, W)
  readonly w: FloatTensor; // (C, F, HH, WW)
  /**
   * The geometry of the conv this layer is the adjoint of: that conv reads the output
   * (F, Hout, Wout) and produces (H, W), so its C is F, its H is Hout and its Hout is H.
   */
  readonly geometry: ConvGeometry;
}

/** The gradients of a transposed-conv backward: dx (N, C, H, W), dw (C, F, HH, WW), db (F). */
export type ConvTransposeGrads = { dx: FloatTensor; dw: FloatTensor; db: FloatTensor };

/** Validates the arguments of a transposed-conv forward and returns them with the geometry. */
function convTransposeArgs(
  fn: string,
  x: Tensor,
  w: Tensor,
  b: Tensor,
  param: ConvTransposeParam,
): { x: FloatTensor; w: FloatTensor; b: FloatTensor; g: ConvGeometry } {
  expectFloat(fn, 'x', x);
  expectFloat(fn, 'w', w);
  expectFloat(fn, 'b', b);
  expectNdim(fn, 'x', x, 4, '(N, C, H, W)');
  expectNdim(fn, 'w', w, 4, '(C, F, HH, WW)');
  expectSameDType(fn, { x, w, b });
  const [, C, H, W] = x.shape;
  const [, F, HH, WW] = w.shape;
  expectShape(fn, 'w', w, [C, F, HH, WW], `x has ${C} channels (w is (C, F, HH, WW))`);
  expectShape(fn, 'b', b, [F], `w has ${F} output channels`);
  expectOptions(fn, param, ['stride', 'pad', 'outputPad']);
  const stride = param.stride ?? 1,
    pad = param.pad ?? 0,
    outputPad = param.outputPad ?? 0;
  expectNumber(fn, 'stride', stride, { integer: true, min: 1 });
  expectNumber(fn, 'pad', pad, { integer: true, min: 0 });
  expectNumber(fn, 'outputPad', outputPad, { integer: true, min: 0 });
  if (outputPad >= stride) {
    // torch's rule: a larger outputPad would add rows that no input pixel reaches
    throw new ValueError(
      `${fn}: outputPad must be smaller than stride, got ${outputPad} >= ${stride}`,
    );
  }
  if (HH < 1 || WW < 1 || F < 1)
    throw new ShapeError(`${fn}: w has shape ${fmt(w.shape)} but needs F, HH, WW of at least 1`);
  const Hout = (H - 1) * stride - 2 * pad + HH + outputPad;
  const Wout = (W - 1) * stride - 2 * pad + WW + outputPad;
  if (H < 1 || W < 1 || Hout < 1 || Wout < 1) {
    throw new ShapeError(
      `${fn}: x has shape ${fmt(x.shape)} and w ${fmt(w.shape)}, which with stride ${stride}, ` +
        `pad ${pad}, outputPad ${outputPad} give an empty ${Hout}x${Wout} output`,
    );
  }
  // (Hout + 2·pad − HH) / stride = H − 1 + outputPad / stride, whose floor is H − 1: the adjoint
  // conv of (F, Hout, Wout) gives back exactly (H, W)
  return { x, w, b, g: { C: F, H: Hout, W: Wout, HH, WW, stride, pad, Hout: H, Wout: W } };
}

/** Checks dout against the output shape the forward produced. */
function checkDout(
  fn: string,
  dout: Tensor,
  { x, w, geometry: g }: ConvTransposeCache,
): asserts dout is FloatTensor {
  expectFloat(fn, 'dout', dout);
  const want = [x.shape[0], w.shape[1], g.H, g.W];
  expectShape(fn, 'dout', dout, want, `the forward output was ${fmt(want)}`);
  expectSameDType(fn, { x, dout });
}

/**
 * out[n, f, h·stride − pad + i, w·stride − pad + j] += x[n, c, h, w] · w[c, f, i, j] for every
 * (c, h, w, i, j) that lands inside the output, then out[n, f] += b[f];
 * Hout = (H − 1)·stride − 2·pad + HH + outputPad (same for W). The loop-by-loop definition.
 * x: (N, C, H, W), w: (C, F, HH, WW), b: (F) => out: (N, F, Hout, Wout)
 */
export function convTransposeForwardNaive(
  xIn: Tensor,
  wIn: Tensor,
  bIn: Tensor,
  param: ConvTransposeParam = {},
): { out: FloatTensor; cache: ConvTransposeCache } {
  const { x, w, b, g } = convTransposeArgs('convTransposeForwardNaive', xIn, wIn, bIn, param);
  const { C: F, H: Hout, W: Wout, HH, WW, stride, pad } = g;
  const [N, C, H, W] = x.shape;
  const out = Tensor.zeros([N, F, Hout, Wout], x.dtype);
  const xd = x.data,
    wd = w.data,
    od = out.data;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let h = 0; h < H; h++) {
        for (let col = 0; col < W; col++) {
          const v = xd[((n * C + c) * H + h) * W + col];
          for (let f = 0; f < F; f++) {
            for (let i = 0; i < HH; i++) {
              const ho = h * stride - pad + i;
              if (ho < 0 || ho >= Hout) continue; // cropped by pad
              for (let j = 0; j < WW; j++) {
                const wo = col * stride - pad + j;
                if (wo < 0 || wo >= Wout) continue;
                od[((n * F + f) * Hout + ho) * Wout + wo] +=
                  v * wd[((c * F + f) * HH + i) * WW + j];
              }
            }
          }
        }
      }
    }
  }
  addBias(out, b);
  return { out, cache: { x, w, geometry: g } };
}

/**
 * The forward loops run backwards: each x[n, c, h, w] · w[c, f, i, j] that reached
 * out[n, f, ho, wo] sends dout[n, f, ho, wo] · w[c, f, i, j] to dx[n, c, h, w] and
 * dout[n, f, ho, wo] · x[n, c, h, w] to dw[c, f, i, j]; db[f] = Σ dout[:, f].
 * dout: (N, F, Hout, Wout) => dx: (N, C, H, W), dw: (C, F, HH, WW), db: (F)
 */
export function convTransposeBackwardNaive(
  dout: Tensor,
  cache: ConvTransposeCache,
): ConvTransposeGrads {
  checkDout('convTransposeBackwardNaive', dout, cache);
  const { x, w, geometry: g } = cache;
  const { C: F, H: Hout, W: Wout, HH, WW, stride, pad } = g;
  const [N, C, H, W] = x.shape;
  const dx = Tensor.zeros(x.shape, x.dtype),
    dw = Tensor.zeros(w.shape, x.dtype);
  const xd = x.data,
    wd = w.data,
    gd = dout.data;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let h = 0; h < H; h++) {
        for (let col = 0; col < W; col++) {
          const xAt = ((n * C + c) * H + h) * W + col;
          for (let f = 0; f < F; f++) {
            for (let i = 0; i < HH; i++) {
              const ho = h * stride - pad + i;
              if (ho < 0 || ho >= Hout) continue;
              for (let j = 0; j < WW; j++) {
                const wo = col * stride - pad + j;
                if (wo < 0 || wo >= Wout) continue;
                const d = gd[((n * F + f) * Hout + ho) * Wout + wo],
                  wAt = ((c * F + f) * HH + i) * WW + j;
                dx.data[xAt] += d * wd[wAt];
                dw.data[wAt] += d * xd[xAt];
              }
            }
          }
        }
      }
    }
  }
  return { dx, dw, db: biasGrad(dout, F) };
}

/**
 * Images per lowered block: cols holds F·HH·WW·G·H·W entries, at most 2^16 (256 KiB in float32)
 * unless one image needs more, so that a block's columns stay in L2 (conv's rule).
 */
function imagesPerBlock(N: number, K: number, P: number): number {
  return Math.max(1, Math.min(N, Math.floor(2 ** 16 / (K * P))));
}

/**
 * Same maths as convTransposeForwardNaive, as the adjoint conv's input gradient, per block of G
 * images: xT = x[n0 .. n0+G] read as (C, G·P) with P = H·W; cols = wᵀ·xT (F·HH·WW, G·P);
 * out[n0 .. n0+G] = col2im(cols) (every column entry summed back onto the output pixel it
 * stands for), then + b[f].   x: (N, C, H, W), w: (C, F, HH, WW), b: (F) => out: (N, F, Hout, Wout)
 */
export function convTransposeForward(
  xIn: Tensor,
  wIn: Tensor,
  bIn: Tensor,
  param: ConvTransposeParam = {},
): { out: FloatTensor; cache: ConvTransposeCache } {
  const { x, w, b, g } = convTransposeArgs('convTransposeForward', xIn, wIn, bIn, param);
  const [N, C] = x.shape;
  const F = g.C,
    K = F * g.HH * g.WW, // rows of cols
    P = g.Hout * g.Wout, // input pixels per image = columns per image
    OUT = F * g.H * g.W, // output values per image
    G = imagesPerBlock(N, K, P);
  const k = kernelsFor(x.dtype);
  // empty: out (col2im overwrites each block), xT and cols are written in full below
  const out = Tensor.empty([N, F, g.H, g.W], x.dtype);
  const xT = Tensor.empty([C, G * P], x.dtype).data;
  const cols = Tensor.empty([K, G * P], x.dtype).data;
  for (let n0 = 0; n0 < N; n0 += G) {
    const B = Math.min(G, N - n0);
    k.swapOuterAxes(xT, x.data.subarray(n0 * C * P, (n0 + B) * C * P), B, C, P); // (B, C, P) -> (C, B, P)
    k.gemm(cols, w.data, xT, K, C, B * P, { transA: true }); // (K, C)·(C, B·P)
    k.col2im(out.data.subarray(n0 * OUT, (n0 + B) * OUT), cols, g, B);
  }
  addBias(out, b);
  return { out, cache: { x, w, geometry: g } };
}

/**
 * Per block of G images, with cols = im2col(dout[n0 .. n0+G]) (F·HH·WW, G·P) (the adjoint conv's
 * forward lowering) and xT = x[n0 .. n0+G] read as (C, G·P):
 * dx[n0 .. n0+G] = (w·cols read as (C, G, P)) swapped to (G, C, P);  dw += xT·colsᵀ;
 * db[f] = Σ dout[:, f].   dout: (N, F, Hout, Wout) => dx: (N, C, H, W), dw: (C, F, HH, WW), db: (F)
 */
export function convTransposeBackward(dout: Tensor, cache: ConvTransposeCache): ConvTransposeGrads {
  checkDout('convTransposeBackward', dout, cache);
  const { x, w, geometry: g } = cache;
  const [N, C] = x.shape;
  const F = g.C,
    K = F * g.HH * g.WW,
    P = g.Hout * g.Wout,
    OUT = F * g.H * g.W,
    G = imagesPerBlock(N, K, P);
  const k = kernelsFor(x.dtype);
  // empty: dx (swapOuterAxes per block), xT, cols, dxT, dwBlock and dw (by the first block's
  // gemm) are written in full; later blocks add theirs to dw
  const dx = Tensor.empty(x.shape, x.dtype),
    dw = Tensor.empty(w.shape, x.dtype);
  const xT = Tensor.empty([C, G * P], x.dtype).data;
  const cols = Tensor.empty([K, G * P], x.dtype).data;
  const dxT = Tensor.empty([C, G * P], x.dtype).data;
  const dwBlock = G < N ? Tensor.empty([C, K], x.dtype).data : dw.data; // dw itself: one block
  if (N === 0) dw.data.fill(0);
  for (let n0 = 0; n0 < N; n0 += G) {
    const B = Math.min(G, N - n0);
    k.im2col(cols, dout.data.subarray(n0 * OUT, (n0 + B) * OUT), g, B);
    k.gemm(dxT, w.data, cols, C, K, B * P); // (C, K)·(K, B·P)
    k.swapOuterAxes(dx.data.subarray(n0 * C * P), dxT, C, B, P); // (C, B, P) -> (B, C, P)
    k.swapOuterAxes(xT, x.data.subarray(n0 * C * P, (n0 + B) * C * P), B, C, P);
    const dwOut = n0 === 0 ? dw.data : dwBlock;
    k.gemm(dwOut, xT, cols, C, B * P, K, { transB: true }); // (C, B·P)·(B·P, K)
    if (n0 > 0) for (let i = 0; i < C * K; i++) dw.data[i] += dwBlock[i];
  }
  return { dx, dw, db: biasGrad(dout, F) };
}

/** In place: out[n, f, :, :] += b[f]. (A per-plane loop: the kernels' addRowVector adds per column.) */
function addBias(out: FloatTensor, b: FloatTensor): void {
  const [N, F, Hout, Wout] = out.shape,
    P = Hout * Wout,
    od = out.data;
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      const plane = (n * F + f) * P,
        bf = b.data[f];
      for (let p = 0; p < P; p++) od[plane + p] += bf;
    }
  }
}

/** db[f] = Σ over n, ho, wo of dout[n, f, ho, wo].   dout: (N, F, Hout, Wout) => db: (F) */
function biasGrad(dout: FloatTensor, F: number): FloatTensor {
  const N = dout.shape[0],
    P = dout.size / Math.max(1, N * F),
    gd = dout.data;
  const db = Tensor.zeros([F], dout.dtype);
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      const plane = (n * F + f) * P;
      let s = 0;
      for (let p = 0; p < P; p++) s += gd[plane + p];
      db.data[f] += s;
    }
  }
  return db;
}
