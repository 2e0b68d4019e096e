// src/data/cifar10Files.ts: CIFAR-10 from the binary batch files of a folder (Node only); the
// records themselves are parsed by cifar10.ts.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  FileError,
  Tensor,
  expectNumber,
  expectOptions,
  type FloatTensor,
} from '../tensor/index.js';
import { holdoutDestinations, type ClassificationData } from './batching.js';
import { CIFAR10_CLASSES, CIFAR10_RECORD as RECORD, copyCifar10Record } from './cifar10.js';
import { limitHint, maxBytesOption, readFileBytes } from './files.js';

export interface Cifar10Options {
  /** Fraction of the training images held out for validation (seeded). Default 0.1. */
  valFraction?: number;
  /** Seed of the validation holdout. Default 0. */
  seed?: number;
  /** Keep only the first maxTrain training images (batch 1 first), before the holdout. */
  maxTrain?: number;
  /** Keep only the first maxTest test images. */
  maxTest?: number;
  /** The most bytes each batch file may hold; default DEFAULT_MAX_BYTES (1 GiB). */
  maxBytes?: number;
}

/**
 * CIFAR-10 from its binary batches: `dir` (or dir/cifar-10-batches-bin) holds data_batch_1.bin
 * .. data_batch_5.bin and test_batch.bin. Images become float32 (N, 3, 32, 32) with values v/255
 * in [0, 1]; labels int32 0..9; class names from batches.meta.txt when present, else
 * CIFAR10_CLASSES. With the defaults: 45,000 train / 5,000 validation (seeded holdout of the
 * 50,000 training images, holdoutSplit) / 10,000 test. A batch file may hold any whole number of
 * records (the official ones hold 10,000).
 */
export function loadCifar10(dir: string, opts: Cifar10Options = {}): ClassificationData {
  const fn = 'loadCifar10';
  expectOptions(fn, opts, ['valFraction', 'seed', 'maxTrain', 'maxTest', 'maxBytes']);
  const maxBytes = maxBytesOption(fn, opts.maxBytes);
  const valFraction = opts.valFraction ?? 0.1,
    seed = opts.seed ?? 0;
  expectNumber(fn, 'valFraction', valFraction, { min: 0, max: 1, maxExclusive: true });
  expectNumber(fn, 'seed', seed);
  if (opts.maxTrain !== undefined)
    expectNumber(fn, 'maxTrain', opts.maxTrain, { min: 1, integer: true });
  if (opts.maxTest !== undefined)
    expectNumber(fn, 'maxTest', opts.maxTest, { min: 1, integer: true });
  const sub = join(dir, 'cifar-10-batches-bin');
  const root =
    !existsSync(join(dir, 'data_batch_1.bin')) && existsSync(join(sub, 'data_batch_1.bin'))
      ? sub
      : dir;
  const trainFiles = [1, 2, 3, 4, 5].map((i) => join(root, `data_batch_${i}.bin`));
  const testFile = join(root, 'test_batch.bin');
  const missing = [...trainFiles, testFile].filter((f) => !existsSync(f));
  if (missing.length > 0) throw new Error(`${fn}: missing ${missing.join(', ')}`);
  const trainCounts = recordCounts(fn, trainFiles, opts.maxTrain ?? Infinity, maxBytes);
  const testCounts = recordCounts(fn, [testFile], opts.maxTest ?? Infinity, maxBytes);
  const plan = holdoutDestinations(sum(trainCounts), valFraction, seed);
  const XTrain = Tensor.zeros([plan.nTrain, 3, 32, 32]),
    yTrain = new Int32Array(plan.nTrain);
  const XVal = Tensor.zeros([plan.nVal, 3, 32, 32]),
    yVal = new Int32Array(plan.nVal);
  const XTest = Tensor.zeros([sum(testCounts), 3, 32, 32]),
    yTest = new Int32Array(sum(testCounts));
  // every record is written once, straight into its final tensor
  readRecords(fn, trainFiles, trainCounts, maxBytes, (n) =>
    plan.isVal[n] ? [XVal.data, yVal, plan.row[n]] : [XTrain.data, yTrain, plan.row[n]],
  );
  readRecords(fn, [testFile], testCounts, maxBytes, (n) => [XTest.data, yTest, n]);
  return {
    XTrain,
    yTrain,
    XVal,
    yVal,
    XTest,
    yTest,
    classNames: readClassNames(fn, join(root, 'batches.meta.txt')),
  };
}

const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);

/** Records to take from each file, in order, until `max`; sizes are checked before reading. */
function recordCounts(fn: string, files: string[], max: number, maxBytes: number): number[] {
  const counts: number[] = [];
  let total = 0;
  for (const f of files) {
    let size: number;
    try {
      size = statSync(f).size;
    } catch (e) {
      throw FileError.cannotRead(fn, f, e);
    }
    if (size > maxBytes) {
      throw new FileError(fn, f, `holds ${size} bytes, more than ${limitHint(maxBytes)}`);
    }
    if (size === 0 || size % RECORD !== 0)
      throw new FileError(fn, f, `has ${size} bytes, not a whole number of ${RECORD}-byte records`);
    const take = Math.min(size / RECORD, max - total);
    if (take <= 0) break;
    counts.push(take);
    total += take;
  }
  return counts;
}

/** Reads counts[b] records of files[b]; record n (over all files) goes to row of dest(n). */
function readRecords(
  fn: string,
  files: string[],
  counts: number[],
  maxBytes: number,
  dest: (n: number) => [FloatTensor['data'], Int32Array, number],
): void {
  let n = 0;
  counts.forEach((count, b) => {
    const bytes = readFileBytes(fn, files[b], { maxBytes });
    if (bytes.length < count * RECORD)
      throw new FileError(fn, files[b], 'changed while being read');
    for (let r = 0; r < count; r++, n++) {
      const [x, y, row] = dest(n);
      copyCifar10Record(fn, files[b], bytes, r, x, y, row);
    }
  });
}

/** batches.meta.txt: one class name per line (blank lines ignored); must list 10 names. */
function readClassNames(fn: string, path: string): string[] {
  if (!existsSync(path)) return [...CIFAR10_CLASSES];
  const names = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length !== 10)
    throw new FileError(fn, path, `lists ${names.length} class names, expected 10`);
  return names;
}
