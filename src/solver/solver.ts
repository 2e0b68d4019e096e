// src/solver/solver.ts: the training loop of the classic curriculum, grown up: shuffled
// minibatches without replacement, one update-rule config per parameter, learning-rate
// schedules, accuracy checks, best-validation params (with batch-norm statistics), early
// stopping, a progress callback, and training checkpoints from which a resumed run continues
// bit for bit as if it had never stopped. The options are checked in options.ts, the data in
// data.ts, a step's finiteness in finite.ts, and the checkpoint's training state is written and
// parsed in state.ts.
import {
  checkModelFits,
  modelTensors,
  readTrainingCheckpoint,
  restoreModel,
  saveTrainingCheckpoint,
  type StoredCheckpoint,
} from '../io/internal.js';
import type { ModelDescription } from '../io/index.js';
import { makeResident, stepMemory, type StepMemory } from '../kernels/index.js';
import { clipGradNorm, learningRateFactor, type OptimConfig } from '../optim/index.js';
import {
  defaultRng,
  expectNumber,
  expectOptions,
  expectTensor,
  Rng,
  Tensor,
  ValueError,
  type FloatTensor,
  type Labels,
} from '../tensor/index.js';
import {
  accuracy,
  checkData,
  gatherRows,
  gatherTargets,
  targetsOf,
  type CheckedData,
  type SolverData,
  type SolverModel,
  type Targets,
} from './data.js';
import {
  checkResumeOptions,
  HOOKS,
  resolveOptions,
  SAVED_OPTIONS,
  type SavedOptions,
  type Settings,
  type SolverOptions,
} from './options.js';
import { checkedGrads, expectFiniteParam } from './finite.js';
import { bestIndex, encodeTrainingState, parseSavedRun, parseTrainingState } from './state.js';

export type { SolverData, SolverModel } from './data.js';
export type { SolverOptions, SolverProgress } from './options.js';

/** What saveCheckpoint writes besides the Solver's state. */
export interface SaveCheckpointOptions {
  /**
   * Extra string metadata stored in the same file and the same write (e.g. the CLI's run
   * information); keys starting with 'layerwise.' other than 'layerwise.cli' are reserved.
   */
  readonly metadata?: Readonly<Record<string, string>>;
  /** The model's description (preprocessing, class names, input shape), as io.saveModel takes it. */
  readonly description?: ModelDescription;
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
 * param and the iteration. Under the wasm backend train() first moves the params into WASM
 * memory (kernels.makeResident): read `model.params[k].data` afresh after it starts.
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
  /** Completed iterations. */
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

  private readonly data: CheckedData;
  private readonly N: number;
  private readonly settings: Settings;
  private readonly options: SolverOptions<M>;
  private epochsSinceBest = 0;
  /** The current epoch's visiting order (N), drawn at its first iteration. */
  private order: Int32Array | null = null;
  /** Storage reused by every step's loss(X, y), for models that allow it (reusesStepMemory). */
  private readonly stepMemory: StepMemory | null;

  constructor(model: M, data: SolverData, options: SolverOptions<NoInfer<M>> = {}) {
    const fn = 'Solver';
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
    this.data = checkData(fn, data);
    this.N = this.data.X.shape[0];
    const s = resolveOptions(fn, options, this.N);
    this.settings = s;
    if (s.patience !== null && (this.data.XVal === null || !s.checks)) {
      throw new ValueError(`${fn}: patience needs validation data (XVal, yVal) and a metric`);
    }
    ({
      batchSize: this.batchSize,
      numEpochs: this.numEpochs,
      iterationsPerEpoch: this.iterationsPerEpoch,
      totalIterations: this.totalIterations,
    } = s);
    this.rng = new Rng(s.seed ?? defaultRng().nextUint32());
    for (const name of Object.keys(model.params)) this.optimConfigs[name] = { ...s.optimConfig };
  }

