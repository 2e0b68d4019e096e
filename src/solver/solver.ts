// src/solver/solver.ts: the training loop of the classic curriculum, grown up: shuffled
// minibatches without replacement, one update-rule config per parameter, learning-rate
// schedules, accuracy checks, best-validation params (with batch-norm statistics), early
// stopping, a progress callback, and training checkpoints from which a resumed run continues
// bit for bit as if it had never stopped.
import { gatherLabels, gatherRows } from '../data/internal.js';
import {
  checkModelFits,
  modelTensors,
  readTrainingCheckpoint,
  restoreModel,
  saveTrainingCheckpoint,
  type TrainingCheckpoint,
} from '../io/internal.js';
import { stepMemory, type StepMemory } from '../kernels/index.js';
import type { LossResult, Model } from '../models/index.js';
import {
  checkSchedule,
  clipGradNorm,
  getUpdateRule,
  learningRateFactor,
  RULE_DEFAULTS,
  type OptimConfig,
  type RuleName,
  type ScheduleOptions,
  type UpdateRule,
} from '../optim/index.js';
import {
  argmaxRows,
  expectFinite,
  expectNumber,
  expectOptions,
  expectTensor,
  fmt,
  Rng,
  defaultRng,
  ShapeError,
  Tensor,
  ValueError,
  type FloatData,
  type FloatTensor,
  type Labels,
  type RngState,
} from '../tensor/index.js';

/**
 * What the Solver trains. `loss(X, y)` returns { loss, grads } with one gradient per param.
 * `loss(X)` (no labels) returns the scores (N, C) in test mode; it is needed only for
 * metric 'accuracy' (the default). A model without a scores mode (e.g. CaptioningRNN, whose
 * loss(features, captions) always returns { loss, grads }) trains with metric: 'none' or an
 * `evaluate` hook.
 */
export interface SolverModel extends Pick<
  Model,
  'params' | 'buffers' | 'config' | 'rng' | 'reusesStepMemory'
> {
  /** Train mode: { loss, grads }. For metric 'accuracy', loss(X) without y must give scores (N, C). */
  loss(X: Tensor, y: Labels): Tensor | LossResult;
}

/** Calls the scores mode, loss(X), which SolverModel does not require (see metric). */
function scoresOf(model: SolverModel, X: Tensor): unknown {
  return (model as unknown as { loss(X: Tensor): unknown }).loss(X);
}

/**
 * The data. X: (N, ...) float rows; y: class labels (Int32Array, number[] or an int32 Tensor
 * (N)) or any Tensor of rows (N, ...), e.g. captions (N, T) int32; minibatches gather rows of
 * X and y with the same indices.
 */
export interface SolverData {
  XTrain: Tensor;
  yTrain: Labels;
  /** Validation data; without it there is no valAccHistory, best-params tracking or patience. */
  XVal?: Tensor;
  yVal?: Labels;
}

/** Reported after every iteration (the CLI draws its progress bar from it). */
export interface SolverProgress {
  /** The epoch this iteration belongs to, from 1. */
  readonly epoch: number;
  readonly numEpochs: number;
  /** Iterations done so far, from 1. */
  readonly iteration: number;
  readonly iterationsPerEpoch: number;
  readonly totalIterations: number;
  /** Loss of this iteration's minibatch. */
  readonly loss: number;
  /** The latest train / validation accuracy (or evaluate result); null before the first epoch ends. */
  readonly trainAcc: number | null;
  readonly valAcc: number | null;
  /** True on the last iteration of an epoch (accuracies were just measured). */
  readonly epochEnd: boolean;
  /** The learning rate used by this iteration. */
  readonly learningRate: number;
  /** Training samples per second since train() or trainAsync() was called. */
  readonly samplesPerSecond: number;
}

