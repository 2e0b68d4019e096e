// src/nn/recurrent.ts: the sequence modules, stateful wrappers of layers/{embedding,rnn,lstm,gru,
// temporal}.ts: Embedding (ids -> vectors), RNN, LSTM and GRU (whole sequences, h0 optional) and
// TemporalLinear (an affine map at every step). Chained, they build a language model or a decoder.
import {
  gruBackward,
  gruForward,
  lstmBackward,
  lstmForward,
  rnnBackward,
  rnnForward,
  temporalAffineBackward,
  temporalAffineForward,
  wordEmbeddingBackward,
  wordEmbeddingForward,
  type GruCache,
  type LstmCache,
  type RnnCache,
  type TemporalAffineCache,
  type TokenIds,
  type WordEmbeddingCache,
} from '../layers/index.js';
import {
  floatDType,
  expectFloat,
  expectNdim,
  expectNumber,
  expectOptions,
  fmt,
  ShapeError,
  Tensor,
  type FloatDType,
  type FloatTensor,
  type Rng,
} from '../tensor/index.js';
import { Module } from './module.js';
import { initRng, lastCache } from './util.js';

export interface RecurrentOptions {
  dtype?: FloatDType; // default 'float32'
  seed?: number; // a fresh Rng(seed) draws the initial values
  rng?: Rng; // draw them from this generator instead
}
const OPTIONS = ['dtype', 'seed', 'rng'] as const;

function sizeArg(fn: string, arg: string, v: unknown): number {
  expectNumber(fn, arg, v, { integer: true, min: 1 });
  return v;
}

/**
 * out[n, t, :] = weight[ids[n, t], :].   ids: (N, T) int32 in [0, numEmbeddings)  =>  (N, T, embeddingDim).
 * weight (numEmbeddings, embeddingDim) ~ N(0, 1), as torch.nn.Embedding.
 */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  private cache: WordEmbeddingCache | null = null;

  constructor(numEmbeddings: number, embeddingDim: number, options: RecurrentOptions = {}) {
    super();
    const fn = 'Embedding';
    this.numEmbeddings = sizeArg(fn, 'numEmbeddings', numEmbeddings);
    this.embeddingDim = sizeArg(fn, 'embeddingDim', embeddingDim);
    expectOptions(fn, options, OPTIONS);
    const dtype = floatDType(fn, options.dtype ?? 'float32'),
      rng = initRng(fn, options);
    this.params.weight = Tensor.randn([numEmbeddings, embeddingDim], { dtype, rng });
  }

  forward(ids: TokenIds): FloatTensor {
    const { out, cache } = wordEmbeddingForward(ids, this.params.weight);
    this.cache = cache;
    return out;
  }

  /** Stores grads.weight; token ids have no gradient, so this returns zeros shaped like the ids. */
  backward(dout: Tensor): FloatTensor {
    const cache = lastCache('Embedding.backward', this.cache);
    this.grads.weight = wordEmbeddingBackward(dout, cache).dW;
    return Tensor.zeros(cache.idsShape, cache.dtype);
  }

  override toString(): string {
    return `Embedding(${this.numEmbeddings}, ${this.embeddingDim})`;
  }
}

/** What RNN, LSTM and GRU share: params Wx (D, G·H), Wh (H, G·H), b (G·H) ~ U(−k, k), k = 1/√H (torch's init). */
abstract class RecurrentBase extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  /** Gradient w.r.t. h0 of the last backward. */
  dh0: FloatTensor | null = null;

  constructor(
    fn: string,
    G: number,
    inputSize: number,
    hiddenSize: number,
    options: RecurrentOptions,
  ) {
    super();
    this.inputSize = sizeArg(fn, 'inputSize', inputSize);
    this.hiddenSize = sizeArg(fn, 'hiddenSize', hiddenSize);
    expectOptions(fn, options, OPTIONS);
    const dtype = floatDType(fn, options.dtype ?? 'float32'),
      rng = initRng(fn, options),
      k = 1 / Math.sqrt(hiddenSize);
    this.params.Wx = Tensor.rand([inputSize, G * hiddenSize], { dtype, low: -k, high: k, rng });
    this.params.Wh = Tensor.rand([hiddenSize, G * hiddenSize], { dtype, low: -k, high: k, rng });
    this.params.b = Tensor.rand([G * hiddenSize], { dtype, low: -k, high: k, rng });
  }

  /** Checks x (N, T, inputSize) and returns h0, zeros when not given. */
  protected initialState(fn: string, x: Tensor, h0: Tensor | undefined): Tensor {
    expectFloat(fn, 'x', x);
    expectNdim(fn, 'x', x, 3, '(N, T, D)');
    if (x.shape[2] !== this.inputSize)
      throw new ShapeError(`${fn}: x has shape ${fmt(x.shape)} but inputSize is ${this.inputSize}`);
    return h0 ?? Tensor.zeros([x.shape[0], this.hiddenSize], x.dtype);
  }

  protected store(g: {
    dx: FloatTensor;
    dh0: FloatTensor;
    dWx: FloatTensor;
    dWh: FloatTensor;
    db: FloatTensor;
  }): FloatTensor {
    this.grads.Wx = g.dWx;
    this.grads.Wh = g.dWh;
    this.grads.b = g.db;
    this.dh0 = g.dh0;
    return g.dx;
  }
}

