// src/layers/temporal.ts: layers applied at every time step of a sequence (N, T, ·): an affine map
// (the vocabulary projection of a captioning model) and a masked softmax loss over the vocabulary,
// in which padding steps contribute neither loss nor gradient.
import { kernelsFor } from '../kernels/index.js';
import {
  expectId,
  expectFloat,
  expectNdim,
  expectSameDType,
  expectShape,
  fmt,
  ShapeError,
  Tensor,
  type FloatTensor,
} from '../tensor/index.js';
import { softmaxCrossEntropyRow } from './softmax.js';

export interface TemporalAffineCache {
  readonly x: FloatTensor; // (N, T, D)
  readonly w: FloatTensor; // (D, M)
}

/** A boolean mask: a Tensor (nonzero = true), nested arrays of rows (N, T), or a flat array (N·T). */
export type Mask =
  Tensor | ArrayLike<boolean | number> | ReadonlyArray<ArrayLike<boolean | number>>;
/** Per-step labels: an int32 Tensor (N, T), nested arrays of rows, or a flat array (N·T). */
export type SequenceLabels = Tensor | ArrayLike<number> | ReadonlyArray<ArrayLike<number>>;

/**
 * out[n, t, :] = x[n, t, :]·w + b, as one gemm over the N·T rows.
 * x: (N, T, D), w: (D, M), b: (M)  =>  out: (N, T, M)
 */
export function temporalAffineForward(
  x: Tensor,
  w: Tensor,
  b: Tensor,
): { out: FloatTensor; cache: TemporalAffineCache } {
  const fn = 'temporalAffineForward';
  expectFloat(fn, 'x', x);
  expectFloat(fn, 'w', w);
  expectFloat(fn, 'b', b);
  expectSameDType(fn, { x, w, b });
  expectNdim(fn, 'x', x, 3, '(N, T, D)');
  const [N, T, D] = x.shape;
  expectShape(fn, 'w', w, [D, -1], `x has ${D} features (shape ${fmt(x.shape)})`);
  const M = w.shape[1];
  expectShape(fn, 'b', b, [M], `w has ${M} columns`);
  const k = kernelsFor(x.dtype),
    out = Tensor.zeros([N, T, M], x.dtype);
  k.gemm(out.data, x.data, w.data, N * T, D, M); // (N·T, D)·(D, M)
  k.addRowVector(out.data, b.data, N * T, M);
  return { out, cache: { x, w } };
}

/** dx = dout·wᵀ,  dw = Σ_{n,t} x[n, t]ᵀ·dout[n, t],  db = Σ_{n,t} dout[n, t, :].   dout: (N, T, M) */
export function temporalAffineBackward(
  dout: Tensor,
  cache: TemporalAffineCache,
): { dx: FloatTensor; dw: FloatTensor; db: FloatTensor } {
  const fn = 'temporalAffineBackward';
  const { x, w } = cache;
  const [N, T, D] = x.shape,
    M = w.shape[1];
  expectFloat(fn, 'dout', dout);
  expectShape(fn, 'dout', dout, [N, T, M], `the forward output was ${fmt([N, T, M])}`);
  expectSameDType(fn, { dout, x });
  const k = kernelsFor(x.dtype);
  const dx = Tensor.zeros([N, T, D], x.dtype),
    dw = Tensor.zeros([D, M], x.dtype),
    db = Tensor.zeros([M], x.dtype);
  k.gemm(dx.data, dout.data, w.data, N * T, M, D, { transB: true }); // (N·T, M)·(M, D)
  k.gemm(dw.data, x.data, dout.data, D, N * T, M, { transA: true }); // (D, N·T)·(N·T, M)
  k.sumRows(db.data, dout.data, N * T, M);
  return { dx, dw, db };
}

/** Flattens y or mask given as a Tensor, rows or a flat array to N·T values, checking the shape. */
function perStep<E>(
  fn: string,
  arg: string,
  v: Tensor | ArrayLike<E> | ReadonlyArray<ArrayLike<E>>,
  N: number,
  T: number,
): ArrayLike<E | number> {
  if (v instanceof Tensor) {
    expectShape(fn, arg, v, [N, T], `x has shape [${N},${T},*]`);
    return v.data;
  }
  if (v === null || typeof v !== 'object' || typeof (v as ArrayLike<E>).length !== 'number') {
    throw new TypeError(`${fn}: ${arg} must be a Tensor or an array (N, T)`);
  }
  const nested = Array.isArray(v) && v.length > 0 && typeof v[0] === 'object' && v[0] !== null;
  if (!nested) {
    const flat = v as ArrayLike<E>;
    if (flat.length !== N * T)
      throw new ShapeError(
        `${fn}: ${arg} has ${flat.length} values but x has shape [${N},${T},*] (${N * T} steps)`,
      );
    return flat;
  }
  const rows = v as ReadonlyArray<ArrayLike<E>>;
  if (rows.length !== N || rows.some((r) => r?.length !== T)) {
    throw new ShapeError(
      `${fn}: ${arg} has shape [${rows.length},${rows[0]?.length}] but x has shape [${N},${T},*]`,
    );
  }
  const flat: E[] = [];
  for (const r of rows) for (let t = 0; t < T; t++) flat.push(r[t]);
  return flat;
}

/**
 * Masked softmax cross-entropy summed over steps and averaged over the batch:
 * loss = −(1/N) Σ_{n,t} mask[n, t] · log softmax(x[n, t, :])[y[n, t]],
 * dx[n, t, :] = mask[n, t] · (softmax(x[n, t, :]) − onehot(y[n, t])) / N.
 * log p is computed as x − max − log Σ exp(x − max), never as log(p), so logits of any size are
 * finite; masked steps are skipped entirely (their labels are not checked, like torch's
 * ignore_index), so they never produce NaN.
 * x: (N, T, V), y: (N, T) ids in [0, V), mask: (N, T) booleans  =>  loss: number, dx: (N, T, V)
 */
export function temporalSoftmaxLoss(
  x: Tensor,
  y: SequenceLabels,
  mask: Mask,
): { loss: number; dx: FloatTensor } {
  const fn = 'temporalSoftmaxLoss';
  expectFloat(fn, 'x', x);
  expectNdim(fn, 'x', x, 3, '(N, T, V)');
  const [N, T, V] = x.shape;
  const labels = perStep(fn, 'y', y, N, T),
    keep = perStep(fn, 'mask', mask, N, T);
  const dx = Tensor.zeros([N, T, V], x.dtype),
    xd = x.data,
    dd = dx.data;
  let loss = 0;
  const steps = { shape: [N, T] };
  for (let i = 0; i < N * T; i++) {
    const m = keep[i];
    if (typeof m !== 'boolean' && typeof m !== 'number')
      throw new TypeError(`${fn}: mask[${i}] = ${String(m)} is not a boolean`);
    if (!m) continue;
    const label = labels[i];
    expectId(fn, 'y', label, i, V, steps);
    loss += softmaxCrossEntropyRow(xd, dd, i * V, V, label, N);
  }
  return { loss: N > 0 ? loss / N : 0, dx };
}
