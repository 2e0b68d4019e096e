// src/io/pngFormat.ts: what the PNG encoder (pngEncode.ts) and decoder (pngDecode.ts) share: the
// image type, the signature, the size limits, CRC-32 and the scanline filter predictors. Bytes
// only, no Node imports (the browser entry uses it).
// Format: https://www.w3.org/TR/png/ (signature, chunks with CRC-32, filtered scanlines).

/** A decoded image: 8-bit samples, row-major, channels interleaved (grey, grey+alpha, RGB, RGBA). */
export interface PngImage {
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  data: Uint8Array; // (height, width, channels)
}

export const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
/** The largest image decodePng accepts (width * height), to refuse absurd headers up front. */
export const MAX_PNG_PIXELS = 1 << 26;
/**
 * The default `maxBytes` of decodePng and readPng (64 MiB): the most bytes the image data may
 * inflate to, and the decoded samples may take (e.g. 4096 x 4096 RGBA at 8 bits).
 */
export const PNG_MAX_BYTES = 2 ** 26;

/** Options of decodePng and readPng. */
export interface DecodePngOptions {
  /**
   * The most bytes the image may take: its inflated (filtered) data and its decoded 8-bit
   * samples each, checked from the IHDR header before anything is inflated. Default PNG_MAX_BYTES.
   */
  maxBytes?: number;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309, as PNG and zlib use it) of bytes[start, end). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The Paeth predictor of the PNG filter type 4. */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c,
    pa = Math.abs(p - a),
    pb = Math.abs(p - b),
    pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** What filter type 0..4 (None, Sub, Up, Average, Paeth) predicts from left a, up b, up-left c. */
export function predictor(filter: number, a: number, b: number, c: number): number {
  switch (filter) {
    case 0:
      return 0;
    case 1:
      return a;
    case 2:
      return b;
    case 3:
      return (a + b) >> 1;
    default:
      return paeth(a, b, c);
  }
}
