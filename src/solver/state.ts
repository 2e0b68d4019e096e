// src/solver/state.ts: the Solver's part of a training checkpoint, written by encodeTrainingState
// and read back by ONE typed parser that checks every field (type, range, length) before the
// Solver or its model is touched. What can be derived is not stored: the epoch, the best
// validation score, the epochs since it and the early stop all follow from the iteration and
// the histories. Long runs stay cheap: the histories are float64 tensors, not JSON, and nothing
// here recurses or spreads an array whose length grows with the iterations or the rows.
//
// The JSON (safetensors metadata 'layerwise.training', format 2; docs/FORMATS.md):
//   numTrain    training rows of the run               iteration  iterations done
//   rng         the Solver's generator state           modelRng   the model's, or null
//   updateRule  the rule's name, null for a function   hooks      function options to pass again
//   options     the plain-value options (SAVED_OPTIONS) of the run
//   optim       per param: { scalars: { key: number }, arrays: [key] } of its update-rule config
// and the tensors (beside the model's own):
//   solver.lossHistory (iteration) F64, solver.trainAccHistory / solver.valAccHistory (epochs) F64,
//   solver.order (numTrain) I32 mid-epoch only, optim.<param>.<key>, best.<param or buffer>.
// Format 1 (layerwise 0.1.0) kept the histories and derived fields in the JSON; it is migrated.
import type { StoredTrainingState } from '../io/internal.js';
import { RULE_DEFAULTS, type OptimConfig, type RuleName } from '../optim/index.js';
import {
  fmt,
  Tensor,
  ValueError,
  type FloatData,
  type FloatTensor,
  type RngState,
} from '../tensor/index.js';
import {
  dryRun,
  HOOKS,
  resolveOptions,
  SAVED_OPTIONS,
  type HookName,
  type SavedOptions,
  type Settings,
} from './options.js';

/** The training part of a checkpoint as io reads it: format version, JSON state, extra tensors. */
type StoredState = StoredTrainingState;

/** What a checkpoint says about its run before any Solver exists (what Solver.resume needs). */
export interface SavedRun {
  readonly numTrain: number;
  readonly iteration: number;
  /** The run's plain options, checked; resume's defaults. */
  readonly options: SavedOptions;
  /** The saved options resolved for numTrain rows (batchSize, iterations per epoch, ...). */
  readonly settings: Settings;
  /** The rule's name, or null when the run used a function (resume must be given it again). */
  readonly updateRule: RuleName | null;
  readonly hooks: readonly HookName[];
}

/** Everything the Solver restores, checked against the Solver that restores it. */
export interface TrainingState {
  readonly iteration: number;
  readonly lossHistory: Float64Array;
  readonly trainAccHistory: Float64Array;
  readonly valAccHistory: Float64Array;
  readonly rng: RngState;
  readonly modelRng: RngState | null;
  /** The current epoch's visiting order (numTrain), present exactly when mid-epoch. */
  readonly order: Int32Array | null;
  readonly optimConfigs: ReadonlyMap<string, OptimConfig>;
  /** Copies of the params and buffers at the best validation score; present iff it was measured. */
  readonly bestParams: ReadonlyMap<string, FloatTensor> | null;
}

/** What the restoring Solver knows, against which the state is checked. */
export interface StateContext {
  readonly N: number;
  readonly settings: Settings;
  /** The model's params (trained, with optimiser state) and params + buffers (best copies). */
  readonly params: Readonly<Record<string, FloatTensor>>;
  readonly tensors: Readonly<Record<string, FloatTensor>>;
  readonly hasModelRng: boolean;
  readonly hasValidation: boolean;
  /** True when scores come from an evaluate hook (any finite number) rather than accuracies. */
  readonly evaluate: boolean;
}

