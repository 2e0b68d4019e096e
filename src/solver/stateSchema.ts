// src/solver/stateSchema.ts: the shape of the Solver's part of a training checkpoint (see
// state.ts for the format): the types the Solver saves and restores, the format version and
// the names of the tensors beside the model's own.
import type { StoredTrainingState } from '../io/internal.js';
import type { OptimConfig, RuleName } from '../optim/index.js';
import type { FloatTensor, RngState } from '../tensor/index.js';
import type { HookName, SavedOptions, Settings } from './options.js';

/** The training part of a checkpoint as io reads it: format version, JSON state, extra tensors. */
export type StoredState = StoredTrainingState;

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
export const T = {
  loss: 'solver.lossHistory',
  trainAcc: 'solver.trainAccHistory',
  valAcc: 'solver.valAccHistory',
  order: 'solver.order',
} as const;
export const optimTensor = (param: string, key: string) => `optim.${param}.${key}`;
export const bestTensor = (name: string) => `best.${name}`;
/** Index of the first maximum of the validation scores (the best epoch, 0-based), or -1. */
export function bestIndex(valAccHistory: ArrayLike<number>): number {
  let best = -1;
  for (let i = 0; i < valAccHistory.length; i++)
    if (best < 0 || valAccHistory[i] > valAccHistory[best]) best = i;
  return best;
}
