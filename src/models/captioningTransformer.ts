// src/models/captioningTransformer.ts: the Transformer image captioner of the course's later
// editions: image features (one vector, or one per region) are projected to a memory of tokens
// with sinusoidal positions, the caption so far is embedded
// and position-encoded, causal Transformer decoder layers read it while attending to the memory,
// and a linear map scores the next word. Trained like CaptioningRNN (masked per-step
// cross-entropy through the Solver), decoded greedily.
import { inOwnStepMemory } from '../kernels/index.js';
import {
  positionalEncodingBackward,
  positionalEncodingForward,
  temporalAffineBackward,
  temporalAffineForward,
  temporalSoftmaxLoss,
  wordEmbeddingBackward,
  wordEmbeddingForward,
  type TokenIds,
} from '../layers/index.js';
import { tokenIdsOf } from '../layers/internal.js';
import { TransformerDecoderLayer, type LossResult, type ModelConfig } from '../nn/index.js';
import {
  defaultRng,
  DTypeError,
  expectFloat,
  expectNumber,
  expectOptions,
  floatDType,
  fmt,
  Rng,
  ShapeError,
  Tensor,
  ValueError,
  type FloatDType,
  type FloatTensor,
  type IntTensor,
} from '../tensor/index.js';
import { checkVocabulary } from './captioningRNN.js';
import { positiveInt } from './init.js';

export interface CaptioningTransformerOptions {
  /** The vocabulary: word -> id in [0, V); must hold '<NULL>', '<START>' and '<END>'. */
  wordToIdx: Record<string, number>;
  /** D, the size of one image feature vector (features (N, D), or (N, L, D) for L regions). */
  inputDim?: number; // default 512
  wordvecDim?: number; // W, the model width, default 128; even (positional encoding)
  numHeads?: number; // divides wordvecDim, default 4
  numLayers?: number; // decoder layers, default 2
  maxLength?: number; // longest caption fed in (T), default 50
  dimFeedforward?: number; // default 4·wordvecDim
  dropout?: number; // in every decoder layer, default 0
  dtype?: FloatDType; // default 'float32'
  seed?: number;
}
const OPTIONS = [
  'wordToIdx',
  'inputDim',
  'wordvecDim',
  'numHeads',
  'numLayers',
  'maxLength',
  'dimFeedforward',
  'dropout',
  'dtype',
  'seed',
] as const;

/**
 * params: W_proj (D, W), b_proj (W) project each feature vector to a memory token; W_embed (V, W)
 * holds the word vectors (~ N(0, 1), as torch.nn.Embedding); layers.i.* of each pre-norm
 * TransformerDecoderLayer; W_vocab (W, V), b_vocab (V) score the next word. The projections are
 * initialised as torch.nn.Linear.
 */
export class CaptioningTransformer {
  readonly params: Record<string, FloatTensor>;
  readonly config: ModelConfig;
  /** loss() creates no state: the Solver may reuse its memory every step (see Model). */
  readonly reusesStepMemory = true;
  /** Draws the dropout masks; seeded from options.seed (after the initial weights). */
  readonly rng: Rng;
  readonly wordToIdx: Readonly<Record<string, number>>;
  readonly idxToWord: readonly string[];
  readonly dtype: FloatDType;
  readonly maxLength: number;
  readonly nullId: number;
  readonly startId: number;
  readonly endId: number;
  readonly layers: readonly TransformerDecoderLayer[];

