// src/data/idx.ts: the IDX format of MNIST, Fashion-MNIST and EMNIST (http://yann.lecun.com/
// exdb/mnist/): a 4-byte magic (0, 0, type code, number of dimensions), the dimensions as
// big-endian uint32, then the values in row-major order, big-endian. This file parses bytes (it
// runs anywhere); idxFiles.ts reads the files (plain or gzip-compressed) and loads MNIST folders.
import { FileError, fmt } from '../tensor/index.js';

export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
/** An IDX array: values converted to this machine's byte order in the natural typed array. */
export interface IdxArray {
  dtype: IdxDType;
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const IDX_TYPES: Record<number, [IdxDType, number]> = {
  0x08: ['uint8', 1],
  0x09: ['int8', 1],
  0x0b: ['int16', 2],
  0x0c: ['int32', 4],
  0x0d: ['float32', 4],
  0x0e: ['float64', 8],
};

interface IdxHeader {
  readonly dtype: IdxDType;
  readonly itemSize: number;
  readonly shape: number[];
  /** Bytes of the header: 4 + 4 per dimension. */
  readonly headerBytes: number;
  /** Bytes of data the shape needs: prod(shape) * itemSize (exact up to 2^53). */
  readonly needed: number;
}

/** The longest IDX header: the magic and 255 dimensions. */
export const IDX_MAX_HEADER = 4 + 4 * 255;

/** Reads and checks the header at the start of `bytes` (which may be only its first bytes). */
function idxHeader(bytes: Uint8Array, fail: (why: string) => never): IdxHeader {
  if (bytes.length < 4) fail(`file is too short for an IDX header (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0),
    typeCode = bytes[2],
    ndim = bytes[3];
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const hex = magic.toString(16).padStart(8, '0');
    fail(
      `bad magic number 0x${hex} (an IDX file starts with two zero bytes, a type code and a dimension count)`,
    );
  }
  const type = Object.hasOwn(IDX_TYPES, typeCode) ? IDX_TYPES[typeCode] : undefined;
  if (type === undefined)
    return fail(`unknown data type code 0x${typeCode.toString(16).padStart(2, '0')}`);
  const [dtype, itemSize] = type;
  if (ndim === 0) fail('the header declares 0 dimensions');
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes)
    fail(
      `truncated header: ${ndim} dimensions need ${headerBytes} bytes, the file has ${bytes.length}`,
    );
  const shape = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i));
  let needed = itemSize;
  for (const d of shape) needed *= d; // exact up to 2^53; anything that large fails every length check
  return { dtype, itemSize, shape, headerBytes, needed };
}

/**
 * The size in bytes of the whole IDX file whose first bytes are `head` (header + data, as the
 * header declares it), or undefined when the head is not a valid IDX header.
 */
export function idxDeclaredSize(head: Uint8Array): number | undefined {
  try {
    const h = idxHeader(head, (why) => {
      throw new FileError('readIdx', 'IDX data', why);
    });
    return h.headerBytes + h.needed;
  } catch {
    return undefined;
  }
}

/**
 * Parses IDX bytes (already decompressed). The header is checked against the byte count before
 * anything is allocated: the data must be exactly prod(shape) * itemsize bytes.
 */
export function parseIdx(input: Uint8Array, name = 'IDX data'): IdxArray {
  // a plain view: slice() must copy (Buffer#slice would share memory)
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const fail = (why: string): never => {
    throw new FileError('readIdx', name, why);
  };
  const { dtype, itemSize, shape, headerBytes, needed } = idxHeader(bytes, fail);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const available = bytes.length - headerBytes;
  if (needed > available) {
    fail(
      `truncated: shape ${fmt(shape)} of ${dtype} needs ${needed} bytes of data but the file has ${available}`,
    );
  }
  if (needed < available)
    fail(`${available - needed} unexpected bytes after the data of shape ${fmt(shape)}`);
  const n = needed / itemSize;
  let data: IdxArray['data'];
  switch (dtype) {
    case 'uint8':
      data = bytes.slice(headerBytes);
      break;
    case 'int8':
      data = new Int8Array(bytes.slice(headerBytes).buffer);
      break;
    case 'int16':
      data = new Int16Array(n).map((_, i) => view.getInt16(headerBytes + 2 * i));
      break;
    case 'int32':
      data = new Int32Array(n).map((_, i) => view.getInt32(headerBytes + 4 * i));
      break;
    case 'float32':
      data = new Float32Array(n).map((_, i) => view.getFloat32(headerBytes + 4 * i));
      break;
    case 'float64':
      data = new Float64Array(n).map((_, i) => view.getFloat64(headerBytes + 8 * i));
      break;
  }
  return { dtype, shape, data };
}

/** The class names of Fashion-MNIST, in label order. */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];
