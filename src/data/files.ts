// src/data/files.ts: what the file loaders share (Node only): reading a whole file, gunzipped when
// its name ends in .gz, within a size limit, and the class names of a data set checked against
// its labels.
import { readFileSync, statSync } from 'node:fs';
import { constants, gunzipSync } from 'node:zlib';
import { expectNumber, FileError, ValueError } from '../tensor/index.js';

/**
 * The default `maxBytes` of every file loader (1 GiB): the most bytes a data file may hold, or
 * decompress to. EMNIST's largest IDX file (547 MB) fits; raise it with the loader's maxBytes
 * option for larger data.
 */
export const DEFAULT_MAX_BYTES = 2 ** 30;

/** How readFileBytes sizes a file before holding all of it. */
export interface ReadBytesOptions {
  /** The most bytes the file may hold, or (.gz) decompress to. Default DEFAULT_MAX_BYTES. */
  readonly maxBytes?: number;
  /**
   * The total size the format's header declares, read from the first bytes of the (decompressed)
   * file, or undefined when they do not tell (a malformed header: the parser then says why).
   * A .gz file is decompressed only up to this size, so a gzip bomb is refused at its header.
   */
  readonly declaredSize?: (head: Uint8Array) => number | undefined;
  /** How many leading bytes declaredSize needs (at least). */
  readonly headBytes?: number;
}

/** Checks a maxBytes option: a positive integer (an absurd value is the caller's to choose). */
export function maxBytesOption(fn: string, maxBytes: unknown): number {
  if (maxBytes === undefined) return DEFAULT_MAX_BYTES;
  expectNumber(fn, 'maxBytes', maxBytes, { integer: true, min: 1 });
  return maxBytes;
}

/** "the limit of N bytes (raise it with the maxBytes option)": the end of every size refusal. */
export const limitHint = (maxBytes: number): string =>
  `the limit of ${maxBytes} bytes (raise it with the maxBytes option)`;

/**
 * Reads a whole file; a name ending in .gz is gunzipped. Nothing larger than maxBytes is read or
 * decompressed: a plain file's size is checked before it is read, a .gz file's header (through
 * opts.declaredSize) before the rest is decompressed, and decompression stops at the limit.
 * Errors are FileErrors of `fn` naming the file.
 */
export function readFileBytes(fn: string, path: string, opts: ReadBytesOptions = {}): Uint8Array {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  let bytes: Uint8Array;
  try {
    const size = statSync(path).size;
    if (size > maxBytes)
      throw new FileError(fn, path, `holds ${size} bytes, more than ${limitHint(maxBytes)}`);
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof FileError) throw e;
    throw FileError.cannotRead(fn, path, e);
  }
  // a plain Uint8Array view: Buffer#slice would share memory instead of copying
  if (!path.endsWith('.gz'))
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared =
    opts.declaredSize === undefined
      ? undefined
      : opts.declaredSize(gunzipHead(fn, path, bytes, opts.headBytes ?? 1024, maxBytes));
  if (declared !== undefined && declared > maxBytes) {
    throw new FileError(
      fn,
      path,
      `its header declares ${declared} bytes, more than ${limitHint(maxBytes)}`,
    );
  }
  const limit = declared ?? maxBytes;
  try {
    return new Uint8Array(gunzipSync(bytes, { maxOutputLength: Math.max(1, limit) }));
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why =
      code !== 'ERR_BUFFER_TOO_LARGE'
        ? `cannot decompress (${(e as Error).message})`
        : declared !== undefined
          ? `decompresses to more than the ${declared} bytes its header declares`
          : `decompresses to more than ${limitHint(maxBytes)}`;
    throw new FileError(fn, path, why, { cause: e });
  }
}

/**
 * At least the first `want` decompressed bytes of a gzip file (fewer only if it is shorter), from
 * as little of the compressed data as will give them: prefixes of growing length are inflated
 * with Z_SYNC_FLUSH (no error at their cut end), never to more than maxBytes.
 */
function gunzipHead(
  fn: string,
  path: string,
  gz: Uint8Array,
  want: number,
  maxBytes: number,
): Uint8Array {
  for (let k = Math.min(gz.length, 1024); ; k = Math.min(gz.length, 4 * k)) {
    let head: Uint8Array;
    try {
      // DEFLATE expands at most 1032:1, so the bound only stops what maxBytes forbids anyway
      const bound = Math.min(maxBytes, 1032 * k + 1024);
      head = gunzipSync(gz.subarray(0, k), {
        finishFlush: constants.Z_SYNC_FLUSH,
        maxOutputLength: bound,
      });
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ERR_BUFFER_TOO_LARGE')
        throw new FileError(fn, path, `decompresses to more than ${limitHint(maxBytes)}`);
      throw new FileError(fn, path, `cannot decompress (${(e as Error).message})`, { cause: e });
    }
    if (head.length >= want || k === gz.length) return head;
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
