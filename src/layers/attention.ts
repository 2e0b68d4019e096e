// src/layers/attention.ts: multi-head scaled dot-product attention (Vaswani et al. 2017,
// https://arxiv.org/abs/1706.03762, §3.2) with an explicit backward. Every matrix product runs
// through the kernels: the projections as one gemm over all N·S rows, the per-head products
// Q·Kᵀ and A·V (and their gradients) as one gemmBatched over the N·heads matrices.
import { kernelsFor, type Buf, type Kernels } from '../kernels/index.js';
import {
  DTypeError,
  expectFloat,
  expectNdim,
  expectNumber,
  expectOneOf,
  expectOptions,
  expectSameDType,
  expectShape,
  fmt,
  Rng,
  ShapeError,
  Tensor,
  ValueError,
  type FloatTensor,
} from '../tensor/index.js';
import { dropoutBackward, dropoutForward, type DropoutCache } from './dropout.js';
import { softmaxRowBackward, softmaxRowInto } from './softmax.js';

/** The projections: each W (E, E) is applied as x·W + b, each b (E). */
export interface AttentionParams {
  readonly Wq: Tensor;
  readonly bq: Tensor;
  readonly Wk: Tensor;
  readonly bk: Tensor;
  readonly Wv: Tensor;
  readonly bv: Tensor;
  readonly Wo: Tensor;
  readonly bo: Tensor;
}
const PARAM_KEYS = ['Wq', 'bq', 'Wk', 'bk', 'Wv', 'bv', 'Wo', 'bo'] as const;

/**
 * Which keys each query may attend to: (S, T) row-major booleans, true where query s MAY attend
 * to key t (a causal mask is the lower triangle). A Tensor (nonzero = true), a flat array of
 * S·T values, or S rows of T.
 */
export type AttentionMask =
  Tensor | ArrayLike<boolean | number> | ReadonlyArray<ArrayLike<boolean | number>>;

/** Dropout on the attention weights: p = probability of DROPPING a weight (inverted scaling). */
export interface AttentionDropout {
  p: number;
  mode: 'train' | 'test';
  /** A fresh local Rng(seed) draws the mask. */
  seed?: number;
  /** Draw the mask from this generator (advancing it). */
  rng?: Rng;
}

export interface AttentionOptions {
  /** Heads; must divide E. */
  numHeads: number;
  mask?: AttentionMask | null;
  dropout?: AttentionDropout | null;
}

export interface MultiHeadAttentionCache {
  readonly query: FloatTensor; // (N, S, E)
  readonly key: FloatTensor; // (N, T, E)
  readonly value: FloatTensor; // (N, T, E)
  readonly Wq: FloatTensor; // (E, E)
  readonly Wk: FloatTensor; // (E, E)
  readonly Wv: FloatTensor; // (E, E)
  readonly Wo: FloatTensor; // (E, E)
  readonly q: FloatTensor; // (N, heads, S, Dh): Q split into heads
  readonly k: FloatTensor; // (N, heads, T, Dh)
  readonly v: FloatTensor; // (N, heads, T, Dh)
  /** The attention weights A = softmax(Q_h·K_hᵀ/√Dh) over t (before dropout), 0 where masked. */
  readonly weights: FloatTensor; // (N, heads, S, T)
  /** The dropout on the weights (train mode with p > 0), else null. */
  readonly dropout: DropoutCache | null;
  readonly attended: FloatTensor; // (N, heads, S, T): the weights after dropout, what V is mixed by
  readonly y: FloatTensor; // (N, S, E): heads concatenated, the input of the output projection
  readonly numHeads: number;
}

/** The gradients of multiHeadAttentionBackward, one per input and param. */
export interface MultiHeadAttentionGrads {
  dquery: FloatTensor; // (N, S, E)
  dkey: FloatTensor; // (N, T, E)
  dvalue: FloatTensor; // (N, T, E)
  dWq: FloatTensor;
  dbq: FloatTensor;
  dWk: FloatTensor;
  dbk: FloatTensor;
  dWv: FloatTensor;
  dbv: FloatTensor;
  dWo: FloatTensor;
  dbo: FloatTensor;
}