/** The Solver's state to save (see encodeTrainingState). */
export interface StateSnapshot {
  readonly numTrain: number;
  readonly iteration: number;
  readonly iterationsPerEpoch: number;
  readonly lossHistory: readonly number[];
  readonly trainAccHistory: readonly number[];
  readonly valAccHistory: readonly number[];
  readonly rng: RngState;
  readonly modelRng: RngState | null;
  readonly order: Int32Array | null;
  readonly optimConfigs: Readonly<Record<string, OptimConfig>>;
  readonly bestParams: Readonly<Record<string, FloatTensor>> | null;
  readonly options: SavedOptions;
  readonly updateRule: RuleName | null;
  readonly hooks: readonly HookName[];
}

export const STATE_VERSION = 2;
const T = {
  loss: 'solver.lossHistory',
  trainAcc: 'solver.trainAccHistory',
  valAcc: 'solver.valAccHistory',
  order: 'solver.order',
} as const;
const optimTensor = (param: string, key: string) => `optim.${param}.${key}`;
const bestTensor = (name: string) => `best.${name}`;

/** The tensors and JSON state of a training checkpoint (format 2). */
export function encodeTrainingState(s: StateSnapshot): {
  tensors: Record<string, Tensor>;
  state: Record<string, unknown>;
} {
  const tensors: Record<string, Tensor> = {
    [T.loss]: history(s.lossHistory),
    [T.trainAcc]: history(s.trainAccHistory),
    [T.valAcc]: history(s.valAccHistory),
  };
  const optim: Record<string, { scalars: Record<string, number>; arrays: string[] }> = {};
  for (const [name, config] of Object.entries(s.optimConfigs)) {
    const scalars: Record<string, number> = {},
      arrays: string[] = [];
    for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
      if (typeof value === 'number') {
        scalars[key] = value;
      } else if (value instanceof Float32Array || value instanceof Float64Array) {
        tensors[optimTensor(name, key)] = new Tensor(value, [value.length]);
        arrays.push(key);
      } else if (value !== undefined) {
        throw new ValueError(
          `Solver.saveCheckpoint: optimiser config '${key}' of '${name}' is neither a number nor a Float32Array/Float64Array`,
        );
      }
    }
    optim[name] = { scalars, arrays };
  }
  for (const [name, t] of Object.entries(s.bestParams ?? {})) tensors[bestTensor(name)] = t;
  if (s.order !== null && s.iteration % s.iterationsPerEpoch !== 0)
    tensors[T.order] = new Tensor(s.order, [s.numTrain]);
  const state = {
    numTrain: s.numTrain,
    iteration: s.iteration,
    rng: s.rng,
    modelRng: s.modelRng,
    updateRule: s.updateRule,
    hooks: s.hooks,
    options: s.options,
    optim,
  };
  return { tensors, state };
}

/** A history as a float64 tensor: a loop, not a spread, so any length works. */
function history(values: readonly number[]): Tensor {
  const data = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = values[i];
  return new Tensor(data, [values.length]);
}

// ---- reading -------------------------------------------------------------------------------

/** Throws "<where>: training state: <field> <why>". */
type Fail = (field: string, why: string) => never;

function failer(where: string): Fail {
  return (field, why) => {
    throw new ValueError(`${where}: training state: ${field} ${why}`);
  };
}

type Json = Readonly<Record<string, unknown>>;

const isObject = (v: unknown): v is Json =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
const describe = (v: unknown): string =>
  typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? 'an array' : String(v);

function expectKeys(fail: Fail, field: string, o: Json, known: readonly string[]): void {
  for (const key of Object.keys(o))
    if (!known.includes(key)) fail(`${field}${field ? '.' : ''}${key}`, 'is not a known field');
  for (const key of known)
    if (!Object.hasOwn(o, key)) fail(`${field}${field ? '.' : ''}${key}`, 'is missing');
}

function int(fail: Fail, field: string, v: unknown, min: number, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    fail(field, `must be an integer ${range}, got ${describe(v)}`);
  }
  return v as number;
}

