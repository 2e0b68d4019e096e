// src/solver/stateJson.ts: the JSON part of a saved training state, read field by field (types,
// ranges, known keys) and normalised across format versions 1 and 2; the typed helpers every
// reader of the state shares ("<where>: training state: <field> <why>").
import { RULE_DEFAULTS, type RuleName } from '../optim/index.js';
import { ValueError, type RngState } from '../tensor/index.js';
import { HOOKS, SAVED_OPTIONS, type HookName, type SavedOptions } from './options.js';
import { STATE_VERSION, type StoredState } from './stateSchema.js';

/** Throws "<where>: training state: <field> <why>". */
export type Fail = (field: string, why: string) => never;

export function failer(where: string): Fail {
  return (field, why) => {
    throw new ValueError(`${where}: training state: ${field} ${why}`);
  };
}

export type Json = Readonly<Record<string, unknown>>;

const isObject = (v: unknown): v is Json =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
export const describe = (v: unknown): string =>
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
export interface RawState {
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

export interface LegacyFields {
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

export function parseRaw(fail: Fail, stored: StoredState): RawState {
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
