// src/io/checkpointMeta.ts: the metadata keys of a layerwise safetensors file (see checkpoint.ts
// for the schema) and the checked readers of their stored values: format version, kind, config
// and name lists. Bytes only, no Node imports.
import type { ModelConfig } from '../models/index.js';
import { SafetensorsError } from './safetensors.js';
import { parseJson } from './describe.js';

export const FORMAT_VERSION = '2';
export const KEY = {
  kind: 'layerwise.kind',
  version: 'layerwise.version',
  config: 'layerwise.config',
  params: 'layerwise.params',
  buffers: 'layerwise.buffers',
  training: 'layerwise.training',
} as const;
export function storedConfig(
  fn: string,
  path: string,
  meta: Record<string, string>,
): ModelConfig | undefined {
  const config = parseJson(fn, path, KEY.config, meta[KEY.config]);
  if (config === undefined) return undefined;
  const c = config as Partial<ModelConfig> | null;
  const ok = c !== null && typeof c === 'object' && typeof c.type === 'string';
  if (!ok || c.options === null || typeof c.options !== 'object') {
    throw new SafetensorsError(fn, path, `metadata '${KEY.config}' must be { type, options }`);
  }
  return c as ModelConfig;
}

export function storedNames(
  fn: string,
  path: string,
  meta: Record<string, string>,
  key: string,
): string[] | undefined {
  const names = parseJson(fn, path, key, meta[key]);
  if (names === undefined) return undefined;
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
    throw new SafetensorsError(fn, path, `metadata '${key}' must be a JSON array of names`);
  }
  return names as string[];
}
export function ownValue(meta: Record<string, string>, key: string): string | undefined {
  return Object.hasOwn(meta, key) ? meta[key] : undefined;
}

/**
 * The file's format version (layerwise.version) as a number: 1 (layerwise 0.1.0) or 2. A
 * newer one is refused (upgrade layerwise), as is anything that is not a version number.
 */
export function formatVersion(fn: string, path: string, meta: Record<string, string>): number {
  const text = ownValue(meta, KEY.version);
  if (text === undefined) throw new SafetensorsError(fn, path, `has no '${KEY.version}' metadata`);
  const v = /^[1-9][0-9]{0,8}$/.test(text) ? Number(text) : NaN;
  if (Number.isNaN(v)) {
    const got = JSON.stringify(text);
    throw new SafetensorsError(
      fn,
      path,
      `metadata '${KEY.version}' is ${got}, not a format version`,
    );
  }
  if (v > Number(FORMAT_VERSION)) {
    const reads = `1 to ${FORMAT_VERSION}`;
    throw new SafetensorsError(
      fn,
      path,
      `has format version ${v}, newer than this layerwise reads (${reads}); upgrade layerwise`,
    );
  }
  return v;
}
/** 'model' or 'training'; null for a file with neither layerwise.kind nor layerwise.version. */
export function storedKind(
  fn: string,
  source: string,
  meta: Record<string, string>,
): 'model' | 'training' | null {
  const kind = ownValue(meta, KEY.kind);
  if (kind === undefined && ownValue(meta, KEY.version) === undefined) return null;
  if (kind === 'model' || kind === 'training') return kind;
  const got = JSON.stringify(kind ?? null);
  throw new SafetensorsError(
    fn,
    source,
    `metadata '${KEY.kind}' is ${got}, not 'model' or 'training'`,
  );
}