function rngState(fail: Fail, field: string, v: unknown): RngState {
  if (!isObject(v))
    return fail(field, `must be a generator state { s, spare }, got ${describe(v)}`);
  expectKeys(fail, field, v, ['s', 'spare']);
  const s = v.s;
  const word = (w: unknown) =>
    typeof w === 'number' && Number.isInteger(w) && w >= 0 && w < 2 ** 32;
  if (!Array.isArray(s) || s.length !== 4 || !s.every(word))
    fail(`${field}.s`, 'must be 4 unsigned 32-bit integers');
  const words = s as [number, number, number, number];
  if (words.every((w) => w === 0)) fail(`${field}.s`, 'is all zero, which no generator reaches');
  const spare = v.spare;
  if (spare !== null && (typeof spare !== 'number' || !Number.isFinite(spare)))
    fail(`${field}.spare`, `must be a finite number or null, got ${describe(spare)}`);
  return { s: [words[0], words[1], words[2], words[3]], spare: spare as number | null };
}

/** The JSON part, normalised across format versions. */
interface RawState {
  readonly numTrain: number;
  readonly iteration: number;
  readonly rng: RngState;
  readonly modelRng: RngState | null;
  readonly updateRule: RuleName | null;
  readonly hooks: readonly HookName[];
  readonly options: SavedOptions;
  /** Per param (own entries only): its config's numbers and the names of its arrays. */
  readonly optim: ReadonlyMap<string, { scalars: Json; arrays: readonly string[] }>;
  /** Format 1 kept these in the JSON; format 2 has them as tensors (null here). */
  readonly legacy: LegacyFields | null;
}

interface LegacyFields {
  readonly lossHistory: Float64Array;
  readonly trainAccHistory: Float64Array;
  readonly valAccHistory: Float64Array;
  readonly epoch: number;
  readonly hasOrder: boolean;
  readonly hasBest: boolean;
  readonly bestValAcc: number | null;
  readonly epochsSinceBest: number;
}

const V2_FIELDS = [
  'numTrain',
  'iteration',
  'rng',
  'modelRng',
  'updateRule',
  'hooks',
  'options',
  'optim',
] as const;
const V1_FIELDS = [
  'version',
  'numTrain',
  'epoch',
  'iteration',
  'lossHistory',
  'trainAccHistory',
  'valAccHistory',
  'bestValAcc',
  'epochsSinceBest',
  'stoppedEarly',
  'rng',
  'modelRng',
  'hasOrder',
  'optimScalars',
  'optimArrays',
  'hasBest',
  'options',
  'updateRule',
  'hooks',
] as const;

