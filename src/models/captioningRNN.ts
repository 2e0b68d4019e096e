// src/models/captioningRNN.ts: the classic image captioning model. Image features set the initial
// hidden state of a vanilla RNN or an LSTM that reads the caption one word at a time and predicts
// the next word; training minimises the masked per-step cross-entropy, generation is greedy or by
// beam search.
import { inOwnStepMemory } from '../kernels/index.js';
import {
  affineBackward,
  affineForward,
  lstmBackward,
  lstmForward,
  lstmStepForward,
  rnnBackward,
  rnnForward,
  rnnStepForward,
  temporalAffineBackward,
  temporalAffineForward,
  temporalSoftmaxLoss,
  wordEmbeddingBackward,
  wordEmbeddingForward,
} from '../layers/index.js';
import type { TokenIds } from '../layers/index.js';
import { softmaxShift, tokenIdsOf } from '../layers/internal.js';
import {
  expectId,
  expectOneOf,
  floatDType,
  DTypeError,
  expectFloat,
  expectNdim,
  expectNumber,
  expectOptions,
  fmt,
  ShapeError,
  Tensor,
  ValueError,
  type FloatDType,
  type FloatTensor,
  type IntTensor,
} from '../tensor/index.js';
import { gaussianWeight, positiveInt, rngFor } from './init.js';
import type { LossResult, ModelConfig } from '../nn/index.js';

export type CellType = 'rnn' | 'lstm';
const CELL_TYPES: readonly CellType[] = ['rnn', 'lstm'];

export interface CaptioningRNNOptions {
  /** The vocabulary: word -> id in [0, V); must hold '<NULL>', '<START>' and '<END>'. */
  wordToIdx: Record<string, number>;
  inputDim?: number; // D, size of an image feature vector, default 512
  wordvecDim?: number; // W, size of a word vector, default 128
  hiddenDim?: number; // H, default 128
  cellType?: CellType; // default 'rnn'
  dtype?: FloatDType; // default 'float32'
  seed?: number;
}
const OPTIONS = [
  'wordToIdx',
  'inputDim',
  'wordvecDim',
  'hiddenDim',
  'cellType',
  'dtype',
  'seed',
] as const;

export interface SampleOptions {
  /** 1 (default) decodes greedily; k > 1 keeps the k best partial captions by total log-probability. */
  beamSize?: number;
}

/**
 * params (classic names): W_proj (D, H), b_proj (H) map features to h0; W_embed (V, W) holds the
 * word vectors; Wx (W, G·H), Wh (H, G·H), b (G·H) are the cell's (G = 1 for 'rnn', 4 for 'lstm',
 * gates i, f, o, g); W_vocab (H, V), b_vocab (V) score the next word. Weights are N(0, 1) scaled by
 * 1/sqrt(fan-in) (W_embed by 1/100), biases 0, as in the classic model.
 */
export class CaptioningRNN {
  readonly params: Record<string, FloatTensor>;
  readonly config: ModelConfig;
  /** loss() creates no state: the Solver may reuse its memory every step (see Model). */
  readonly reusesStepMemory = true;
  readonly wordToIdx: Readonly<Record<string, number>>;
  /** idxToWord[id] is the word of id. */
  readonly idxToWord: readonly string[];
  readonly cellType: CellType;
  readonly dtype: FloatDType;
  readonly nullId: number;
  readonly startId: number;
  readonly endId: number;