export interface SolverOptions<M extends SolverModel = SolverModel> {
  /** A rule name ('sgd', 'sgdMomentum', 'nesterov', 'rmsprop', 'adagrad', 'adam', 'adamw')
   *  or a function (optim.UpdateRule); default 'sgd'. */
  updateRule?: RuleName | UpdateRule;
  /** Hyperparameters of the rule (learningRate, momentum, ...), copied for every param; default {}. */
  optimConfig?: OptimConfig;
  /** Per-epoch learning-rate factor of schedule 'step' (the classic lr_decay); default 1. */
  lrDecay?: number;
  /** 'step' (lrDecay once per epoch) or 'cosine' (annealed per iteration to minLrFactor·lr); default 'step'. */
  schedule?: 'step' | 'cosine';
  /** Linear warm-up, in epochs (converted to iterations) or iterations; default 0. Give one of them. */
  warmupEpochs?: number;
  warmupIterations?: number;
  /** The floor of the cosine schedule as a fraction of the base rate; default 0. */
  minLrFactor?: number;
  /** Minibatch size; default 100. The last minibatch of an epoch holds the remainder. */
  batchSize?: number;
  /** Default 10. */
  numEpochs?: number;
  /** Training rows sampled (from the Solver's rng) for the train accuracy check; null = all; default 1000. */
  numTrainSamples?: number | null;
  /** Validation rows sampled for the validation check; null = all (default). */
  numValSamples?: number | null;
  /** With verbose, log the loss every printEvery iterations; default 10. */
  printEvery?: number;
  /** Log progress lines through `log`; default false. */
  verbose?: boolean;
  /** Where verbose lines go; default console.log. */
  log?: (line: string) => void;
  /**
   * Path of a training checkpoint written (atomically) at the end of every epoch; '{epoch}' in
   * it is replaced by the epoch number (one file per epoch). Resume with Solver.resume.
   */
  checkpoint?: string | null;
  /** Seed of the Solver's rng (shuffling, subsampling, augment); without it runs are not reproducible. */
  seed?: number;
  /** Stop after this many epochs without a better validation accuracy; null = never (default). */
  patience?: number | null;
  /** Clip gradients to this global L2 norm (torch clip_grad_norm_); null = off (default). */
  clipNorm?: number | null;
  /** Called after every iteration; throwing from it interrupts training (state stays consistent). */
  onProgress?: (progress: SolverProgress) => void;
  /** Applied to every training minibatch X; must draw any randomness from the given rng (the Solver's). */
  augment?: (X: FloatTensor, rng: Rng) => FloatTensor;
  /** 'accuracy' (argmax of loss(X) against labels, the default) or 'none' (no checks, no best params). */
  metric?: 'accuracy' | 'none';
  /**
   * Replaces the accuracy check: a score of the model on (X, y), higher is better (e.g. minus
   * the validation loss). Called on the train subsample and on the validation data each epoch.
   */
  evaluate?(model: M, X: Tensor, y: Labels): number;
}

const OPTIONS = [
  'updateRule',
  'optimConfig',
  'lrDecay',
  'schedule',
  'warmupEpochs',
  'warmupIterations',
  'minLrFactor',
  'batchSize',
  'numEpochs',
  'numTrainSamples',
  'numValSamples',
  'printEvery',
  'verbose',
  'log',
  'checkpoint',
  'seed',
  'patience',
  'clipNorm',
  'onProgress',
  'augment',
  'metric',
  'evaluate',
] as const;
/** Options that are plain values, saved in a training checkpoint and used as Solver.resume's defaults. */
const SAVED_OPTIONS = [
  'optimConfig',
  'lrDecay',
  'schedule',
  'warmupEpochs',
  'warmupIterations',
  'minLrFactor',
  'batchSize',
  'numEpochs',
  'numTrainSamples',
  'numValSamples',
  'printEvery',
  'verbose',
  'checkpoint',
  'seed',
  'patience',
  'clipNorm',
  'metric',
] as const;
/** Function options a checkpoint cannot hold but that change the result: resume needs them again. */
const HOOKS = ['augment', 'evaluate'] as const;
const CHECKPOINT_VERSION = 1;

/** Checks the function options and the metric; returns the metric. */
function checkHooks(fn: string, options: SolverOptions<never>): 'accuracy' | 'none' {
  const metric = options.metric ?? 'accuracy';
  if (metric !== 'accuracy' && metric !== 'none') {
    throw new ValueError(`${fn}: metric must be 'accuracy' or 'none', got '${String(metric)}'`);
  }
  for (const hook of ['onProgress', 'augment', 'log', 'evaluate'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') {
      throw new TypeError(`${fn}: ${hook} must be a function`);
    }
  }
  if (options.evaluate !== undefined && metric === 'none') {
    throw new ValueError(`${fn}: evaluate and metric 'none' contradict each other; give one`);
  }
  if (options.checkpoint != null && typeof options.checkpoint !== 'string') {
    throw new TypeError(`${fn}: checkpoint must be a file path`);
  }
  return metric;
}

/** Labels or rows of y, gathered by the same indices as X. */
type Targets = { kind: 'rows'; t: Tensor } | { kind: 'labels'; y: Int32Array };

function targetsOf(fn: string, arg: string, y: Labels, N: number): Targets {
  if (y instanceof Tensor) {
    if (y.shape.length === 0 || y.shape[0] !== N) {
      throw new ShapeError(`${fn}: ${arg} has shape ${fmt(y.shape)} but X has ${N} rows`);
    }
    return { kind: 'rows', t: y };
  }
  if (y === null || typeof y !== 'object' || typeof (y as ArrayLike<number>).length !== 'number') {
    throw new TypeError(`${fn}: ${arg} must be a Tensor, an Int32Array or an array of labels`);
  }
  if (y.length !== N)
    throw new ShapeError(`${fn}: ${arg} has ${y.length} labels but X has ${N} rows`);
  for (let i = 0; i < N; i++) {
    if (!Number.isInteger(y[i]))
      throw new ValueError(`${fn}: ${arg}[${i}] = ${y[i]} is not an integer label`);
  }
  return { kind: 'labels', y: y instanceof Int32Array ? y : Int32Array.from(y) };
}

