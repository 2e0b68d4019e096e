// src/data/npy.ts: NumPy .npy arrays (https://numpy.org/doc/stable/reference/generated/
// numpy.lib.format.html): magic "\x93NUMPY", version, a little-endian header length, a Python
// dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (N, ...)}, then the raw data.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  expectOneOf,
  fmt,
  Tensor,
  ValueError,
  expectNumber,
  expectOptions,
  type FloatTensor,
} from '../tensor/index.js';
import { splitValidation, type ClassificationData } from './batching.js';
import { UNIT_OF_BYTE } from './pixels.js';
import { classNamesFor, readFileBytes } from './idx.js';

export type NpyDType = 'float32' | 'float64' | 'uint8' | 'int32' | 'int64';
/**
 * A .npy array with its values kept: float32 -> Float32Array, float64 -> Float64Array, uint8 ->
 * Uint8Array, int32 -> Int32Array, int64 -> Int32Array (every value must fit in int32; dtype
 * still says 'int64'). Shape () is a scalar with one value.
 */
export interface NpyArray {
  dtype: NpyDType;
  shape: number[];
  data: Float32Array | Float64Array | Uint8Array | Int32Array;
}

const DESCRS: Record<string, [NpyDType, number]> = {
  '<f4': ['float32', 4],
  '<f8': ['float64', 8],
  '|u1': ['uint8', 1],
  '<u1': ['uint8', 1],
  '>u1': ['uint8', 1],
  '<i4': ['int32', 4],
  '<i8': ['int64', 8],
};
const MAGIC = [0x93, 78, 85, 77, 80, 89]; // \x93NUMPY
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Parses .npy bytes; every header field is checked against the byte count before allocating. */
export function parseNpy(input: Uint8Array, name = 'npy data'): NpyArray {
  // a plain view: slice() must copy (Buffer#slice would share memory)
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const fail = (why: string): never => {
    throw new ValueError(`readNpy: ${name}: ${why}`);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b))
    fail('not a .npy file (bad magic string)');
  const major = bytes[6],
    view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major < 1 || major > 3) fail(`unsupported format version ${major}.${bytes[7]}`);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) fail('truncated header');
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lenBytes + headerLen;
  if (dataStart > bytes.length)
    fail(
      `truncated: the header claims ${headerLen} bytes but the file has ${bytes.length - 8 - lenBytes} after the length field`,
    );
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(8 + lenBytes, dataStart),
  );
  if (/['"]descr['"]\s*:\s*\[/.test(text)) fail('structured dtypes are not supported');
  const header = parseHeaderDict(text, fail);
  const descr = header.descr;
  if (typeof descr !== 'string') return fail("'descr' must be a dtype string");
  if (descr.includes('O')) fail(`object arrays ('${descr}') are not supported`);
  const type = DESCRS[descr];
  if (type === undefined) {
    if (descr.startsWith('>'))
      fail(
        `big-endian data ('${descr}') is not supported; save it little-endian, e.g. a.astype('<${descr.slice(1)}')`,
      );
    fail(
      `unsupported dtype '${descr}' (supported: '<f4' float32, '<f8' float64, '|u1' uint8, '<i4' int32, '<i8' int64)`,
    );
  }
  const [dtype, itemSize] = type;
  const shape = header.shape;
  if (!Array.isArray(shape)) return fail("'shape' must be a tuple of integers");
  if (typeof header.fortran_order !== 'boolean') fail("'fortran_order' must be True or False");
  if (header.fortran_order === true && shape.length > 1) {
    fail('Fortran-order arrays are not supported; save a C-order array (np.ascontiguousarray)');
  }
  const available = bytes.length - dataStart;
  let needed = itemSize;
  for (const d of shape) needed *= d;
  if (needed > available)
    fail(
      `truncated: shape ${fmtTuple(shape)} of ${dtype} needs ${needed} bytes of data but the file has ${available}`,
    );
  if (needed < available)
    fail(`${available - needed} unexpected bytes after the data of shape ${fmtTuple(shape)}`);
  if (!LITTLE_ENDIAN_HOST) fail('reading .npy files needs a little-endian machine');
  const raw = bytes.slice(dataStart).buffer; // a copy, aligned for the typed array
  const n = needed / itemSize;
  switch (dtype) {
    case 'float32':
      return { dtype, shape, data: new Float32Array(raw) };
    case 'float64':
      return { dtype, shape, data: new Float64Array(raw) };
    case 'uint8':
      return { dtype, shape, data: new Uint8Array(raw) };
    case 'int32':
      return { dtype, shape, data: new Int32Array(raw) };
    case 'int64': {
      const words = new Int32Array(raw),
        out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = words[2 * i],
          hi = words[2 * i + 1];
        if (hi !== lo >> 31)
          fail(
            `int64 value ${BigInt(hi) * 4294967296n + BigInt(lo >>> 0)} at flat index ${i} does not fit in int32`,
          );
        out[i] = lo;
      }
      return { dtype, shape, data: out };
    }
  }
}

