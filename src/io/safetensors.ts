// src/io/safetensors.ts: the safetensors format (https://github.com/huggingface/safetensors), so
// that PyTorch, NumPy and other tools read our checkpoints and we read theirs. Layout:
//   8 bytes   N, the header length, unsigned 64-bit little-endian
//   N bytes   UTF-8 JSON: { name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {str: str} }
//   the rest  the tensors' bytes, little-endian, row-major; offsets are relative to this buffer
// Reading trusts nothing in the file: the header length is checked against the file size before
// anything is allocated, and every tensor's offsets, dtype, shape and byte length are checked,
// as is the rule that the tensors cover the buffer exactly (no gaps, no overlaps).
import { nodeFs } from './node.js';
import { FileError, fmt, preview, Tensor, ValueError, type DType } from '../tensor/index.js';
import { writeFileAtomic } from './atomic.js';

/** The tensors and string metadata of a safetensors file. */
export interface SafetensorsContents {
  readonly tensors: Record<string, Tensor>;
  readonly metadata: Record<string, string>;
}

/**
 * A malformed, truncated or mismatched safetensors file: a FileError, so `path` names the file
 * (or the source given to decodeSafetensors) and `reason` says what is wrong.
 */
export class SafetensorsError extends FileError {
  override name = 'SafetensorsError';
}

const TO_FILE: Readonly<Record<DType, string>> = { float32: 'F32', float64: 'F64', int32: 'I32' };
/**
 * The dtypes read, each with its item size and the dtype it becomes: F16 and BF16 widen to
 * float32 exactly; U8 and BOOL widen to int32; I64 narrows to int32 when every value fits
 * (token ids, torch's num_batches_tracked) and is refused otherwise.
 */
const FROM_FILE: Readonly<Record<string, { readonly to: DType; readonly size: number }>> = {
  F32: { to: 'float32', size: 4 },
  F64: { to: 'float64', size: 8 },
  I32: { to: 'int32', size: 4 },
  F16: { to: 'float32', size: 2 },
  BF16: { to: 'float32', size: 2 },
  I64: { to: 'int32', size: 8 },
  U8: { to: 'int32', size: 1 },
  BOOL: { to: 'int32', size: 1 },
};
const READ_DTYPES = Object.keys(FROM_FILE).join(', ');
const ITEM_SIZE: Readonly<Record<DType, number>> = { float32: 4, float64: 8, int32: 4 };
/** The reference implementation's limit on the header (100 MB); larger is surely corrupt. */
const MAX_HEADER = 100_000_000;

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function checkHost(fn: string): void {
  if (!littleEndian)
    throw new Error(`${fn}: safetensors is little-endian and this platform is big-endian`);
}

export interface EncodeSafetensorsOptions {
  /** int32 tensors to store as I64 (e.g. torch's num_batches_tracked, which torch keeps in int64). */
  readonly int64?: readonly string[];
}

/**
 * The bytes of a safetensors file holding `tensors` (in insertion order) and string `metadata`
 * (stored as `__metadata__`, with `format: 'pt'` added as safetensors' torch writer does, unless
 * the metadata sets a format). The header is padded with spaces so the data starts 8-aligned.
 */
