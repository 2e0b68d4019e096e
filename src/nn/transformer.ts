// src/nn/transformer.ts: the Transformer blocks (Vaswani et al. 2017), as torch.nn's
// TransformerEncoderLayer / TransformerDecoderLayer with batch_first=True: self-attention
// (+ cross-attention on a memory for the decoder) and a feed-forward net (linear - GELU or ReLU -
// dropout - linear), each wrapped in a residual connection and a layer norm.
//
// Pre-norm by default (normFirst true: x + f(LN(x))), where torch defaults to post-norm
// (LN(x + f(x)), the original paper). With pre-norm the residual path is the identity from input
// to output, so gradients reach the first layer undiminished and small models train with a plain
// Adam step and no learning-rate warm-up (Xiong et al. 2020, https://arxiv.org/abs/2002.04745);
// ViT and GPT-2 use it. normFirst: false gives torch's default exactly.
import { causalMask, type AttentionMask } from '../layers/index.js';
import {
  expectNumber,
  expectOneOf,
  expectOptions,
  floatDType,
  ShapeError,
  fmt,
  expectFloat,
  type FloatDType,
  type FloatTensor,
  type Rng,
  type Tensor,
} from '../tensor/index.js';
import { ReLU } from './activation.js';
import { GELU, MultiHeadAttention, type AttendGrads } from './attention.js';
import { Dropout } from './dropout.js';
import { Module } from './module.js';
import { LayerNorm } from './normalization.js';
import { TemporalLinear } from './recurrent.js';
import { initRng } from './util.js';

export interface TransformerLayerOptions {
  /** Hidden size of the feed-forward net, default 4·dModel (torch: 2048). */
  dimFeedforward?: number;
  /** Dropout after attention, inside and after the feed-forward net, and on the attention weights; default 0.1 (torch). */
  dropout?: number;
  activation?: 'relu' | 'gelu'; // default 'relu' (torch)
  /** Pre-norm (default, see the file header) or post-norm (false, torch's default). */
  normFirst?: boolean;
  eps?: number; // layer-norm eps, default 1e-5
  /** Encoder only: a causal mask on the self-attention (a decoder-only language model). */
  causal?: boolean;
  dtype?: FloatDType;
  seed?: number; // a fresh Rng(seed) draws the initial values, then the dropout masks
  rng?: Rng; // draw them from this generator instead
}
const OPTIONS = [
  'dimFeedforward',
  'dropout',
  'activation',
  'normFirst',
  'eps',
  'causal',
  'dtype',
  'seed',
  'rng',
] as const;

/** a + b elementwise (a residual connection), as a fresh tensor. */
function add(a: FloatTensor, b: FloatTensor): FloatTensor {
  const out = a.clone();
  for (let i = 0; i < out.size; i++) out.data[i] += b.data[i];
  return out;
}

/** The options both layers share, checked. */
function layerSettings(
  fn: string,
  dModel: number,
  numHeads: number,
  options: TransformerLayerOptions,
) {
  expectNumber(fn, 'dModel', dModel, { integer: true, min: 1 });
  expectOptions(fn, options, OPTIONS);
  const dimFeedforward = options.dimFeedforward ?? 4 * dModel;
  expectNumber(fn, 'dimFeedforward', dimFeedforward, { integer: true, min: 1 });
  const dropout = options.dropout ?? 0.1;
  expectNumber(fn, 'dropout', dropout, { min: 0, max: 1, maxExclusive: true });
  const activation = expectOneOf(fn, 'activation', options.activation ?? 'relu', [
    'relu',
    'gelu',
  ] as const);
  const normFirst = options.normFirst ?? true;
  if (typeof normFirst !== 'boolean')
    throw new TypeError(`${fn}: normFirst must be true or false, got ${String(normFirst)}`);
  const eps = options.eps ?? 1e-5;
  const dtype = floatDType(fn, options.dtype ?? 'float32');
  const rng = initRng(fn, options);
  const attention = () => new MultiHeadAttention(dModel, numHeads, { dropout, dtype, rng });
  return { dimFeedforward, dropout, activation, normFirst, eps, dtype, rng, attention };
}