  /** Completed epochs (derived from the iteration). */
  get epoch(): number {
    return Math.floor(this.iteration / this.iterationsPerEpoch);
  }

  /**
   * Runs the remaining iterations (all of them, or the rest after loadCheckpoint), then puts
   * the best-validation params and buffers into the model. Returns this.
   */
  train(): this {
    const clock = { started: now(), samples: 0 };
    this.makeParamsResident();
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
    this.makeParamsResident();
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

  /**
   * Moves the params into the backend's memory (kernels.makeResident: wasm only; a no-op once
   * they are there), so that the kernels and the update use them in place every step.
   */
  private makeParamsResident(): void {
    makeResident(Object.values(this.model.params));
  }

  /** One iteration of train(): the next minibatch, its update, the epoch's end and onProgress. */
  private runIteration(clock: { readonly started: number; samples: number }): void {
    const { X, y } = this.data,
      B = this.batchSize;
    const pos = this.iteration % this.iterationsPerEpoch;
    if (pos === 0 || this.order === null) this.order = this.rng.permutation(this.N);
    const idx = this.order.subarray(pos * B, Math.min((pos + 1) * B, this.N));
    let Xb = gatherRows(X, idx);
    if (this.options.augment) Xb = this.options.augment(Xb as FloatTensor, this.rng);
    const lr = this.step(Xb, gatherTargets(y, idx));
    clock.samples += idx.length;
    this.iteration++;
    const epochEnd = this.iteration % this.iterationsPerEpoch === 0;
    const loss = this.lossHistory[this.lossHistory.length - 1];
    if (this.options.verbose && this.iteration % this.settings.printEvery === 0) {
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
    const { rule, baseLr, scheduled, schedule, clipNorm } = this.settings;
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
    const used = checkedGrads(this.model.params, grads, where);
    if (clipNorm !== null) clipGradNorm(used, clipNorm);
    // A custom rule without optimConfig.learningRate keeps its own rate (reported from its config).
    const lr =
      baseLr === undefined
        ? (Object.values(this.optimConfigs)[0]?.learningRate ?? NaN)
        : baseLr * (scheduled ? learningRateFactor(this.iteration, schedule) : 1);
    for (const [name, w] of Object.entries(this.model.params)) {
      const config = this.optimConfigs[name];
      if (baseLr !== undefined) config.learningRate = lr;
      this.optimConfigs[name] = rule(w, used[name], config);
      expectFiniteParam(name, w, where);
    }
    this.lossHistory.push(loss);
    return lr;
  }

  /** Accuracy checks, best params, patience and the checkpoint at the end of an epoch. */
  private endEpoch(): void {
    const { X, y, XVal, yVal } = this.data,
      s = this.settings;
    if (!s.checks) {
      this.saveEpochCheckpoint();
      return;
    }
    const trainAcc = this.accuracyOn(X, y, s.numTrainSamples);
    this.trainAccHistory.push(trainAcc);
    let line = `(Epoch ${this.epoch} / ${this.numEpochs}) train acc: ${trainAcc.toFixed(6)}`;
    if (XVal !== null && yVal !== null) {
      const valAcc = this.accuracyOn(XVal, yVal, s.numValSamples);
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
        if (s.patience !== null && this.epochsSinceBest >= s.patience) {
          this.stoppedEarly = true;
          line += `; stopping: no improvement for ${this.epochsSinceBest} epochs`;
        }
      }
    }
    if (this.options.verbose) this.print(line);
    this.saveEpochCheckpoint();
  }

  private saveEpochCheckpoint(): void {
    const path = this.settings.checkpoint;
    if (path !== null) this.saveCheckpoint(path.replaceAll('{epoch}', String(this.epoch)));
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
    return accuracy('Solver.checkAccuracy', this.model, X, targets, {
      numSamples,
      batchSize,
      rng: this.rng,
      evaluate: this.options.evaluate,
    });
  }

  /**
   * Writes a training checkpoint to `path`, whole and atomically in one write: params,
   * buffers, optimiser state, best params, the current epoch's order, histories, counters,
   * both rng states and any extra `metadata`. Call it between iterations (e.g. from
   * onProgress) or let the `checkpoint` option call it each epoch.
   */
  saveCheckpoint(path: string, opts: SaveCheckpointOptions = {}): void {
    expectOptions('Solver.saveCheckpoint', opts, ['metadata', 'description']);
    const options: Record<string, unknown> = {};
    for (const key of SAVED_OPTIONS)
      if (this.options[key] !== undefined) options[key] = this.options[key];
    const { tensors, state } = encodeTrainingState({
      numTrain: this.N,
      iteration: this.iteration,
      iterationsPerEpoch: this.iterationsPerEpoch,
      lossHistory: this.lossHistory,
      trainAccHistory: this.trainAccHistory,
      valAccHistory: this.valAccHistory,
      rng: this.rng.getState(),
      modelRng: this.model.rng?.getState() ?? null,
      order: this.order,
      optimConfigs: this.optimConfigs,
      bestParams: this.bestParams,
      options: options as SavedOptions,
      updateRule: this.settings.ruleName,
      hooks: HOOKS.filter((h) => this.options[h] !== undefined),
    });
    saveTrainingCheckpoint(path, this.model, {
      tensors,
      state,
      metadata: opts.metadata ?? {},
      description: opts.description ?? {},
    });
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
    const fn = 'Solver.resume';
    const ckpt = readTrainingCheckpoint(fn, path);
    const run = parseSavedRun(`${fn}: ${path}`, ckpt.training);
    checkResumeOptions(`${fn}: ${path}`, run, options);
    const rule = run.updateRule === null ? {} : { updateRule: run.updateRule };
    const solver = new Solver<M>(model, data, {
      ...(run.options as SolverOptions<M>),
      ...rule,
      ...options,
    });
    solver.restore(path, ckpt);
    return solver;
  }

  /** Parses and checks the whole checkpoint first; only then writes into the model and this Solver. */
  private restore(path: string, ckpt: StoredCheckpoint): void {
    const fn = 'Solver.loadCheckpoint';
    checkModelFits(fn, path, ckpt.contents, this.model);
    const state = parseTrainingState(`${fn}: ${path}`, ckpt.training, {
      N: this.N,
      settings: this.settings,
      params: this.model.params,
      tensors: modelTensors(fn, this.model),
      hasModelRng: this.model.rng !== undefined,
      hasValidation: this.data.XVal !== null,
      evaluate: this.options.evaluate !== undefined,
    });
    restoreModel(fn, path, ckpt.contents, this.model);
    this.rng.setState(state.rng);
    if (state.modelRng !== null) this.model.rng?.setState(state.modelRng);
    for (const [name, config] of state.optimConfigs) this.optimConfigs[name] = config;
    this.iteration = state.iteration;
    this.order = state.order;
    refill(this.lossHistory, state.lossHistory);
    refill(this.trainAccHistory, state.trainAccHistory);
    refill(this.valAccHistory, state.valAccHistory);
    // Derived, not stored: the best score, the epochs since it and the early stop.
    const best = bestIndex(state.valAccHistory);
    this.bestValAcc = best < 0 ? -Infinity : state.valAccHistory[best];
    this.epochsSinceBest = best < 0 ? 0 : state.valAccHistory.length - 1 - best;
    const { patience } = this.settings;
    this.stoppedEarly = best >= 0 && patience !== null && this.epochsSinceBest >= patience;
    this.bestParams = state.bestParams === null ? null : Object.fromEntries(state.bestParams);
  }
}

/** Replaces the contents of `target` with `source`, one element at a time (no spread: any length). */
function refill(target: number[], source: Float64Array): void {
  target.length = 0;
  for (let i = 0; i < source.length; i++) target.push(source[i]);
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