/** Checks the data: row counts of X and y agree, both or neither validation parts given. */
function checkData(
  fn: string,
  data: SolverData,
): { X: Tensor; y: Targets; XVal: Tensor | null; yVal: Targets | null } {
  expectOptions(`${fn}: data`, data, ['XTrain', 'yTrain', 'XVal', 'yVal']);
  const rows = (arg: string, X: Tensor): number => {
    expectTensor(fn, arg, X);
    if (X.shape.length === 0 || X.shape[0] === 0) {
      throw new ShapeError(`${fn}: ${arg} has shape ${fmt(X.shape)} but needs at least one row`);
    }
    return X.shape[0];
  };
  const y = targetsOf(fn, 'yTrain', data.yTrain, rows('XTrain', data.XTrain));
  if ((data.XVal === undefined) !== (data.yVal === undefined)) {
    throw new ValueError(`${fn}: give both XVal and yVal, or neither`);
  }
  if (data.XVal === undefined || data.yVal === undefined)
    return { X: data.XTrain, y, XVal: null, yVal: null };
  return {
    X: data.XTrain,
    y,
    XVal: data.XVal,
    yVal: targetsOf(fn, 'yVal', data.yVal, rows('XVal', data.XVal)),
  };
}

function gatherTargets(y: Targets, idx: Int32Array): Labels {
  return y.kind === 'rows' ? gatherRows(y.t, idx) : gatherLabels(y.y, idx);
}

/** Class labels of targets for the accuracy check (1-D only). */
function labelArray(fn: string, y: Labels): ArrayLike<number> {
  if (!(y instanceof Tensor)) return y;
  if (y.shape.length !== 1) {
    throw new ShapeError(
      `${fn}: metric 'accuracy' needs 1-D labels but y has shape ${fmt(y.shape)}; use metric 'none' or evaluate`,
    );
  }
  return y.data;
}

/** The JSON state of a training checkpoint (layerwise.training metadata). */
interface SolverState {
  version: number;
  numTrain: number;
  epoch: number;
  iteration: number;
  lossHistory: number[];
  trainAccHistory: number[];
  valAccHistory: number[];
  bestValAcc: number | null;
  epochsSinceBest: number;
  stoppedEarly: boolean;
  rng: RngState;
  modelRng: RngState | null;
  hasOrder: boolean;
  /** Per param: the numbers of its optimiser config; arrays are tensors 'optim.<param>.<key>'. */
  optimScalars: Record<string, Record<string, number>>;
  optimArrays: Record<string, string[]>;
  hasBest: boolean;
  options: Record<string, unknown>;
  /** The rule's name, or null for a custom function (which resume must be given again). */
  updateRule: string | null;
  /** Which function options the run used (resume must be given them again). */
  hooks: string[];
}

/**
 * Trains a model with minibatch gradient descent.
 *
 *     const solver = new Solver(model, { XTrain, yTrain, XVal, yVal }, {
 *       updateRule: 'adam', optimConfig: { learningRate: 1e-3 }, numEpochs: 5, seed: 0,
 *     });
 *     solver.train(); // model now holds the best-validation params and buffers
 *
 * Each epoch visits every training row once, in an order drawn from the Solver's rng
 * (batches without replacement); the same seed gives the same loss history bit for bit.
 * A non-finite loss, gradient or updated param stops training with an error naming the
 * param and the iteration.
 */
export class Solver<M extends SolverModel = SolverModel> {
  readonly model: M;
  readonly lossHistory: number[] = [];
  readonly trainAccHistory: number[] = [];
  readonly valAccHistory: number[] = [];
  /** Best validation accuracy so far (-Infinity before the first check). */
  bestValAcc = -Infinity;
  /** Params and buffers (copies) at the best validation accuracy; restored at the end of train(). */
  bestParams: Record<string, FloatTensor> | null = null;
  /** Completed epochs and iterations. */
  epoch = 0;
  iteration = 0;
  /** True when patience ran out. */
  stoppedEarly = false;
  /** True when the last trainAsync() stopped because shouldStop() asked it to. */
  interrupted = false;
  /** One config (hyperparameters + state) per param; what a checkpoint saves. */
  readonly optimConfigs: Record<string, OptimConfig> = {};
  readonly rng: Rng;
  readonly batchSize: number;
  readonly numEpochs: number;
  readonly iterationsPerEpoch: number;
  readonly totalIterations: number;

  private readonly X: Tensor;
  private readonly y: Targets;
  private readonly XVal: Tensor | null;
  private readonly yVal: Targets | null;
  private readonly N: number;
  private readonly rule: UpdateRule;
  private readonly ruleName: string | null;
  private readonly baseLr: number | undefined;
  private readonly schedule: Required<ScheduleOptions>;
  private readonly scheduled: boolean;
  private readonly options: SolverOptions<M>;
  private readonly numTrainSamples: number | null;
  private readonly numValSamples: number | null;
  private readonly printEvery: number;
  private readonly patience: number | null;
  private readonly clipNorm: number | null;
  private readonly metric: 'accuracy' | 'none';
  private epochsSinceBest = 0;
  /** The current epoch's visiting order (N), drawn at its first iteration. */
  private order: Int32Array | null = null;
  /** Storage reused by every step's loss(X, y), for models that allow it (reusesStepMemory). */
  private readonly stepMemory: StepMemory | null;