/** linear1 - activation - dropout - linear2 over every token: (N, S, dModel) -> (N, S, dModel). */
class FeedForward {
  readonly linear1: TemporalLinear;
  readonly linear2: TemporalLinear;
  readonly activation: Module;
  readonly dropout: Dropout;
  constructor(dModel: number, s: ReturnType<typeof layerSettings>) {
    this.linear1 = new TemporalLinear(dModel, s.dimFeedforward, { dtype: s.dtype, rng: s.rng });
    this.linear2 = new TemporalLinear(s.dimFeedforward, dModel, { dtype: s.dtype, rng: s.rng });
    this.activation = s.activation === 'gelu' ? new GELU() : new ReLU();
    this.dropout = new Dropout(s.dropout, { rng: s.rng });
  }
  forward(x: FloatTensor): FloatTensor {
    const h = this.dropout.forward(this.activation.forward(this.linear1.forward(x)));
    return this.linear2.forward(h);
  }
  backward(dout: FloatTensor): FloatTensor {
    const dh = this.activation.backward(this.dropout.backward(this.linear2.backward(dout)));
    return this.linear1.backward(dh);
  }
}

/** Checks x is (N, S, dModel). */
function checkTokens(fn: string, arg: string, x: Tensor, dModel: number): asserts x is FloatTensor {
  expectFloat(fn, arg, x);
  if (x.shape.length !== 3 || x.shape[2] !== dModel)
    throw new ShapeError(`${fn}: ${arg} has shape ${fmt(x.shape)} but must be (N, S, ${dModel})`);
}

/**
 * Pre-norm: h = x + drop(SA(LN1(x))), out = h + drop(FF(LN2(h)));
 * post-norm: h = LN1(x + drop(SA(x))), out = LN2(h + drop(FF(h))).
 * SA is self-attention (causal when options.causal), FF = linear2(drop(act(linear1(·)))).
 * params: selfAttn.{Wq,bq,...,bo}, linear1/linear2.{weight,bias}, norm1/norm2.{weight,bias}.
 * x: (N, S, dModel)  =>  out: (N, S, dModel)
 */
export class TransformerEncoderLayer extends Module {
  readonly dModel: number;
  readonly normFirst: boolean;
  readonly causal: boolean;
  readonly selfAttn: MultiHeadAttention;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  private readonly ff: FeedForward;
  private readonly dropout1: Dropout;
  private readonly dropout2: Dropout;

  constructor(dModel: number, numHeads: number, options: TransformerLayerOptions = {}) {
    super();
    const fn = 'TransformerEncoderLayer';
    const s = layerSettings(fn, dModel, numHeads, options);
    this.dModel = dModel;
    this.normFirst = s.normFirst;
    this.causal = options.causal ?? false;
    this.selfAttn = s.attention();
    this.ff = new FeedForward(dModel, s);
    this.norm1 = new LayerNorm(dModel, { eps: s.eps, dtype: s.dtype });
    this.norm2 = new LayerNorm(dModel, { eps: s.eps, dtype: s.dtype });
    this.dropout1 = new Dropout(s.dropout, { rng: s.rng });
    this.dropout2 = new Dropout(s.dropout, { rng: s.rng });
    adoptParams(this);
  }

  override children(): ReadonlyArray<readonly [string, Module]> {
    return [
      ['selfAttn', this.selfAttn],
      ['linear1', this.ff.linear1],
      ['linear2', this.ff.linear2],
      ['norm1', this.norm1],
      ['norm2', this.norm2],
      ['activation', this.ff.activation],
      ['dropout', this.ff.dropout],
      ['dropout1', this.dropout1],
      ['dropout2', this.dropout2],
    ];
  }

  forward(x: Tensor, mask?: AttentionMask | null): FloatTensor {
    checkTokens('TransformerEncoderLayer.forward', 'x', x, this.dModel);
    const m = mask ?? (this.causal ? causalMask(x.shape[1]) : null);
    const sa = (h: FloatTensor) => this.dropout1.forward(this.selfAttn.attend(h, h, h, m));
    const ff = (h: FloatTensor) => this.dropout2.forward(this.ff.forward(h));
    if (this.normFirst) {
      const h = add(x, sa(this.norm1.forward(x)));
      return add(h, ff(this.norm2.forward(h)));
    }
    const h = this.norm1.forward(add(x, sa(x)));
    return this.norm2.forward(add(h, ff(h)));
  }

