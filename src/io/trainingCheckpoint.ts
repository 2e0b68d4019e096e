// src/io/trainingCheckpoint.ts: a training run saved as safetensors: the model's tensors and
// description (checkpoint.ts) plus the Solver's extra tensors and JSON state
// (metadata 'layerwise.training'), and the checked reading of them back.
import { Tensor, ValueError } from '../tensor/index.js';
import { readSafetensors, SafetensorsError, writeSafetensors } from './safetensors.js';
import { parseJson, type ModelDescription } from './describe.js';
import { formatVersion, KEY, ownValue, storedNames } from './checkpointMeta.js';
import { modelMetadata, modelTensors, withExtra, type CheckpointModel } from './checkpoint.js';
import type { SafetensorsContents } from './safetensors.js';

/** What a training checkpoint holds besides the model: extra tensors, a JSON state, metadata. */
export interface TrainingCheckpoint {
  /** Optimiser state arrays, best params, ...; names must not clash with the model's. */
  readonly tensors: Record<string, Tensor>;
  /** Scalars and rng states; must survive JSON.stringify/parse exactly. */
  readonly state: Record<string, unknown>;
  /** More string metadata for the same write (e.g. 'layerwise.cli'); may not replace ours. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** The model's description, as saveModel stores it. */
  readonly description?: ModelDescription;
}

/**
 * Writes the model's tensors, `extra.tensors`, `extra.state` (as metadata JSON) and
 * `extra.metadata` to `path`: one atomic write of the whole file.
 */
export function saveTrainingCheckpoint(
  path: string,
  model: CheckpointModel,
  extra: TrainingCheckpoint,
): void {
  const fn = 'saveTrainingCheckpoint';
  const all: Record<string, Tensor> = { ...modelTensors(fn, model) };
  for (const [name, t] of Object.entries(extra.tensors)) {
    if (Object.hasOwn(all, name))
      throw new ValueError(`${fn}: tensor name '${name}' clashes with a model tensor`);
    all[name] = t;
  }
  const meta = modelMetadata(fn, 'training', model, extra.description);
  meta[KEY.training] = JSON.stringify(extra.state);
  writeSafetensors(path, all, withExtra(fn, meta, extra.metadata));
}

/** The training part of a checkpoint as read: format version, JSON state, the extra tensors. */
export interface StoredTrainingState {
  readonly version: number;
  readonly state: Readonly<Record<string, unknown>>;
  /** The tensors that are not the model's, by name (an own-entry map: no prototype names). */
  readonly tensors: ReadonlyMap<string, Tensor>;
}

/** A training checkpoint as read: the whole file (for restoreModel) and its training part. */
export interface StoredCheckpoint {
  readonly contents: SafetensorsContents;
  readonly training: StoredTrainingState;
}

/**
 * Reads a training checkpoint written by saveTrainingCheckpoint: the whole file (for
 * restoreModel), the extra tensors and the state. A model file, a foreign file or a format
 * version this layerwise does not know is refused.
 */
export function readTrainingCheckpoint(fn: string, path: string): StoredCheckpoint {
  const contents = readSafetensors(path);
  const meta = contents.metadata;
  if (meta[KEY.kind] !== 'training') {
    const kind = JSON.stringify(Object.hasOwn(meta, KEY.kind) ? meta[KEY.kind] : null);
    throw new ValueError(
      `${fn}: ${path}: is not a training checkpoint (layerwise.kind is ${kind})`,
    );
  }
  const version = formatVersion(fn, path, meta);
  const state = parseJson(fn, path, KEY.training, ownValue(meta, KEY.training));
  if (state === null || typeof state !== 'object' || Array.isArray(state)) {
    throw new SafetensorsError(fn, path, `metadata '${KEY.training}' must be a JSON object`);
  }
  const names = (key: string) => storedNames(fn, path, meta, key) ?? [];
  const own = new Set([...names(KEY.params), ...names(KEY.buffers)]);
  const tensors = new Map<string, Tensor>();
  for (const [name, t] of Object.entries(contents.tensors))
    if (!own.has(name)) tensors.set(name, t);
  return { contents, training: { version, state: state as Record<string, unknown>, tensors } };
}