  constructor(model: M, data: SolverData, options: SolverOptions<NoInfer<M>> = {}) {
    const fn = 'Solver';
    expectOptions(fn, options, OPTIONS);
    if (
      typeof model?.loss !== 'function' ||
      typeof model.params !== 'object' ||
      model.params === null
    ) {
      throw new TypeError(`${fn}: model must have params and a loss(X, y) method`);
    }
    this.model = model;
    this.options = options;
    this.stepMemory = model.reusesStepMemory === true ? stepMemory() : null;
    ({ X: this.X, y: this.y, XVal: this.XVal, yVal: this.yVal } = checkData(fn, data));
    this.N = this.X.shape[0];

    this.batchSize = int(fn, 'batchSize', options.batchSize ?? 100, 1);
    this.numEpochs = int(fn, 'numEpochs', options.numEpochs ?? 10, 0);
    this.numTrainSamples =
      options.numTrainSamples === null
        ? null
        : int(fn, 'numTrainSamples', options.numTrainSamples ?? 1000, 1);
    this.numValSamples =
      options.numValSamples == null ? null : int(fn, 'numValSamples', options.numValSamples, 1);
    this.printEvery = int(fn, 'printEvery', options.printEvery ?? 10, 1);
    this.patience = options.patience == null ? null : int(fn, 'patience', options.patience, 1);
    if (options.clipNorm != null)
      expectNumber(fn, 'clipNorm', options.clipNorm, { min: 0, minExclusive: true });
    this.clipNorm = options.clipNorm ?? null;
    this.metric = checkHooks(fn, options);
    if (
      this.patience !== null &&
      (this.XVal === null || (this.metric === 'none' && !options.evaluate))
    ) {
      throw new ValueError(`${fn}: patience needs validation data (XVal, yVal) and a metric`);
    }
    if (options.seed !== undefined) expectNumber(fn, 'seed', options.seed);
    this.rng = new Rng(options.seed ?? defaultRng().nextUint32());

    this.iterationsPerEpoch = Math.ceil(this.N / this.batchSize);
    this.totalIterations = this.numEpochs * this.iterationsPerEpoch;
    const optimConfig = options.optimConfig ?? {};
    ({
      rule: this.rule,
      ruleName: this.ruleName,
      baseLr: this.baseLr,
    } = resolveRule(fn, options.updateRule ?? 'sgd', optimConfig));
    if (options.warmupEpochs !== undefined && options.warmupIterations !== undefined) {
      throw new ValueError(`${fn}: give warmupEpochs or warmupIterations, not both`);
    }
    const warmupEpochs = options.warmupEpochs ?? 0;
    expectNumber(fn, 'warmupEpochs', warmupEpochs, { min: 0 });
    this.schedule = checkSchedule(fn, {
      schedule: options.schedule,
      lrDecay: options.lrDecay,
      warmupIterations:
        options.warmupIterations ?? Math.round(warmupEpochs * this.iterationsPerEpoch),
      minLrFactor: options.minLrFactor,
      iterationsPerEpoch: this.iterationsPerEpoch,
      totalIterations: this.totalIterations,
    });
    const { schedule, lrDecay, warmupIterations } = this.schedule;
    this.scheduled = schedule === 'cosine' || lrDecay !== 1 || warmupIterations > 0;
    if (this.scheduled && this.baseLr === undefined) {
      throw new ValueError(
        `${fn}: a learning-rate schedule needs optimConfig.learningRate with a custom updateRule`,
      );
    }
    for (const name of Object.keys(model.params)) this.optimConfigs[name] = { ...optimConfig };
  }

  /**
   * Runs the remaining iterations (all of them, or the rest after loadCheckpoint), then puts
   * the best-validation params and buffers into the model. Returns this.
   */
  train(): this {
    const clock = { started: now(), samples: 0 };
    try {
      while (this.iteration < this.totalIterations && !this.stoppedEarly) this.runIteration(clock);
    } finally {
      this.stepMemory?.release();
    }
    this.restoreBest();
    return this;
  }

  /**
   * train() that gives the event loop a turn (setImmediate) every `yieldEveryMs` (default 50)
   * milliseconds, so that timers and signal handlers (Ctrl-C) run during training. Before each
   * iteration it asks `shouldStop()`; when that returns true it stops between iterations,
   * sets `interrupted`, and leaves the model at its current params (NOT the best ones), so that
   * saveCheckpoint writes a state that resumes exactly. Otherwise it ends like train().
   */
  async trainAsync(
    opts: { shouldStop?: () => boolean; yieldEveryMs?: number } = {},
  ): Promise<this> {
    const fn = 'Solver.trainAsync';
    expectOptions(fn, opts, ['shouldStop', 'yieldEveryMs']);
    const yieldEveryMs = opts.yieldEveryMs ?? 50;
    expectNumber(fn, 'yieldEveryMs', yieldEveryMs, { min: 0 });
    if (opts.shouldStop !== undefined && typeof opts.shouldStop !== 'function') {
      throw new TypeError(`${fn}: shouldStop must be a function`);
    }
    this.interrupted = false;
    const clock = { started: now(), samples: 0 };
    let lastYield = now();
    try {
      while (this.iteration < this.totalIterations && !this.stoppedEarly) {
        if (opts.shouldStop?.()) {
          this.interrupted = true;
          return this;
        }
        this.runIteration(clock);
        if (now() - lastYield >= yieldEveryMs) {
          await yieldToEventLoop();
          lastYield = now();
        }
      }
    } finally {
      this.stepMemory?.release();
    }
    this.restoreBest();
    return this;
  }

