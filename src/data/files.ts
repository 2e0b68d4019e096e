// src/data/files.ts: what the file loaders share (Node only): reading a whole file, gunzipped when
// its name ends in .gz, and the class names of a data set checked against its labels.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { FileError, ValueError } from '../tensor/index.js';

/** Decompressed data larger than this is refused (a gzip bomb, or not a data set we can hold). */
export const MAX_DECOMPRESSED_BYTES = 2 ** 31 - 1;

/**
 * Reads a whole file; a name ending in .gz is gunzipped (bounded by MAX_DECOMPRESSED_BYTES).
 * Errors start with `fn: path:`.
 */
export function readFileBytes(fn: string, path: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw FileError.cannotRead(fn, path, e);
  }
  // a plain Uint8Array view: Buffer#slice would share memory instead of copying
  if (!path.endsWith('.gz'))
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return new Uint8Array(gunzipSync(bytes, { maxOutputLength: MAX_DECOMPRESSED_BYTES }));
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why =
      code === 'ERR_BUFFER_TOO_LARGE'
        ? `decompresses to more than ${MAX_DECOMPRESSED_BYTES} bytes`
        : `cannot decompress (${(e as Error).message})`;
    throw new FileError(fn, path, why, { cause: e });
  }
}

/** Class names: the given ones (checked against the labels) or '0'..'K-1', K = largest label + 1. */
export function classNamesFor(
  fn: string,
  labelSets: Int32Array[],
  given: readonly string[] | undefined,
  source: string,
): string[] {
  let maxLabel = -1;
  for (const y of labelSets) for (let i = 0; i < y.length; i++) maxLabel = Math.max(maxLabel, y[i]);
  if (given === undefined) return Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  if (!Array.isArray(given) || !given.every((s) => typeof s === 'string')) {
    throw new TypeError(`${fn}: classNames must be an array of strings`);
  }
  if (maxLabel >= given.length) {
    throw new ValueError(
      `${fn}: ${source} has label ${maxLabel} but only ${given.length} class names were given`,
    );
  }
  return [...given];
}
