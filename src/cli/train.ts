// src/cli/train.ts: `layerwise train`: loads a data set, builds a network, trains it with the
// Solver under a progress bar, and leaves the model, a resumable checkpoint, metrics and
// pictures in --out. Ctrl-C stops between iterations and saves a checkpoint to --resume from.
import { join } from 'node:path';
import {
  applyPreprocessing,
  fitPreprocessing,
  makeAugment,
  PREPROCESSING_KINDS,
  type AugmentFn,
  type ClassificationData,
  type PreprocessingKind,
} from '../data/index.js';
import {
  removeStaleTempFiles,
  saveModel,
  writeFileAtomic,
  type ModelDescription,
} from '../io/index.js';
import { currentBackend } from '../kernels/index.js';
import type { Model } from '../models/index.js';
import type { RuleName } from '../optim/index.js';
import {
  Solver,
  type SolverData,
  type SolverOptions,
  type SolverProgress,
} from '../solver/index.js';
import { CliError, formatHelp, parseFlags, type FlagSpecs, type FlagValues } from './args.js';
import {
  DATASETS,
  dataLabel,
  FileError,
  loadData,
  type DataSource,
  type DatasetName,
} from './data.js';
import {
  architectureHelp,
  BUILTIN_MODELS,
  buildModel,
  checkModelFitsData,
  resolveModelSpec,
} from './modelSpec.js';
import { makeOutputFolder } from './outputs.js';
import { formatDuration, ProgressBar } from './progress.js';
import {
  argmaxRows,
  CLI_KEY,
  loadCheckpointModel,
  readCheckpointFile,
  runInfoOf,
  scoresOf,
  type EpochRow,
  type RunInfo,
  type TrainSettings,
} from './run.js';
import { curvesPng, writeAttention, writeFilters } from './trainOutputs.js';
import { catchInterrupts } from './interrupts.js';

const CMD = 'layerwise train';
const OPTIMIZERS: readonly RuleName[] = [
  'sgd',
  'sgdMomentum',
  'nesterov',
  'rmsprop',
  'adagrad',
  'adam',
  'adamw',
];

export const TRAIN_FLAGS: FlagSpecs = {
  model: {
    type: 'string',
    default: 'cnn',
    metavar: 'cnn|mlp|fc|vit|FILE',
    help: 'the network: a built-in one or an architecture file (see below)',
  },
  dataset: {
    type: 'string',
    default: 'mnist',
    choices: DATASETS,
    help: 'mnist: the embedded digits, or IDX files in --data-dir',
  },
  'data-dir': {
    type: 'string',
    metavar: 'DIR',
    help: 'folder of the data set files (needed for cifar10 and npy)',
  },
  epochs: { type: 'int', default: 15, min: 1, help: 'passes over the training set' },
  'batch-size': { type: 'int', default: 64, min: 1, help: 'minibatch size' },
  optimizer: { type: 'string', default: 'adam', choices: OPTIMIZERS, help: 'update rule' },
  lr: { type: 'number', default: 2e-3, min: 0, minExclusive: true, help: 'base learning rate' },
  'clip-norm': {
    type: 'number',
    min: 0,
    minExclusive: true,
    metavar: 'N',
    help: "scale each step's gradients down to a total L2 norm of at most N (the Solver's clipNorm)",
  },
  schedule: {
    type: 'string',
    default: 'cosine',
    choices: ['cosine', 'step'],
    help: 'learning-rate schedule',
  },
  'lr-decay': { type: 'number', default: 1, min: 0, help: "per-epoch factor of schedule 'step'" },
  warmup: {
    type: 'number',
    default: 0.5,
    min: 0,
    metavar: 'EPOCHS',
    help: 'linear learning-rate warm-up',
  },
  augment: {
    type: 'string',
    default: 'auto',
    metavar: 'auto|none|shift:N|flip-crop:N',
    help: 'training-time augmentation; auto = shift:2 for mnist, flip-crop:4 for cifar10, none for npy',
  },
  preprocess: {
    type: 'string',
    default: 'auto',
    choices: ['auto', ...PREPROCESSING_KINDS],
    help: 'input preprocessing fitted on the training split; auto = none for mnist, per-channel otherwise',
  },
  seed: {
    type: 'int',
    default: 0,
    help: 'seed of the weights, shuffling, dropout and augmentation',
  },
  limit: {
    type: 'int',
    min: 1,
    metavar: 'N',
    help: 'use at most N rows of each split, evenly spaced (quick trials)',
  },
  out: { type: 'string', metavar: 'DIR', help: 'output folder (default: runs/<dataset>-<model>)' },
  resume: {
    type: 'string',
    metavar: 'CHECKPOINT',
    help: 'continue the run saved in CHECKPOINT with its own options (only --out may be given)',
  },
};