  /** One iteration of train(): the next minibatch, its update, the epoch's end and onProgress. */
  private runIteration(clock: { readonly started: number; samples: number }): void {
    const pos = this.iteration % this.iterationsPerEpoch;
    if (pos === 0 || this.order === null) this.order = this.rng.permutation(this.N);
    const idx = this.order.subarray(
      pos * this.batchSize,
      Math.min((pos + 1) * this.batchSize, this.N),
    );
    let Xb = gatherRows(this.X, idx);
    if (this.options.augment) Xb = this.options.augment(Xb as FloatTensor, this.rng);
    const lr = this.step(Xb, gatherTargets(this.y, idx));
    clock.samples += idx.length;
    this.iteration++;
    const epochEnd = this.iteration % this.iterationsPerEpoch === 0;
    const loss = this.lossHistory[this.lossHistory.length - 1];
    if (this.options.verbose && this.iteration % this.printEvery === 0) {
      this.print(
        `(Iteration ${this.iteration} / ${this.totalIterations}) loss: ${loss.toFixed(6)}`,
      );
    }
    if (epochEnd) this.endEpoch();
    this.options.onProgress?.({
      epoch: Math.ceil(this.iteration / this.iterationsPerEpoch),
      numEpochs: this.numEpochs,
      iteration: this.iteration,
      iterationsPerEpoch: this.iterationsPerEpoch,
      totalIterations: this.totalIterations,
      loss,
      trainAcc: last(this.trainAccHistory),
      valAcc: last(this.valAccHistory),
      epochEnd,
      learningRate: lr,
      samplesPerSecond: clock.samples / Math.max((now() - clock.started) / 1000, 1e-9),
    });
  }

  /** Puts the best-validation params and buffers (if any) into the model. */
  private restoreBest(): void {
    if (this.bestParams === null) return;
    const target = modelTensors('Solver', this.model);
    for (const [name, t] of Object.entries(this.bestParams)) target[name].data.set(t.data);
  }

  /** One update from a minibatch; returns the learning rate used. */
  private step(Xb: Tensor, yb: Labels): number {
    const where = `iteration ${this.iteration + 1} (epoch ${this.epoch + 1})`;
    // With step memory, result's tensors are valid until the next step's loss: used up below.
    const result = this.stepMemory
      ? this.stepMemory.run(() => this.model.loss(Xb, yb))
      : this.model.loss(Xb, yb);
    if (result instanceof Tensor || typeof result?.loss !== 'number') {
      throw new TypeError('Solver: model.loss(X, y) must return { loss, grads }');
    }
    const { loss, grads } = result;
    if (!Number.isFinite(loss)) {
      throw new ValueError(
        `Solver: loss is ${loss} at ${where}; lower the learning rate, or set clipNorm`,
      );
    }
    const used: Record<string, FloatTensor> = {};
    for (const name of Object.keys(this.model.params)) {
      const g = grads[name];
      if (!(g instanceof Tensor))
        throw new ValueError(`Solver: model.loss returned no gradient for param '${name}'`);
      if (!allFinite(g.data)) expectFinite('Solver', `the gradient of '${name}' at ${where}`, g);
      used[name] = g;
    }
    if (this.clipNorm !== null) clipGradNorm(used, this.clipNorm);
    // A custom rule without optimConfig.learningRate keeps its own rate (reported from its config).
    const lr =
      this.baseLr === undefined
        ? (Object.values(this.optimConfigs)[0]?.learningRate ?? NaN)
        : this.baseLr * (this.scheduled ? learningRateFactor(this.iteration, this.schedule) : 1);
    for (const [name, w] of Object.entries(this.model.params)) {
      const config = this.optimConfigs[name];
      if (this.baseLr !== undefined) config.learningRate = lr;
      this.optimConfigs[name] = this.rule(w, used[name], config);
      if (!allFinite(w.data))
        expectFinite('Solver', `param '${name}' after the update at ${where}`, w);
    }
    this.lossHistory.push(loss);
    return lr;
  }

  /** Accuracy checks, best params, patience and the checkpoint at the end of an epoch. */
  private endEpoch(): void {
    this.epoch++;
    if (this.metric === 'none' && !this.options.evaluate) {
      this.saveEpochCheckpoint();
      return;
    }
    const trainAcc = this.accuracyOn(this.X, this.y, this.numTrainSamples);
    this.trainAccHistory.push(trainAcc);
    let line = `(Epoch ${this.epoch} / ${this.numEpochs}) train acc: ${trainAcc.toFixed(6)}`;
    if (this.XVal !== null && this.yVal !== null) {
      const valAcc = this.accuracyOn(this.XVal, this.yVal, this.numValSamples);
      this.valAccHistory.push(valAcc);
      line += `; val acc: ${valAcc.toFixed(6)}`;
      if (valAcc > this.bestValAcc) {
        this.bestValAcc = valAcc;
        this.epochsSinceBest = 0;
        this.bestParams = {};
        for (const [name, t] of Object.entries(modelTensors('Solver', this.model))) {
          this.bestParams[name] = t.clone();
        }
      } else {
        this.epochsSinceBest++;
        if (this.patience !== null && this.epochsSinceBest >= this.patience) {
          this.stoppedEarly = true;
          line += `; stopping: no improvement for ${this.epochsSinceBest} epochs`;
        }
      }
    }
    if (this.options.verbose) this.print(line);
    this.saveEpochCheckpoint();
  }

