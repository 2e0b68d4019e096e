// src/data/captions.ts: a captioning task that runs offline. Images are 2-4 MNIST digits side by
// side, captioned with their digit words ("<START> seven two nine <END>"); a fixed seeded
// composition turns any digit set (train, validation or test split) into images, captions and
// features, and scoreCaptions measures exact-caption and per-word accuracy.
import { kernelsFor } from '../kernels/index.js';
import {
  expectId,
  expectNdim,
  expectNumber,
  expectOptions,
  fmt,
  Rng,
  ShapeError,
  Tensor,
  ValueError,
  type FloatTensor,
  type IntTensor,
} from '../tensor/index.js';

export const DIGIT_WORDS: readonly string[] = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
];
/** The vocabulary: <NULL> 0 (padding), <START> 1, <END> 2, then 'zero'..'nine' as 3..12. */
export const DIGIT_VOCABULARY: readonly string[] = ['<NULL>', '<START>', '<END>', ...DIGIT_WORDS];
const SIDE = 28;

/** word -> id of DIGIT_VOCABULARY (a fresh object, e.g. for CaptioningRNN's wordToIdx). */
export function digitWordToIdx(): Record<string, number> {
  return Object.fromEntries(DIGIT_VOCABULARY.map((w, i) => [w, i]));
}

export interface DigitCaptionOptions {
  count: number; // how many images to compose
  minDigits?: number; // default 2
  maxDigits?: number; // default 4; also the number of 28-pixel slots of every image
  seed?: number; // default 0
}

export interface DigitCaptions {
  images: FloatTensor; // (M, 1, 28, 28·maxDigits): digit j in columns [28 j, 28 j + 28), empty slots 0
  captions: IntTensor; // (M, maxDigits + 2): <START> words <END>, then <NULL>
  digits: number[][]; // the digits of each image, left to right
  sources: Int32Array; // (M, maxDigits) the row of X in each slot, −1 when empty
  maxDigits: number;
}

/**
 * Composes `count` images from the digits X (N, 1, 28, 28) with labels y: each image draws its
 * number of digits uniformly in [minDigits, maxDigits] and then that many rows of X uniformly (with
 * replacement across images), all from Rng(seed), so the same call gives the same images.
 * Compose from the test split for held-out evaluation: no test digit is ever seen in training.
 */
export function composeDigitCaptions(
  X: Tensor,
  y: ArrayLike<number>,
  options: DigitCaptionOptions,
): DigitCaptions {
  const fn = 'composeDigitCaptions';
  expectOptions(fn, options, ['count', 'minDigits', 'maxDigits', 'seed']);
  expectNdim(fn, 'X', X, 4, '(N, 1, 28, 28)');
  if (X.shape[1] !== 1 || X.shape[2] !== SIDE || X.shape[3] !== SIDE) {
    throw new ShapeError(`${fn}: X has shape ${fmt(X.shape)} but must be (N, 1, 28, 28) digits`);
  }
  const N = X.shape[0];
  if (y.length !== N) throw new ShapeError(`${fn}: y has ${y.length} labels but X has ${N} images`);
  const count = options.count,
    minDigits = options.minDigits ?? 2,
    maxDigits = options.maxDigits ?? 4;
  expectNumber(fn, 'count', count, { integer: true, min: 0 });
  expectNumber(fn, 'minDigits', minDigits, { integer: true, min: 1 });
  expectNumber(fn, 'maxDigits', maxDigits, { integer: true, min: minDigits });
  if (N === 0 && count > 0) throw new ValueError(`${fn}: X has no images to compose from`);
  const rng = new Rng(options.seed ?? 0),
    Wimg = SIDE * maxDigits,
    L = maxDigits + 2;
  const images = Tensor.zeros(
    [count, 1, SIDE, Wimg],
    X.dtype === 'float64' ? 'float64' : 'float32',
  );
  const captions = Tensor.zeros([count, L], 'int32'),
    sources = new Int32Array(count * maxDigits).fill(-1);
  const digits: number[][] = [];
  for (let m = 0; m < count; m++) {
    const k = minDigits + rng.int(maxDigits - minDigits + 1),
      row: number[] = [];
    captions.data[m * L] = 1; // <START>
    for (let j = 0; j < k; j++) {
      const src = rng.int(N),
        label = y[src];
      expectId(fn, 'y', label, src, 10);
      sources[m * maxDigits + j] = src;
      row.push(label);
      captions.data[m * L + 1 + j] = 3 + label;
      for (let r = 0; r < SIDE; r++) {
        const from = src * SIDE * SIDE + r * SIDE,
          to = (m * SIDE + r) * Wimg + j * SIDE;
        images.data.set(X.data.subarray(from, from + SIDE), to);
      }
    }
    captions.data[m * L + 1 + k] = 2; // <END>
    digits.push(row);
  }
  return { images, captions, digits, sources, maxDigits };
}