const DESCRIPTION = `Trains a network with the Solver, printing per-epoch train/val accuracy and the final test
accuracy, and writes into --out: model.safetensors (best model), checkpoint.safetensors (resumable
training state), metrics.json, curves.png and filters.png. Ctrl-C saves a checkpoint and prints
how to resume. With the defaults: a conv net (conv 16 5x5, batch norm, relu, 2x2 max pool,
affine 100, batch norm, relu, dropout 0.3, affine 10) on the 10,000 digits that ship with
layerwise (7,196 train / 800 val / 2,004 test).`;

export function trainHelp(): string {
  return `${formatHelp('layerwise train [options]', DESCRIPTION, TRAIN_FLAGS)}\n${architectureHelp()}`;
}

/** A run ready to train: data (preprocessed), model, the run info, and the checkpoint to resume from. */
interface Prepared {
  data: ClassificationData;
  model: Model;
  info: RunInfo;
  resumeFrom: string | null;
}

export async function runTrain(argv: readonly string[]): Promise<number> {
  const { flags, positionals } = parseFlags(CMD, argv, TRAIN_FLAGS);
  if (flags.help) {
    process.stdout.write(trainHelp());
    return 0;
  }
  if (positionals.length > 0)
    throw new CliError(`${CMD}: unexpected argument '${positionals[0]}' (see '${CMD} --help')`);
  const run =
    typeof flags.resume === 'string' ? prepareResume(flags.resume, argv, flags) : prepareNew(flags);
  mkdirOut(run.info.settings.out);
  const stale = removeStaleTempFiles(run.info.settings.out);
  if (stale.length > 0) {
    const files = stale.length === 1 ? 'file' : 'files';
    process.stderr.write(`removed ${stale.length} temporary ${files} of an interrupted save\n`);
  }
  return train(run);
}

function prepareNew(flags: FlagValues): Prepared {
  const dataset = flags.dataset as DatasetName;
  const source: DataSource = {
    dataset,
    dataDir: (flags['data-dir'] as string | undefined) ?? null,
    limit: (flags.limit as number | undefined) ?? null,
  };
  const augment = checkAugment(String(flags.augment), dataset);
  const raw = loadData(CMD, source);
  const preprocess =
    flags.preprocess === 'auto'
      ? dataset === 'mnist'
        ? 'none'
        : 'per-channel'
      : String(flags.preprocess);
  const preprocessing = fitPreprocessing(raw.XTrain, preprocess as PreprocessingKind);
  const inputShape = raw.XTrain.shape.slice(1);
  const seed = flags.seed as number;
  const shape = { inputShape, numClasses: raw.classNames.length, seed };
  const modelArg = String(flags.model);
  const spec = resolveModelSpec(CMD, modelArg, shape);
  const where = `${CMD}: ${BUILTIN_MODELS.includes(modelArg as never) ? `--model ${modelArg}` : modelArg}`;
  const model = buildModel(spec, where);
  checkModelFitsData(model, where, shape);
  const modelLabel = modelArg.replace(/^.*[\\/]/, '').replace(/\.json$/i, '');
  const settings: TrainSettings = {
    model: modelArg,
    optimizer: String(flags.optimizer),
    lr: flags.lr as number,
    batchSize: flags['batch-size'] as number,
    epochs: flags.epochs as number,
    seed,
    schedule: flags.schedule as 'cosine' | 'step',
    lrDecay: flags['lr-decay'] as number,
    warmup: flags.warmup as number,
    clipNorm: (flags['clip-norm'] as number | undefined) ?? null,
    augment,
    preprocess,
    out: (flags.out as string | undefined) ?? join('runs', `${dataLabel(source)}-${modelLabel}`),
  };
  const info: RunInfo = {
    version: 1,
    model: spec,
    preprocessing,
    classNames: raw.classNames,
    inputShape,
    data: source,
    settings,
    epochs: [],
    trainSeconds: 0,
    samplesSeen: 0,
  };
  return { data: preprocessed(raw, info), model, info, resumeFrom: null };
}