  private backwardLayers(dout: Tensor): FloatTensor {
    checkTokens('TransformerEncoderLayer.backward', 'dout', dout, this.dModel);
    const dsa = (d: FloatTensor) => selfGrad(this.selfAttn, this.dropout1.backward(d));
    const dff = (d: FloatTensor) => this.ff.backward(this.dropout2.backward(d));
    if (this.normFirst) {
      const dh = add(dout, this.norm2.backward(dff(dout)));
      return add(dh, this.norm1.backward(dsa(dh)));
    }
    const d1 = this.norm2.backward(dout);
    const dh = this.norm1.backward(add(d1, dff(d1)));
    return add(dh, dsa(dh));
  }

  /** Runs the backward, then gathers the children's gradients under dotted keys. */
  override backward(dout: Tensor): FloatTensor {
    const dx = this.backwardLayers(dout);
    gatherGrads(this);
    return dx;
  }

  /** The self-attention weights of the last forward (N, heads, S, S). */
  get weights(): FloatTensor | null {
    return this.selfAttn.weights;
  }

  override toString(): string {
    return `TransformerEncoderLayer(${this.dModel}, heads=${this.selfAttn.numHeads}, ${this.normFirst ? 'pre' : 'post'}-norm)`;
  }
}

/**
 * Gives a container the params of its children under dotted keys ('selfAttn.Wq', 'norm1.weight'),
 * the same tensors, so that Sequential and the models see one flat live store.
 */
function adoptParams(m: Module): void {
  for (const [name, child] of m.children()) Object.assign(m.params, child.namedParams(`${name}.`));
}

/** Copies the children's gradients of the last backward into m.grads under the same keys. */
function gatherGrads(m: Module): void {
  for (const [name, child] of m.children()) Object.assign(m.grads, child.namedGrads(`${name}.`));
}

/** dquery + dkey + dvalue of an attend(h, h, h). */
function selfGrad(attn: MultiHeadAttention, dout: FloatTensor): FloatTensor {
  const { dquery, dkey, dvalue } = attn.backwardAttend(dout);
  const dx = add(dquery, dkey);
  for (let i = 0; i < dx.size; i++) dx.data[i] += dvalue.data[i];
  return dx;
}

/** The gradients of TransformerDecoderLayer.backwardWithMemory. */
export interface DecoderGrads {
  readonly dx: FloatTensor; // (N, S, dModel)
  readonly dmemory: FloatTensor; // (N, T, dModel)
}

/**
 * Pre-norm: h1 = x + drop(SA(LN1(x))), h2 = h1 + drop(CA(LN2(h1), memory)),
 * out = h2 + drop(FF(LN3(h2))); post-norm: h1 = LN1(x + drop(SA(x))),
 * h2 = LN2(h1 + drop(CA(h1, memory))), out = LN3(h2 + drop(FF(h2))).
 * SA is causal self-attention unless a tgtMask is given; CA attends from each token to every
 * memory position (or as memoryMask allows). params: selfAttn.*, crossAttn.*, linear1/2.*,
 * norm1/2/3.*.   x: (N, S, dModel), memory: (N, T, dModel)  =>  out: (N, S, dModel)
 */
export class TransformerDecoderLayer extends Module {
  readonly dModel: number;
  readonly normFirst: boolean;
  readonly selfAttn: MultiHeadAttention;
  readonly crossAttn: MultiHeadAttention;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly norm3: LayerNorm;
  private readonly ff: FeedForward;
  private readonly dropouts: readonly [Dropout, Dropout, Dropout];

  constructor(dModel: number, numHeads: number, options: TransformerLayerOptions = {}) {
    super();
    const fn = 'TransformerDecoderLayer';
    const s = layerSettings(fn, dModel, numHeads, options);
    if (options.causal !== undefined)
      throw new TypeError(
        `${fn}: causal is an encoder option; the decoder's self-attention is causal`,
      );
    this.dModel = dModel;
    this.normFirst = s.normFirst;
    this.selfAttn = s.attention();
    this.crossAttn = s.attention();
    this.ff = new FeedForward(dModel, s);
    const norm = () => new LayerNorm(dModel, { eps: s.eps, dtype: s.dtype });
    [this.norm1, this.norm2, this.norm3] = [norm(), norm(), norm()];
    const drop = () => new Dropout(s.dropout, { rng: s.rng });
    this.dropouts = [drop(), drop(), drop()];
    adoptParams(this);
  }

