// src/data/cifar10.ts: the CIFAR-10 binary version (https://www.cs.toronto.edu/~kriz/cifar.html):
// each batch file is a run of 3073-byte records, 1 label byte (0..9) then 3072 pixel bytes
// (1024 red, 1024 green, 1024 blue, each 32x32 row-major), i.e. already (3, 32, 32) per image.
// This file parses bytes (it runs anywhere); cifar10Files.ts loads the batch files of a folder.
import { FileError, Tensor, type FloatData, type FloatTensor } from '../tensor/index.js';
import { UNIT_OF_BYTE } from './pixels.js';

export const CIFAR10_CLASSES: readonly string[] = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];
/** Bytes per record (1 label + 3 x 32 x 32 pixels) and pixels per image. */
export const CIFAR10_RECORD = 3073,
  CIFAR10_PIXELS = 3072;

/**
 * Record r of `bytes` into row `row` of x (N, 3, 32, 32) as v/255 and of y; `fn: name:` prefixes
 * the error of a label outside 0..9.
 */
export function copyCifar10Record(
  fn: string,
  name: string,
  bytes: Uint8Array,
  r: number,
  x: FloatData,
  y: Int32Array,
  row: number,
): void {
  const off = r * CIFAR10_RECORD,
    label = bytes[off],
    outOff = row * CIFAR10_PIXELS;
  if (label > 9) throw new FileError(fn, name, `record ${r} has label ${label} (must be 0..9)`);
  y[row] = label;
  for (let p = 0; p < CIFAR10_PIXELS; p++) x[outOff + p] = UNIT_OF_BYTE[bytes[off + 1 + p]];
}

/**
 * Parses CIFAR-10 binary records (one batch file's bytes): images float32 (N, 3, 32, 32) with
 * values v/255 in [0, 1] and labels int32 0..9. `name` goes into the error messages.
 */
export function parseCifar10(
  bytes: Uint8Array,
  name = 'CIFAR-10 data',
): { X: FloatTensor; y: Int32Array } {
  const fn = 'parseCifar10';
  if (bytes.length === 0 || bytes.length % CIFAR10_RECORD !== 0) {
    throw new FileError(
      fn,
      name,
      `has ${bytes.length} bytes, not a whole number of ${CIFAR10_RECORD}-byte records`,
    );
  }
  const N = bytes.length / CIFAR10_RECORD,
    X = Tensor.zeros([N, 3, 32, 32]),
    y = new Int32Array(N);
  for (let r = 0; r < N; r++) copyCifar10Record(fn, name, bytes, r, X.data, y, r);
  return { X, y };
}