export interface SlotFeatureOptions {
  slots: number; // number of 28-pixel slots across the image
  dim?: number; // features per slot, default 256
  seed?: number; // of the fixed projection, default 0
}

/**
 * Fixed (untrained) features of each 28×28 slot: relu(x·P + c) with x the slot's 784 pixels minus
 * 0.5, P (784, dim) ~ N(0, 1/784) and c ~ N(0, 1/4) drawn once from Rng(seed), the same for every
 * slot; the slots' features are concatenated. A random-features map: all the digit reading is left
 * to the model (its W_proj) on top of it.   images: (M, 1, 28, 28·slots)  =>  (M, slots·dim) float32
 */
export function slotFeatures(images: Tensor, options: SlotFeatureOptions): FloatTensor {
  const fn = 'slotFeatures';
  expectOptions(fn, options, ['slots', 'dim', 'seed']);
  const S = options.slots,
    dim = options.dim ?? 256;
  expectNumber(fn, 'slots', S, { integer: true, min: 1 });
  expectNumber(fn, 'dim', dim, { integer: true, min: 1 });
  expectNdim(fn, 'images', images, 4, '(M, 1, 28, 28·slots)');
  const [M, , Himg, Wimg] = images.shape;
  if (images.shape[1] !== 1 || Himg !== SIDE || Wimg !== SIDE * S) {
    throw new ShapeError(
      `${fn}: images has shape ${fmt(images.shape)} but ${S} slots need (M, 1, 28, ${SIDE * S})`,
    );
  }
  const rng = new Rng(options.seed ?? 0),
    P2 = SIDE * SIDE;
  const P = Tensor.randn([P2, dim], { rng, std: 1 / SIDE }),
    c = Tensor.randn([dim], { rng, std: 0.5 });
  const k = kernelsFor('float32'),
    x = new Float32Array(M * P2),
    proj = new Float32Array(M * dim);
  const out = Tensor.zeros([M, S * dim]);
  for (let s = 0; s < S; s++) {
    for (let m = 0; m < M; m++) {
      for (let r = 0; r < SIDE; r++) {
        const from = (m * SIDE + r) * Wimg + s * SIDE,
          to = m * P2 + r * SIDE;
        for (let q = 0; q < SIDE; q++) x[to + q] = images.data[from + q] - 0.5;
      }
    }
    k.gemm(proj, x, P.data, M, P2, dim); // (M, 784)·(784, dim)
    for (let m = 0; m < M; m++) {
      const to = m * S * dim + s * dim,
        from = m * dim;
      for (let j = 0; j < dim; j++) out.data[to + j] = Math.max(0, proj[from + j] + c.data[j]);
    }
  }
  return out;
}

/**
 * Features of composed images from features of their source digits: slot j of image m gets row
 * sources[m, j] of digitFeatures, or `blank` (the features of an all-zero 28×28 image) when the
 * slot is empty. Because every slot is an exact copy of its source digit's pixels, this equals
 * running the (per-slot) feature extractor on the composed image, slot by slot, at a fraction of
 * the cost.   sources: (M, S), digitFeatures: (N, K), blank: (K) or (1, K)  =>  (M, S·K)
 */