export function encodeSafetensors(
  tensors: Record<string, Tensor>,
  metadata: Record<string, string> = {},
  options: EncodeSafetensorsOptions = {},
): Uint8Array {
  const fn = 'encodeSafetensors';
  checkHost(fn);
  const header: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new TypeError(`${fn}: metadata '${key}' must be a string, got ${typeof value}`);
    }
  }
  header.__metadata__ = { format: 'pt', ...metadata };
  const int64 = new Set(options.int64 ?? []);
  let offset = 0;
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) {
    if (name === '__metadata__' || name.length === 0) {
      throw new ValueError(`${fn}: '${name}' is not a valid tensor name`);
    }
    if (!(t instanceof Tensor)) throw new TypeError(`${fn}: tensors['${name}'] must be a Tensor`);
    const wide = int64.has(name);
    if (wide && t.dtype !== 'int32')
      throw new ValueError(
        `${fn}: '${name}' is stored as I64, so it must be int32, not ${t.dtype}`,
      );
    const bytes = t.size * (wide ? 8 : ITEM_SIZE[t.dtype]);
    header[name] = {
      dtype: wide ? 'I64' : TO_FILE[t.dtype],
      shape: [...t.shape],
      data_offsets: [offset, offset + bytes],
    };
    offset += bytes;
  }
  for (const name of int64)
    if (!Object.hasOwn(tensors, name))
      throw new ValueError(`${fn}: int64 names '${name}', which is not a tensor`);
  let json = JSON.stringify(header);
  const jsonBytes = new TextEncoder().encode(json);
  const pad = (8 - ((8 + jsonBytes.length) % 8)) % 8;
  json += ' '.repeat(pad);
  const N = jsonBytes.length + pad;
  const out = new Uint8Array(8 + N + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, N, true); // N < 2^32 for any header we write; the high word stays 0
  out.set(new TextEncoder().encode(json), 8);
  let pos = 8 + N;
  for (const [name, t] of entries) {
    if (int64.has(name)) {
      // little-endian two's complement: the low word is the value, the high word its sign
      for (const v of t.data) {
        view.setInt32(pos, v, true);
        view.setInt32(pos + 4, v < 0 ? -1 : 0, true);
        pos += 8;
      }
      continue;
    }
    const src = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(src, pos);
    pos += src.length;
  }
  return out;
}

interface Entry {
  readonly name: string;
  readonly fileDType: string;
  readonly dtype: DType;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

/**
 * Parses the bytes of a safetensors file. `source` (the file name) is put in every error message.
 * Reads F32, F64 and I32 as they are, F16 and BF16 as float32, U8 and BOOL as int32, and I64 as
 * int32 when every value fits; any other dtype is refused by name. Tensors are copied into fresh,
 * aligned typed arrays.
 */
export function decodeSafetensors(bytes: Uint8Array, source = '<bytes>'): SafetensorsContents {
  checkHost('decodeSafetensors');
  const fail = (why: string): never => {
    throw new SafetensorsError('readSafetensors', source, why);
  };
  if (bytes.length < 8)
    fail(`file is truncated: ${bytes.length} bytes, a safetensors file has at least 8`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true),
    hi = view.getUint32(4, true);
  const N = hi * 4294967296 + lo;
  if (N > bytes.length - 8) {
    const rest = bytes.length - 8;
    fail(
      `header claims ${N} bytes but the file has only ${rest} after the length field (truncated or not safetensors)`,
    );
  }
  if (N > MAX_HEADER) fail(`header of ${N} bytes exceeds the limit of ${MAX_HEADER}`);
  if (N < 2) fail(`header of ${N} bytes is too short to hold a JSON object`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + N));
  } catch {
    return fail('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) {
    fail(
      `header must be a JSON object starting with '{', got ${JSON.stringify(text.slice(0, 16))}`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    fail('header must be a JSON object');
  const dataStart = 8 + N,
    dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!isObject(info)) fail('__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__['${k}'] must be a string, got ${preview(v)}`);
        setOwn(metadata, k, v as string);
      }
      continue;
    }
    entries.push(parseEntry(name, info, dataLength, fail));
  }
  // The tensors must tile the data buffer exactly: sorted by offset, each begins where the last ended.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of sorted) {
    if (e.begin !== expected) {
      fail(
        e.begin < expected
          ? `tensor '${e.name}' at bytes [${e.begin}, ${e.end}) overlaps the previous tensor, which ends at ${expected}`
          : `tensor '${e.name}' starts at byte ${e.begin} but the previous tensor ends at ${expected} (a gap)`,
      );
    }
    expected = e.end;
  }
  if (expected !== dataLength) {
    fail(
      `the tensors cover ${expected} bytes of data but the file has ${dataLength} (truncated or trailing bytes)`,
    );
  }
  const tensors: Record<string, Tensor> = {};
  for (const e of entries) {
    // A fresh, aligned copy (Buffer#slice would share memory, hence subarray + set).
    const copy = new Uint8Array(e.end - e.begin);
    copy.set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    setOwn(tensors, e.name, new Tensor(convert(e, copy, fail), e.shape));
  }
  return { tensors, metadata };
}

