// src/layers/conv.ts: 2-D convolution (cross-correlation with zero padding, as torch's conv2d).
// The naive pair is the readable definition, loop by loop; the fast pair lowers each image to
// columns (im2col) so that the work is one gemm per image. Both share one cache, so either
// backward accepts either forward's cache.
import { kernelsFor, type Buf, type ConvGeometry } from '../kernels/index.js';
import {
  expectFloat, expectNdim, expectNumber, expectOptions, expectSameDType, expectShape, fmt, ShapeError, Tensor,
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

type ConvGrads = { dx: FloatTensor; dw: FloatTensor; db: FloatTensor };

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
  const stride = convParam.stride ?? 1, pad = convParam.pad ?? 0;
  expectNumber(fn, 'stride', stride, { integer: true, min: 1 });
  expectNumber(fn, 'pad', pad, { integer: true, min: 0 });
  if (HH < 1 || WW < 1) throw new ShapeError(`${fn}: w has shape ${fmt(w.shape)} but filters must be at least 1x1`);
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
function checkDout(fn: string, dout: Tensor, { x, w, geometry: g }: ConvCache): asserts dout is FloatTensor {
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
  const N = x.shape[0], F = w.shape[0];
  const out = Tensor.zeros([N, F, Hout, Wout], x.dtype);
  const xd = x.data, wd = w.data, bd = b.data, od = out.data;
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
 */
export function convBackwardNaive(dout: Tensor, cache: ConvCache): ConvGrads {
  checkDout('convBackwardNaive', dout, cache);
  const { x, w, geometry: g } = cache;
  const { C, H, W, HH, WW, stride, pad, Hout, Wout } = g;
  const N = x.shape[0], F = w.shape[0];
  const dx = Tensor.zeros(x.shape, x.dtype), dw = Tensor.zeros(w.shape, x.dtype), db = Tensor.zeros([F], x.dtype);
  const xd = x.data, wd = w.data, gd = dout.data;
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
                const xAt = ((n * C + c) * H + h) * W + col, wAt = ((f * C + c) * HH + i) * WW + j;
                dw.data[wAt] += d * xd[xAt];
                dx.data[xAt] += d * wd[wAt];
              }
            }
          }
        }
      }
    }
  }
  return { dx, dw, db };
}

/**
 * Same maths as convForwardNaive, lowered per image to one matrix product:
 * cols = im2col(x[n]) (C·HH·WW, Hout·Wout), out[n] = w (F, C·HH·WW) · cols + b.
 * x: (N, C, H, W), w: (F, C, HH, WW), b: (F) => out: (N, F, Hout, Wout)
 */
export function convForward(
  xIn: Tensor,
  wIn: Tensor,
  bIn: Tensor,
  convParam: ConvParam = {},
): { out: FloatTensor; cache: ConvCache } {
  const { x, w, b, g } = convArgs('convForward', xIn, wIn, bIn, convParam);
  const N = x.shape[0], F = w.shape[0];
  const K = g.C * g.HH * g.WW, P = g.Hout * g.Wout, CHW = g.C * g.H * g.W;
  const k = kernelsFor(x.dtype);
  const out = Tensor.zeros([N, F, g.Hout, g.Wout], x.dtype);
  const cols = Tensor.zeros([K, P], x.dtype).data; // reused for every image
  const xd = x.data, od = out.data, bd = b.data;
  for (let n = 0; n < N; n++) {
    const outImage = od.subarray(n * F * P, (n + 1) * F * P);
    k.im2col(cols, xd.subarray(n * CHW, (n + 1) * CHW), g);
    k.gemm(outImage, w.data, cols, F, K, P); // (F, K)·(K, P) = (F, P)
    addColumnVector(outImage, bd, F, P); // out[n, f, :] += b[f]
  }
  return { out, cache: { x, w, geometry: g } };
}

/**
 * Per image, with cols = im2col(x[n]) and dout[n] read as (F, P):
 * db = Σ dout over n, ho, wo;  dw += dout[n]·colsᵀ;  dx[n] = col2im(wᵀ·dout[n]).
 * dout: (N, F, Hout, Wout) => dx: (N, C, H, W), dw: (F, C, HH, WW), db: (F)
 */
export function convBackward(dout: Tensor, cache: ConvCache): ConvGrads {
  checkDout('convBackward', dout, cache);
  const { x, w, geometry: g } = cache;
  const N = x.shape[0], F = w.shape[0];
  const K = g.C * g.HH * g.WW, P = g.Hout * g.Wout, CHW = g.C * g.H * g.W;
  const k = kernelsFor(x.dtype);
  const dx = Tensor.zeros(x.shape, x.dtype), dw = Tensor.zeros(w.shape, x.dtype), db = Tensor.zeros([F], x.dtype);
  const cols = Tensor.zeros([K, P], x.dtype).data; // im2col(x[n]), then reused for dcols
  const dwImage = Tensor.zeros([F, K], x.dtype).data; // one image's share of dw
  const wT = transposed(w.data, F, K); // (K, F), once per call: plain products are the fastest
  const xd = x.data, gd = dout.data, dxd = dx.data, dwd = dw.data;
  for (let n = 0; n < N; n++) {
    const doutImage = gd.subarray(n * F * P, (n + 1) * F * P);
    k.im2col(cols, xd.subarray(n * CHW, (n + 1) * CHW), g);
    k.gemm(dwImage, doutImage, cols, F, P, K, { transB: true }); // (F, P)·(P, K)
    for (let i = 0; i < F * K; i++) dwd[i] += dwImage[i];
    k.gemm(cols, wT, doutImage, K, F, P); // (K, F)·(F, P) = dcols
    k.col2im(dxd.subarray(n * CHW, (n + 1) * CHW), cols, g);
    sumColumns(db.data, doutImage, F, P);
  }
  return { dx, dw, db };
}

/** A copy of x (R, C) transposed to (C, R), allocated like a Tensor (in the backend's memory). */
function transposed(x: Buf, R: number, C: number): Buf {
  const t = Tensor.zeros([C, R], x instanceof Float32Array ? 'float32' : 'float64').data;
  for (let r = 0; r < R; r++) {
    const row = r * C;
    for (let c = 0; c < C; c++) t[c * R + r] = x[row + c];
  }
  return t;
}

/** In place: x[f, p] += v[f] for x (F, P), v (F). */
function addColumnVector(x: Buf, v: Buf, F: number, P: number): void {
  for (let f = 0; f < F; f++) {
    const row = f * P, vf = v[f];
    for (let p = 0; p < P; p++) x[row + p] += vf;
  }
}

/** Accumulates: out[f] += Σ_p x[f, p] for x (F, P). */
function sumColumns(out: Buf, x: Buf, F: number, P: number): void {
  for (let f = 0; f < F; f++) {
    const row = f * P;
    let s = 0;
    for (let p = 0; p < P; p++) s += x[row + p];
    out[f] += s;
  }
}