  private saveEpochCheckpoint(): void {
    const path = this.options.checkpoint;
    if (path != null) this.saveCheckpoint(path.replaceAll('{epoch}', String(this.epoch)));
  }

  private print(line: string): void {
    (this.options.log ?? console.log)(line);
  }

  /**
   * Accuracy of the model on (X, y): argmax of the test-mode scores loss(X) against the
   * labels, computed in minibatches of batchSize. With numSamples (< N), on that many rows
   * drawn without replacement from the Solver's rng. With an evaluate hook, its score instead.
   */
  checkAccuracy(
    X: Tensor,
    y: Labels,
    numSamples: number | null = null,
    batchSize = this.batchSize,
  ): number {
    const fn = 'Solver.checkAccuracy';
    expectTensor(fn, 'X', X);
    if (numSamples !== null) expectNumber(fn, 'numSamples', numSamples, { integer: true, min: 1 });
    expectNumber(fn, 'batchSize', batchSize, { integer: true, min: 1 });
    return this.accuracyOn(X, targetsOf(fn, 'y', y, X.shape[0]), numSamples, batchSize);
  }

  private accuracyOn(
    X: Tensor,
    targets: Targets,
    numSamples: number | null,
    batchSize = this.batchSize,
  ): number {
    const fn = 'Solver.checkAccuracy';
    const N = X.shape[0];
    let Xs = X,
      ys: Labels = targets.kind === 'rows' ? targets.t : targets.y;
    if (numSamples !== null && numSamples < N) {
      const idx = this.rng.permutation(N).subarray(0, numSamples);
      Xs = gatherRows(X, idx);
      ys = gatherTargets(targets, idx);
    }
    if (this.options.evaluate) {
      const score = this.options.evaluate(this.model, Xs, ys);
      expectNumber(fn, 'the result of evaluate', score);
      return score;
    }
    const labels = labelArray(fn, ys);
    const M = Xs.shape[0];
    let correct = 0;
    const D = Xs.size / M;
    // Each batch's scores are counted before the next batch runs: step memory serves them too
    // (given back at the end, so that checkAccuracy called on its own keeps nothing).
    const mem = this.model.reusesStepMemory === true ? stepMemory() : null;
    try {
      for (let lo = 0; lo < M; lo += batchSize) {
        const hi = Math.min(lo + batchSize, M);
        // rows lo..hi-1 are contiguous: a view, no copy
        const Xb =
          lo === 0 && hi === M
            ? Xs
            : new Tensor(Xs.data.subarray(lo * D, hi * D), [hi - lo, ...Xs.shape.slice(1)]);
        const scores = mem ? mem.run(() => scoresOf(this.model, Xb)) : scoresOf(this.model, Xb);
        correct += this.countCorrect(fn, scores, labels, lo, hi);
      }
    } finally {
      mem?.release();
    }
    return correct / M;
  }

  /** How many rows of scores (rows lo..hi of the evaluated set) have their argmax at the label. */
  private countCorrect(
    fn: string,
    scores: unknown,
    labels: ArrayLike<number>,
    lo: number,
    hi: number,
  ): number {
    if (!(scores instanceof Tensor) || scores.shape.length !== 2 || scores.shape[0] !== hi - lo) {
      const got = scores instanceof Tensor ? `shape ${fmt(scores.shape)}` : 'no scores';
      throw new ValueError(
        `${fn}: model.loss(X) gave ${got} for ${hi - lo} rows; a model without a scores mode needs metric 'none' or evaluate`,
      );
    }
    return argmaxRows(scores).filter((p, n) => p === labels[lo + n]).length;
  }