function prepareResume(path: string, argv: readonly string[], flags: FlagValues): Prepared {
  const explicit = parseFlags(CMD, argv, withoutDefaults(TRAIN_FLAGS)).flags;
  const extra = Object.keys(TRAIN_FLAGS).find(
    (k) => k !== 'resume' && k !== 'out' && explicit[k] !== undefined,
  );
  if (extra !== undefined) {
    throw new CliError(
      `${CMD}: --resume continues the saved run with its own options; drop --${extra}`,
    );
  }
  const contents = readCheckpointFile(CMD, path);
  if (contents.metadata['layerwise.kind'] !== 'training') {
    throw new FileError(
      CMD,
      path,
      'is not a training checkpoint (use the checkpoint.safetensors of the run)',
    );
  }
  const info = runInfoOf(CMD, path, contents);
  if (typeof flags.out === 'string') info.settings.out = flags.out;
  const { model } = loadCheckpointModel(CMD, path);
  return { data: preprocessed(loadData(CMD, info.data), info), model, info, resumeFrom: path };
}

function withoutDefaults(specs: FlagSpecs): FlagSpecs {
  return Object.fromEntries(
    Object.entries(specs).map(([k, s]) => [k, { ...s, default: undefined }]),
  );
}

function preprocessed(raw: ClassificationData, info: RunInfo): ClassificationData {
  const p = info.preprocessing;
  return {
    ...raw,
    XTrain: applyPreprocessing(raw.XTrain, p),
    XVal: applyPreprocessing(raw.XVal, p),
    XTest: applyPreprocessing(raw.XTest, p),
  };
}

/** Checks --augment and resolves 'auto' for the data set. */
function checkAugment(value: string, dataset: DatasetName): string {
  if (value === 'auto')
    return dataset === 'mnist' ? 'shift:2' : dataset === 'cifar10' ? 'flip-crop:4' : 'none';
  if (value === 'none' || /^(shift|flip-crop):\d+$/.test(value)) return value;
  throw new CliError(
    `${CMD}: --augment must be auto, none, shift:N or flip-crop:N, got '${value}'`,
  );
}

function augmentFn(value: string): AugmentFn | undefined {
  if (value === 'none') return undefined;
  const [kind, amount] = value.split(':');
  return makeAugment(kind as 'shift' | 'flip-crop', Number(amount));
}

function mkdirOut(out: string): void {
  makeOutputFolder(CMD, '--out', out);
}

function solverOptions(s: TrainSettings): SolverOptions {
  return {
    updateRule: s.optimizer as RuleName,
    optimConfig: { learningRate: s.lr },
    batchSize: s.batchSize,
    numEpochs: s.epochs,
    seed: s.seed,
    schedule: s.schedule,
    ...(s.schedule === 'step' ? { lrDecay: s.lrDecay } : {}),
    warmupEpochs: s.warmup,
    clipNorm: s.clipNorm ?? null,
    numTrainSamples: 1000,
    numValSamples: null,
  };
}

