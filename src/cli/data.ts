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
import { Tensor, type FloatTensor } from '../tensor/index.js';
import { CliError } from './args.js';

/** A missing or malformed file: one line naming the file, exit code 1. */
export class FileError extends Error {
  override name = 'FileError';
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
    throw new FileError(`${command}: ${dataDir}: no such folder (--data-dir)`);
  }
  let d: ClassificationData;
  try {
    if (dataset === 'mnist') d = dataDir === null ? loadEmbeddedMnist() : loadMnistIdx(dataDir);
    else if (dataset === 'cifar10') d = loadCifar10(dataDir as string);
    else d = loadNpyDataset(dataDir as string);
  } catch (e) {
    throw new FileError(`${command}: ${(e as Error).message}`);
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
