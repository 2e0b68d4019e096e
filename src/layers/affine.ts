// src/layers/affine.ts: the fully connected layer; x (N, d1..dk) is read as (N, D), D = d1·..·dk,
// so images go straight into it. Both products run through the kernels' gemm.
import { kernelsFor } from '../kernels/index.js';
import {
  expectFloat,
  expectOptions,
  expectSameDType,
  expectShape,
  fmt,
  ShapeError,
  Tensor,
  type FloatTensor,
} from '../tensor/index.js';

export interface AffineCache {
  readonly x: FloatTensor; // (N, d1..dk); dx gets this shape back
  readonly w: FloatTensor; // (D, M)
}

/** out = x·w + b.   x: (N, d1..dk), w: (D, M), b: (M)  =>  out: (N, M) */
export function affineForward(
  x: Tensor,
  w: Tensor,
  b: Tensor,
): { out: FloatTensor; cache: AffineCache } {
  const fn = 'affineForward';
  expectFloat(fn, 'x', x);
  expectFloat(fn, 'w', w);
  expectFloat(fn, 'b', b);
  expectSameDType(fn, { x, w, b });
  if (x.shape.length < 1)
    throw new ShapeError(`${fn}: x has shape ${fmt(x.shape)} but needs a batch dimension`);
  const N = x.shape[0],
    D = N > 0 ? x.size / N : x.shape.slice(1).reduce((p, d) => p * d, 1);
  expectShape(fn, 'w', w, [D, -1], `x flattens to ${fmt([N, D])}`);
  const M = w.shape[1];
  expectShape(fn, 'b', b, [M], `w has ${M} columns`);
  const k = kernelsFor(x.dtype),
    out = Tensor.empty([N, M], x.dtype); // written in full by gemm
  k.gemm(out.data, x.data, w.data, N, D, M); // (N, D)·(D, M) = (N, M)
  k.addRowVector(out.data, b.data, N, M); // out[n, :] += b
  return { out, cache: { x, w } };
}

/** Options of affineBackward: inputGrad false skips dx (a network's first layer, whose input is the data). */
export interface AffineBackwardOptions {
  readonly inputGrad?: boolean; // compute dx, default true
}

/**
 * dx = dout·wᵀ (shaped like x),  dw = xᵀ·dout,  db = Σₙ dout[n, :].   dout: (N, M)
 * With { inputGrad: false } dx is neither computed nor allocated: => dw, db only.
 */
export function affineBackward(
  dout: Tensor,
  cache: AffineCache,
  options?: { readonly inputGrad?: true },
): AffineGrads;
export function affineBackward(
  dout: Tensor,
  cache: AffineCache,
  options: { readonly inputGrad: false },
): AffineParamGrads;
export function affineBackward(
  dout: Tensor,
  cache: AffineCache,
  options?: AffineBackwardOptions,
): AffineGrads | AffineParamGrads;
export function affineBackward(
  dout: Tensor,
  cache: AffineCache,
  options: AffineBackwardOptions = {},
): AffineGrads | AffineParamGrads {
  const fn = 'affineBackward';
  expectOptions(fn, options, ['inputGrad']);
  const inputGrad = options.inputGrad ?? true;
  if (typeof inputGrad !== 'boolean')
    throw new TypeError(`${fn}: inputGrad must be true or false, got ${String(inputGrad)}`);
  const { x, w } = cache;
  expectFloat(fn, 'dout', dout);
  expectShape(
    fn,
    'dout',
    dout,
    [x.shape[0], w.shape[1]],
    `the forward output was ${fmt([x.shape[0], w.shape[1]])}`,
  );
  expectSameDType(fn, { dout, x });
  const [N, M] = dout.shape,
    D = w.shape[0],
    k = kernelsFor(dout.dtype);
  const dw = Tensor.empty([D, M], x.dtype),
    db = Tensor.empty([M], x.dtype); // kernels write them in full
  k.gemm(dw.data, x.data, dout.data, D, N, M, { transA: true }); // (D, N)·(N, M)
  k.sumRows(db.data, dout.data, N, M);
  if (!inputGrad) return { dw, db };
  const dx = Tensor.empty(x.shape, x.dtype);
  k.gemm(dx.data, dout.data, w.data, N, M, D, { transB: true }); // (N, M)·(M, D)
  return { dx, dw, db };
}

/** The gradients of affineBackward: dx (shaped like x), dw (D, M), db (M). */
export type AffineGrads = { dx: FloatTensor; dw: FloatTensor; db: FloatTensor };
/** The gradients of affineBackward with inputGrad false: dw (D, M), db (M). */
export type AffineParamGrads = { dw: FloatTensor; db: FloatTensor };
