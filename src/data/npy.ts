// src/data/npy.ts: NumPy .npy arrays (https://numpy.org/doc/stable/reference/generated/
// numpy.lib.format.html): magic "\x93NUMPY", version, a little-endian header length, a Python
// dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (N, ...)}, then the raw data.
// This file parses bytes (it runs anywhere); npyFiles.ts reads files and loads data sets.
import { FileError, Tensor } from '../tensor/index.js';

export type NpyDType = 'float32' | 'float64' | 'uint8' | 'int32' | 'int64';
/**
 * A .npy array with its values kept: float32 -> Float32Array, float64 -> Float64Array, uint8 ->
 * Uint8Array, int32 -> Int32Array, int64 -> Int32Array (every value must fit in int32; dtype
 * still says 'int64'). Shape () is a scalar with one value.
 */
export interface NpyArray {
  dtype: NpyDType;
  shape: number[];
  data: Float32Array | Float64Array | Uint8Array | Int32Array;
}

const DESCRS: Record<string, [NpyDType, number]> = {
  '<f4': ['float32', 4],
  '<f8': ['float64', 8],
  '|u1': ['uint8', 1],
  '<u1': ['uint8', 1],
  '>u1': ['uint8', 1],
  '<i4': ['int32', 4],
  '<i8': ['int64', 8],
};
const MAGIC = [0x93, 78, 85, 77, 80, 89]; // \x93NUMPY
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface NpyHeader {
  readonly dtype: NpyDType;
  readonly itemSize: number;
  readonly shape: number[];
  /** Where the data starts: magic, version, length field and the header dict. */
  readonly dataStart: number;
  /** Bytes of data the shape needs (exact up to 2^53). */
  readonly needed: number;
}

/** Bytes that hold any version 1.0 header (the length field is 16 bits): readNpy's head. */
export const NPY_V1_MAX_HEADER = 10 + 65535;

/** Reads and checks the header at the start of `bytes` (which may be only its first bytes). */
function npyHeader(bytes: Uint8Array, fail: (why: string) => never): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b))
    fail('not a .npy file (bad magic string)');
  const major = bytes[6],
    view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major < 1 || major > 3) fail(`unsupported format version ${major}.${bytes[7]}`);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) fail('truncated header');
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lenBytes + headerLen;
  if (dataStart > bytes.length)
    fail(
      `truncated: the header claims ${headerLen} bytes but the file has ${bytes.length - 8 - lenBytes} after the length field`,
    );
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(8 + lenBytes, dataStart),
  );
  if (/['"]descr['"]\s*:\s*\[/.test(text)) fail('structured dtypes are not supported');
  const header = parseHeaderDict(text, fail);
  const descr = header.get('descr');
  if (typeof descr !== 'string') return fail("'descr' must be a dtype string");
  if (descr.includes('O')) fail(`object arrays ('${descr}') are not supported`);
  const type = Object.hasOwn(DESCRS, descr) ? DESCRS[descr] : undefined;
  if (type === undefined) {
    if (descr.startsWith('>'))
      fail(
        `big-endian data ('${descr}') is not supported; save it little-endian, e.g. a.astype('<${descr.slice(1)}')`,
      );
    return fail(
      `unsupported dtype '${descr}' (supported: '<f4' float32, '<f8' float64, '|u1' uint8, '<i4' int32, '<i8' int64)`,
    );
  }
  const [dtype, itemSize] = type;
  const shape = header.get('shape');
  if (!Array.isArray(shape)) return fail("'shape' must be a tuple of integers");
  const fortranOrder = header.get('fortran_order');
  if (typeof fortranOrder !== 'boolean') fail("'fortran_order' must be True or False");
  if (fortranOrder === true && shape.length > 1) {
    fail('Fortran-order arrays are not supported; save a C-order array (np.ascontiguousarray)');
  }
  let needed = itemSize;
  for (const d of shape) needed *= d; // exact up to 2^53; anything that large fails every length check
  return { dtype, itemSize, shape, dataStart, needed };
}

/**
 * The size in bytes of the whole .npy file whose first bytes are `head` (header + data, as the
 * header declares it), or undefined when the head does not hold a valid header.
 */
export function npyDeclaredSize(head: Uint8Array): number | undefined {
  try {
    const h = npyHeader(head, (why) => {
      throw new FileError('readNpy', 'npy data', why);
    });
    return h.dataStart + h.needed;
  } catch {
    return undefined;
  }
}

/** Parses .npy bytes; every header field is checked against the byte count before allocating. */
export function parseNpy(input: Uint8Array, name = 'npy data'): NpyArray {
  // a plain view: slice() must copy (Buffer#slice would share memory)
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const fail = (why: string): never => {
    throw new FileError('readNpy', name, why);
  };
  const { dtype, itemSize, shape, dataStart, needed } = npyHeader(bytes, fail);
  const available = bytes.length - dataStart;
  if (needed > available)
    fail(
      `truncated: shape ${fmtTuple(shape)} of ${dtype} needs ${needed} bytes of data but the file has ${available}`,
    );
  if (needed < available)
    fail(`${available - needed} unexpected bytes after the data of shape ${fmtTuple(shape)}`);
  if (!LITTLE_ENDIAN_HOST) fail('reading .npy files needs a little-endian machine');
  const raw = bytes.slice(dataStart).buffer; // a copy, aligned for the typed array
  const n = needed / itemSize;
  switch (dtype) {
    case 'float32':
      return { dtype, shape, data: new Float32Array(raw) };
    case 'float64':
      return { dtype, shape, data: new Float64Array(raw) };
    case 'uint8':
      return { dtype, shape, data: new Uint8Array(raw) };
    case 'int32':
      return { dtype, shape, data: new Int32Array(raw) };
    case 'int64': {
      const words = new Int32Array(raw),
        out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = words[2 * i],
          hi = words[2 * i + 1];
        if (hi !== lo >> 31)
          fail(
            `int64 value ${BigInt(hi) * 4294967296n + BigInt(lo >>> 0)} at flat index ${i} does not fit in int32`,
          );
        out[i] = lo;
      }
      return { dtype, shape, data: out };
    }
  }
}