function parseRaw(fail: Fail, stored: StoredState): RawState {
  const s = stored.state;
  if (stored.version !== 1 && stored.version !== STATE_VERSION)
    fail('format', `version ${stored.version} is not one this layerwise reads (1 or 2)`);
  const v1 = stored.version === 1;
  expectKeys(fail, '', s, v1 ? V1_FIELDS : V2_FIELDS);
  const numTrain = int(fail, 'numTrain', s.numTrain, 1);
  const iteration = int(fail, 'iteration', s.iteration, 0);
  const updateRule = s.updateRule;
  if (
    updateRule !== null &&
    !(typeof updateRule === 'string' && Object.hasOwn(RULE_DEFAULTS, updateRule))
  )
    fail('updateRule', `must be a rule name or null, got ${describe(updateRule)}`);
  const hooks = s.hooks;
  if (
    !Array.isArray(hooks) ||
    !hooks.every((h, i) => HOOKS.includes(h as HookName) && hooks.indexOf(h) === i)
  )
    fail('hooks', `must list distinct names among ${HOOKS.join(', ')}`);
  const options = s.options;
  if (!isObject(options)) fail('options', 'must be an object');
  for (const key of Object.keys(options as Json))
    if (!(SAVED_OPTIONS as readonly string[]).includes(key))
      fail(`options.${key}`, 'is not an option a checkpoint holds');
  const raw = {
    numTrain,
    iteration,
    rng: rngState(fail, 'rng', s.rng),
    modelRng: s.modelRng === null ? null : rngState(fail, 'modelRng', s.modelRng),
    updateRule: updateRule as RuleName | null,
    hooks: hooks as HookName[],
    options: options as SavedOptions,
  };
  if (!v1) return { ...raw, optim: parseOptim(fail, s.optim), legacy: null };
  if (s.version !== 1) fail('version', `must be 1 in a format-1 file, got ${describe(s.version)}`);
  const arrays = (key: string): Json => {
    if (!isObject(s[key])) fail(key, 'must be an object');
    return s[key] as Json;
  };
  const scalars = arrays('optimScalars'),
    names = arrays('optimArrays');
  const merged: Record<string, unknown> = {};
  for (const name of Object.keys(scalars))
    merged[name] = {
      scalars: scalars[name],
      arrays: Object.hasOwn(names, name) ? names[name] : [],
    };
  for (const name of Object.keys(names))
    if (!Object.hasOwn(scalars, name)) fail(`optimScalars.${name}`, 'is missing');
  const flag = (key: string): boolean => {
    if (typeof s[key] !== 'boolean') fail(key, `must be true or false, got ${describe(s[key])}`);
    return s[key] as boolean;
  };
  flag('stoppedEarly'); // derived from the histories now; checked for type only
  return {
    ...raw,
    optim: parseOptim(fail, merged),
    legacy: {
      lossHistory: numbers(fail, 'lossHistory', s.lossHistory),
      trainAccHistory: numbers(fail, 'trainAccHistory', s.trainAccHistory),
      valAccHistory: numbers(fail, 'valAccHistory', s.valAccHistory),
      epoch: int(fail, 'epoch', s.epoch, 0),
      hasOrder: flag('hasOrder'),
      hasBest: flag('hasBest'),
      bestValAcc: s.bestValAcc === null ? null : finite(fail, 'bestValAcc', s.bestValAcc),
      epochsSinceBest: int(fail, 'epochsSinceBest', s.epochsSinceBest, 0),
    },
  };
}

function finite(fail: Fail, field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    fail(field, `must be a finite number, got ${describe(v)}`);
  return v as number;
}

/** A JSON array of finite numbers as float64 (format 1 histories), checked in one loop. */
function numbers(fail: Fail, field: string, v: unknown): Float64Array {
  if (!Array.isArray(v)) return fail(field, 'must be an array of numbers');
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    out[i] = finite(fail, `${field}[${i}]`, v[i]);
  }
  return out;
}

function parseOptim(
  fail: Fail,
  v: unknown,
): ReadonlyMap<string, { scalars: Json; arrays: readonly string[] }> {
  if (!isObject(v)) return fail('optim', 'must be an object of per-param configs');
  const out = new Map<string, { scalars: Json; arrays: readonly string[] }>();
  for (const [name, entry] of Object.entries(v)) {
    const field = `optim['${name}']`;
    if (!isObject(entry)) fail(field, 'must be { scalars, arrays }');
    const e = entry as Json;
    expectKeys(fail, field, e, ['scalars', 'arrays']);
    if (!isObject(e.scalars)) fail(`${field}.scalars`, 'must be an object of numbers');
    const scalars = e.scalars as Json;
    for (const [key, x] of Object.entries(scalars)) finite(fail, `${field}.scalars.${key}`, x);
    const arrays = e.arrays;
    if (
      !Array.isArray(arrays) ||
      !arrays.every((k, i) => typeof k === 'string' && k.length > 0 && arrays.indexOf(k) === i)
    )
      fail(`${field}.arrays`, 'must list distinct names');
    for (const key of arrays as string[])
      if (Object.hasOwn(scalars, key)) fail(`${field}.arrays`, `names '${key}', a scalar too`);
    out.set(name, { scalars, arrays: arrays as string[] });
  }
  return out;
}

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

/** Index of the first maximum of the validation scores (the best epoch, 0-based), or -1. */
export function bestIndex(valAccHistory: ArrayLike<number>): number {
  let best = -1;
  for (let i = 0; i < valAccHistory.length; i++)
    if (best < 0 || valAccHistory[i] > valAccHistory[best]) best = i;
  return best;
}
