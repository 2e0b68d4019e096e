// src/layers/embedding.ts: word embeddings, a table lookup out[n, t, :] = W[x[n, t], :]. Its
// backward scatters the rows of dout back into the table, adding where an id repeats.
import {
  DTypeError,
  idsOf,
  expectFloat,
  expectShape,
  fmt,
  ShapeError,
  Tensor,
  type FloatDType,
  type FloatTensor,
} from '../tensor/index.js';

/** Token ids: an int32 Tensor of any shape, nested arrays of rows (N, T), or a flat array (L). */
export type TokenIds = Tensor | ArrayLike<number> | ReadonlyArray<ArrayLike<number>>;

export interface WordEmbeddingCache {
  readonly ids: Int32Array; // (N·T) the checked ids, row-major
  readonly idsShape: readonly number[]; // (N, T)
  readonly V: number; // rows of W
  readonly D: number; // columns of W
  readonly dtype: FloatDType; // of W
}

/**
 * Reads token ids into a flat Int32Array and their shape, checking that each is an integer in
 * [0, V) (idsOf). A Tensor must have dtype int32; nested arrays must be rectangular.
 */
export function tokenIdsOf(
  fn: string,
  arg: string,
  x: TokenIds,
  V: number,
): { ids: Int32Array; shape: number[] } {
  if (x instanceof Tensor && x.dtype !== 'int32') {
    throw new DTypeError(
      `${fn}: ${arg} has dtype ${x.dtype} but token ids must be int32 (use .astype('int32'))`,
    );
  }
  return idsOf(fn, arg, x, V, 'an int32 Tensor or an array of token ids');
}

/**
 * out[n, t, :] = W[x[n, t], :].   x: (N, T) int32 ids in [0, V), W: (V, D)  =>  out: (N, T, D)
 * (any shape of ids works: out has the ids' shape plus D)
 */
export function wordEmbeddingForward(
  x: TokenIds,
  W: Tensor,
): { out: FloatTensor; cache: WordEmbeddingCache } {
  const fn = 'wordEmbeddingForward';
  expectFloat(fn, 'W', W);
  if (W.shape.length !== 2)
    throw new ShapeError(`${fn}: W has shape ${fmt(W.shape)} but must be 2-D (V, D)`);
  const [V, D] = W.shape;
  const { ids, shape } = tokenIdsOf(fn, 'x', x, V);
  const out = Tensor.zeros([...shape, D], W.dtype),
    od = out.data,
    wd = W.data;
  for (let i = 0; i < ids.length; i++) od.set(wd.subarray(ids[i] * D, (ids[i] + 1) * D), i * D);
  return { out, cache: { ids: ids.slice(), idsShape: shape, V, D, dtype: W.dtype } };
}

/** dW[v, :] = Σ over positions (n, t) with x[n, t] = v of dout[n, t, :].   dout: (N, T, D) */
export function wordEmbeddingBackward(
  dout: Tensor,
  cache: WordEmbeddingCache,
): { dW: FloatTensor } {
  const fn = 'wordEmbeddingBackward';
  const { ids, idsShape, V, D, dtype } = cache;
  expectFloat(fn, 'dout', dout);
  expectShape(
    fn,
    'dout',
    dout,
    [...idsShape, D],
    `the forward output was ${fmt([...idsShape, D])}`,
  );
  if (dout.dtype !== dtype)
    throw new DTypeError(`${fn}: dout has dtype ${dout.dtype} but W has dtype ${dtype}`);
  const dW = Tensor.zeros([V, D], dtype),
    dd = dW.data,
    gd = dout.data;
  for (let i = 0; i < ids.length; i++) {
    const row = ids[i] * D,
      g = i * D;
    for (let j = 0; j < D; j++) dd[row + j] += gd[g + j];
  }
  return { dW };
}