/** out (R, E) = x (R, E)·w (E, E) + b (E), as one gemm. */
function project(k: Kernels, x: FloatTensor, w: FloatTensor, b: FloatTensor): FloatTensor {
  const E = w.shape[1],
    R = x.size / w.shape[0],
    out = Tensor.empty([...x.shape.slice(0, -1), E], x.dtype);
  k.gemm(out.data, x.data, w.data, R, w.shape[0], E); // (R, E)·(E, E)
  k.addRowVector(out.data, b.data, R, E);
  return out;
}

/**
 * (N, L, heads·Dh) -> (N, heads, L, Dh): head h gets columns h·Dh .. (h+1)·Dh − 1. A plain copy
 * loop: a permutation of small blocks, cheaper in place than N kernel calls.
 */
function splitHeads(x: FloatTensor, heads: number): FloatTensor {
  const [N, L, E] = x.shape,
    Dh = E / heads,
    out = Tensor.empty([N, heads, L, Dh], x.dtype);
  permuteHeads(out.data, x.data, N, L, heads, Dh, true);
  return out;
}

/** (N, heads, L, Dh) -> (N, L, heads·Dh): the heads concatenated back in order. */
function mergeHeads(x: FloatTensor): FloatTensor {
  const [N, heads, L, Dh] = x.shape,
    out = Tensor.empty([N, L, heads * Dh], x.dtype);
  permuteHeads(out.data, x.data, N, L, heads, Dh, false);
  return out;
}

/** split: out (N, heads, L, Dh) from x (N, L, heads, Dh); otherwise the reverse. */
function permuteHeads(
  out: Buf,
  x: Buf,
  N: number,
  L: number,
  heads: number,
  Dh: number,
  split: boolean,
): void {
  for (let n = 0; n < N; n++)
    for (let l = 0; l < L; l++)
      for (let h = 0; h < heads; h++) {
        const tokenAt = ((n * L + l) * heads + h) * Dh, // (n, l, h, :)
          headAt = ((n * heads + h) * L + l) * Dh; // (n, h, l, :)
        if (split) for (let d = 0; d < Dh; d++) out[headAt + d] = x[tokenAt + d];
        else for (let d = 0; d < Dh; d++) out[tokenAt + d] = x[headAt + d];
      }
}

/** The mask as S·T bytes (1 = may attend), or null for none; checks its shape and values. */
function maskOf(fn: string, mask: AttentionMask, S: number, T: number): Uint8Array {
  const want = `query and key give (S, T) = [${S},${T}]`;
  let flat: ArrayLike<unknown>;
  if (mask instanceof Tensor) {
    expectShape(fn, 'options.mask', mask, [S, T], want);
    flat = mask.data;
  } else if (mask === null || typeof mask !== 'object' || typeof mask.length !== 'number') {
    throw new TypeError(`${fn}: options.mask must be a Tensor or an array (S, T) of booleans`);
  } else if (Array.isArray(mask) && mask.length > 0 && typeof mask[0] === 'object') {
    const rows = mask as ReadonlyArray<ArrayLike<unknown>>;
    if (rows.length !== S || rows.some((r) => r?.length !== T))
      throw new ShapeError(
        `${fn}: options.mask has shape [${rows.length},${rows[0]?.length}] but ${want}`,
      );
    flat = rows.flatMap((r) => Array.from(r));
  } else {
    flat = mask as ArrayLike<unknown>;
    if (flat.length !== S * T)
      throw new ShapeError(`${fn}: options.mask has ${flat.length} values but ${want} (${S * T})`);
  }
  const out = new Uint8Array(S * T);
  for (let i = 0; i < S * T; i++) {
    const m = flat[i];
    if (typeof m !== 'boolean' && !(typeof m === 'number' && Number.isFinite(m)))
      throw new TypeError(`${fn}: options.mask[${i}] = ${String(m)} is not a boolean`);
    out[i] = m ? 1 : 0;
  }
  return out;
}

