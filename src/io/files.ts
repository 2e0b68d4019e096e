// src/io/files.ts: the file side of the image codecs (Node only): reading a .png file. The
// safetensors files are read and written by readSafetensors/writeSafetensors in safetensors.ts
// (through io/node.ts, so that the Solver's checkpoints bundle for browsers), checkpoints by
// checkpoint.ts; every write goes through writeFileAtomic (atomic.ts).
import { readFileSync } from 'node:fs';
import { FileError } from '../tensor/index.js';
import { decodePng, type PngImage } from './png.js';

/** Reads a .png file and decodes it; errors are FileErrors naming the file. */
export function readPng(path: string): PngImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw FileError.cannotRead('readPng', path, e);
  }
  return decodePng(bytes, path);
}