export function gatherSlotFeatures(
  composed: Pick<DigitCaptions, 'sources' | 'maxDigits'>,
  digitFeatures: Tensor,
  blank: Tensor,
): FloatTensor {
  const fn = 'gatherSlotFeatures';
  expectNdim(fn, 'digitFeatures', digitFeatures, 2, '(N, K)');
  const [N, K] = digitFeatures.shape,
    S = composed.maxDigits,
    M = composed.sources.length / S;
  if (blank.size !== K)
    throw new ShapeError(
      `${fn}: blank has shape ${fmt(blank.shape)} but digitFeatures has ${K} columns`,
    );
  if (digitFeatures.dtype === 'int32' || blank.dtype !== digitFeatures.dtype) {
    throw new ValueError(
      `${fn}: digitFeatures (${digitFeatures.dtype}) and blank (${blank.dtype}) must be float of one dtype`,
    );
  }
  const out = Tensor.zeros([M, S * K], digitFeatures.dtype === 'float64' ? 'float64' : 'float32');
  for (let m = 0; m < M; m++) {
    for (let j = 0; j < S; j++) {
      const src = composed.sources[m * S + j];
      if (src >= N)
        throw new ValueError(`${fn}: sources[${m}, ${j}] = ${src} but digitFeatures has ${N} rows`);
      out.data.set(
        src < 0 ? blank.data : digitFeatures.data.subarray(src * K, (src + 1) * K),
        (m * S + j) * K,
      );
    }
  }
  return out;
}

/** Words of generated ids up to <END> (no <START>, <NULL> skipped), as digits. */
function digitsOf(ids: ArrayLike<number>, off: number, L: number): number[] {
  const out: number[] = [];
  for (let t = 0; t < L; t++) {
    const id = ids[off + t];
    if (id === 2) break;
    if (id >= 3) out.push(id - 3);
    else if (id === 1) out.push(-1); // a stray <START> counts as a wrong word
  }
  return out;
}

/**
 * Compares generated captions (M, L) (CaptioningRNN.sample's output) with the true digits:
 * exact = fraction of images whose generated words, up to <END>, are exactly their digits;
 * perWord = fraction of true digits whose position holds the right word.
 */
export function scoreCaptions(
  generated: Tensor,
  digits: readonly (readonly number[])[],
): { exact: number; perWord: number; predicted: number[][] } {
  const fn = 'scoreCaptions';
  expectNdim(fn, 'generated', generated, 2, '(M, L) ids');
  const [M, L] = generated.shape;
  if (digits.length !== M)
    throw new ShapeError(
      `${fn}: digits has ${digits.length} rows but generated has shape ${fmt(generated.shape)}`,
    );
  let exact = 0,
    right = 0,
    total = 0;
  const predicted: number[][] = [];
  for (let m = 0; m < M; m++) {
    const pred = digitsOf(generated.data, m * L, L),
      truth = digits[m];
    predicted.push(pred);
    if (pred.length === truth.length && pred.every((d, j) => d === truth[j])) exact++;
    truth.forEach((d, j) => (right += pred[j] === d ? 1 : 0));
    total += truth.length;
  }
  return { exact: M > 0 ? exact / M : 0, perWord: total > 0 ? right / total : 0, predicted };
}

/** The digits of true captions (M, L) (<START> words <END> <NULL>...), e.g. a Solver's y rows. */
export function captionDigits(captions: Tensor): number[][] {
  expectNdim('captionDigits', 'captions', captions, 2, '(M, L) ids');
  const [M, L] = captions.shape,
    out: number[][] = [];
  for (let m = 0; m < M; m++) out.push(digitsOf(captions.data, m * L + 1, L - 1));
  return out;
}

/** Digits as their caption, e.g. [7, 2, 9] -> 'seven two nine'. */
export function digitsToWords(digits: readonly number[]): string {
  return digits.map((d) => (d >= 0 && d <= 9 ? DIGIT_WORDS[d] : '?')).join(' ');
}