const fmtTuple = (shape: number[]) => `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;

type HeaderValue = string | boolean | number[];

/**
 * The header's Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
 * Keys are strings; values strings, True/False, or tuples of non-negative integers. Exactly the
 * keys descr, fortran_order and shape must be present.
 */
function parseHeaderDict(text: string, fail: (why: string) => never): Record<string, HeaderValue> {
  let pos = 0;
  const bad = (what: string): never =>
    fail(`malformed header (${what} at character ${pos}): ${JSON.stringify(text.trim())}`);
  const space = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const expectChar = (c: string) => {
    space();
    if (text[pos] !== c) bad(`expected '${c}'`);
    pos++;
  };
  const str = (): string => {
    space();
    const q = text[pos];
    if (q !== "'" && q !== '"') bad('expected a string');
    const end = text.indexOf(q, pos + 1);
    if (end < 0) bad('unterminated string');
    const s = text.slice(pos + 1, end);
    pos = end + 1;
    return s;
  };
  const value = (): HeaderValue => {
    space();
    if (text[pos] === "'" || text[pos] === '"') return str();
    if (text.startsWith('True', pos)) return ((pos += 4), true);
    if (text.startsWith('False', pos)) return ((pos += 5), false);
    if (text[pos] === '[') return bad('a list (structured dtype) where a simple value is expected');
    if (text[pos] !== '(') return bad('expected a string, True, False or a tuple');
    pos++;
    const dims: number[] = [];
    for (;;) {
      space();
      if (text[pos] === ')') break;
      const m = /^(\d+)L?/.exec(text.slice(pos, pos + 24));
      if (m === null) bad('expected a non-negative integer');
      dims.push(Number(m![1]));
      pos += m![0].length;
      space();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== ')') bad("expected ',' or ')'");
    }
    pos++;
    if (!dims.every(Number.isSafeInteger)) bad('a dimension too large');
    return dims;
  };
  const dict: Record<string, HeaderValue> = {};
  expectChar('{');
  for (;;) {
    space();
    if (text[pos] === '}') break;
    const key = str();
    expectChar(':');
    dict[key] = value();
    space();
    if (text[pos] === ',') pos++;
    else if (text[pos] !== '}') bad("expected ',' or '}'");
  }
  pos++;
  space();
  if (pos !== text.length) bad('unexpected text after the dict');
  const keys = Object.keys(dict).sort().join(',');
  if (keys !== 'descr,fortran_order,shape')
    fail(`header keys are ${keys || 'none'}, expected descr, fortran_order, shape`);
  return dict;
}

/** Reads a .npy file (a .npy.gz is gunzipped first). Errors name the file. */
export function readNpy(path: string): NpyArray {
  return parseNpy(readFileBytes('readNpy', path), path);
}

/**
 * An NpyArray as a Tensor with its values unchanged: float32 and float64 keep their dtype,
 * int32/int64 become int32, uint8 becomes float32 0..255 (not scaled; loadNpyDataset scales
 * images by 1/255). The data is copied.
 */
export function npyToTensor(a: NpyArray): Tensor {
  const dtype =
    a.dtype === 'float64'
      ? 'float64'
      : a.dtype === 'int32' || a.dtype === 'int64'
        ? 'int32'
        : 'float32';
  const t = Tensor.zeros(a.shape, dtype);
  t.data.set(a.data);
  return t;
}

/** The files of an .npy data set; XVal/yVal optional (else a seeded holdout of the training set). */
export interface NpyFiles {
  XTrain: string;
  yTrain: string;
  XTest: string;
  yTest: string;
  XVal?: string;
  yVal?: string;
  /** One class name per line. */
  classes?: string;
}

export interface NpyDatasetOptions {
  /** Fraction of the training set held out when there is no X_val.npy. Default 0.1. */
  valFraction?: number;
  /** Seed of that holdout. Default 0. */
  seed?: number;
  /** Axis order of 4-D image arrays in the files. Default 'NCHW'; 'NHWC' is transposed to NCHW. */
  layout?: 'NCHW' | 'NHWC';
  /** Class names; default: from classes.txt, else '0', '1', ... */
  classNames?: readonly string[];
}

/**
 * A classification data set saved with numpy. `source` is a folder holding X_train.npy,
 * y_train.npy, X_test.npy, y_test.npy and optionally X_val.npy + y_val.npy and classes.txt (one
 * class name per line), or an NpyFiles object naming the files. Conventions:
 * - X: (N, C, H, W) (or (N, H, W, C) with layout 'NHWC'), (N, H, W) -> (N, 1, H, W), or (N, D)
 *   features kept as is. uint8 X is divided by 255; float32/float64 X is kept (as float32);
 *   integer X other than uint8 is rejected.
 * - y: (N) class indices, any integer dtype (or floats holding integers), >= 0.
 * - without X_val.npy, a seeded valFraction of the training set is held out (holdoutSplit).
 */
export function loadNpyDataset(
  source: string | NpyFiles,
  opts: NpyDatasetOptions = {},
): ClassificationData {
  const fn = 'loadNpyDataset';
  expectOptions(fn, opts, ['valFraction', 'seed', 'layout', 'classNames']);
  const valFraction = opts.valFraction ?? 0.1,
    seed = opts.seed ?? 0,
    layout = opts.layout ?? 'NCHW';
  expectNumber(fn, 'valFraction', valFraction, { min: 0, max: 1, maxExclusive: true });
  expectNumber(fn, 'seed', seed);
  expectOneOf(fn, 'layout', layout, ['NCHW', 'NHWC']);
  const files = typeof source === 'string' ? npyFilesIn(source) : source;
  const part = (x: string, y: string) => {
    const X = npyImages(fn, readNpy(x), x, layout),
      labels = npyLabels(fn, readNpy(y), y);
    if (labels.length !== X.shape[0]) {
      throw new ValueError(
        `${fn}: ${x} has ${X.shape[0]} samples but ${y} has ${labels.length} labels`,
      );
    }
    return { X, y: labels };
  };
  const train = part(files.XTrain, files.yTrain),
    test = part(files.XTest, files.yTest);
  if ((files.XVal === undefined) !== (files.yVal === undefined))
    throw new Error(`${fn}: give both XVal and yVal, or neither`);
  let split: Pick<ClassificationData, 'XTrain' | 'yTrain' | 'XVal' | 'yVal'>;
  if (files.XVal !== undefined && files.yVal !== undefined) {
    const val = part(files.XVal, files.yVal);
    split = { XTrain: train.X, yTrain: train.y, XVal: val.X, yVal: val.y };
  } else {
    split = splitValidation(train.X, train.y, valFraction, seed);
  }
  for (const [name, X] of [
    ['X_val', split.XVal],
    ['X_test', test.X],
  ] as const) {
    if (fmt(X.shape.slice(1)) !== fmt(train.X.shape.slice(1))) {
      throw new ValueError(
        `${fn}: ${name} samples have shape ${fmt(X.shape.slice(1))} but X_train samples ${fmt(train.X.shape.slice(1))}`,
      );
    }
  }
  let given = opts.classNames;
  if (given === undefined && files.classes !== undefined) {
    given = readFileSync(files.classes, 'utf8')
      .split(/\r?\n/)
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  }
  const classNames = classNamesFor(
    fn,
    [split.yTrain, split.yVal, test.y],
    given,
    files.classes ?? files.yTrain,
  );
  return { ...split, XTest: test.X, yTest: test.y, classNames };
}

function npyFilesIn(dir: string): NpyFiles {
  const at = (name: string) => join(dir, name);
  const need = ['X_train.npy', 'y_train.npy', 'X_test.npy', 'y_test.npy'];
  const missing = need.filter((n) => !existsSync(at(n)));
  if (missing.length > 0) throw new Error(`loadNpyDataset: ${dir} has no ${missing.join(', ')}`);
  const has = (n: string) => existsSync(at(n)) && statSync(at(n)).isFile();
  return {
    XTrain: at('X_train.npy'),
    yTrain: at('y_train.npy'),
    XTest: at('X_test.npy'),
    yTest: at('y_test.npy'),
    ...(has('X_val.npy') || has('y_val.npy')
      ? { XVal: at('X_val.npy'), yVal: at('y_val.npy') }
      : {}),
    ...(has('classes.txt') ? { classes: at('classes.txt') } : {}),
  };
}

/** X as float32: uint8 / 255, floats as they are; 3-D gets a channel axis, NHWC is transposed. */
function npyImages(fn: string, a: NpyArray, path: string, layout: 'NCHW' | 'NHWC'): FloatTensor {
  if (a.dtype !== 'uint8' && a.dtype !== 'float32' && a.dtype !== 'float64') {
    throw new ValueError(
      `${fn}: ${path} holds ${a.dtype} data; X must be uint8 (scaled by 1/255), float32 or float64`,
    );
  }
  if (a.shape.length < 2 || a.shape.length > 4) {
    throw new ValueError(
      `${fn}: ${path} has shape ${fmtTuple(a.shape)}; X must be (N, D), (N, H, W) or 4-D images`,
    );
  }
  const src = a.data,
    bytes = a.dtype === 'uint8';
  if (a.shape.length === 4 && layout === 'NHWC') {
    const [N, H, W, C] = a.shape,
      X = Tensor.zeros([N, C, H, W]),
      x = X.data;
    for (let n = 0; n < N; n++) {
      for (let h = 0; h < H; h++) {
        for (let w = 0; w < W; w++) {
          const inOff = ((n * H + h) * W + w) * C;
          for (let c = 0; c < C; c++)
            x[((n * C + c) * H + h) * W + w] = bytes
              ? UNIT_OF_BYTE[src[inOff + c]]
              : src[inOff + c];
        }
      }
    }
    return X;
  }
  const shape = a.shape.length === 3 ? [a.shape[0], 1, a.shape[1], a.shape[2]] : a.shape;
  const X = Tensor.zeros(shape),
    x = X.data;
  for (let i = 0; i < src.length; i++) x[i] = bytes ? UNIT_OF_BYTE[src[i]] : src[i];
  return X;
}

/** y as Int32Array: (N) non-negative integers of any numeric dtype. */
function npyLabels(fn: string, a: NpyArray, path: string): Int32Array {
  if (a.shape.length !== 1)
    throw new ValueError(`${fn}: ${path} has shape ${fmtTuple(a.shape)}; y must be 1-D (N,)`);
  const y = new Int32Array(a.data.length);
  for (let i = 0; i < y.length; i++) {
    const v = a.data[i];
    if (!Number.isInteger(v) || v < 0 || v > 2147483647)
      throw new ValueError(`${fn}: ${path}: y[${i}] = ${v} is not a class index`);
    y[i] = v;
  }
  return y;
}