/**
 * The vanilla RNN over a sequence, h_t = tanh(x_t·Wx + h_{t−1}·Wh + b).
 * x: (N, T, inputSize), h0: (N, hiddenSize) (default zeros)  =>  h: (N, T, hiddenSize).
 * backward(dh) returns dx and keeps dh0.
 */
export class RNN extends RecurrentBase {
  private cache: RnnCache | null = null;

  constructor(inputSize: number, hiddenSize: number, options: RecurrentOptions = {}) {
    super('RNN', 1, inputSize, hiddenSize, options);
  }

  forward(x: Tensor, h0?: Tensor): FloatTensor {
    const { h, cache } = rnnForward(
      x,
      this.initialState('RNN.forward', x, h0),
      this.params.Wx,
      this.params.Wh,
      this.params.b,
    );
    this.cache = cache;
    return h;
  }

  backward(dh: Tensor): FloatTensor {
    return this.store(rnnBackward(dh, lastCache('RNN.backward', this.cache)));
  }

  override toString(): string {
    return `RNN(${this.inputSize} -> ${this.hiddenSize})`;
  }
}

/**
 * The LSTM over a sequence (gates i, f, o, g; c0 = 0).
 * x: (N, T, inputSize), h0: (N, hiddenSize) (default zeros)  =>  h: (N, T, hiddenSize).
 * backward(dh) returns dx and keeps dh0.
 */
export class LSTM extends RecurrentBase {
  private cache: LstmCache | null = null;

  constructor(inputSize: number, hiddenSize: number, options: RecurrentOptions = {}) {
    super('LSTM', 4, inputSize, hiddenSize, options);
  }

  forward(x: Tensor, h0?: Tensor): FloatTensor {
    const { h, cache } = lstmForward(
      x,
      this.initialState('LSTM.forward', x, h0),
      this.params.Wx,
      this.params.Wh,
      this.params.b,
    );
    this.cache = cache;
    return h;
  }

  backward(dh: Tensor): FloatTensor {
    return this.store(lstmBackward(dh, lastCache('LSTM.backward', this.cache)));
  }

  override toString(): string {
    return `LSTM(${this.inputSize} -> ${this.hiddenSize})`;
  }
}

/**
 * The GRU over a sequence (torch.nn.GRU's gates r, z, n; one bias on the input side).
 * x: (N, T, inputSize), h0: (N, hiddenSize) (default zeros)  =>  h: (N, T, hiddenSize).
 * backward(dh) returns dx and keeps dh0.
 */
export class GRU extends RecurrentBase {
  private cache: GruCache | null = null;

  constructor(inputSize: number, hiddenSize: number, options: RecurrentOptions = {}) {
    super('GRU', 3, inputSize, hiddenSize, options);
  }

  forward(x: Tensor, h0?: Tensor): FloatTensor {
    const { h, cache } = gruForward(
      x,
      this.initialState('GRU.forward', x, h0),
      this.params.Wx,
      this.params.Wh,
      this.params.b,
    );
    this.cache = cache;
    return h;
  }

  backward(dh: Tensor): FloatTensor {
    return this.store(gruBackward(dh, lastCache('GRU.backward', this.cache)));
  }

  override toString(): string {
    return `GRU(${this.inputSize} -> ${this.hiddenSize})`;
  }
}

/**
 * out[n, t, :] = x[n, t, :]·weight + bias.   x: (N, T, inFeatures)  =>  (N, T, outFeatures).
 * weight (inFeatures, outFeatures) and bias ~ U(−k, k), k = 1/√inFeatures, as torch.nn.Linear.
 */
export class TemporalLinear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  private cache: TemporalAffineCache | null = null;

  constructor(inFeatures: number, outFeatures: number, options: RecurrentOptions = {}) {
    super();
    const fn = 'TemporalLinear';
    this.inFeatures = sizeArg(fn, 'inFeatures', inFeatures);
    this.outFeatures = sizeArg(fn, 'outFeatures', outFeatures);
    expectOptions(fn, options, OPTIONS);
    const dtype = floatDType(fn, options.dtype ?? 'float32'),
      rng = initRng(fn, options),
      k = 1 / Math.sqrt(inFeatures);
    this.params.weight = Tensor.rand([inFeatures, outFeatures], { dtype, low: -k, high: k, rng });
    this.params.bias = Tensor.rand([outFeatures], { dtype, low: -k, high: k, rng });
  }

  forward(x: Tensor): FloatTensor {
    const { out, cache } = temporalAffineForward(x, this.params.weight, this.params.bias);
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): FloatTensor {
    const { dx, dw, db } = temporalAffineBackward(
      dout,
      lastCache('TemporalLinear.backward', this.cache),
    );
    this.grads.weight = dw;
    this.grads.bias = db;
    return dx;
  }

  override toString(): string {
    return `TemporalLinear(${this.inFeatures} -> ${this.outFeatures})`;
  }
}