  /**
   * Writes a training checkpoint to `path` (atomically): params, buffers, optimiser state,
   * best params, the current epoch's order, histories, counters and both rng states. Call it
   * between iterations (e.g. from onProgress) or let the `checkpoint` option call it each epoch.
   */
  saveCheckpoint(path: string): void {
    const tensors: Record<string, Tensor> = {};
    const optimScalars: Record<string, Record<string, number>> = {};
    const optimArrays: Record<string, string[]> = {};
    for (const [name, config] of Object.entries(this.optimConfigs)) {
      optimScalars[name] = {};
      optimArrays[name] = [];
      for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
        if (typeof value === 'number') {
          optimScalars[name][key] = value;
        } else if (value instanceof Float32Array || value instanceof Float64Array) {
          tensors[`optim.${name}.${key}`] = new Tensor(value, [value.length]);
          optimArrays[name].push(key);
        } else if (value !== undefined) {
          throw new ValueError(
            `Solver.saveCheckpoint: optimiser config '${key}' of '${name}' is neither a number nor a Float32Array/Float64Array`,
          );
        }
      }
    }
    for (const [name, t] of Object.entries(this.bestParams ?? {})) tensors[`best.${name}`] = t;
    const midEpoch = this.order !== null && this.iteration % this.iterationsPerEpoch !== 0;
    if (midEpoch) tensors['solver.order'] = new Tensor(this.order as Int32Array, [this.N]);
    const options: Record<string, unknown> = {};
    for (const key of SAVED_OPTIONS)
      if (this.options[key] !== undefined) options[key] = this.options[key];
    const state: SolverState = {
      version: CHECKPOINT_VERSION,
      numTrain: this.N,
      epoch: this.epoch,
      iteration: this.iteration,
      lossHistory: this.lossHistory,
      trainAccHistory: this.trainAccHistory,
      valAccHistory: this.valAccHistory,
      bestValAcc: this.bestParams === null ? null : this.bestValAcc,
      epochsSinceBest: this.epochsSinceBest,
      stoppedEarly: this.stoppedEarly,
      rng: this.rng.getState(),
      modelRng: this.model.rng?.getState() ?? null,
      hasOrder: midEpoch,
      optimScalars,
      optimArrays,
      hasBest: this.bestParams !== null,
      options,
      updateRule: this.ruleName,
      hooks: HOOKS.filter((h) => this.options[h] !== undefined),
    };
    const extra: TrainingCheckpoint = {
      tensors,
      state: state as unknown as Record<string, unknown>,
    };
    saveTrainingCheckpoint(path, this.model, extra);
  }

  /**
   * Restores everything saveCheckpoint wrote into this Solver and its model, so that train()
   * continues exactly where the saved run was. The model's params, buffers and rng are
   * overwritten; the data and batchSize must be those of the saved run.
   */
  loadCheckpoint(path: string): this {
    this.restore(path, readTrainingCheckpoint('Solver.loadCheckpoint', path));
    return this;
  }

  /**
   * A Solver continuing the run saved in `path`: the saved options (updateRule name,
   * optimConfig, schedule, batchSize, numEpochs, seed, ...) are the defaults, `options`
   * overrides them and supplies what cannot be saved (functions: onProgress, augment,
   * evaluate, a custom updateRule).
   */
  static resume<M extends SolverModel>(
    path: string,
    model: M,
    data: SolverData,
    options: SolverOptions<NoInfer<M>> = {},
  ): Solver<M> {
    const ckpt = readTrainingCheckpoint('Solver.resume', path);
    const state = ckpt.state as Partial<SolverState>;
    const saved = (state.options ?? {}) as SolverOptions<M>;
    const fn = 'Solver.resume';
    if (state.updateRule === null && typeof options.updateRule !== 'function') {
      throw new ValueError(
        `${fn}: ${path}: the run used a custom updateRule; pass the same function in options.updateRule`,
      );
    }
    for (const hook of Array.isArray(state.hooks) ? state.hooks : []) {
      if (typeof options[hook as (typeof HOOKS)[number]] !== 'function') {
        throw new ValueError(
          `${fn}: ${path}: the run used ${hook}; pass the same function in options.${hook} to continue it exactly`,
        );
      }
    }
    const rule =
      typeof state.updateRule === 'string' ? { updateRule: state.updateRule as RuleName } : {};
    const solver = new Solver<M>(model, data, { ...saved, ...rule, ...options });
    solver.restore(path, ckpt);
    return solver;
  }

  private restore(path: string, ckpt: ReturnType<typeof readTrainingCheckpoint>): void {
    const fn = 'Solver.loadCheckpoint';
    const s = ckpt.state as Partial<SolverState>;
    const bad = (why: string): never => {
      throw new ValueError(`${fn}: ${path}: ${why}`);
    };
    if (s.version !== CHECKPOINT_VERSION)
      bad(`checkpoint version ${String(s.version)} is not ${CHECKPOINT_VERSION}`);
    if (s.numTrain !== this.N)
      bad(`was saved with ${String(s.numTrain)} training rows but XTrain has ${this.N}`);
    const savedBatch = (s.options as SolverOptions | undefined)?.batchSize ?? 100;
    if (savedBatch !== this.batchSize)
      bad(`was saved with batchSize ${savedBatch} but this Solver has ${this.batchSize}`);
    checkModelFits(fn, path, ckpt.contents, this.model);
    const isCount = (v: unknown): v is number =>
      typeof v === 'number' && Number.isInteger(v) && v >= 0;
    const isNumbers = (v: unknown): v is number[] =>
      Array.isArray(v) && v.every((x) => typeof x === 'number');
    if (!isCount(s.epoch) || !isCount(s.iteration) || !isCount(s.epochsSinceBest)) {
      bad('epoch, iteration or epochsSinceBest is missing');
    }
    if (!isNumbers(s.lossHistory) || !isNumbers(s.trainAccHistory) || !isNumbers(s.valAccHistory)) {
      bad('a history is missing');
    }
    if (s.rng === undefined || s.optimScalars === undefined || s.optimArrays === undefined) {
      bad('rng or optimiser state is missing');
    }
    if ((s.modelRng != null) !== (this.model.rng !== undefined)) {
      bad(
        s.modelRng != null
          ? 'holds a model rng state but the model has no rng'
          : 'holds no model rng state but the model has an rng',
      );
    }
    const configs: Record<string, OptimConfig> = {};
    for (const name of Object.keys(this.model.params)) {
      const scalars = (s.optimScalars as Record<string, Record<string, number>>)[name];
      const arrays = (s.optimArrays as Record<string, string[]>)[name];
      if (scalars === undefined || arrays === undefined)
        bad(`has no optimiser state for param '${name}'`);
      const config: Record<string, unknown> = { ...scalars };
      for (const key of arrays) {
        const t = ckpt.tensors[`optim.${name}.${key}`];
        if (t === undefined) bad(`lacks tensor 'optim.${name}.${key}'`);
        config[key] = (t.data as FloatData).slice();
      }
      configs[name] = config as OptimConfig;
    }
    let best: Record<string, FloatTensor> | null = null;
    if (s.hasBest) {
      best = {};
      for (const [name, t] of Object.entries(modelTensors(fn, this.model))) {
        const b = ckpt.tensors[`best.${name}`];
        if (b === undefined || b.dtype !== t.dtype || b.size !== t.size) {
          bad(`lacks a best copy of '${name}' matching the model`);
        }
        best[name] = new Tensor(b.data, t.shape) as FloatTensor;
      }
    }
    let order: Int32Array | null = null;
    if (s.hasOrder) {
      const t = ckpt.tensors['solver.order'];
      if (t === undefined || t.dtype !== 'int32' || t.size !== this.N) {
        bad(`lacks the epoch order 'solver.order' of ${this.N} rows`);
      }
      order = t.data as Int32Array;
      if (!order.every((i) => i >= 0 && i < this.N))
        bad(`'solver.order' holds an index outside [0, ${this.N})`);
    }
    // Everything is checked: now write into the model and this Solver.
    restoreModel(fn, path, ckpt.contents, this.model);
    this.rng.setState(s.rng as RngState);
    if (s.modelRng != null) this.model.rng?.setState(s.modelRng);
    for (const name of Object.keys(configs)) this.optimConfigs[name] = configs[name];
    this.epoch = s.epoch as number;
    this.iteration = s.iteration as number;
    this.epochsSinceBest = s.epochsSinceBest as number;
    this.stoppedEarly = s.stoppedEarly === true;
    this.bestValAcc = s.bestValAcc ?? -Infinity;
    this.bestParams = best;
    this.order = order;
    for (const [mine, saved] of [
      [this.lossHistory, s.lossHistory],
      [this.trainAccHistory, s.trainAccHistory],
      [this.valAccHistory, s.valAccHistory],
    ] as const) {
      mine.length = 0;
      mine.push(...(saved as number[]));
    }
  }
}