  constructor(options: CaptioningRNNOptions) {
    const fn = 'CaptioningRNN';
    if (options === null || typeof options !== 'object')
      throw new TypeError(`${fn}: options must be an object with wordToIdx`);
    expectOptions(fn, options, OPTIONS);
    const { idxToWord, wordToIdx } = checkVocabulary(fn, options.wordToIdx);
    const V = idxToWord.length;
    const D = positiveInt(fn, 'inputDim', options.inputDim ?? 512);
    const W = positiveInt(fn, 'wordvecDim', options.wordvecDim ?? 128);
    const H = positiveInt(fn, 'hiddenDim', options.hiddenDim ?? 128);
    const cellType = expectOneOf(fn, 'cellType', options.cellType ?? 'rnn', CELL_TYPES);
    const dtype = floatDType(fn, options.dtype ?? 'float32');
    const rng = rngFor(options.seed),
      G = cellType === 'lstm' ? 4 : 1;
    this.params = {
      W_proj: gaussianWeight([D, H], 1 / Math.sqrt(D), dtype, rng),
      b_proj: Tensor.zeros([H], dtype),
      W_embed: gaussianWeight([V, W], 1 / 100, dtype, rng),
      Wx: gaussianWeight([W, G * H], 1 / Math.sqrt(W), dtype, rng),
      Wh: gaussianWeight([H, G * H], 1 / Math.sqrt(H), dtype, rng),
      b: Tensor.zeros([G * H], dtype),
      W_vocab: gaussianWeight([H, V], 1 / Math.sqrt(H), dtype, rng),
      b_vocab: Tensor.zeros([V], dtype),
    };
    this.wordToIdx = wordToIdx;
    this.idxToWord = idxToWord;
    this.cellType = cellType;
    this.dtype = dtype;
    this.nullId = wordToIdx['<NULL>'];
    this.startId = wordToIdx['<START>'];
    this.endId = wordToIdx['<END>'];
    this.config = { type: 'CaptioningRNN', options: { ...options, wordToIdx: { ...wordToIdx } } };
  }

  /**
   * Training loss and gradients. captionsIn = captions[:, :−1] is fed in, captionsOut =
   * captions[:, 1:] is predicted, and steps whose target is <NULL> are masked:
   * h0 = features·W_proj + b_proj; x = W_embed[captionsIn]; h = rnn/lstm(x, h0);
   * scores = h·W_vocab + b_vocab; loss = temporalSoftmaxLoss(scores, captionsOut, captionsOut ≠ <NULL>).
   * features: (N, D), captions: (N, T + 1) ids  =>  { loss, grads } with one gradient per param.
   * There is no scores mode: captions are required (the optional type lets the Solver call it).
   */
  loss(features: Tensor, captions?: TokenIds): LossResult {
    // a training call: it runs in the model's own step memory unless it is in one already
    return inOwnStepMemory(this, () => this.compute(features, captions));
  }

  private compute(features: Tensor, captions?: TokenIds): LossResult {
    const fn = 'CaptioningRNN.loss';
    this.checkFeatures(fn, features);
    if (captions === undefined)
      throw new ValueError(`${fn}: captions are required (use sample() to generate captions)`);
    const { ids, shape } = tokenIdsOf(fn, 'captions', captions, this.idxToWord.length);
    const N = features.shape[0];
    if (shape.length !== 2 || shape[0] !== N || shape[1] < 2) {
      throw new ShapeError(
        `${fn}: captions has shape ${fmt(shape)} but must be (N, T + 1) = [${N}, >= 2] for features of shape ${fmt(features.shape)}`,
      );
    }
    const T = shape[1] - 1;
    const captionsIn = new Tensor(new Int32Array(N * T), [N, T]),
      captionsOut = new Int32Array(N * T);
    const mask = new Array<boolean>(N * T);
    for (let n = 0; n < N; n++) {
      for (let t = 0; t < T; t++) {
        captionsIn.data[n * T + t] = ids[n * (T + 1) + t];
        captionsOut[n * T + t] = ids[n * (T + 1) + t + 1];
        mask[n * T + t] = captionsOut[n * T + t] !== this.nullId;
      }
    }
    const p = this.params;
    const proj = affineForward(features, p.W_proj, p.b_proj); // h0: (N, H)
    const embed = wordEmbeddingForward(captionsIn, p.W_embed); // (N, T, W)
    const cell =
      this.cellType === 'lstm'
        ? { kind: 'lstm' as const, ...lstmForward(embed.out, proj.out, p.Wx, p.Wh, p.b) }
        : { kind: 'rnn' as const, ...rnnForward(embed.out, proj.out, p.Wx, p.Wh, p.b) }; // h: (N, T, H)
    const vocab = temporalAffineForward(cell.h, p.W_vocab, p.b_vocab); // (N, T, V)
    const { loss, dx: dscores } = temporalSoftmaxLoss(vocab.out, captionsOut, mask);

    const dv = temporalAffineBackward(dscores, vocab.cache);
    const dc =
      cell.kind === 'lstm' ? lstmBackward(dv.dx, cell.cache) : rnnBackward(dv.dx, cell.cache);
    const { dW: dWEmbed } = wordEmbeddingBackward(dc.dx, embed.cache);
    const dp = affineBackward(dc.dh0, proj.cache, { inputGrad: false }); // the input is the features
    const grads = {
      W_proj: dp.dw,
      b_proj: dp.db,
      W_embed: dWEmbed,
      Wx: dc.dWx,
      Wh: dc.dWh,
      b: dc.db,
      W_vocab: dv.dw,
      b_vocab: dv.db,
    };
    return { loss, grads };
  }

