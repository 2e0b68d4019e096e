// src/cli/run.ts: what a `layerwise train` run stores beside the tensors of its checkpoints
// (safetensors metadata 'layerwise.cli': model spec, preprocessing, data source, options,
// progress), loading a checkpoint back as a model, and batched prediction for eval/predict.
import { existsSync } from 'node:fs';
import { parsePreprocessing, type Preprocessing } from '../data/index.js';
import { readSafetensors, type SafetensorsContents } from '../io/index.js';
import { fitsDescription, restoreModel } from '../io/internal.js';
import { stepMemory } from '../kernels/index.js';
import type { Model } from '../models/index.js';
import { FileError as LibraryFileError, Tensor, type FloatTensor } from '../tensor/index.js';
import { FileError, type DataSource } from './data.js';
import { buildModel, type ModelSpec } from './modelSpec.js';

export const CLI_KEY = 'layerwise.cli';
const RUN_VERSION = 1;

/** The training options of a run (what `--resume` takes back from the checkpoint). */
export interface TrainSettings {
  model: string;
  optimizer: string;
  lr: number;
  batchSize: number;
  epochs: number;
  seed: number;
  schedule: 'cosine' | 'step';
  lrDecay: number;
  warmup: number;
  /** The Solver's clipNorm (--clip-norm); absent in runs saved before the flag existed. */
  clipNorm?: number | null;
  augment: string;
  preprocess: string;
  out: string;
}

/** One line of the per-epoch log. */
export interface EpochRow {
  epoch: number;
  loss: number;
  trainAcc: number | null;
  valAcc: number | null;
  lr: number;
  samplesPerSecond: number;
  seconds: number;
}

export interface RunInfo {
  version: number;
  model: ModelSpec;
  preprocessing: Preprocessing;
  classNames: string[];
  inputShape: number[];
  data: DataSource;
  settings: TrainSettings;
  epochs: EpochRow[];
  /** Seconds spent training and samples trained, over all sessions of the run. */
  trainSeconds: number;
  samplesSeen: number;
}

/** Reads a checkpoint file: a missing or malformed file is a FileError naming it. */
export function readCheckpointFile(command: string, path: string): SafetensorsContents {
  if (!existsSync(path)) throw new FileError(command, path, 'no such file');
  try {
    return readSafetensors(path);
  } catch (e) {
    const why = e instanceof LibraryFileError ? e.reason : oneLine(e);
    throw new FileError(command, path, `not a layerwise checkpoint (${why})`, { cause: e });
  }
}

/** The run info of a checkpoint, checked; a file without it (not written by `layerwise train`) is refused. */
export function runInfoOf(command: string, path: string, contents: SafetensorsContents): RunInfo {
  const text = contents.metadata[CLI_KEY];
  const bad = (why: string): never => {
    throw new FileError(command, path, why);
  };
  if (text === undefined)
    return bad(`has no '${CLI_KEY}' metadata; it was not written by 'layerwise train'`);
  let info: RunInfo;
  try {
    info = JSON.parse(text) as RunInfo;
  } catch {
    return bad(`metadata '${CLI_KEY}' is not valid JSON`);
  }
  if (info === null || typeof info !== 'object' || info.version !== RUN_VERSION)
    bad(`metadata '${CLI_KEY}' has an unknown version`);
  if (
    !Array.isArray(info.inputShape) ||
    !Array.isArray(info.classNames) ||
    typeof info.model !== 'object'
  ) {
    bad(`metadata '${CLI_KEY}' lacks the model, input shape or class names`);
  }
  try {
    info.preprocessing = parsePreprocessing(info.preprocessing, 'checkpoint');
  } catch (e) {
    bad(oneLine(e));
  }
  return info;
}

/** The model stored in a checkpoint (model or training file) and its run info. */
export function loadCheckpointModel(
  command: string,
  path: string,
): { model: Model; info: RunInfo } {
  const contents = readCheckpointFile(command, path);
  const info = runInfoOf(command, path, contents);
  const model = buildModel(info.model, `${command}: ${path}`, info.inputShape);
  try {
    restoreModel(command, path, contents, model);
    // the stored input shape must fit the weights, and the class names the scores
    fitsDescription(command, path, model, info, dtypeOf(model));
  } catch (e) {
    throw new FileError(oneLine(e));
  }
  return { model, info };
}

function dtypeOf(model: Model): 'float32' | 'float64' {
  return Object.values(model.params)[0]?.dtype === 'float64' ? 'float64' : 'float32';
}

/** Test-mode scores of X in batches: (N, C). */
export function scoresOf(model: Model, X: Tensor, batchSize = 256): FloatTensor {
  const N = X.shape[0],
    D = X.size / N;
  let out: FloatTensor | null = null;
  // each batch's scores are copied out before the next batch runs: step memory can serve them
  const mem = model.reusesStepMemory === true ? stepMemory() : null;
  try {
    for (let lo = 0; lo < N; lo += batchSize) {
      const hi = Math.min(N, lo + batchSize);
      const Xb = new Tensor(X.data.subarray(lo * D, hi * D), [hi - lo, ...X.shape.slice(1)]);
      const s = mem ? mem.run(() => model.loss(Xb)) : model.loss(Xb);
      out ??= Tensor.zeros([N, s.shape[1]], s.dtype);
      out.data.set(s.data, lo * s.shape[1]);
    }
  } finally {
    mem?.release();
  }
  return out as FloatTensor;
}

export { argmaxRows } from '../tensor/index.js';

/** confusion[t][p] = how many samples of true class t were predicted as p. */
export function confusionMatrix(pred: Int32Array, y: Int32Array, C: number): number[][] {
  const m = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  for (let n = 0; n < y.length; n++) m[y[n]][pred[n]]++;
  return m;
}

/** The message of an error on one line. */
export function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}
