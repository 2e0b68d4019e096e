// src/nn/attention.ts: the attention modules, stateful wrappers of layers/{attention,gelu,
// positional}.ts: MultiHeadAttention (self-attention as a plain module, or any query/key/value
// through attend), GELU and PositionalEncoding. All keep (N, S, E) shapes, so they chain in
// Sequential between TemporalLinear and LayerNorm.
import {
  causalMask,
  geluBackward,
  geluForward,
  multiHeadAttentionBackward,
  multiHeadAttentionForward,
  positionalEncodingBackward,
  positionalEncodingForward,
  type AttentionMask,
  type GeluApproximate,
  type GeluCache,
  type MultiHeadAttentionCache,
  type MultiHeadAttentionGrads,
  type PositionalEncodingCache,
} from '../layers/index.js';
import {
  expectNumber,
  expectOneOf,
  expectOptions,
  floatDType,
  Rng,
  Tensor,
  ValueError,
  type FloatDType,
  type FloatTensor,
} from '../tensor/index.js';
import { Module } from './module.js';
import { initRng, lastCache } from './util.js';

export interface MultiHeadAttentionOptions {
  /** Probability of dropping an attention weight in train mode, default 0 (torch's dropout). */
  dropout?: number;
  /** forward(x) lets token s attend to tokens 0..s only (a decoder's self-attention). */
  causal?: boolean;
  dtype?: FloatDType; // default 'float32'
  seed?: number; // a fresh Rng(seed) draws the initial values (and then the dropout masks)
  rng?: Rng; // draw them from this generator instead (e.g. one shared by a whole network)
}
const MHA_OPTIONS = ['dropout', 'causal', 'dtype', 'seed', 'rng'] as const;

/** The gradients of MultiHeadAttention.backwardAttend: one per input of attend. */
export interface AttendGrads {
  readonly dquery: FloatTensor;
  readonly dkey: FloatTensor;
  readonly dvalue: FloatTensor;
}

/**
 * out = multiHeadAttentionForward(query, key, value, { Wq, bq, Wk, bk, Wv, bv, Wo, bo }); as a
 * module forward(x) is self-attention (query = key = value = x), its backward the sum of the
 * three input gradients. Init as torch.nn.MultiheadAttention: Wq, Wk, Wv ~ Xavier-uniform over
 * the stacked (3E, E) in_proj_weight, U(±√(6/4E)); Wo ~ U(±1/√E); biases 0.
 * x: (N, S, embedDim)  =>  out: (N, S, embedDim)
 */
export class MultiHeadAttention extends Module {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly dropout: number;
  readonly causal: boolean;
  /** The generator of the dropout masks (the init generator unless replaced). */
  rng: Rng;
  private cache: MultiHeadAttentionCache | null = null;
  private selfAttention = false;

  constructor(embedDim: number, numHeads: number, options: MultiHeadAttentionOptions = {}) {
    super();
    const fn = 'MultiHeadAttention';
    expectNumber(fn, 'embedDim', embedDim, { integer: true, min: 1 });
    expectNumber(fn, 'numHeads', numHeads, { integer: true, min: 1 });
    if (embedDim % numHeads !== 0)
      throw new ValueError(`${fn}: numHeads = ${numHeads} does not divide embedDim = ${embedDim}`);
    expectOptions(fn, options, MHA_OPTIONS);
    this.dropout = options.dropout ?? 0;
    expectNumber(fn, 'dropout', this.dropout, { min: 0, max: 1, maxExclusive: true });
    this.causal = options.causal ?? false;
    if (typeof this.causal !== 'boolean')
      throw new TypeError(`${fn}: causal must be true or false, got ${String(this.causal)}`);
    const dtype = floatDType(fn, options.dtype ?? 'float32');
    this.rng = initRng(fn, options);
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    const E = embedDim,
      xavier = Math.sqrt(6 / (4 * E)),
      k = 1 / Math.sqrt(E),
      rng = this.rng;
    for (const name of ['Wq', 'Wk', 'Wv'] as const)
      this.params[name] = Tensor.rand([E, E], { dtype, low: -xavier, high: xavier, rng });
    this.params.Wo = Tensor.rand([E, E], { dtype, low: -k, high: k, rng });
    for (const name of ['bq', 'bk', 'bv', 'bo'] as const)
      this.params[name] = Tensor.zeros([E], dtype);
  }