  constructor(options: CaptioningTransformerOptions) {
    const fn = 'CaptioningTransformer';
    if (options === null || typeof options !== 'object')
      throw new TypeError(`${fn}: options must be an object with wordToIdx`);
    expectOptions(fn, options, OPTIONS);
    const { idxToWord, wordToIdx } = checkVocabulary(fn, options.wordToIdx);
    const V = idxToWord.length;
    const D = positiveInt(fn, 'inputDim', options.inputDim ?? 512);
    const W = positiveInt(fn, 'wordvecDim', options.wordvecDim ?? 128);
    if (W % 2 !== 0)
      throw new ValueError(`${fn}: wordvecDim must be even (sine/cosine pairs), got ${W}`);
    const heads = positiveInt(fn, 'numHeads', options.numHeads ?? 4);
    if (W % heads !== 0)
      throw new ValueError(`${fn}: numHeads = ${heads} does not divide wordvecDim = ${W}`);
    const L = positiveInt(fn, 'numLayers', options.numLayers ?? 2);
    this.maxLength = positiveInt(fn, 'maxLength', options.maxLength ?? 50);
    const dimFeedforward = positiveInt(fn, 'dimFeedforward', options.dimFeedforward ?? 4 * W);
    const dropout = options.dropout ?? 0;
    expectNumber(fn, 'dropout', dropout, { min: 0, max: 1, maxExclusive: true });
    const dtype = floatDType(fn, options.dtype ?? 'float32');
    const rng =
      options.seed !== undefined ? new Rng(options.seed) : new Rng(defaultRng().nextUint32());
    this.rng = rng;
    const linear = (fanIn: number, shape: number[]) =>
      Tensor.rand(shape, { dtype, low: -1 / Math.sqrt(fanIn), high: 1 / Math.sqrt(fanIn), rng });
    this.params = {
      W_proj: linear(D, [D, W]),
      b_proj: linear(D, [W]),
      W_embed: Tensor.randn([V, W], { dtype, rng }),
    };
    this.layers = Array.from(
      { length: L },
      () =>
        new TransformerDecoderLayer(W, heads, {
          dimFeedforward,
          dropout,
          activation: 'gelu',
          normFirst: true,
          dtype,
          rng,
        }),
    );
    this.layers.forEach((layer, i) =>
      Object.assign(this.params, layer.namedParams(`layers.${i}.`)),
    );
    Object.assign(this.params, { W_vocab: linear(W, [W, V]), b_vocab: linear(W, [V]) });
    this.wordToIdx = wordToIdx;
    this.idxToWord = idxToWord;
    this.dtype = dtype;
    this.nullId = wordToIdx['<NULL>'];
    this.startId = wordToIdx['<START>'];
    this.endId = wordToIdx['<END>'];
    this.config = {
      type: 'CaptioningTransformer',
      options: { ...options, wordToIdx: { ...wordToIdx } },
    };
  }

  /**
   * Training loss and gradients, as CaptioningRNN: captionsIn = captions[:, :−1] is fed in,
   * captionsOut = captions[:, 1:] is predicted, steps whose target is <NULL> are masked:
   * memory = PE(features·W_proj + b_proj); x = PE(W_embed[captionsIn]); x = decoder layers(x, memory);
   * scores = x·W_vocab + b_vocab; loss = temporalSoftmaxLoss(scores, captionsOut, captionsOut ≠ <NULL>).
   * features: (N, D) or (N, L, D), captions: (N, T + 1) ids, T <= maxLength  =>  { loss, grads }
   */
  loss(features: Tensor, captions?: TokenIds): LossResult {
    // a training call: it runs in the model's own step memory unless it is in one already
    return inOwnStepMemory(this, () => this.compute(features, captions));
  }

  private compute(features: Tensor, captions?: TokenIds): LossResult {
    const fn = 'CaptioningTransformer.loss';
    const memoryIn = this.checkFeatures(fn, features);
    if (captions === undefined)
      throw new ValueError(`${fn}: captions are required (use sample() to generate captions)`);
    const { ids, shape } = tokenIdsOf(fn, 'captions', captions, this.idxToWord.length);
    const N = features.shape[0];
    if (shape.length !== 2 || shape[0] !== N || shape[1] < 2 || shape[1] - 1 > this.maxLength) {
      throw new ShapeError(
        `${fn}: captions has shape ${fmt(shape)} but must be (N, T + 1) = [${N}, 2..${this.maxLength + 1}] for features of shape ${fmt(features.shape)}`,
      );
    }
    const T = shape[1] - 1;
    const captionsIn = new Tensor(new Int32Array(N * T), [N, T]),
      captionsOut = new Int32Array(N * T),
      mask = new Array<boolean>(N * T);
    for (let n = 0; n < N; n++) {
      for (let t = 0; t < T; t++) {
        captionsIn.data[n * T + t] = ids[n * (T + 1) + t];
        captionsOut[n * T + t] = ids[n * (T + 1) + t + 1];
        mask[n * T + t] = captionsOut[n * T + t] !== this.nullId;
      }
    }
    const run = this.forward(memoryIn, captionsIn, 'train');
    const { loss, dx: dscores } = temporalSoftmaxLoss(run.scores, captionsOut, mask);
    return { loss, grads: run.backward(dscores) };
  }

  /**
   * Greedy generation: from <START>, runs the decoder on the words so far and appends the most
   * likely next word, until <END> or maxLength words.
   * features: (N, D) or (N, L, D)  =>  (N, maxLength) int32 ids, the first generated word first
   * (no <START>), <END> included, <NULL> after it.
   */
  sample(features: Tensor, maxLength = this.maxLength): IntTensor {
    const fn = 'CaptioningTransformer.sample';
    const memoryIn = this.checkFeatures(fn, features);
    expectNumber(fn, 'maxLength', maxLength, { integer: true, min: 1, max: this.maxLength });
    const N = features.shape[0],
      V = this.idxToWord.length,
      captions = Tensor.zeros([N, maxLength], 'int32');
    captions.data.fill(this.nullId);
    const words = new Int32Array(N * maxLength), // the input: <START>, then the chosen words
      done = new Uint8Array(N);
    for (let n = 0; n < N; n++) words[n * maxLength] = this.startId;
    for (let t = 0; t < maxLength && done.some((d) => d === 0); t++) {
      const prefix = new Tensor(new Int32Array(N * (t + 1)), [N, t + 1]);
      for (let n = 0; n < N; n++)
        prefix.data.set(words.subarray(n * maxLength, n * maxLength + t + 1), n * (t + 1));
      const scores = this.forward(memoryIn, prefix, 'test').scores.data; // (N, t + 1, V)
      for (let n = 0; n < N; n++) {
        if (done[n]) continue;
        const row = (n * (t + 1) + t) * V;
        let best = 0;
        for (let v = 1; v < V; v++) if (scores[row + v] > scores[row + best]) best = v;
        captions.data[n * maxLength + t] = best;
        if (t + 1 < maxLength) words[n * maxLength + t + 1] = best;
        if (best === this.endId) done[n] = 1;
      }
    }
    return captions;
  }

