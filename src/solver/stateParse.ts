// src/solver/stateParse.ts: the ONE typed parser of a saved training state: the JSON part
// (stateJson.ts) and every tensor are checked (type, range, length) against the Solver that
// restores them before the Solver or its model is touched.
import type { OptimConfig } from '../optim/index.js';
import { fmt, Tensor, ValueError, type FloatData, type FloatTensor } from '../tensor/index.js';
import { dryRun, resolveOptions } from './options.js';
import {
  bestIndex,
  bestTensor,
  optimTensor,
  T,
  type SavedRun,
  type StateContext,
  type StoredState,
  type TrainingState,
} from './stateSchema.js';
import {
  describe,
  failer,
  parseRaw,
  type Fail,
  type Json,
  type LegacyFields,
  type RawState,
} from './stateJson.js';

/**
 * Reads what a checkpoint says about its run: the options (checked as a Solver would check
 * them), the rule and hooks. `where` ("fn: path") starts every message.
 */
export function parseSavedRun(where: string, stored: StoredState): SavedRun {
  return readRun(failer(where), where, stored).run;
}

function readRun(fail: Fail, where: string, stored: StoredState): { run: SavedRun; raw: RawState } {
  const raw = parseRaw(fail, stored);
  // A custom rule is not in the file; a stand-in lets the other options be checked.
  const standIn = (_w: unknown, _dw: unknown, config?: OptimConfig): OptimConfig => config ?? {};
  const settings = resolveOptions(
    `${where}: training state: options`,
    { ...raw.options, updateRule: raw.updateRule ?? standIn },
    raw.numTrain,
  );
  if (raw.iteration > settings.totalIterations) {
    fail(
      'iteration',
      `is ${raw.iteration} but the run has ${settings.totalIterations} iterations (numEpochs ${settings.numEpochs} x ${settings.iterationsPerEpoch})`,
    );
  }
  const run = {
    numTrain: raw.numTrain,
    iteration: raw.iteration,
    options: raw.options,
    settings,
    updateRule: raw.updateRule,
    hooks: raw.hooks,
  };
  return { run, raw };
}

/**
 * Parses and checks the whole training state against the Solver that will restore it: counts,
 * generator states, histories (lengths from the iteration, values in range), the epoch order
 * (a permutation), every param's optimiser config (the rule's keys, its step count, arrays of
 * the param's dtype and size) and the best copies. Nothing is written anywhere.
 */
export function parseTrainingState(
  where: string,
  stored: StoredState,
  ctx: StateContext,
): TrainingState {
  const fail = failer(where);
  const { run, raw } = readRun(fail, where, stored);
  const { settings, N } = ctx;
  const used = new Set<string>();
  const tensor = (name: string): Tensor | undefined => {
    used.add(name);
    return stored.tensors.get(name);
  };
  if (raw.numTrain !== N)
    throw new ValueError(
      `${where}: was saved with ${raw.numTrain} training rows but XTrain has ${N}`,
    );
  if (run.settings.batchSize !== settings.batchSize) {
    throw new ValueError(
      `${where}: was saved with batchSize ${run.settings.batchSize} but this Solver has ${settings.batchSize}`,
    );
  }
  const { iteration } = raw;
  const ipe = settings.iterationsPerEpoch,
    epoch = Math.floor(iteration / ipe);
  if ((raw.modelRng !== null) !== ctx.hasModelRng) {
    fail(
      'modelRng',
      raw.modelRng !== null
        ? 'holds a generator state but the model has no rng'
        : 'is null but the model has an rng',
    );
  }
  if (raw.updateRule !== settings.ruleName) {
    fail(
      'updateRule',
      `is ${describe(raw.updateRule)} but this Solver uses ${settings.ruleName ?? 'a custom rule'}`,
    );
  }
  const histories = readHistories(fail, tensor, raw.legacy);
  const want = {
    loss: iteration,
    trainAcc: settings.checks ? epoch : 0,
    valAcc: settings.checks && ctx.hasValidation ? epoch : 0,
  };
  const scoreRange = ctx.evaluate ? null : ([0, 1] as const);
  checkHistory(fail, T.loss, histories.loss, want.loss, `iteration is ${iteration}`, null);
  const epochs = `${epoch} epochs are done and the Solver scores ${
    settings.checks ? (want.valAcc > 0 ? 'train and validation data' : 'train data') : 'nothing'
  } each epoch`;
  checkHistory(fail, T.trainAcc, histories.trainAcc, want.trainAcc, epochs, scoreRange);
  checkHistory(fail, T.valAcc, histories.valAcc, want.valAcc, epochs, scoreRange);
  if (raw.legacy !== null) checkLegacy(fail, raw.legacy, epoch, iteration % ipe !== 0);

  const order = iteration % ipe === 0 ? null : readOrder(fail, tensor(T.order), N);
  const optimConfigs = readOptim(where, fail, raw, ctx, tensor);
  const bestParams = histories.valAcc.length === 0 ? null : readBest(fail, ctx, tensor);
  for (const name of stored.tensors.keys())
    if (!used.has(name)) fail(`tensor '${name}'`, 'is not part of a training state');
  return {
    iteration,
    lossHistory: histories.loss,
    trainAccHistory: histories.trainAcc,
    valAccHistory: histories.valAcc,
    rng: raw.rng,
    modelRng: raw.modelRng,
    order,
    optimConfigs,
    bestParams,
  };
}