  /** Self-attention: attend(x, x, x) under the causal mask when the module is causal. */
  forward(x: Tensor): FloatTensor {
    const out = this.attend(x, x, x, this.causal ? causalMask(x.shape[1] ?? 1) : null);
    this.selfAttention = true;
    return out;
  }

  /** dx = dquery + dkey + dvalue of the last forward (self-attention). */
  backward(dout: Tensor): FloatTensor {
    if (!this.selfAttention)
      throw new Error(
        'MultiHeadAttention.backward: the last call was attend(query, key, value); use backwardAttend',
      );
    const { dquery, dkey, dvalue } = this.backwardAttend(dout);
    const dx = dquery.clone();
    for (let i = 0; i < dx.size; i++) dx.data[i] += dkey.data[i] + dvalue.data[i];
    return dx;
  }

  /**
   * query: (N, S, E), key and value: (N, T, E); mask (S, T), true where query s may attend to
   * key t  =>  out: (N, S, E). Dropout on the weights in train mode.
   */
  attend(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    mask: AttentionMask | null = null,
  ): FloatTensor {
    const mode = this.training ? 'train' : 'test';
    const { out, cache } = multiHeadAttentionForward(query, key, value, this.params as never, {
      numHeads: this.numHeads,
      mask,
      dropout: this.dropout > 0 ? { p: this.dropout, mode, rng: this.rng } : null,
    });
    this.cache = cache;
    this.selfAttention = false;
    return out;
  }

  /** The input gradients of the last attend (or forward); param gradients go to `grads`. */
  backwardAttend(dout: Tensor): AttendGrads {
    const g: MultiHeadAttentionGrads = multiHeadAttentionBackward(
      dout,
      lastCache('MultiHeadAttention.backward', this.cache),
    );
    for (const name of ['Wq', 'bq', 'Wk', 'bk', 'Wv', 'bv', 'Wo', 'bo'] as const)
      this.grads[name] = g[`d${name}`];
    return { dquery: g.dquery, dkey: g.dkey, dvalue: g.dvalue };
  }

  /** The attention weights of the last forward (N, heads, S, T), before dropout; null before any. */
  get weights(): FloatTensor | null {
    return this.cache?.weights ?? null;
  }

  override toString(): string {
    const extra = `${this.causal ? ', causal' : ''}${this.dropout > 0 ? `, dropout=${this.dropout}` : ''}`;
    return `MultiHeadAttention(${this.embedDim}, heads=${this.numHeads}${extra})`;
  }
}

/** out = gelu(x), exact (erf) by default or the tanh approximation, as torch.nn.GELU. */
export class GELU extends Module {
  readonly approximate: GeluApproximate;
  private cache: GeluCache | null = null;
  constructor(approximate: GeluApproximate = 'none') {
    super();
    this.approximate = expectOneOf('GELU', 'approximate', approximate, ['none', 'tanh'] as const);
  }
  forward(x: Tensor): FloatTensor {
    const { out, cache } = geluForward(x, { approximate: this.approximate });
    this.cache = cache;
    return out;
  }
  backward(dout: Tensor): FloatTensor {
    return geluBackward(dout, lastCache('GELU.backward', this.cache)).dx;
  }
  override toString(): string {
    return this.approximate === 'none' ? 'GELU()' : `GELU(approximate='${this.approximate}')`;
  }
}

/** out = x + PE[:S], the fixed sinusoid table (no params).   x: (N, S, E), E even => same shape */
export class PositionalEncoding extends Module {
  private cache: PositionalEncodingCache | null = null;
  forward(x: Tensor): FloatTensor {
    const { out, cache } = positionalEncodingForward(x);
    this.cache = cache;
    return out;
  }
  backward(dout: Tensor): FloatTensor {
    return positionalEncodingBackward(dout, lastCache('PositionalEncoding.backward', this.cache))
      .dx;
  }
}
