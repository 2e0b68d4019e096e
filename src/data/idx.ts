// src/data/idx.ts: the IDX format of MNIST, Fashion-MNIST and EMNIST (http://yann.lecun.com/
// exdb/mnist/): a 4-byte magic (0, 0, type code, number of dimensions), the dimensions as
// big-endian uint32, then the values in row-major order, big-endian. Plain or gzip-compressed.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  fmt,
  Tensor,
  ValueError,
  expectNumber,
  expectOptions,
  type FloatTensor,
} from '../tensor/index.js';
import { holdoutDestinations, type ClassificationData } from './batching.js';
import { UNIT_OF_BYTE } from './pixels.js';

/** Decompressed data larger than this is refused (a gzip bomb, or not a data set we can hold). */
export const MAX_DECOMPRESSED_BYTES = 2 ** 31 - 1;

/**
 * Reads a whole file; a name ending in .gz is gunzipped (bounded by MAX_DECOMPRESSED_BYTES).
 * Errors start with `fn: path:`.
 */
export function readFileBytes(fn: string, path: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new Error(
      `${fn}: ${path}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${(e as Error).message})`}`,
      {
        cause: e,
      },
    );
  }
  // a plain Uint8Array view: Buffer#slice would share memory instead of copying
  if (!path.endsWith('.gz'))
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return new Uint8Array(gunzipSync(bytes, { maxOutputLength: MAX_DECOMPRESSED_BYTES }));
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE')
      throw new Error(`${fn}: ${path}: decompresses to more than ${MAX_DECOMPRESSED_BYTES} bytes`, {
        cause: e,
      });
    throw new Error(`${fn}: ${path}: cannot decompress (${(e as Error).message})`, { cause: e });
  }
}

export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
/** An IDX array: values converted to this machine's byte order in the natural typed array. */
export interface IdxArray {
  dtype: IdxDType;
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const IDX_TYPES: Record<number, [IdxDType, number]> = {
  0x08: ['uint8', 1],
  0x09: ['int8', 1],
  0x0b: ['int16', 2],
  0x0c: ['int32', 4],
  0x0d: ['float32', 4],
  0x0e: ['float64', 8],
};

/**
 * Parses IDX bytes (already decompressed). The header is checked against the byte count before
 * anything is allocated: the data must be exactly prod(shape) * itemsize bytes.
 */
export function parseIdx(input: Uint8Array, name = 'IDX data'): IdxArray {
  // a plain view: slice() must copy (Buffer#slice would share memory)
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const fail = (why: string): never => {
    throw new ValueError(`readIdx: ${name}: ${why}`);
  };
  if (bytes.length < 4) fail(`file is too short for an IDX header (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0),
    typeCode = bytes[2],
    ndim = bytes[3];
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const hex = magic.toString(16).padStart(8, '0');
    fail(
      `bad magic number 0x${hex} (an IDX file starts with two zero bytes, a type code and a dimension count)`,
    );
  }
  const type = IDX_TYPES[typeCode];
  if (type === undefined)
    fail(`unknown data type code 0x${typeCode.toString(16).padStart(2, '0')}`);
  const [dtype, itemSize] = type;
  if (ndim === 0) fail('the header declares 0 dimensions');
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes)
    fail(
      `truncated header: ${ndim} dimensions need ${headerBytes} bytes, the file has ${bytes.length}`,
    );
  const shape = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i));
  const available = bytes.length - headerBytes;
  let needed = itemSize;
  for (const d of shape) needed *= d; // exact up to 2^53; anything that large fails the next check
  if (needed > available) {
    fail(
      `truncated: shape ${fmt(shape)} of ${dtype} needs ${needed} bytes of data but the file has ${available}`,
    );
  }
  if (needed < available)
    fail(`${available - needed} unexpected bytes after the data of shape ${fmt(shape)}`);
  const n = needed / itemSize;
  let data: IdxArray['data'];
  switch (dtype) {
    case 'uint8':
      data = bytes.slice(headerBytes);
      break;
    case 'int8':
      data = new Int8Array(bytes.slice(headerBytes).buffer);
      break;
    case 'int16':
      data = new Int16Array(n).map((_, i) => view.getInt16(headerBytes + 2 * i));
      break;
    case 'int32':
      data = new Int32Array(n).map((_, i) => view.getInt32(headerBytes + 4 * i));
      break;
    case 'float32':
      data = new Float32Array(n).map((_, i) => view.getFloat32(headerBytes + 4 * i));
      break;
    case 'float64':
      data = new Float64Array(n).map((_, i) => view.getFloat64(headerBytes + 8 * i));
      break;
  }
  return { dtype, shape, data };
}

/** Reads an IDX file (plain, or gzip when the name ends in .gz). Errors name the file. */
export function readIdx(path: string): IdxArray {
  return parseIdx(readFileBytes('readIdx', path), path);
}

/** The class names of Fashion-MNIST, in label order. */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

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
  ]);
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
  const train = readImagesAndLabels(fn, files.trainImages, files.trainLabels);
  const test = readImagesAndLabels(fn, files.testImages, files.testLabels);
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
): {
  pixels: Uint8Array;
  labels: Uint8Array;
  N: number;
  H: number;
  W: number;
} {
  const images = readIdx(imagesPath),
    labels = readIdx(labelsPath);
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

/** Class names: the given ones (checked against the labels) or '0'..'K-1', K = largest label + 1. */
export function classNamesFor(
  fn: string,
  labelSets: Int32Array[],
  given: readonly string[] | undefined,
  source: string,
): string[] {
  let maxLabel = -1;
  for (const y of labelSets) for (let i = 0; i < y.length; i++) maxLabel = Math.max(maxLabel, y[i]);
  if (given === undefined) return Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  if (!Array.isArray(given) || !given.every((s) => typeof s === 'string')) {
    throw new TypeError(`${fn}: classNames must be an array of strings`);
  }
  if (maxLabel >= given.length) {
    throw new ValueError(
      `${fn}: ${source} has label ${maxLabel} but only ${given.length} class names were given`,
    );
  }
  return [...given];
}