/** The checked dropout options, or null when they drop nothing (absent, test mode or p = 0). */
function dropoutOf(fn: string, d: AttentionDropout | null | undefined): AttentionDropout | null {
  if (d === undefined || d === null) return null;
  if (typeof d !== 'object') throw new TypeError(`${fn}: options.dropout must be an object`);
  expectOptions(fn, d, ['p', 'mode', 'seed', 'rng']);
  expectNumber(fn, 'options.dropout.p', d.p, { min: 0, max: 1 });
  expectOneOf(fn, 'options.dropout.mode', d.mode, ['train', 'test']);
  if (d.seed !== undefined) expectNumber(fn, 'options.dropout.seed', d.seed);
  if (d.rng !== undefined && !(d.rng instanceof Rng))
    throw new TypeError(`${fn}: options.dropout.rng must be an Rng`);
  if (d.seed !== undefined && d.rng !== undefined)
    throw new ValueError(`${fn}: give options.dropout.seed or options.dropout.rng, not both`);
  return d.mode === 'train' && d.p > 0 ? d : null;
}

interface CheckedArgs {
  readonly dims: readonly [number, number, number, number]; // N, S, T, E
  readonly x: { query: FloatTensor; key: FloatTensor; value: FloatTensor };
  readonly p: Record<(typeof PARAM_KEYS)[number], FloatTensor>;
}

/** Checks the inputs and params; returns [N, S, T, E], the inputs and the params as float tensors. */
function checkArgs(
  fn: string,
  query: Tensor,
  key: Tensor,
  value: Tensor,
  params: AttentionParams,
): CheckedArgs {
  expectFloat(fn, 'query', query);
  expectFloat(fn, 'key', key);
  expectFloat(fn, 'value', value);
  expectNdim(fn, 'query', query, 3, '(N, S, E)');
  expectNdim(fn, 'key', key, 3, '(N, T, E)');
  const [N, S, E] = query.shape,
    T = key.shape[1];
  expectShape(fn, 'key', key, [N, T, E], `query has shape ${fmt(query.shape)} (N, S, E)`);
  expectShape(fn, 'value', value, key.shape, `key has shape ${fmt(key.shape)}`);
  if (params === null || typeof params !== 'object')
    throw new TypeError(`${fn}: params must be an object { ${PARAM_KEYS.join(', ')} }`);
  expectOptions(fn, params, PARAM_KEYS);
  const p = {} as Record<(typeof PARAM_KEYS)[number], FloatTensor>;
  for (const name of PARAM_KEYS) {
    const t = params[name];
    if (t === undefined) throw new ValueError(`${fn}: params.${name} is missing`);
    expectFloat(fn, `params.${name}`, t);
    const isW = name.startsWith('W');
    expectShape(fn, `params.${name}`, t, isW ? [E, E] : [E], `query has E = ${E}`);
    p[name] = t;
  }
  expectSameDType(fn, { query, key, value, ...p });
  return { dims: [N, S, T, E], x: { query, key, value }, p };
}

/**
 * Q = query·Wq + bq, K = key·Wk + bk, V = value·Wv + bv; head h takes columns h·Dh .. (h+1)·Dh − 1
 * (Dh = E / numHeads); A_h = softmax_t(Q_h·K_hᵀ/√Dh) over the keys each query may attend to
 * (mask (S, T), true = may; a query with none gets all-zero weights); dropout (train mode) on A;
 * Y_h = A_h·V_h, heads concatenated to Y (N, S, E); out = Y·Wo + bo.
 * Equals torch.nn.MultiheadAttention(E, numHeads, batch_first=True) with
 * in_proj_weight = [Wqᵀ; Wkᵀ; Wvᵀ], in_proj_bias = [bq; bk; bv], out_proj = (Woᵀ, bo) and
 * attn_mask = !mask.
 * query: (N, S, E), key, value: (N, T, E)  =>  out: (N, S, E); cache.weights: (N, heads, S, T)
 */