  /**
   * Generates captions: h0 = features·W_proj + b_proj, then from <START> feeds back the chosen
   * word until <END> or maxLength words. Greedy (beamSize 1) takes the most likely word at each
   * step; beam search keeps the beamSize partial captions of highest total log-probability
   * (finished ones compete with their final score) and returns the best.
   * features: (N, D)  =>  (N, maxLength) int32 ids, the first generated word first (no <START>),
   * <END> included, <NULL> after it.
   */
  sample(features: Tensor, maxLength = 30, opts: SampleOptions = {}): IntTensor {
    const fn = 'CaptioningRNN.sample';
    this.checkFeatures(fn, features);
    expectNumber(fn, 'maxLength', maxLength, { integer: true, min: 1 });
    expectOptions(fn, opts, ['beamSize']);
    const beamSize = opts.beamSize ?? 1;
    expectNumber(fn, 'beamSize', beamSize, { integer: true, min: 1 });
    const N = features.shape[0],
      captions = Tensor.zeros([N, maxLength], 'int32');
    captions.data.fill(this.nullId);
    const h0 = affineForward(features, this.params.W_proj, this.params.b_proj).out; // (N, H)
    if (beamSize === 1) this.greedy(h0, maxLength, captions.data);
    else for (let n = 0; n < N; n++) this.beamSearch(h0, n, maxLength, beamSize, captions.data);
    return captions;
  }

