// src/io/pngEncode.ts: a small, dependency-free PNG encoder on bytes (zlib from ./zlib.ts, so it
// runs in a browser too), for the plots and image grids. Writing a .png file is in files.ts.
import { ValueError } from '../tensor/index.js';
import { deflate } from './zlib.js';
import { crc32, predictor, SIGNATURE } from './pngFormat.js';

const COLOUR_TYPE_OF_CHANNELS: Record<number, number> = { 1: 0, 2: 4, 3: 2, 4: 6 };

/**
 * Encodes 8-bit pixels (height, width, channels) as a PNG: 1 = grey, 2 = grey+alpha, 3 = RGB,
 * 4 = RGBA. Each scanline gets the filter (of the five) with the smallest sum of |residuals|,
 * the heuristic libpng uses; the data is deflated by ./zlib.ts.
 */
export function encodePng(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
): Uint8Array {
  if (!(pixels instanceof Uint8Array))
    throw new TypeError('encodePng: pixels must be a Uint8Array');
  for (const [arg, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 0x7fffffff)
      throw new ValueError(`encodePng: ${arg} must be a positive integer, got ${v}`);
  }
  if (!(channels in COLOUR_TYPE_OF_CHANNELS))
    throw new ValueError(`encodePng: channels must be 1, 2, 3 or 4, got ${channels}`);
  if (pixels.length !== width * height * channels) {
    throw new ValueError(
      `encodePng: pixels has ${pixels.length} bytes but ${width}x${height}x${channels} needs ${width * height * channels}`,
    );
  }
  const stride = width * channels,
    raw = new Uint8Array(height * (stride + 1));
  const candidate = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const line = pixels.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : null;
    let bestCost = Infinity;
    for (let filter = 0; filter < 5; filter++) {
      let cost = 0;
      for (let i = 0; i < stride; i++) {
        const a = i >= channels ? line[i - channels] : 0; // left
        const b = prev ? prev[i] : 0; // up
        const c = prev && i >= channels ? prev[i - channels] : 0; // up-left
        const pred = predictor(filter, a, b, c);
        const r = (line[i] - pred) & 0xff;
        candidate[i] = r;
        cost += r < 128 ? r : 256 - r;
      }
      if (cost < bestCost) {
        bestCost = cost;
        raw[y * (stride + 1)] = filter;
        raw.set(candidate, y * (stride + 1) + 1);
      }
    }
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, COLOUR_TYPE_OF_CHANNELS[channels], 0, 0, 0], 8); // depth, colour type, compression, filter, interlace
  const chunks = [
    chunk('IHDR', ihdr),
    chunk('IDAT', deflate(raw)),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(8 + chunks.reduce((s, c) => s + c.length, 0));
  out.set(SIGNATURE, 0);
  let off = 8;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** length (4, big-endian) | type (4) | data | CRC-32 of type and data (4). */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length),
    view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}