export const fmtTuple = (shape: number[]) =>
  `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;

type HeaderValue = string | boolean | number[];

/**
 * The header's Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
 * Keys are strings; values strings, True/False, or tuples of non-negative integers. Exactly the
 * keys descr, fortran_order and shape must be present.
 */
function parseHeaderDict(text: string, fail: (why: string) => never): Map<string, HeaderValue> {
  let pos = 0;
  const bad = (what: string): never =>
    fail(`malformed header (${what} at character ${pos}): ${JSON.stringify(text.trim())}`);
  const space = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const expectChar = (c: string) => {
    space();
    if (text[pos] !== c) bad(`expected '${c}'`);
    pos++;
  };
  const str = (): string => {
    space();
    const q = text[pos];
    if (q !== "'" && q !== '"') bad('expected a string');
    const end = text.indexOf(q, pos + 1);
    if (end < 0) bad('unterminated string');
    const s = text.slice(pos + 1, end);
    pos = end + 1;
    return s;
  };
  const value = (): HeaderValue => {
    space();
    if (text[pos] === "'" || text[pos] === '"') return str();
    if (text.startsWith('True', pos)) return ((pos += 4), true);
    if (text.startsWith('False', pos)) return ((pos += 5), false);
    if (text[pos] === '[') return bad('a list (structured dtype) where a simple value is expected');
    if (text[pos] !== '(') return bad('expected a string, True, False or a tuple');
    pos++;
    const dims: number[] = [];
    for (;;) {
      space();
      if (text[pos] === ')') break;
      const m = /^(\d+)L?/.exec(text.slice(pos, pos + 24));
      if (m === null) bad('expected a non-negative integer');
      dims.push(Number(m![1]));
      pos += m![0].length;
      space();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== ')') bad("expected ',' or ')'");
    }
    pos++;
    if (!dims.every(Number.isSafeInteger)) bad('a dimension too large');
    return dims;
  };
  const dict = new Map<string, HeaderValue>(); // a Map: a key such as '__proto__' is just a key
  expectChar('{');
  for (;;) {
    space();
    if (text[pos] === '}') break;
    const key = str();
    expectChar(':');
    if (dict.has(key)) bad(`a repeated key '${key}'`);
    dict.set(key, value());
    space();
    if (text[pos] === ',') pos++;
    else if (text[pos] !== '}') bad("expected ',' or '}'");
  }
  pos++;
  space();
  if (pos !== text.length) bad('unexpected text after the dict');
  const keys = [...dict.keys()].sort().join(',');
  if (keys !== 'descr,fortran_order,shape')
    fail(`header keys are ${keys || 'none'}, expected descr, fortran_order, shape`);
  return dict;
}

/**
 * An NpyArray as a Tensor with its values unchanged: float32 and float64 keep their dtype,
 * int32/int64 become int32, uint8 becomes float32 0..255 (not scaled; loadNpyDataset scales
 * images by 1/255). The data is copied.
 */
export function npyToTensor(a: NpyArray): Tensor {
  const dtype =
    a.dtype === 'float64'
      ? 'float64'
      : a.dtype === 'int32' || a.dtype === 'int64'
        ? 'int32'
        : 'float32';
  const t = Tensor.zeros(a.shape, dtype);
  t.data.set(a.data);
  return t;
}