  override children(): ReadonlyArray<readonly [string, Module]> {
    return [
      ['selfAttn', this.selfAttn],
      ['crossAttn', this.crossAttn],
      ['linear1', this.ff.linear1],
      ['linear2', this.ff.linear2],
      ['norm1', this.norm1],
      ['norm2', this.norm2],
      ['norm3', this.norm3],
      ['activation', this.ff.activation],
      ['dropout', this.ff.dropout],
      ...this.dropouts.map((d, i) => [`dropout${i + 1}`, d] as const),
    ];
  }

  /** Needs the memory: call forward(x, memory). */
  forward(
    x: Tensor,
    memory?: Tensor,
    masks: { tgtMask?: AttentionMask | null; memoryMask?: AttentionMask | null } = {},
  ): FloatTensor {
    const fn = 'TransformerDecoderLayer.forward';
    checkTokens(fn, 'x', x, this.dModel);
    if (memory === undefined)
      throw new TypeError(
        `${fn}: memory is required: forward(x, memory) with memory (N, T, ${this.dModel})`,
      );
    checkTokens(fn, 'memory', memory, this.dModel);
    if (memory.shape[0] !== x.shape[0])
      throw new ShapeError(
        `${fn}: memory has shape ${fmt(memory.shape)} but x has shape ${fmt(x.shape)}`,
      );
    const tgtMask = masks.tgtMask ?? causalMask(x.shape[1]);
    const memoryMask = masks.memoryMask ?? null;
    const [d1, d2, d3] = this.dropouts;
    const sa = (h: FloatTensor) => d1.forward(this.selfAttn.attend(h, h, h, tgtMask));
    const ca = (h: FloatTensor) => d2.forward(this.crossAttn.attend(h, memory, memory, memoryMask));
    const ff = (h: FloatTensor) => d3.forward(this.ff.forward(h));
    if (this.normFirst) {
      const h1 = add(x, sa(this.norm1.forward(x)));
      const h2 = add(h1, ca(this.norm2.forward(h1)));
      return add(h2, ff(this.norm3.forward(h2)));
    }
    const h1 = this.norm1.forward(add(x, sa(x)));
    const h2 = this.norm2.forward(add(h1, ca(h1)));
    return this.norm3.forward(add(h2, ff(h2)));
  }

  backward(dout: Tensor): FloatTensor {
    return this.backwardWithMemory(dout).dx;
  }

  /** The gradients of the last forward w.r.t. x and memory; param gradients go to `grads`. */
  backwardWithMemory(dout: Tensor): DecoderGrads {
    checkTokens('TransformerDecoderLayer.backward', 'dout', dout, this.dModel);
    const [d1, d2, d3] = this.dropouts;
    const dsa = (d: FloatTensor) => selfGrad(this.selfAttn, d1.backward(d));
    const dca = (d: FloatTensor) => this.crossAttn.backwardAttend(d2.backward(d));
    const dff = (d: FloatTensor) => this.ff.backward(d3.backward(d));
    let dx: FloatTensor, cross: AttendGrads;
    if (this.normFirst) {
      const dh2 = add(dout, this.norm3.backward(dff(dout)));
      cross = dca(dh2);
      const dh1 = add(dh2, this.norm2.backward(cross.dquery));
      dx = add(dh1, this.norm1.backward(dsa(dh1)));
    } else {
      const e3 = this.norm3.backward(dout);
      const e2 = this.norm2.backward(add(e3, dff(e3)));
      cross = dca(e2);
      const e1 = this.norm1.backward(add(e2, cross.dquery));
      dx = add(e1, dsa(e1));
    }
    gatherGrads(this);
    return { dx, dmemory: add(cross.dkey, cross.dvalue) };
  }

  override toString(): string {
    return `TransformerDecoderLayer(${this.dModel}, heads=${this.selfAttn.numHeads}, ${this.normFirst ? 'pre' : 'post'}-norm)`;
  }
}