/** Samples trained after `iteration` iterations of epochs of N rows in batches of B. */
function samplesAfter(iteration: number, perEpoch: number, N: number, B: number): number {
  return Math.floor(iteration / perEpoch) * N + Math.min((iteration % perEpoch) * B, N);
}

async function train(run: Prepared): Promise<number> {
  const { data, model, info } = run;
  const out = info.settings.out,
    ckptPath = join(out, 'checkpoint.safetensors');
  const solverData: SolverData = {
    XTrain: data.XTrain,
    yTrain: data.yTrain,
    XVal: data.XVal,
    yVal: data.yVal,
  };
  const bar = new ProgressBar();
  const base = { seconds: info.trainSeconds, started: performance.now() };
  const elapsed = () => base.seconds + (performance.now() - base.started) / 1000;
  let solver: Solver | null = null;
  const saveState = (s: Solver) => {
    info.trainSeconds = elapsed();
    info.samplesSeen = samplesAfter(
      s.iteration,
      s.iterationsPerEpoch,
      data.XTrain.shape[0],
      s.batchSize,
    );
    s.saveCheckpoint(ckptPath, { metadata: runMetadata(info), description: describe(info) }); // one atomic write
  };
  const onProgress = (p: SolverProgress) => {
    const acc = p.valAcc ?? p.trainAcc ?? undefined;
    bar.update({
      epoch: p.epoch,
      numEpochs: p.numEpochs,
      iteration: p.iteration,
      numIterations: p.totalIterations,
      loss: p.loss,
      samplesPerSec: p.samplesPerSecond,
      accuracy: acc,
    });
    if (!p.epochEnd || solver === null) return;
    const losses = solver.lossHistory.slice(-p.iterationsPerEpoch);
    const row: EpochRow = {
      epoch: p.epoch,
      loss: losses.reduce((a, b) => a + b, 0) / losses.length,
      trainAcc: p.trainAcc,
      valAcc: p.valAcc,
      lr: p.learningRate,
      samplesPerSecond: p.samplesPerSecond,
      seconds: elapsed(),
    };
    info.epochs.push(row);
    bar.clear();
    process.stdout.write(`${epochLine(row, p.numEpochs)}\n`);
    saveState(solver);
  };
  const augment = augmentFn(info.settings.augment);
  const hooks = { onProgress, ...(augment ? { augment } : {}) };
  solver =
    run.resumeFrom === null
      ? new Solver(model, solverData, { ...solverOptions(info.settings), ...hooks })
      : Solver.resume(run.resumeFrom, model, solverData, hooks);
  bar.startAt(solver.iteration);
  printStart(run, solver);
  const interrupts = catchInterrupts(bar);
  await solver.trainAsync({ shouldStop: interrupts.stopRequested, yieldEveryMs: 50 });
  interrupts.saving();
  if (solver.interrupted) {
    saveState(solver);
    process.stderr.write(
      `interrupted: saved ${ckptPath}; resume with: npx layerwise train --resume ${ckptPath}\n`,
    );
    return 130;
  }
  bar.clear();
  finish(run, solver, elapsed());
  return 0;
}

/** The run information stored beside the tensors of the checkpoint and the model file. */
function runMetadata(info: RunInfo): Record<string, string> {
  return { [CLI_KEY]: JSON.stringify(info) };
}

/** The model's description for the library's own keys (layerwise.preprocessing, ...). */
function describe(info: RunInfo): ModelDescription {
  const { preprocessing, classNames, inputShape } = info;
  return { preprocessing, classNames, inputShape };
}

const pct = (v: number | null) => (v === null ? '--' : `${(v * 100).toFixed(1)}%`);