/** The typed array of one tensor's bytes (`raw`, a fresh copy), converted to our dtype. */
function convert(
  e: Entry,
  raw: Uint8Array,
  fail: (why: string) => never,
): Float32Array | Float64Array | Int32Array {
  switch (e.fileDType) {
    case 'F32':
      return new Float32Array(raw.buffer);
    case 'F64':
      return new Float64Array(raw.buffer);
    case 'I32':
      return new Int32Array(raw.buffer);
    case 'U8':
    case 'BOOL':
      return Int32Array.from(raw, (v) => (e.fileDType === 'BOOL' ? (v === 0 ? 0 : 1) : v));
    case 'F16':
      return Float32Array.from(new Uint16Array(raw.buffer), halfToFloat);
    case 'BF16':
      return Float32Array.from(new Uint16Array(raw.buffer), (h) => bfloatToFloat(h));
    default: {
      const wide = new BigInt64Array(raw.buffer); // I64
      const out = new Int32Array(wide.length);
      for (let i = 0; i < wide.length; i++) {
        const v = wide[i];
        if (v > 2147483647n || v < -2147483648n) {
          fail(
            `tensor '${e.name}' (I64) holds ${v} at index ${i}, outside the int32 range layerwise reads I64 into`,
          );
        }
        out[i] = Number(v);
      }
      return out;
    }
  }
}

const F32_BITS = new Float32Array(1);
const U32_BITS = new Uint32Array(F32_BITS.buffer);

/** bfloat16 is the top half of a float32. */
function bfloatToFloat(h: number): number {
  U32_BITS[0] = h << 16;
  return F32_BITS[0];
}

/** IEEE 754 binary16 (1 sign, 5 exponent, 10 fraction bits) to a number, exactly. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1,
    exp = (h >> 10) & 0x1f,
    frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * record[key] = value as an own property, whatever the key: a name from a file such as
 * '__proto__' must not set the record's prototype (plain assignment would) and lose the value.
 */
function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function parseEntry(
  name: string,
  info: unknown,
  dataLength: number,
  fail: (why: string) => never,
): Entry {
  if (!isObject(info)) fail(`tensor '${name}' must be described by an object`);
  const { dtype: fileDType, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (typeof fileDType !== 'string') fail(`tensor '${name}' has no dtype`);
  const known = Object.hasOwn(FROM_FILE, fileDType as string)
    ? FROM_FILE[fileDType as string]
    : undefined;
  if (known === undefined)
    fail(`tensor '${name}' has dtype ${String(fileDType)}; layerwise reads ${READ_DTYPES}`);
  const { to: dtype, size: itemSize } = known as { to: DType; size: number };
  const isIndex = (d: unknown): d is number =>
    typeof d === 'number' && Number.isSafeInteger(d) && d >= 0;
  if (!Array.isArray(shape) || !shape.every(isIndex)) {
    fail(`tensor '${name}' has an invalid shape ${preview(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
    fail(`tensor '${name}' has invalid data_offsets ${preview(offsets)}`);
  }
  const [begin, end] = offsets as number[];
  if (begin > end || end > dataLength) {
    fail(
      `tensor '${name}' has data_offsets [${begin}, ${end}] outside the ${dataLength} bytes of data (truncated file?)`,
    );
  }
  const dims = shape as number[];
  // Compare the element count with the bytes available before multiplying it out in full, so
  // a shape like [1e9, 1e9] is refused instead of overflowing.
  const count = dims.some((d) => d === 0)
    ? 0
    : dims.reduce((p, d) => (p > dataLength ? p : p * d), 1);
  if (count * itemSize !== end - begin) {
    const need = count > dataLength ? 'more than the file holds' : `${count * itemSize} bytes`;
    fail(
      `tensor '${name}' has shape ${fmt(dims)} and dtype ${String(fileDType)}, which need ${need}, but data_offsets span ${end - begin}`,
    );
  }
  return { name, fileDType: fileDType as string, dtype, shape: dims, begin, end };
}

/** Writes tensors and string metadata to `path` as safetensors, atomically. */
export function writeSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata?: Record<string, string>,
  options?: EncodeSafetensorsOptions,
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata, options));
}

/** Reads a safetensors file; a malformed one throws a SafetensorsError naming the file. */
export function readSafetensors(path: string): SafetensorsContents {
  let bytes: Uint8Array;
  try {
    bytes = nodeFs('readSafetensors').readFileSync(path);
  } catch (e) {
    // e.g. ENOENT, EISDIR, or a file too large for one buffer: say which file
    throw FileError.cannotRead('readSafetensors', path, e);
  }
  return decodeSafetensors(bytes, path);
}
