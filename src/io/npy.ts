// src/io/npy.ts: .npy files out (the codec is src/data/npyEncode.ts), written atomically.
import { encodeNpy, type NpyArray } from '../data/index.js';
import type { Tensor } from '../tensor/index.js';
import { writeFileAtomic } from './atomic.js';

/** Writes `array` (a Tensor of any dtype, or an NpyArray) to `path` as .npy, C order, atomically. */
export function writeNpy(path: string, array: Tensor | NpyArray): void {
  writeFileAtomic(path, encodeNpy(array));
}