function readHistories(
  fail: Fail,
  tensor: (name: string) => Tensor | undefined,
  legacy: LegacyFields | null,
): { loss: Float64Array; trainAcc: Float64Array; valAcc: Float64Array } {
  if (legacy !== null) {
    return {
      loss: legacy.lossHistory,
      trainAcc: legacy.trainAccHistory,
      valAcc: legacy.valAccHistory,
    };
  }
  const read = (name: string): Float64Array => {
    const t = tensor(name);
    if (t === undefined) return fail(`tensor '${name}'`, 'is missing');
    if (t.dtype !== 'float64' || t.shape.length !== 1)
      fail(`tensor '${name}'`, `must be 1-D float64, got ${t.dtype} ${fmt(t.shape)}`);
    return t.data as Float64Array;
  };
  return { loss: read(T.loss), trainAcc: read(T.trainAcc), valAcc: read(T.valAcc) };
}

function checkHistory(
  fail: Fail,
  name: string,
  h: Float64Array,
  length: number,
  because: string,
  range: readonly [number, number] | null,
): void {
  if (h.length !== length)
    fail(`'${name}'`, `has ${h.length} entries but ${because}, so it needs ${length}`);
  for (let i = 0; i < h.length; i++) {
    const x = h[i];
    const ok = range === null ? Number.isFinite(x) : x >= range[0] && x <= range[1];
    if (!ok) {
      const what = range === null ? 'a finite number' : `a fraction in [${range[0]}, ${range[1]}]`;
      fail(`'${name}'[${i}]`, `is ${x}, not ${what}`);
    }
  }
}

/** Format 1 stored what format 2 derives; the stored values must agree with the derived ones. */
function checkLegacy(fail: Fail, legacy: LegacyFields, epoch: number, midEpoch: boolean): void {
  if (legacy.epoch !== epoch)
    fail('epoch', `is ${legacy.epoch} but the iteration puts the run after epoch ${epoch}`);
  if (legacy.hasOrder !== midEpoch)
    fail('hasOrder', `is ${legacy.hasOrder} but the run is ${midEpoch ? '' : 'not '}mid-epoch`);
  const val = legacy.valAccHistory,
    best = bestIndex(val);
  if (legacy.hasBest !== best >= 0)
    fail('hasBest', `is ${legacy.hasBest} but valAccHistory has ${val.length} entries`);
  const bestValAcc = best < 0 ? null : val[best];
  if (legacy.bestValAcc !== bestValAcc)
    fail('bestValAcc', `is ${legacy.bestValAcc} but valAccHistory's best is ${bestValAcc}`);
  const since = best < 0 ? 0 : val.length - 1 - best;
  if (legacy.epochsSinceBest !== since)
    fail('epochsSinceBest', `is ${legacy.epochsSinceBest} but valAccHistory gives ${since}`);
}

/** The epoch's visiting order: N distinct row indices. */
function readOrder(fail: Fail, t: Tensor | undefined, N: number): Int32Array {
  const name = `tensor '${T.order}'`;
  if (t === undefined) return fail(name, 'is missing but the run stopped mid-epoch');
  if (t.dtype !== 'int32' || t.shape.length !== 1 || t.size !== N)
    fail(name, `must be int32 [${N}], got ${t.dtype} ${fmt(t.shape)}`);
  const order = t.data as Int32Array,
    seen = new Uint8Array(N);
  for (let i = 0; i < N; i++) {
    const r = order[i];
    if (r < 0 || r >= N) fail(`${name}[${i}]`, `is ${r}, outside [0, ${N})`);
    if (seen[r] === 1) fail(`${name}[${i}]`, `repeats row ${r}; it must be a permutation`);
    seen[r] = 1;
  }
  return order;
}

/**
 * Every param's config: exactly the model's params; for a named rule, the keys it keeps (checked
 * by the rule itself on its hyperparameters), the step count t equal to the iteration, state
 * arrays of the param's dtype and size; for a custom rule, finite numbers and float arrays.
 */