  /** Captions as words, stopping at <END> and leaving out <NULL> and <START>. */
  decode(captions: TokenIds): string[] {
    const fn = 'CaptioningTransformer.decode';
    const { ids, shape } = tokenIdsOf(fn, 'captions', captions, this.idxToWord.length);
    const T = shape[shape.length - 1] ?? 0,
      N = T > 0 ? ids.length / T : 0,
      out: string[] = [];
    for (let n = 0; n < N; n++) {
      const words: string[] = [];
      for (let t = 0; t < T; t++) {
        const id = ids[n * T + t];
        if (id === this.endId) break;
        if (id !== this.nullId && id !== this.startId) words.push(this.idxToWord[id]);
      }
      out.push(words.join(' '));
    }
    return out;
  }

  /** Each decoder layer's cross-attention weights of the last forward, (N, heads, T, L). */
  crossAttentionWeights(): FloatTensor[] {
    return this.layers.map((l) => l.crossAttn.weights).filter((w): w is FloatTensor => w !== null);
  }

  /** features as (N, L, D) (a view; (N, D) is one memory token), checked against the model. */
  private checkFeatures(fn: string, features: Tensor): FloatTensor {
    expectFloat(fn, 'features', features);
    const D = this.params.W_proj.shape[0],
      s = features.shape;
    if ((s.length !== 2 && s.length !== 3) || s[s.length - 1] !== D)
      throw new ShapeError(
        `${fn}: features has shape ${fmt(s)} but must be (N, ${D}) or (N, L, ${D}) (inputDim ${D})`,
      );
    if (features.dtype !== this.dtype)
      throw new DTypeError(
        `${fn}: features has dtype ${features.dtype} but the model is ${this.dtype}`,
      );
    return s.length === 3 ? features : features.reshape([s[0], 1, D]);
  }

  /** The forward pass over captionsIn (N, T); backward(dscores) gives one gradient per param. */
  private forward(memoryIn: FloatTensor, captionsIn: Tensor, mode: 'train' | 'test') {
    const p = this.params;
    for (const layer of this.layers) layer.train(mode === 'train');
    const proj = temporalAffineForward(memoryIn, p.W_proj, p.b_proj); // (N, L, W)
    // the memory tokens get positions too: cross-attention alone cannot tell the regions apart
    const memory = positionalEncodingForward(proj.out).out;
    const embed = wordEmbeddingForward(captionsIn, p.W_embed); // (N, T, W)
    const pos = positionalEncodingForward(embed.out);
    let x = pos.out;
    for (const layer of this.layers) x = layer.forward(x, memory);
    const vocab = temporalAffineForward(x, p.W_vocab, p.b_vocab); // (N, T, V)

    const backward = (dscores: FloatTensor): Record<string, FloatTensor> => {
      const grads: Record<string, FloatTensor> = {};
      const dv = temporalAffineBackward(dscores, vocab.cache);
      [grads.W_vocab, grads.b_vocab] = [dv.dw, dv.db];
      let dx = dv.dx;
      const dmemory = Tensor.zeros(proj.out.shape, proj.out.dtype);
      for (let i = this.layers.length - 1; i >= 0; i--) {
        const g = this.layers[i].backwardWithMemory(dx);
        dx = g.dx;
        for (let j = 0; j < dmemory.size; j++) dmemory.data[j] += g.dmemory.data[j];
        for (const [k, t] of Object.entries(this.layers[i].grads)) grads[`layers.${i}.${k}`] = t;
      }
      const dembed = positionalEncodingBackward(dx, pos.cache).dx;
      grads.W_embed = wordEmbeddingBackward(dembed, embed.cache).dW;
      const dp = temporalAffineBackward(dmemory, proj.cache); // PE's backward is the identity
      [grads.W_proj, grads.b_proj] = [dp.dw, dp.db];
      return grads;
    };
    return { scores: vocab.out, backward };
  }
}