export function epochLine(r: EpochRow, numEpochs: number): string {
  return [
    `epoch ${r.epoch}/${numEpochs}`,
    `loss ${r.loss.toFixed(4)}`,
    `train acc ${pct(r.trainAcc)}`,
    `val acc ${pct(r.valAcc)}`,
    `lr ${r.lr.toExponential(1)}`,
    `${Math.round(r.samplesPerSecond).toLocaleString('en-US')} samples/s`,
    formatDuration(r.seconds),
  ].join('  ');
}

function printStart(run: Prepared, solver: Solver): void {
  const { data, info } = run,
    s = info.settings;
  const n = (v: number) => v.toLocaleString('en-US');
  const what =
    run.resumeFrom === null
      ? 'training'
      : `resuming at epoch ${solver.epoch + 1} (iteration ${solver.iteration})`;
  process.stdout.write(
    `${what} ${s.model} on ${dataLabel(info.data)} (${n(data.XTrain.shape[0])} train / ${n(data.XVal.shape[0])} val / ` +
      `${n(data.XTest.shape[0])} test): ${s.optimizer} lr ${s.lr} ${s.schedule}, batch ${s.batchSize}, ${s.epochs} epochs, ` +
      `augment ${s.augment}, preprocess ${s.preprocess}, seed ${s.seed}, backend ${currentBackend().name}\n`,
  );
}

/** After training: the best model, test accuracy, metrics.json and the pictures. */
function finish(run: Prepared, solver: Solver, wallSeconds: number): void {
  const { data, model, info } = run,
    out = info.settings.out;
  const modelPath = join(out, 'model.safetensors');
  saveModel(modelPath, model, { metadata: runMetadata(info), ...describe(info) });
  const pred = argmaxRows(scoresOf(model, data.XTest));
  const correct = pred.reduce((c, p, i) => c + (p === data.yTest[i] ? 1 : 0), 0);
  const testAcc = correct / data.yTest.length;
  writeFileAtomic(join(out, 'curves.png'), curvesPng(solver.lossHistory, info));
  const filters = writeFilters(out, model, info.inputShape, {
    X: data.XTest,
    y: data.yTest,
    classNames: info.classNames,
  });
  const attention = writeAttention(out, model, data.XTest, data.yTest);
  const samplesPerSecond = info.samplesSeen / Math.max(info.trainSeconds, 1e-9);
  const best = solver.valAccHistory.indexOf(solver.bestValAcc) + 1;
  const metrics = {
    command: 'layerwise train',
    settings: info.settings,
    model: info.model,
    preprocessing: info.preprocessing.kind,
    data: {
      ...info.data,
      train: data.XTrain.shape[0],
      val: data.XVal.shape[0],
      test: data.XTest.shape[0],
    },
    backend: currentBackend().name,
    epochs: info.epochs,
    lossHistory: solver.lossHistory,
    trainAccHistory: solver.trainAccHistory,
    valAccHistory: solver.valAccHistory,
    bestValAcc: solver.bestValAcc,
    bestEpoch: best,
    testAcc,
    testCorrect: correct,
    testCount: data.yTest.length,
    trainSeconds: info.trainSeconds,
    wallSeconds,
    samplesPerSecond,
    files: [
      'model.safetensors',
      'checkpoint.safetensors',
      'metrics.json',
      'curves.png',
      ...(filters ? [filters] : []),
      ...(attention ? [attention] : []),
    ],
  };
  writeFileAtomic(join(out, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  process.stdout.write(
    `test accuracy ${(testAcc * 100).toFixed(2)}% (${correct.toLocaleString('en-US')}/${data.yTest.length.toLocaleString('en-US')})` +
      `  best val ${pct(solver.bestValAcc)} (epoch ${best})  ${formatDuration(wallSeconds)}  ` +
      `${Math.round(samplesPerSecond).toLocaleString('en-US')} samples/s  backend ${currentBackend().name}\n` +
      `wrote ${metrics.files.map((f) => join(out, f)).join(', ')}\n`,
  );
}
