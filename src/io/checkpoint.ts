// src/io/checkpoint.ts: models and training runs saved as safetensors. Params and buffers are
// stored under their own keys (W1, b1, runningMean1, ...) so any safetensors reader sees plain
// tensors; the string metadata (`__metadata__`) carries the architecture (model.config as JSON)
// and, for a training checkpoint, the Solver's scalars, histories and random-generator states.
//
// Metadata keys (all values strings; docs/FORMATS.md is the full schema, with an example):
//   layerwise.kind      'model' | 'training'
//   layerwise.version   '2' (the format version; 1 is read and migrated, newer ones refused)
//   layerwise.library   the writing layerwise's version, e.g. '0.1.0'
//   layerwise.config    JSON of model.config, { type, options }, when the model has one
//   layerwise.params    JSON array of the param names
//   layerwise.buffers   JSON array of the buffer names
//   layerwise.preprocessing / classNames / inputShape   the model's description (describe.ts)
//   layerwise.training  JSON of the training state (training checkpoints only)
// This file: the model's tensors and description, saved and loaded (files and bytes) and fitted
// into a model; the keys' readers are in checkpointMeta.ts, training runs in
// trainingCheckpoint.ts, file inspection in modelInfo.ts.
import * as models from '../models/index.js';
import type { ModelConfig } from '../models/index.js';
import { expectOptions, fmt, Tensor, ValueError, type FloatTensor } from '../tensor/index.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  writeSafetensors,
  type SafetensorsContents,
} from './safetensors.js';
import {
  describeMetadata,
  fitsDescription,
  storedDescription,
  type ModelDescription,
} from './describe.js';
import {
  FORMAT_VERSION,
  formatVersion,
  KEY,
  storedConfig,
  storedKind,
  storedNames,
} from './checkpointMeta.js';

/** What a checkpoint needs of a model: live params, optional buffers and config. */
export interface CheckpointModel {
  readonly params: Record<string, FloatTensor>;
  readonly buffers?: Record<string, FloatTensor>;
  readonly config?: ModelConfig;
}

/** Builds a model of one type from its constructor options (model.config.options). */
export type ModelFactory = (options: Record<string, unknown>) => CheckpointModel;

const registry = new Map<string, ModelFactory>();

/**
 * Teaches loadModel to rebuild models of `type` (model.config.type). Without a registration,
 * loadModel looks for a class of that name among layerwise's models (LinearClassifier,
 * TwoLayerNet, FullyConnectedNet, ...) and calls `new Class(options)`.
 */
export function registerModel(type: string, factory: ModelFactory): void {
  if (typeof type !== 'string' || type.length === 0) {
    throw new TypeError('registerModel: type must be a non-empty string');
  }
  if (typeof factory !== 'function')
    throw new TypeError(`registerModel: factory for '${type}' must be a function`);
  registry.set(type, factory);
}

function factoryFor(fn: string, path: string, type: string): ModelFactory {
  const registered = registry.get(type);
  if (registered) return registered;
  const ctor = Object.hasOwn(models, type) ? (models as Record<string, unknown>)[type] : undefined;
  if (
    typeof ctor === 'function' &&
    typeof (ctor.prototype as { loss?: unknown } | undefined)?.loss === 'function'
  ) {
    return (options) => new (ctor as new (o: Record<string, unknown>) => CheckpointModel)(options);
  }
  throw new ValueError(
    `${fn}: ${path}: no model type '${type}' is known; register one with io.registerModel('${type}', factory)`,
  );
}

/** A model's params and buffers in one record, refusing a name used by both. */
export function modelTensors(fn: string, model: CheckpointModel): Record<string, FloatTensor> {
  if (
    model === null ||
    typeof model !== 'object' ||
    model.params === null ||
    typeof model.params !== 'object'
  ) {
    throw new TypeError(`${fn}: model must have a params object`);
  }
  const out: Record<string, FloatTensor> = { ...model.params };
  for (const [name, t] of Object.entries(model.buffers ?? {})) {
    if (Object.hasOwn(out, name))
      throw new ValueError(`${fn}: '${name}' is both a param and a buffer`);
    out[name] = t;
  }
  for (const [name, t] of Object.entries(out)) {
    if (!(t instanceof Tensor))
      throw new TypeError(`${fn}: model tensor '${name}' is not a Tensor`);
  }
  return out;
}

