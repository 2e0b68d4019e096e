// src/layers/affine.ts: the fully connected layer; x (N, d1..dk) is read as (N, D), D = d1·..·dk,
// so images go straight into it. Both products run through the kernels' gemm.
import { kernelsFor } from '../kernels/index.js';
import { expectFloat, expectSameDType, expectShape, fmt, ShapeError, Tensor, type FloatTensor } from '../tensor/index.js';

export interface AffineCache {
  readonly x: FloatTensor; // (N, d1..dk); dx gets this shape back
  readonly w: FloatTensor; // (D, M)
}

/** out = x·w + b.   x: (N, d1..dk), w: (D, M), b: (M)  =>  out: (N, M) */
export function affineForward(x: Tensor, w: Tensor, b: Tensor): { out: FloatTensor; cache: AffineCache } {
  const fn = 'affineForward';
  expectFloat(fn, 'x', x);
  expectFloat(fn, 'w', w);
  expectFloat(fn, 'b', b);
  expectSameDType(fn, { x, w, b });
  if (x.shape.length < 1) throw new ShapeError(`${fn}: x has shape ${fmt(x.shape)} but needs a batch dimension`);
  const N = x.shape[0], D = N > 0 ? x.size / N : x.shape.slice(1).reduce((p, d) => p * d, 1);
  expectShape(fn, 'w', w, [D, -1], `x flattens to ${fmt([N, D])}`);
  const M = w.shape[1];
  expectShape(fn, 'b', b, [M], `w has ${M} columns`);
  const k = kernelsFor(x.dtype), out = Tensor.empty([N, M], x.dtype); // written in full by gemm
  k.gemm(out.data, x.data, w.data, N, D, M); // (N, D)·(D, M) = (N, M)
  k.addRowVector(out.data, b.data, N, M); // out[n, :] += b
  return { out, cache: { x, w } };
}

/** dx = dout·wᵀ (shaped like x),  dw = xᵀ·dout,  db = Σₙ dout[n, :].   dout: (N, M) */
export function affineBackward(dout: Tensor, cache: AffineCache): { dx: FloatTensor; dw: FloatTensor; db: FloatTensor } {
  const { x, w } = cache;
  expectFloat('affineBackward', 'dout', dout);
  expectShape('affineBackward', 'dout', dout, [x.shape[0], w.shape[1]], `the forward output was ${fmt([x.shape[0], w.shape[1]])}`);
  expectSameDType('affineBackward', { dout, x });
  const [N, M] = dout.shape, D = w.shape[0], k = kernelsFor(dout.dtype);
  const dx = Tensor.empty(x.shape, x.dtype), dw = Tensor.empty([D, M], x.dtype), db = Tensor.empty([M], x.dtype); // kernels write them in full
  k.gemm(dx.data, dout.data, w.data, N, M, D, { transB: true }); // (N, M)·(M, D)
  k.gemm(dw.data, x.data, dout.data, D, N, M, { transA: true }); // (D, N)·(N, M)
  k.sumRows(db.data, dout.data, N, M);
  return { dx, dw, db };
}
