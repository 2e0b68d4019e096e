// src/layers/dropout.ts: inverted dropout (Srivastava et al. 2014,
// https://jmlr.org/papers/v15/srivastava14a.html). p is the probability of DROPPING a unit, as in
// torch.nn.functional.dropout; the kept units are scaled by 1/(1 − p) in train mode so that test
// mode is the identity and needs no rescaling.
import {
  expectOneOf,
  defaultRng,
  expectFloat,
  expectNumber,
  expectOptions,
  expectSameDType,
  expectShape,
  fmt,
  Rng,
  Tensor,
  ValueError,
  type FloatTensor,
} from '../tensor/index.js';

export interface DropoutParam {
  /** Probability of dropping each unit, in [0, 1]; p = 1 drops everything (zeros, as torch). */
  p: number;
  mode: 'train' | 'test';
  /** A fresh local Rng(seed) draws the mask: the same seed gives the same mask. */
  seed?: number;
  /** Draw the mask from this generator (advancing it); e.g. a model's own, saved in checkpoints. */
  rng?: Rng;
}
const DROPOUT_KEYS = ['p', 'mode', 'seed', 'rng'] as const;

export interface DropoutCache {
  readonly mode: 'train' | 'test';
  readonly p: number;
  readonly shape: readonly number[]; // shape of x
  readonly mask: FloatTensor | null; // shape of x: 0 (dropped) or 1/(1 − p) (kept); null in test mode
}

/**
 * train: mask ~ Bernoulli(1 − p) / (1 − p) elementwise, out = x ⊙ mask, so E[out] = x.
 * test: out = x (a copy). Without seed or rng the mask comes from defaultRng(), fresh on every
 * call; a seed never touches that global generator.
 * x: any shape  =>  out: same shape
 */
export function dropoutForward(
  x: Tensor,
  dropoutParam: DropoutParam,
): { out: FloatTensor; cache: DropoutCache } {
  const fn = 'dropoutForward';
  expectFloat(fn, 'x', x);
  if (dropoutParam === null || typeof dropoutParam !== 'object') {
    throw new TypeError(`${fn}: dropoutParam must be an object`);
  }
  expectOptions(fn, dropoutParam, DROPOUT_KEYS);
  const { p, mode, seed, rng } = dropoutParam;
  expectNumber(fn, 'dropoutParam.p', p, { min: 0, max: 1 });
  expectOneOf(fn, 'dropoutParam.mode', mode, ['train', 'test']);
  if (seed !== undefined) expectNumber(fn, 'dropoutParam.seed', seed);
  if (rng !== undefined && !(rng instanceof Rng))
    throw new TypeError(`${fn}: dropoutParam.rng must be an Rng`);
  if (seed !== undefined && rng !== undefined) {
    throw new ValueError(`${fn}: give dropoutParam.seed or dropoutParam.rng, not both`);
  }
  if (mode === 'test') return { out: x.clone(), cache: { mode, p, shape: x.shape, mask: null } };

  const gen = rng ?? (seed !== undefined ? new Rng(seed) : defaultRng());
  const mask = Tensor.zeros(x.shape, x.dtype),
    out = Tensor.zeros(x.shape, x.dtype);
  const md = mask.data,
    od = out.data,
    xd = x.data;
  // keep when a uniform 32-bit draw u satisfies u < (1 − p)·2³², i.e. with probability 1 − p
  // (to within 2⁻³²); p = 1 keeps nothing and the mask stays all zeros.
  const threshold = (1 - p) * 4294967296,
    scale = p < 1 ? 1 / (1 - p) : 0;
  for (let i = 0; i < md.length; i++) {
    if (gen.nextUint32() < threshold) {
      md[i] = scale;
      od[i] = xd[i] * scale;
    }
  }
  return { out, cache: { mode, p, shape: x.shape, mask } };
}

/** dx = dout ⊙ mask in train mode (the same scaled mask), dx = dout (a copy) in test mode. */
export function dropoutBackward(dout: Tensor, cache: DropoutCache): { dx: FloatTensor } {
  const fn = 'dropoutBackward';
  expectFloat(fn, 'dout', dout);
  expectShape(fn, 'dout', dout, cache.shape, `the forward input was ${fmt(cache.shape)}`);
  const { mask } = cache;
  if (mask === null) return { dx: dout.clone() };
  expectSameDType(fn, { dout, x: mask });
  const dx = Tensor.zeros(dout.shape, dout.dtype),
    gd = dout.data,
    md = mask.data,
    dd = dx.data;
  for (let i = 0; i < dd.length; i++) dd[i] = gd[i] * md[i];
  return { dx };
}