/** The rule function, its name (if named) and the base learning rate; checks optimConfig early. */
function resolveRule(
  fn: string,
  updateRule: RuleName | UpdateRule,
  optimConfig: OptimConfig,
): { rule: UpdateRule; ruleName: string | null; baseLr: number | undefined } {
  if (optimConfig === null || typeof optimConfig !== 'object') {
    throw new TypeError(`${fn}: optimConfig must be an object`);
  }
  if (typeof updateRule === 'function')
    return { rule: updateRule, ruleName: null, baseLr: optimConfig.learningRate };
  if (typeof updateRule !== 'string')
    throw new TypeError(`${fn}: updateRule must be a rule name or a function`);
  const rule = getUpdateRule(fn, updateRule);
  const name = updateRule as RuleName;
  // Only hyperparameters belong in optimConfig (state is per param); check them now, not at step 1.
  expectOptions(`${fn}: optimConfig for ${name}`, optimConfig, Object.keys(RULE_DEFAULTS[name]));
  rule(Tensor.zeros([1], 'float64'), Tensor.zeros([1], 'float64'), { ...optimConfig });
  return {
    rule,
    ruleName: name,
    baseLr: optimConfig.learningRate ?? RULE_DEFAULTS[name].learningRate,
  };
}

/** Fast scan: x·0 is 0 for finite x and NaN for ±Infinity or NaN; expectFinite then names the element. */
function allFinite(d: FloatData): boolean {
  let acc = 0;
  for (let i = 0; i < d.length; i++) acc += d[i] * 0;
  return acc === 0;
}

function int(fn: string, arg: string, v: unknown, min: number): number {
  expectNumber(fn, arg, v, { integer: true, min });
  return v;
}

function last(xs: number[]): number | null {
  return xs.length > 0 ? xs[xs.length - 1] : null;
}

/** Lets pending callbacks (timers, signal handlers) run: setImmediate in Node, else a 0 ms timeout. */
function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (cb: () => void) => unknown };
  return new Promise((resolve) =>
    g.setImmediate ? g.setImmediate(resolve) : setTimeout(resolve, 0),
  );
}

function now(): number {
  return globalThis.performance.now();
}
