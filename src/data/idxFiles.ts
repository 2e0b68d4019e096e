// src/data/idxFiles.ts: IDX files (plain or .gz) and MNIST-style folders of them (Node only);
// the format itself is parsed by idx.ts.
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  fmt,
  Tensor,
  ValueError,
  expectNumber,
  expectOptions,
  type FloatTensor,
} from '../tensor/index.js';
import { holdoutDestinations, type ClassificationData } from './batching.js';
import { classNamesFor, maxBytesOption, readFileBytes } from './files.js';
import { IDX_MAX_HEADER, idxDeclaredSize, parseIdx, type IdxArray } from './idx.js';
import { UNIT_OF_BYTE } from './pixels.js';

/** Options of readIdx. */
export interface ReadIdxOptions {
  /** The most bytes the file may hold or decompress to; default DEFAULT_MAX_BYTES (1 GiB). */
  maxBytes?: number;
}

/**
 * Reads an IDX file (plain, or gzip when the name ends in .gz). Errors name the file. A .gz file
 * is decompressed only as far as its header declares, and not at all past opts.maxBytes.
 */
export function readIdx(path: string, opts: ReadIdxOptions = {}): IdxArray {
  expectOptions('readIdx', opts, ['maxBytes']);
  const maxBytes = maxBytesOption('readIdx', opts.maxBytes);
  const bytes = readFileBytes('readIdx', path, {
    maxBytes,
    declaredSize: idxDeclaredSize,
    headBytes: IDX_MAX_HEADER,
  });
  return parseIdx(bytes, path);
}

export interface MnistIdxOptions {
  /** Fraction of the training images held out for validation (seeded). Default 0.1. */
  valFraction?: number;
  /** Seed of the validation holdout. Default 0. */
  seed?: number;
  /** File name prefix to pick one set when a folder holds several, e.g. 'emnist-digits-'. */
  prefix?: string;
  /** Class names (their count must exceed every label). Default '0', '1', ... up to the largest label. */
  classNames?: readonly string[];
  /** Transpose every image (EMNIST stores them transposed). Default: true iff the prefix starts with 'emnist'. */
  transpose?: boolean;
  /** Keep only the first maxTrain training images (before the validation holdout). */
  maxTrain?: number;
  /** Keep only the first maxTest test images. */
  maxTest?: number;
  /** The most bytes each file may hold or decompress to; default DEFAULT_MAX_BYTES (1 GiB). */
  maxBytes?: number;
}

type Role = 'trainImages' | 'trainLabels' | 'testImages' | 'testLabels';
const ROLE_PATTERNS: Record<Role, RegExp> = {
  trainImages: /^(.*?)train-images[.-]idx3-ubyte(\.gz)?$/,
  trainLabels: /^(.*?)train-labels[.-]idx1-ubyte(\.gz)?$/,
  testImages: /^(.*?)(?:t10k|test)-images[.-]idx3-ubyte(\.gz)?$/,
  testLabels: /^(.*?)(?:t10k|test)-labels[.-]idx1-ubyte(\.gz)?$/,
};

/** The four files of an MNIST-style folder, e.g. train-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]. */
export function findMnistIdxFiles(dir: string, prefix?: string): Record<Role, string> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => statSync(join(dir, n)).isFile());
  } catch (e) {
    throw new Error(`loadMnistIdx: cannot read the folder ${dir} (${(e as Error).message})`, {
      cause: e,
    });
  }
  const found = {} as Record<Role, string>;
  for (const role of Object.keys(ROLE_PATTERNS) as Role[]) {
    const matches = names.filter((n) => {
      const m = ROLE_PATTERNS[role].exec(n);
      return m !== null && (prefix === undefined || m[1] === prefix);
    });
    const prefixes = [...new Set(matches.map((n) => ROLE_PATTERNS[role].exec(n)![1]))].sort();
    if (matches.length === 0) {
      const want = role
        .replace(/([A-Z])/g, '-$1')
        .toLowerCase()
        .replace('test', 't10k');
      throw new Error(
        `loadMnistIdx: no ${prefix ?? ''}${want}-idx${role.endsWith('Images') ? 3 : 1}-ubyte[.gz] file in ${dir}`,
      );
    }
    if (prefixes.length > 1) {
      const list = prefixes.map((p) => `'${p}'`).join(', ');
      throw new Error(
        `loadMnistIdx: ${dir} holds several data sets (prefixes ${list}); pass the prefix option`,
      );
    }
    // the same file plain and gzipped: prefer the plain one (no decompression)
    found[role] = join(dir, matches.sort((a, b) => a.length - b.length)[0]);
  }
  const used = (Object.keys(found) as Role[]).map(
    (role) => ROLE_PATTERNS[role].exec(basename(found[role]))![1],
  );
  if (new Set(used).size > 1) {
    throw new Error(
      `loadMnistIdx: the files in ${dir} have different prefixes (${used.map((p) => `'${p}'`).join(', ')}); pass the prefix option`,
    );
  }
  return found;
}

/**
 * MNIST-format IDX files (MNIST, Fashion-MNIST, EMNIST) from a folder, as float32 images
 * (N, 1, H, W) with values v/255 and int32 labels. The folder must hold the four files
 * [prefix]train-images-idx3-ubyte, [prefix]train-labels-idx1-ubyte, [prefix]t10k-images-
 * idx3-ubyte and [prefix]t10k-labels-idx1-ubyte ('test' may replace 't10k', '.' may replace
 * the '-' before 'idx', and each may end in .gz). The training images are split by the seeded
 * holdout of holdoutSplit(N, valFraction, seed): for the full MNIST, 54,000 train / 6,000
 * validation / 10,000 test with the defaults.
 */