export function modelMetadata(
  fn: string,
  kind: 'model' | 'training',
  model: CheckpointModel,
  description: ModelDescription = {},
): Record<string, string> {
  const meta: Record<string, string> = {
    [KEY.kind]: kind,
    [KEY.version]: FORMAT_VERSION,
    ...describeMetadata(fn, description),
    [KEY.params]: JSON.stringify(Object.keys(model.params)),
    [KEY.buffers]: JSON.stringify(Object.keys(model.buffers ?? {})),
  };
  if (model.config !== undefined) meta[KEY.config] = JSON.stringify(model.config);
  return meta;
}

/**
 * What saveModel writes besides the model: its description (preprocessing, class names, one
 * sample's input shape; checked against the model when it is loaded) and more metadata.
 */
export interface SaveModelOptions extends ModelDescription {
  /** More string metadata for the same write (e.g. 'layerwise.cli'); may not replace ours. */
  readonly metadata?: Readonly<Record<string, string>>;
}

function descriptionOf(o: ModelDescription): ModelDescription {
  const { preprocessing, classNames, inputShape } = o;
  return { preprocessing, classNames, inputShape };
}

/**
 * Saves a model's params and buffers (e.g. batch-norm running statistics) to `path` as
 * safetensors, with model.config in the metadata so loadModel can rebuild it. One atomic write.
 */
export function saveModel(
  path: string,
  model: CheckpointModel,
  options: SaveModelOptions = {},
): void {
  const fn = 'saveModel';
  expectOptions(fn, options, SAVE_OPTIONS);
  const described = modelMetadata(fn, 'model', model, descriptionOf(options));
  writeSafetensors(path, modelTensors(fn, model), withExtra(fn, described, options.metadata));
}

const SAVE_OPTIONS = ['metadata', 'preprocessing', 'classNames', 'inputShape'];

/** `meta` plus `extra`, refusing an extra key that would replace one of ours. */
export function withExtra(
  fn: string,
  meta: Record<string, string>,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  for (const [key, value] of Object.entries(extra)) {
    if (Object.hasOwn(meta, key))
      throw new ValueError(`${fn}: metadata '${key}' is written by layerwise itself`);
    meta[key] = value;
  }
  return meta;
}

/**
 * Copies the params and buffers stored in `path` into `model` (in place: the model's tensors
 * stay the same objects). Every model tensor must be in the file with the same shape and
 * dtype, the file must hold no model tensor the model lacks, and a stored config type must
 * match model.config.type; otherwise it throws, naming the file and the tensor. Works on
 * model files and training checkpoints alike.
 */
export function loadModelInto(path: string, model: CheckpointModel): void {
  restoreModel('loadModelInto', path, readSafetensors(path), model);
}

/**
 * Rebuilds a model from a file written by saveModel or a training checkpoint: reads
 * model.config from the metadata, constructs the model through the registry (registerModel)
 * or layerwise's models, and loads the tensors into it. `M` is the type the caller expects,
 * e.g. `io.loadModel<models.TwoLayerNet>(path)`; check with instanceof when unsure.
 */
export function loadModel<M extends CheckpointModel = models.Model>(path: string): M {
  const fn = 'loadModel';
  const contents = readSafetensors(path);
  const config = storedConfig(fn, path, contents.metadata);
  if (config === undefined) {
    throw new ValueError(
      `${fn}: ${path}: has no '${KEY.config}' metadata, so the architecture is unknown; build the model and use loadModelInto`,
    );
  }
  return rebuild<M>(fn, path, contents, config);
}

/** Builds the model of `config`, loads the file's tensors, checks it against its description. */
function rebuild<M extends CheckpointModel>(
  fn: string,
  source: string,
  contents: SafetensorsContents,
  config: ModelConfig,
): M {
  if (storedKind(fn, source, contents.metadata) !== null)
    formatVersion(fn, source, contents.metadata);
  const description = storedDescription(fn, source, contents.metadata);
  const factory = factoryFor(fn, source, config.type);
  let model: CheckpointModel;
  try {
    model = factory(config.options);
  } catch (e) {
    // e.g. an option out of range, or sizes too big to allocate: refused before any allocation
    const why = (e as Error).message;
    throw new ValueError(`${fn}: ${source}: cannot build its ${config.type} (${why})`, {
      cause: e,
    });
  }
  restoreModel(fn, source, contents, model);
  const first = Object.values(model.params)[0];
  const scoring = model as unknown as { loss(X: Tensor): FloatTensor };
  fitsDescription(
    fn,
    source,
    scoring,
    description,
    first?.dtype === 'float64' ? 'float64' : 'float32',
  );
  return model as M;
}

