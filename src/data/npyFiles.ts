// src/data/npyFiles.ts: .npy files and data sets saved with numpy (Node only); the format itself
// is parsed by npy.ts.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  expectId,
  FileError,
  expectNumber,
  expectOneOf,
  expectOptions,
  fmt,
  Tensor,
  ValueError,
  type FloatTensor,
} from '../tensor/index.js';
import { splitValidation, type ClassificationData } from './batching.js';
import { classNamesFor, maxBytesOption, readFileBytes } from './files.js';
import { fmtTuple, NPY_V1_MAX_HEADER, npyDeclaredSize, parseNpy, type NpyArray } from './npy.js';
import { UNIT_OF_BYTE } from './pixels.js';

/** Options of readNpy. */
export interface ReadNpyOptions {
  /** The most bytes the file may hold or decompress to; default DEFAULT_MAX_BYTES (1 GiB). */
  maxBytes?: number;
}

/**
 * Reads a .npy file (a .npy.gz is gunzipped first, only as far as its header declares and not
 * past opts.maxBytes). Errors name the file.
 */
export function readNpy(path: string, opts: ReadNpyOptions = {}): NpyArray {
  expectOptions('readNpy', opts, ['maxBytes']);
  const maxBytes = maxBytesOption('readNpy', opts.maxBytes);
  const bytes = readFileBytes('readNpy', path, {
    maxBytes,
    declaredSize: npyDeclaredSize,
    headBytes: NPY_V1_MAX_HEADER,
  });
  return parseNpy(bytes, path);
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
  /** The most bytes each file may hold or decompress to; default DEFAULT_MAX_BYTES (1 GiB). */
  maxBytes?: number;
}

/**
 * A classification data set saved with numpy. `source` is a folder holding X_train.npy,
 * y_train.npy, X_test.npy, y_test.npy and optionally X_val.npy + y_val.npy and classes.txt (one
 * class name per line), or an NpyFiles object naming the files. Conventions:
 * - X: (N, C, H, W) (or (N, H, W, C) with layout 'NHWC'), (N, H, W) -> (N, 1, H, W), or (N, D)
 *   features kept as is. uint8 X is divided by 255; float32/float64 X is kept (as float32);
 *   integer X other than uint8 is rejected.
 * - y: (N) class indices, any integer dtype (or floats holding integers), >= 0.
 * - a NaN or infinite value in X is refused, naming the file and its first flat index.
 * - without X_val.npy, a seeded valFraction of the training set is held out (holdoutSplit).
 */
export function loadNpyDataset(
  source: string | NpyFiles,
  opts: NpyDatasetOptions = {},
): ClassificationData {
  const fn = 'loadNpyDataset';
  expectOptions(fn, opts, ['valFraction', 'seed', 'layout', 'classNames', 'maxBytes']);
  const maxBytes = maxBytesOption(fn, opts.maxBytes);
  const valFraction = opts.valFraction ?? 0.1,
    seed = opts.seed ?? 0,
    layout = opts.layout ?? 'NCHW';
  expectNumber(fn, 'valFraction', valFraction, { min: 0, max: 1, maxExclusive: true });
  expectNumber(fn, 'seed', seed);
  expectOneOf(fn, 'layout', layout, ['NCHW', 'NHWC']);
  const files = typeof source === 'string' ? npyFilesIn(source) : source;
  const part = (x: string, y: string) => {
    const X = npyImages(fn, readNpy(x, { maxBytes }), x, layout),
      labels = npyLabels(fn, readNpy(y, { maxBytes }), y);
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
  if (!bytes) expectFiniteData(fn, path, src);
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

/** Refuses NaN and ±Infinity, naming the file and the first offending flat index. */
function expectFiniteData(fn: string, path: string, d: ArrayLike<number>): void {
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i]))
      throw new FileError(fn, path, `has a non-finite value (${d[i]}) at flat index ${i}`);
  }
}

/** y as Int32Array: (N) non-negative integers of any numeric dtype. */
function npyLabels(fn: string, a: NpyArray, path: string): Int32Array {
  if (a.shape.length !== 1)
    throw new ValueError(`${fn}: ${path} has shape ${fmtTuple(a.shape)}; y must be 1-D (N,)`);
  const y = new Int32Array(a.data.length);
  for (let i = 0; i < y.length; i++) {
    const v = a.data[i];
    expectId(fn, `${path}: y`, v, i, 2 ** 31);
    y[i] = v;
  }
  return y;
}