  /** Captions as words, stopping at <END> and leaving out <NULL> and <START>. */
  decode(captions: TokenIds): string[] {
    const { ids, shape } = tokenIdsOf(
      'CaptioningRNN.decode',
      'captions',
      captions,
      this.idxToWord.length,
    );
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

  private checkFeatures(fn: string, features: Tensor): asserts features is FloatTensor {
    expectFloat(fn, 'features', features);
    expectNdim(fn, 'features', features, 2, '(N, D)');
    const D = this.params.W_proj.shape[0];
    if (features.shape[1] !== D)
      throw new ShapeError(
        `${fn}: features has shape ${fmt(features.shape)} but the model has inputDim ${D}`,
      );
    if (features.dtype !== this.dtype)
      throw new DTypeError(
        `${fn}: features has dtype ${features.dtype} but the model is ${this.dtype}`,
      );
  }

  /** One step of the cell for B rows: embeds `words`, advances (h, c), returns the scores (B, V). */
  private step(
    words: Int32Array,
    h: FloatTensor,
    c: FloatTensor,
  ): { h: FloatTensor; c: FloatTensor; scores: FloatTensor } {
    const p = this.params,
      x = wordEmbeddingForward(words, p.W_embed).out; // (B, W)
    if (this.cellType === 'lstm') {
      const { nextH, nextC } = lstmStepForward(x, h, c, p.Wx, p.Wh, p.b);
      return { h: nextH, c: nextC, scores: affineForward(nextH, p.W_vocab, p.b_vocab).out };
    }
    const { nextH } = rnnStepForward(x, h, p.Wx, p.Wh, p.b);
    return { h: nextH, c, scores: affineForward(nextH, p.W_vocab, p.b_vocab).out };
  }

  private greedy(h0: FloatTensor, maxLength: number, out: Int32Array): void {
    const [N, H] = h0.shape,
      V = this.idxToWord.length;
    let h = h0,
      c = Tensor.zeros([N, H], this.dtype);
    const words = new Int32Array(N).fill(this.startId),
      done = new Uint8Array(N);
    for (let t = 0; t < maxLength && done.some((d) => d === 0); t++) {
      const r = this.step(words, h, c);
      [h, c] = [r.h, r.c];
      for (let n = 0; n < N; n++) {
        if (done[n]) continue;
        let best = 0;
        for (let v = 1; v < V; v++)
          if (r.scores.data[n * V + v] > r.scores.data[n * V + best]) best = v;
        words[n] = best;
        out[n * maxLength + t] = best;
        if (best === this.endId) done[n] = 1;
      }
    }
  }

  private beamSearch(
    h0: FloatTensor,
    n: number,
    maxLength: number,
    beamSize: number,
    out: Int32Array,
  ): void {
    const H = h0.shape[1],
      V = this.idxToWord.length;
    interface Beam {
      words: number[];
      logp: number;
      row: number;
      done: boolean;
    }
    let beams: Beam[] = [{ words: [], logp: 0, row: 0, done: false }];
    let h = new Tensor(h0.data.slice(n * H, (n + 1) * H), [1, H]) as FloatTensor;
    let c = Tensor.zeros([1, H], this.dtype);
    for (let t = 0; t < maxLength; t++) {
      const alive = beams.filter((b) => !b.done);
      if (alive.length === 0) break;
      const words = Int32Array.from(alive, (b) =>
        b.words.length ? b.words[b.words.length - 1] : this.startId,
      );
      const rows = alive.map((b) => b.row);
      const r = this.step(words, gather(h, rows), gather(c, rows));
      const candidates: Beam[] = beams.filter((b) => b.done);
      alive.forEach((b, i) => {
        const logp = logSoftmaxRow(r.scores.data, i * V, V);
        for (let v = 0; v < V; v++) {
          candidates.push({
            words: [...b.words, v],
            logp: b.logp + logp[v],
            row: i,
            done: v === this.endId,
          });
        }
      });
      candidates.sort((a, b) => b.logp - a.logp); // stable: ties keep beam order, then word order
      beams = candidates.slice(0, beamSize);
      [h, c] = [r.h, r.c];
    }
    beams[0].words.forEach((w, t) => (out[n * maxLength + t] = w));
  }
}

/** Rows `rows` of x (B0, H) as a new (B, H) tensor. */
function gather(x: FloatTensor, rows: readonly number[]): FloatTensor {
  const H = x.shape[1],
    out = Tensor.zeros([rows.length, H], x.dtype);
  rows.forEach((r, i) => out.data.set(x.data.subarray(r * H, (r + 1) * H), i * H));
  return out;
}

/** log softmax of x[off .. off + V), computed as x − max − log Σ exp(x − max). */
function logSoftmaxRow(x: ArrayLike<number>, off: number, V: number): Float64Array {
  const { max, logSum } = softmaxShift(x, off, V);
  const lse = max + logSum,
    out = new Float64Array(V);
  for (let v = 0; v < V; v++) out[v] = x[off + v] - lse;
  return out;
}

/** Checks a vocabulary (ids 0..V−1, each used once, with the three special tokens). */
export function checkVocabulary(
  fn: string,
  wordToIdx: unknown,
): { wordToIdx: Record<string, number>; idxToWord: string[] } {
  if (wordToIdx === null || typeof wordToIdx !== 'object' || Array.isArray(wordToIdx)) {
    throw new TypeError(
      `${fn}: wordToIdx must be an object mapping words to ids, e.g. { '<NULL>': 0, '<START>': 1, '<END>': 2, ... }`,
    );
  }
  const entries = Object.entries(wordToIdx as Record<string, unknown>),
    V = entries.length;
  const idxToWord = new Array<string>(V);
  for (const [word, id] of entries) {
    expectId(fn, 'wordToIdx', id, word, V, { why: `(ids of ${V} words)` });
    if (idxToWord[id as number] !== undefined) {
      throw new ValueError(
        `${fn}: wordToIdx gives id ${String(id)} to both '${idxToWord[id as number]}' and '${word}'`,
      );
    }
    idxToWord[id as number] = word;
  }
  for (const special of ['<NULL>', '<START>', '<END>']) {
    if (!(special in (wordToIdx as object)))
      throw new ValueError(`${fn}: wordToIdx has no '${special}' token`);
  }
  return { wordToIdx: { ...(wordToIdx as Record<string, number>) }, idxToWord };
}
