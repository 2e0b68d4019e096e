// src/layers/positional.ts: the sinusoidal positional encoding of "Attention Is All You Need"
// (Vaswani et al. 2017, https://arxiv.org/abs/1706.03762, §3.5): a fixed table added to a
// sequence of embeddings so that attention, which is blind to order, can tell positions apart.
import {
  DTypeError,
  expectFloat,
  expectNdim,
  expectShape,
  fmt,
  ShapeError,
  Tensor,
  type FloatDType,
  type FloatTensor,
} from '../tensor/index.js';

export interface PositionalEncodingCache {
  readonly shape: readonly number[]; // (N, S, E) of x; dx is dout itself
  readonly dtype: FloatDType;
}

/**
 * The table PE (S, E): PE[s, 2i] = sin(s·10000^(−2i/E)), PE[s, 2i+1] = cos(s·10000^(−2i/E)).
 * E must be even.
 */
export function sinusoidalTable(S: number, E: number, dtype: FloatDType = 'float64'): FloatTensor {
  const pe = Tensor.empty([S, E], dtype);
  for (let i = 0; 2 * i < E; i++) {
    const freq = Math.pow(10000, (-2 * i) / E);
    for (let s = 0; s < S; s++) {
      pe.data[s * E + 2 * i] = Math.sin(s * freq);
      pe.data[s * E + 2 * i + 1] = Math.cos(s * freq);
    }
  }
  return pe;
}

/** out[n, s, :] = x[n, s, :] + PE[s, :] (see sinusoidalTable).   x: (N, S, E), E even  =>  out: (N, S, E) */
export function positionalEncodingForward(x: Tensor): {
  out: FloatTensor;
  cache: PositionalEncodingCache;
} {
  const fn = 'positionalEncodingForward';
  expectFloat(fn, 'x', x);
  expectNdim(fn, 'x', x, 3, '(N, S, E)');
  const [N, S, E] = x.shape;
  if (E % 2 !== 0)
    throw new ShapeError(`${fn}: x has shape ${fmt(x.shape)} but E = ${E} must be even`);
  const pe = sinusoidalTable(S, E, x.dtype),
    out = Tensor.empty(x.shape, x.dtype);
  for (let n = 0; n < N; n++) {
    const at = n * S * E;
    for (let j = 0; j < S * E; j++) out.data[at + j] = x.data[at + j] + pe.data[j];
  }
  return { out, cache: { shape: x.shape, dtype: x.dtype } };
}

/** dx = dout (the table is a constant), as a fresh copy.   dout: (N, S, E) */
export function positionalEncodingBackward(
  dout: Tensor,
  cache: PositionalEncodingCache,
): { dx: FloatTensor } {
  const fn = 'positionalEncodingBackward';
  expectFloat(fn, 'dout', dout);
  expectShape(fn, 'dout', dout, cache.shape, `the forward input was ${fmt(cache.shape)}`);
  if (dout.dtype !== cache.dtype)
    throw new DTypeError(
      `${fn}: dout has dtype ${dout.dtype} but the forward input was ${cache.dtype}`,
    );
  return { dx: dout.clone() };
}