export function multiHeadAttentionForward(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  params: AttentionParams,
  options: AttentionOptions,
): { out: FloatTensor; cache: MultiHeadAttentionCache } {
  const fn = 'multiHeadAttentionForward';
  const { dims, x, p } = checkArgs(fn, query, key, value, params);
  const [N, S, T, E] = dims;
  if (options === null || typeof options !== 'object')
    throw new TypeError(`${fn}: options must be an object with numHeads`);
  expectOptions(fn, options, ['numHeads', 'mask', 'dropout']);
  const heads = options.numHeads;
  expectNumber(fn, 'options.numHeads', heads, { integer: true, min: 1 });
  if (E % heads !== 0)
    throw new ValueError(`${fn}: options.numHeads = ${heads} does not divide E = ${E}`);
  const mask = options.mask == null ? null : maskOf(fn, options.mask, S, T);
  const drop = dropoutOf(fn, options.dropout);
  const Dh = E / heads,
    NH = N * heads,
    dtype = x.query.dtype,
    k = kernelsFor(dtype);
  const q = splitHeads(project(k, x.query, p.Wq, p.bq), heads); // (N, heads, S, Dh)
  const kh = splitHeads(project(k, x.key, p.Wk, p.bk), heads); // (N, heads, T, Dh)
  const v = splitHeads(project(k, x.value, p.Wv, p.bv), heads); // (N, heads, T, Dh)

  const scores = Tensor.empty([N, heads, S, T], dtype);
  k.gemmBatched(scores.data, q.data, kh.data, NH, S, Dh, T, { transB: true }); // Q_h·K_hᵀ: (S, T)
  const scale = 1 / Math.sqrt(Dh),
    sd = scores.data;
  for (let i = 0; i < sd.length; i++) sd[i] *= scale;
  const weights = Tensor.empty([N, heads, S, T], dtype);
  for (let r = 0; r < NH * S; r++) {
    const maskRow = (r % S) * T; // row s of the (S, T) mask
    const allowed = mask ? (t: number) => mask[maskRow + t] === 1 : undefined;
    softmaxRowInto(weights.data, sd, r * T, T, allowed);
  }
  const dropped = drop
    ? dropoutForward(weights, { p: drop.p, mode: 'train', ...pick(drop) })
    : null;
  const attended = dropped ? dropped.out : weights;

  const yh = Tensor.empty([N, heads, S, Dh], dtype);
  k.gemmBatched(yh.data, attended.data, v.data, NH, S, T, Dh); // A_h·V_h: (S, T)·(T, Dh)
  const y = mergeHeads(yh); // (N, S, E)
  const out = project(k, y, p.Wo, p.bo);
  const cache: MultiHeadAttentionCache = {
    ...x,
    Wq: p.Wq,
    Wk: p.Wk,
    Wv: p.Wv,
    Wo: p.Wo,
    q,
    k: kh,
    v,
    weights,
    dropout: dropped ? dropped.cache : null,
    attended,
    y,
    numHeads: heads,
  };
  return { out, cache };
}

/** The seed or rng of a dropout option, whichever is set. */
function pick(d: AttentionDropout): { seed?: number; rng?: Rng } {
  if (d.rng !== undefined) return { rng: d.rng };
  return d.seed !== undefined ? { seed: d.seed } : {};
}

/** dx (R, E) = dout (R, E)·wᵀ, dw = xᵀ·dout, db = Σ_r dout[r, :]: the backward of project. */
function projectBackward(
  k: Kernels,
  dout: FloatTensor,
  x: FloatTensor,
  w: FloatTensor,
): { dx: FloatTensor; dw: FloatTensor; db: FloatTensor } {
  const E = w.shape[0],
    R = x.size / E;
  const dx = Tensor.empty(x.shape, x.dtype),
    dw = Tensor.empty([E, E], x.dtype),
    db = Tensor.empty([E], x.dtype);
  k.gemm(dx.data, dout.data, w.data, R, E, E, { transB: true }); // (R, E)·(E, E)ᵀ
  k.gemm(dw.data, x.data, dout.data, E, R, E, { transA: true }); // (E, R)·(R, E)
  k.sumRows(db.data, dout.data, R, E);
  return { dx, dw, db };
}

