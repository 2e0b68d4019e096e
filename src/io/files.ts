// src/io/files.ts: the file side of the image codecs (Node only): reading a .png file. The
// safetensors files are read and written by readSafetensors/writeSafetensors in safetensors.ts
// (through io/node.ts, so that the Solver's checkpoints bundle for browsers), checkpoints by
// checkpoint.ts; every write goes through writeFileAtomic (atomic.ts).
import { readFileSync, statSync } from 'node:fs';
import { FileError } from '../tensor/index.js';
import { decodePng, PNG_MAX_BYTES, type DecodePngOptions, type PngImage } from './png.js';

/**
 * Reads a .png file and decodes it; errors are FileErrors naming the file. opts.maxBytes (default
 * PNG_MAX_BYTES, 64 MiB) bounds the file's size as well as what decodePng may inflate it to.
 */
export function readPng(path: string, opts: DecodePngOptions = {}): PngImage {
  const maxBytes = opts.maxBytes ?? PNG_MAX_BYTES;
  let bytes: Uint8Array;
  try {
    const size = statSync(path).size;
    if (Number.isFinite(maxBytes) && size > maxBytes) {
      throw new FileError(
        'readPng',
        path,
        `holds ${size} bytes, more than the limit of ${maxBytes} bytes (raise it with the maxBytes option)`,
      );
    }
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof FileError) throw e;
    throw FileError.cannotRead('readPng', path, e);
  }
  return decodePng(bytes, path, opts);
}
