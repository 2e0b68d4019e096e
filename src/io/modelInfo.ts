// src/io/modelInfo.ts: what a layerwise file says about itself (kind, format version, config,
// names, description) without building its model: readModelInfo on a file, decodeModelInfo on
// bytes (no Node imports on that path).
import type { ModelConfig } from '../models/index.js';
import { decodeSafetensors, readSafetensors, type SafetensorsContents } from './safetensors.js';
import { storedDescription, type ModelDescription } from './describe.js';
import { formatVersion, KEY, storedConfig, storedKind, storedNames } from './checkpointMeta.js';

/** What a layerwise file says about itself (readModelInfo / decodeModelInfo). */
export interface ModelInfo extends ModelDescription {
  /** 'model' (saveModel) or 'training' (a Solver checkpoint); null for another tool's file. */
  readonly kind: 'model' | 'training' | null;
  /** layerwise.version as a number; null for another tool's file. */
  readonly formatVersion: number | null;
  /** The version of layerwise that wrote the file, when it says. */
  readonly library: string | null;
  /** model.config ({ type, options }) when the model has one. */
  readonly config: ModelConfig | null;
  readonly params: readonly string[];
  readonly buffers: readonly string[];
  /** Every stored tensor's dtype and shape, by name. */
  readonly tensors: Readonly<Record<string, { readonly dtype: string; readonly shape: number[] }>>;
}

/**
 * The metadata of a model file or training checkpoint, every key checked (format version, kind,
 * config, names, description), without building the model. A future format version, an unknown
 * kind or a malformed key is refused with an error naming the file and the key.
 */
export function readModelInfo(path: string): ModelInfo {
  return modelInfo('readModelInfo', path, readSafetensors(path));
}

/** readModelInfo on bytes; `source` names them in error messages. */
export function decodeModelInfo(bytes: Uint8Array, source = '<bytes>'): ModelInfo {
  return modelInfo('decodeModelInfo', source, decodeSafetensors(bytes, source));
}
function modelInfo(fn: string, source: string, contents: SafetensorsContents): ModelInfo {
  const meta = contents.metadata;
  const kind = storedKind(fn, source, meta);
  const { library, ...description } = storedDescription(fn, source, meta);
  const tensors: Record<string, { dtype: string; shape: number[] }> = {};
  for (const [name, t] of Object.entries(contents.tensors))
    tensors[name] = { dtype: t.dtype, shape: [...t.shape] };
  return {
    kind,
    formatVersion: kind === null ? null : formatVersion(fn, source, meta),
    library: library ?? null,
    config: storedConfig(fn, source, meta) ?? null,
    params: storedNames(fn, source, meta, KEY.params) ?? [],
    buffers: storedNames(fn, source, meta, KEY.buffers) ?? [],
    ...description,
    tensors,
  };
}