function readOptim(
  where: string,
  fail: Fail,
  raw: RawState,
  ctx: StateContext,
  tensor: (name: string) => Tensor | undefined,
): Map<string, OptimConfig> {
  const configs = new Map<string, OptimConfig>();
  for (const name of raw.optim.keys())
    if (!Object.hasOwn(ctx.params, name)) fail(`optim['${name}']`, 'is not a param of the model');
  const rule = ctx.settings.ruleName === null ? null : ctx.settings.rule;
  for (const [name, w] of Object.entries(ctx.params)) {
    const field = `optim['${name}']`;
    const entry = raw.optim.get(name);
    if (entry === undefined) return fail(field, 'is missing');
    const config: Record<string, unknown> = { ...entry.scalars };
    if (rule !== null) {
      const hypers = { ...entry.scalars };
      delete hypers.t;
      const filled = dryRun(`${where}: training state: ${field}`, rule, hypers) as Record<
        string,
        unknown
      >;
      checkRuleKeys(fail, field, entry, filled, raw.iteration);
    }
    for (const key of entry.arrays) {
      const t = tensor(optimTensor(name, key));
      const tname = `tensor '${optimTensor(name, key)}'`;
      if (t === undefined) return fail(tname, 'is missing');
      if (t.dtype === 'int32' || t.shape.length !== 1)
        fail(tname, `must be a 1-D float array, got ${t.dtype} ${fmt(t.shape)}`);
      if (rule !== null && (t.dtype !== w.dtype || t.size !== w.size))
        fail(
          tname,
          `is ${t.dtype} ${fmt(t.shape)} but param '${name}' is ${w.dtype} with ${w.size} elements`,
        );
      const data = t.data as FloatData;
      for (let i = 0; i < data.length; i++)
        if (!Number.isFinite(data[i])) fail(`${tname}[${i}]`, `is ${data[i]}, not a finite number`);
      config[key] = data;
    }
    configs.set(name, config as OptimConfig);
  }
  return configs;
}

/**
 * Before the first step a config holds only the given hyperparameters; after it, every key the
 * rule keeps (its hyperparameters with defaults, its arrays, and 't', which counts the steps).
 */
function checkRuleKeys(
  fail: Fail,
  field: string,
  entry: { scalars: Json; arrays: readonly string[] },
  filled: Record<string, unknown>,
  iteration: number,
): void {
  const keys = Object.keys(filled);
  const wantArrays = keys.filter((k) => ArrayBuffer.isView(filled[k]));
  const wantScalars = keys.filter((k) => typeof filled[k] === 'number');
  if (iteration === 0) {
    if (entry.arrays.length > 0) fail(`${field}.arrays`, 'must be empty before the first step');
    if (Object.hasOwn(entry.scalars, 't'))
      fail(`${field}.scalars.t`, 'must be absent before the first step');
    return;
  }
  const missing = [
    ...wantScalars.filter((k) => !Object.hasOwn(entry.scalars, k)).map((k) => `scalars.${k}`),
    ...wantArrays.filter((k) => !entry.arrays.includes(k)).map((k) => `arrays '${k}'`),
  ];
  if (missing.length > 0)
    fail(`${field}.${missing[0]}`, 'is missing (the rule keeps it after its first step)');
  for (const k of entry.arrays)
    if (!wantArrays.includes(k))
      fail(`${field}.arrays`, `names '${k}', which the rule does not keep`);
  if (Object.hasOwn(entry.scalars, 't') && entry.scalars.t !== iteration)
    fail(`${field}.scalars.t`, `is ${describe(entry.scalars.t)} but ${iteration} steps were taken`);
}

/** Copies of every model tensor at the best validation score, shaped like the model's. */
function readBest(
  fail: Fail,
  ctx: StateContext,
  tensor: (name: string) => Tensor | undefined,
): Map<string, FloatTensor> {
  const best = new Map<string, FloatTensor>();
  for (const [name, t] of Object.entries(ctx.tensors)) {
    const b = tensor(bestTensor(name));
    const tname = `tensor '${bestTensor(name)}'`;
    if (b === undefined) return fail(tname, 'is missing (the best copy of a model tensor)');
    if (
      b.dtype !== t.dtype ||
      b.shape.length !== t.shape.length ||
      b.shape.some((d, i) => d !== t.shape[i])
    )
      fail(tname, `is ${b.dtype} ${fmt(b.shape)} but '${name}' is ${t.dtype} ${fmt(t.shape)}`);
    best.set(name, b as FloatTensor);
  }
  return best;
}
