// src/cli/data.ts: the data sets of `layerwise train` and `layerwise eval`, chosen by
// --dataset / --data-dir / --limit, and the file-related errors of the CLI.
import { existsSync, statSync } from 'node:fs';
import {
  loadCifar10,
  loadEmbeddedMnist,
  loadMnistIdx,
  loadNpyDataset,
  type ClassificationData,
} from '../data/index.js';
import { FileError as LibraryFileError, Tensor, type FloatTensor } from '../tensor/index.js';
import { CliError } from './args.js';

/**
 * A missing or malformed file: one line naming the file, exit code 1 (main.ts prints any
 * FileError, the library's too, as its message). Built as FileError(command, path, reason), or
 * from one finished message where the prefix is not a plain path ("layerwise train: --model cnn",
 * the model-spec errors; "cannot create the output folder X"). A library FileError is restated
 * with restate() from its path and reason.
 */
export class FileError extends LibraryFileError {
  constructor(message: string);
  constructor(command: string, path: string, reason: string, options?: ErrorOptions);
  constructor(command: string, path?: string, reason?: string, options?: ErrorOptions) {
    const whole = path === undefined || reason === undefined;
    super(whole ? '' : command, whole ? '' : path, whole ? command : reason, options);
    if (whole) this.message = command;
  }

  /**
   * `e` as a FileError of `command`: a library FileError keeps its path and reason (its
   * function's name gives way to the command); anything else keeps its message after the command.
   */
  static restate(command: string, e: unknown): FileError {
    if (e instanceof LibraryFileError && e.path !== '')
      return new FileError(command, e.path, e.reason, { cause: e });
    return new FileError(`${command}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export const DATASETS = ['mnist', 'cifar10', 'npy'] as const;
export type DatasetName = (typeof DATASETS)[number];

/** Where the data comes from; stored in the checkpoint so that resume and eval find it again. */
export interface DataSource {
  readonly dataset: DatasetName;
  readonly dataDir: string | null;
  /** At most this many rows of each split (evenly spaced), or null for all. */
  readonly limit: number | null;
}

/** Loads the data set of `src`; a missing folder or bad files are FileErrors naming them. */
export function loadData(command: string, src: DataSource): ClassificationData {
  const { dataset, dataDir } = src;
  if (dataset !== 'mnist' && dataDir === null) {
    throw new CliError(`${command}: --dataset ${dataset} needs --data-dir DIR`);
  }
  if (dataDir !== null && !(existsSync(dataDir) && statSync(dataDir).isDirectory())) {
    throw new FileError(command, dataDir, 'no such folder (--data-dir)');
  }
  let d: ClassificationData;
  try {
    if (dataset === 'mnist') d = dataDir === null ? loadEmbeddedMnist() : loadMnistIdx(dataDir);
    else if (dataset === 'cifar10') d = loadCifar10(dataDir as string);
    else d = loadNpyDataset(dataDir as string);
  } catch (e) {
    throw FileError.restate(command, e);
  }
  return src.limit === null ? d : limitData(d, src.limit);
}

/** At most `limit` rows of each split, evenly spaced (the splits are sorted by class in places). */
function limitData(d: ClassificationData, limit: number): ClassificationData {
  const pick = (X: FloatTensor, y: Int32Array): [FloatTensor, Int32Array] => {
    const N = X.shape[0];
    if (N <= limit) return [X, y];
    const D = X.size / N,
      Xs = Tensor.zeros([limit, ...X.shape.slice(1)], X.dtype),
      ys = new Int32Array(limit);
    for (let i = 0; i < limit; i++) {
      const n = Math.floor((i * N) / limit);
      Xs.data.set(X.data.subarray(n * D, (n + 1) * D), i * D);
      ys[i] = y[n];
    }
    return [Xs, ys];
  };
  const [XTrain, yTrain] = pick(d.XTrain, d.yTrain),
    [XVal, yVal] = pick(d.XVal, d.yVal);
  const [XTest, yTest] = pick(d.XTest, d.yTest);
  return { XTrain, yTrain, XVal, yVal, XTest, yTest, classNames: d.classNames };
}

/** The name of a data source for messages and the default --out: 'mnist', 'mnist-idx', 'cifar10', 'npy'. */
export function dataLabel(src: DataSource): string {
  return src.dataset === 'mnist' && src.dataDir !== null ? 'mnist-idx' : src.dataset;
}