/**
 * Backward through out = Y·Wo + bo, Y_h = Ad_h·V_h (Ad the weights after dropout),
 * A_h = softmax(Q_h·K_hᵀ/√Dh), and the three projections:
 *   dY = dout·Woᵀ, dWo = Yᵀ·dout;  dAd_h = dY_h·V_hᵀ, dV_h = Ad_hᵀ·dY_h;  dA = dropout⁻¹(dAd);
 *   dscores = A ⊙ (dA − Σ_t dA ⊙ A)/√Dh (0 where masked);  dQ_h = dscores·K_h, dK_h = dscoresᵀ·Q_h;
 *   dquery = dQ·Wqᵀ, dWq = queryᵀ·dQ, dbq = Σ dQ (and likewise for key and value).
 * Self-attention callers (query = key = value) add dquery + dkey + dvalue.   dout: (N, S, E)
 */
export function multiHeadAttentionBackward(
  dout: Tensor,
  cache: MultiHeadAttentionCache,
): MultiHeadAttentionGrads {
  const fn = 'multiHeadAttentionBackward';
  const { query, weights, attended, numHeads: heads } = cache;
  expectFloat(fn, 'dout', dout);
  expectShape(fn, 'dout', dout, query.shape, `the forward output was ${fmt(query.shape)}`);
  if (dout.dtype !== query.dtype)
    throw new DTypeError(`${fn}: dout has dtype ${dout.dtype} but query has dtype ${query.dtype}`);
  const [N, , S, T] = weights.shape,
    Dh = cache.q.shape[3],
    NH = N * heads,
    k = kernelsFor(dout.dtype);

  const o = projectBackward(k, dout, cache.y, cache.Wo); // dY: (N, S, E)
  const dyh = splitHeads(o.dx, heads); // (N, heads, S, Dh)
  const dAttended = Tensor.empty([N, heads, S, T], dout.dtype),
    dv = Tensor.empty([N, heads, T, Dh], dout.dtype);
  k.gemmBatched(dAttended.data, dyh.data, cache.v.data, NH, S, Dh, T, { transB: true }); // (S, Dh)·(Dh, T)
  k.gemmBatched(dv.data, attended.data, dyh.data, NH, T, S, Dh, { transA: true }); // (T, S)·(S, Dh)
  const dA = cache.dropout ? dropoutBackward(dAttended, cache.dropout).dx : dAttended;

  const dscores = Tensor.empty([N, heads, S, T], dout.dtype),
    ds = dscores.data,
    scale = 1 / Math.sqrt(Dh);
  for (let r = 0; r < NH * S; r++) softmaxRowBackward(ds, dA.data, weights.data, r * T, T);
  for (let i = 0; i < ds.length; i++) ds[i] *= scale;
  const dq = Tensor.empty([N, heads, S, Dh], dout.dtype),
    dk = Tensor.empty([N, heads, T, Dh], dout.dtype);
  k.gemmBatched(dq.data, ds, cache.k.data, NH, S, T, Dh); // (S, T)·(T, Dh)
  k.gemmBatched(dk.data, ds, cache.q.data, NH, T, S, Dh, { transA: true }); // (T, S)·(S, Dh)

  const gq = projectBackward(k, mergeHeads(dq), query, cache.Wq);
  const gk = projectBackward(k, mergeHeads(dk), cache.key, cache.Wk);
  const gv = projectBackward(k, mergeHeads(dv), cache.value, cache.Wv);
  return {
    dquery: gq.dx,
    dkey: gk.dx,
    dvalue: gv.dx,
    dWq: gq.dw,
    dbq: gq.db,
    dWk: gk.dw,
    dbk: gk.db,
    dWv: gv.dw,
    dbv: gv.db,
    dWo: o.dw,
    dbo: o.db,
  };
}

/** The causal mask (S, S): query s may attend to keys 0..s (the lower triangle, diagonal included). */
export function causalMask(S: number): Tensor {
  expectNumber('causalMask', 'S', S, { integer: true, min: 1 });
  const m = Tensor.zeros([S, S], 'int32');
  for (let s = 0; s < S; s++) m.data.fill(1, s * S, s * S + s + 1);
  return m;
}