/**
 * Copies a file's model tensors into `model` after checking all of them (nothing is written
 * unless everything fits). Exported for the Solver's checkpoints.
 */
export function restoreModel(
  fn: string,
  path: string,
  contents: SafetensorsContents,
  model: CheckpointModel,
): void {
  const target = checkModelFits(fn, path, contents, model);
  for (const [name, t] of Object.entries(target)) t.data.set(contents.tensors[name].data);
}

/**
 * Throws, naming the file and the tensor, unless the file's model tensors match the model's
 * params and buffers one to one in name, dtype and shape (and the stored config type matches).
 * Returns the model's tensors by name.
 */
export function checkModelFits(
  fn: string,
  path: string,
  contents: SafetensorsContents,
  model: CheckpointModel,
): Record<string, FloatTensor> {
  const { tensors, metadata } = contents;
  const config = storedConfig(fn, path, metadata);
  if (config !== undefined && model.config !== undefined && config.type !== model.config.type) {
    throw new ValueError(
      `${fn}: ${path}: holds a ${config.type} but the model is a ${model.config.type}`,
    );
  }
  const target = modelTensors(fn, model);
  const params = storedNames(fn, path, metadata, KEY.params);
  const buffers = storedNames(fn, path, metadata, KEY.buffers);
  // A file from another tool lists nothing: then every tensor in it must belong to the model.
  const stored =
    params === undefined && buffers === undefined
      ? Object.keys(tensors)
      : [...(params ?? []), ...(buffers ?? [])];
  const extra = stored.filter((name) => !Object.hasOwn(target, name));
  if (extra.length > 0)
    throw new ValueError(`${fn}: ${path}: has ${quoteList(extra)} that the model does not have`);
  const missing = Object.keys(target).filter((name) => !Object.hasOwn(tensors, name));
  if (missing.length > 0)
    throw new ValueError(`${fn}: ${path}: lacks ${quoteList(missing)} that the model has`);
  for (const [name, t] of Object.entries(target)) {
    const src = tensors[name];
    if (src.dtype !== t.dtype) {
      throw new ValueError(
        `${fn}: ${path}: '${name}' has dtype ${src.dtype} but the model's is ${t.dtype}`,
      );
    }
    if (src.shape.length !== t.shape.length || src.shape.some((d, i) => d !== t.shape[i])) {
      throw new ValueError(
        `${fn}: ${path}: '${name}' has shape ${fmt(src.shape)} but the model's is ${fmt(t.shape)}`,
      );
    }
  }
  return target;
}

function quoteList(names: string[]): string {
  const shown = names
    .slice(0, 5)
    .map((n) => `'${n}'`)
    .join(', ');
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}

/**
 * The bytes saveModel writes (safetensors: params, buffers, model.config), for places without a
 * file system, e.g. a model trained in a browser Worker sent back to its page.
 */
export function encodeModel(model: CheckpointModel, options: ModelDescription = {}): Uint8Array {
  const fn = 'encodeModel';
  expectOptions(fn, options, SAVE_OPTIONS.slice(1));
  const meta = modelMetadata(fn, 'model', model, descriptionOf(options));
  return encodeSafetensors(modelTensors(fn, model), meta);
}

/**
 * loadModel on bytes (a model file or a training checkpoint): rebuilds the model from its
 * stored config and loads its tensors; `source` names the bytes in error messages.
 */
export function decodeModel<M extends CheckpointModel = models.Model>(
  bytes: Uint8Array,
  source = '<bytes>',
): M {
  const fn = 'decodeModel';
  const contents = decodeSafetensors(bytes, source);
  const config = storedConfig(fn, source, contents.metadata);
  if (config === undefined) {
    throw new ValueError(
      `${fn}: ${source}: has no '${KEY.config}' metadata, so the architecture is unknown`,
    );
  }
  return rebuild<M>(fn, source, contents, config);
}