export function loadMnistIdx(dir: string, opts: MnistIdxOptions = {}): ClassificationData {
  const fn = 'loadMnistIdx';
  expectOptions(fn, opts, [
    'valFraction',
    'seed',
    'prefix',
    'classNames',
    'transpose',
    'maxTrain',
    'maxTest',
    'maxBytes',
  ]);
  const maxBytes = maxBytesOption(fn, opts.maxBytes);
  const valFraction = opts.valFraction ?? 0.1,
    seed = opts.seed ?? 0;
  expectNumber(fn, 'valFraction', valFraction, { min: 0, max: 1, maxExclusive: true });
  expectNumber(fn, 'seed', seed);
  const files = findMnistIdxFiles(dir, opts.prefix);
  const prefix = opts.prefix ?? ROLE_PATTERNS.trainImages.exec(basename(files.trainImages))![1];
  const transpose = opts.transpose ?? prefix.startsWith('emnist');
  if (opts.maxTrain !== undefined)
    expectNumber(fn, 'maxTrain', opts.maxTrain, { min: 1, integer: true });
  if (opts.maxTest !== undefined)
    expectNumber(fn, 'maxTest', opts.maxTest, { min: 1, integer: true });
  const train = readImagesAndLabels(fn, files.trainImages, files.trainLabels, maxBytes);
  const test = readImagesAndLabels(fn, files.testImages, files.testLabels, maxBytes);
  const nTrain = Math.min(train.N, opts.maxTrain ?? train.N),
    nTest = Math.min(test.N, opts.maxTest ?? test.N);
  const plan = holdoutDestinations(nTrain, valFraction, seed);
  const [H, W] = [train.H, train.W];
  if (test.H !== H || test.W !== W) {
    throw new ValueError(
      `${fn}: ${files.testImages} holds ${test.H}x${test.W} images but ${files.trainImages} ${H}x${W}`,
    );
  }
  const XTrain = Tensor.zeros([plan.nTrain, 1, H, W]),
    yTrain = new Int32Array(plan.nTrain);
  const XVal = Tensor.zeros([plan.nVal, 1, H, W]),
    yVal = new Int32Array(plan.nVal);
  const XTest = Tensor.zeros([nTest, 1, H, W]),
    yTest = new Int32Array(nTest);
  // every image is written once, straight into its final tensor
  for (let i = 0; i < nTrain; i++) {
    const [X, y] = plan.isVal[i] ? [XVal, yVal] : [XTrain, yTrain],
      row = plan.row[i];
    copyImage(train.pixels, i, X.data, row, H, W, transpose);
    y[row] = train.labels[i];
  }
  for (let i = 0; i < nTest; i++) {
    copyImage(test.pixels, i, XTest.data, i, H, W, transpose);
    yTest[i] = test.labels[i];
  }
  const classNames = classNamesFor(fn, [yTrain, yVal, yTest], opts.classNames, files.trainLabels);
  return { XTrain, yTrain, XVal, yVal, XTest, yTest, classNames };
}

/** Image i of (N, H, W) uint8 pixels -> row `row` of an (M, 1, H, W) tensor, as v/255 (transposed for EMNIST). */
function copyImage(
  src: Uint8Array,
  i: number,
  dst: FloatTensor['data'],
  row: number,
  H: number,
  W: number,
  transpose: boolean,
): void {
  const P = H * W,
    inOff = i * P,
    outOff = row * P;
  if (!transpose) {
    for (let p = 0; p < P; p++) dst[outOff + p] = UNIT_OF_BYTE[src[inOff + p]];
  } else {
    for (let h = 0; h < H; h++) {
      for (let w = 0; w < W; w++) dst[outOff + h * W + w] = UNIT_OF_BYTE[src[inOff + w * H + h]];
    }
  }
}

/** Reads and checks a (N, H, W) uint8 image file and its (N) uint8 label file. */
function readImagesAndLabels(
  fn: string,
  imagesPath: string,
  labelsPath: string,
  maxBytes: number,
): {
  pixels: Uint8Array;
  labels: Uint8Array;
  N: number;
  H: number;
  W: number;
} {
  const images = readIdx(imagesPath, { maxBytes }),
    labels = readIdx(labelsPath, { maxBytes });
  if (images.dtype !== 'uint8' || images.shape.length !== 3) {
    throw new ValueError(
      `${fn}: ${imagesPath} holds ${images.dtype} ${fmt(images.shape)}, expected uint8 images (N, H, W)`,
    );
  }
  if (labels.dtype !== 'uint8' || labels.shape.length !== 1) {
    throw new ValueError(
      `${fn}: ${labelsPath} holds ${labels.dtype} ${fmt(labels.shape)}, expected uint8 labels (N)`,
    );
  }
  const [N, H, W] = images.shape;
  if (labels.shape[0] !== N) {
    throw new ValueError(
      `${fn}: ${imagesPath} has ${N} images but ${labelsPath} has ${labels.shape[0]} labels`,
    );
  }
  return { pixels: images.data as Uint8Array, labels: labels.data as Uint8Array, N, H, W };
}
