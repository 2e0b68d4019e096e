// src/io/pngDecode.ts: a small, dependency-free PNG decoder on bytes (zlib from ./zlib.ts, so it
// runs in a browser too): every standard bit depth, colour type, filter and Adam7 interlacing.
// Reading a .png file is in files.ts.
import { expectNumber, expectOptions, FileError } from '../tensor/index.js';
import { inflate, ZlibError } from './zlib.js';
import {
  crc32,
  MAX_PNG_PIXELS,
  PNG_MAX_BYTES,
  predictor,
  SIGNATURE,
  type DecodePngOptions,
  type PngImage,
} from './pngFormat.js';

interface Header {
  width: number;
  height: number;
  bitDepth: number;
  colourType: number; // 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA
  interlace: number; // 0 none, 1 Adam7
}

const SAMPLES_PER_PIXEL: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS_OF_COLOUR_TYPE: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};
/** Adam7 passes: [x0, y0, dx, dy]. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/**
 * Decodes a PNG into 8-bit samples. Supports every standard format: bit depths 1, 2, 4, 8, 16;
 * grey, grey+alpha, RGB, RGBA and palette; the five filter types; Adam7 interlacing; tRNS
 * transparency (adds an alpha channel). 16-bit samples become round(v / 257); 1/2/4-bit grey
 * is scaled to 0..255 (v * 255 / (2^depth - 1)); palette images come out as RGB (RGBA with
 * tRNS). Ancillary chunks other than tRNS are ignored. Every problem (bad signature, CRC
 * mismatch, truncated chunk or data, bad header field, missing IEND) throws an error starting
 * with `decodePng: <name>:`.
 */
export function decodePng(
  bytes: Uint8Array,
  name = 'PNG data',
  opts: DecodePngOptions = {},
): PngImage {
  const fail = (why: string): never => {
    throw new FileError('decodePng', name, why);
  };
  if (!(bytes instanceof Uint8Array)) throw new TypeError('decodePng: bytes must be a Uint8Array');
  expectOptions('decodePng', opts, ['maxBytes']);
  const maxBytes = opts.maxBytes ?? PNG_MAX_BYTES;
  expectNumber('decodePng', 'maxBytes', maxBytes, { integer: true, min: 1 });
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b))
    fail('not a PNG file (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8,
    header: Header | null = null,
    palette: Uint8Array | null = null,
    trns: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (!ended) {
    if (pos + 8 > bytes.length) fail(`truncated at byte ${pos} (no IEND chunk)`);
    const length = view.getUint32(pos),
      type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (!/^[A-Za-z]{4}$/.test(type)) fail(`bad chunk type at byte ${pos}`);
    if (length > 0x7fffffff || pos + 12 + length > bytes.length) {
      fail(
        `chunk '${type}' at byte ${pos} is truncated (needs ${length + 12} bytes, ${bytes.length - pos} left)`,
      );
    }
    const data = bytes.subarray(pos + 8, pos + 8 + length);
    const want = view.getUint32(pos + 8 + length),
      got = crc32(bytes, pos + 4, pos + 8 + length);
    if (want !== got)
      fail(
        `CRC mismatch in chunk '${type}' at byte ${pos} (stored ${hex(want)}, computed ${hex(got)})`,
      );
    if (header === null && type !== 'IHDR') fail(`first chunk is '${type}', expected 'IHDR'`);
    switch (type) {
      case 'IHDR':
        if (header !== null) fail('more than one IHDR chunk');
        header = parseHeader(data, fail);
        checkSize(header, rawSize(header), 'inflates to', maxBytes, fail);
        break;
      case 'PLTE':
        if (length % 3 !== 0 || length === 0 || length > 768)
          fail(`PLTE chunk has ${length} bytes (must be 3 to 768, a multiple of 3)`);
        palette = data;
        break;
      case 'tRNS':
        trns = data;
        break;
      case 'IDAT':
        idat.push(data);
        break;
      case 'IEND':
        ended = true;
        break;
      default:
        if (type.charCodeAt(0) < 97) fail(`unsupported critical chunk '${type}'`); // uppercase first letter
    }
    pos += 12 + length;
  }
  const h = header as Header; // IEND cannot come before IHDR
  if (idat.length === 0) fail('no IDAT chunk');
  if (h.colourType === 3 && palette === null) fail('palette image without a PLTE chunk');
  const compressed = idat.length === 1 ? idat[0] : concat(idat);
  const expected = rawSize(h);
  let raw: Uint8Array;
  try {
    raw = inflate(compressed, expected);
  } catch (e) {
    if (!(e instanceof ZlibError)) throw e;
    if (e.code === 'too-long')
      return fail(`image data is longer than the ${h.width}x${h.height} header says`);
    return fail(`corrupt or truncated image data (${e.message})`);
  }
  if (raw.length < expected) fail(`image data is truncated (${raw.length} of ${expected} bytes)`);
  checkSize(h, h.width * h.height * outputChannels(h, trns), 'decodes to', maxBytes, fail);
  return toPixels(h, unfilter(h, raw, fail), palette, trns, fail);
}

/** Refuses an image whose data would take more than maxBytes (`what`: 'inflates to', ...). */
function checkSize(
  h: Header,
  bytes: number,
  what: string,
  maxBytes: number,
  fail: (why: string) => never,
): void {
  if (bytes <= maxBytes) return;
  fail(
    `a ${h.width}x${h.height} image (colour type ${h.colourType}, ${h.bitDepth}-bit) ${what} ${bytes} bytes, more than the limit of ${maxBytes} bytes (raise it with the maxBytes option)`,
  );
}

/** The channels of the decoded samples: palette -> RGB(A), a tRNS key adds alpha. */
function outputChannels(h: Header, trns: Uint8Array | null): 1 | 2 | 3 | 4 {
  const spp = SAMPLES_PER_PIXEL[h.colourType];
  const hasKey = trns !== null && (h.colourType === 0 || h.colourType === 2);
  return (h.colourType === 3 ? (trns ? 4 : 3) : spp + (hasKey ? 1 : 0)) as 1 | 2 | 3 | 4;
}

const hex = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function parseHeader(data: Uint8Array, fail: (why: string) => never): Header {
  if (data.length !== 13) fail(`IHDR chunk has ${data.length} bytes, expected 13`);
  const view = new DataView(data.buffer, data.byteOffset, 13);
  const h: Header = {
    width: view.getUint32(0),
    height: view.getUint32(4),
    bitDepth: data[8],
    colourType: data[9],
    interlace: data[12],
  };
  if (h.width === 0 || h.height === 0) fail(`image size ${h.width}x${h.height} is empty`);
  if (h.width * h.height > MAX_PNG_PIXELS)
    fail(`image size ${h.width}x${h.height} is larger than the ${MAX_PNG_PIXELS} pixels supported`);
  const depths = DEPTHS_OF_COLOUR_TYPE[h.colourType];
  if (depths === undefined) fail(`unknown colour type ${h.colourType}`);
  if (!depths.includes(h.bitDepth))
    fail(`bit depth ${h.bitDepth} is invalid for colour type ${h.colourType}`);
  if (data[10] !== 0) fail(`unknown compression method ${data[10]}`);
  if (data[11] !== 0) fail(`unknown filter method ${data[11]}`);
  if (h.interlace > 1) fail(`unknown interlace method ${h.interlace}`);
  return h;
}

/** The (x0, y0, dx, dy, w, h) of each non-empty pass (one pass for non-interlaced images). */
function passes(
  h: Header,
): { x0: number; y0: number; dx: number; dy: number; w: number; h: number }[] {
  const list = h.interlace === 0 ? [[0, 0, 1, 1]] : ADAM7;
  return list
    .map(([x0, y0, dx, dy]) => ({
      x0,
      y0,
      dx,
      dy,
      w: Math.ceil((h.width - x0) / dx),
      h: Math.ceil((h.height - y0) / dy),
    }))
    .filter((p) => p.w > 0 && p.h > 0);
}

const bytesPerLine = (h: Header, w: number) =>
  Math.ceil((w * SAMPLES_PER_PIXEL[h.colourType] * h.bitDepth) / 8);

/** Bytes of filtered data the header implies: per scanline of each pass, 1 filter byte + the line. */
function rawSize(h: Header): number {
  return passes(h).reduce((s, p) => s + p.h * (1 + bytesPerLine(h, p.w)), 0);
}

/** Reverses the per-scanline filters in place; returns the pass images' lines back to back. */
function unfilter(h: Header, raw: Uint8Array, fail: (why: string) => never): Uint8Array {
  const bpp = Math.max(1, (SAMPLES_PER_PIXEL[h.colourType] * h.bitDepth) >> 3); // bytes per complete pixel
  const out = new Uint8Array(raw.length);
  let inOff = 0,
    outOff = 0;
  for (const p of passes(h)) {
    const stride = bytesPerLine(h, p.w);
    for (let y = 0; y < p.h; y++) {
      const filter = raw[inOff++],
        line = outOff,
        prev = y > 0 ? outOff - stride : -1;
      if (filter > 4) fail(`unknown filter type ${filter} on a scanline`);
      for (let i = 0; i < stride; i++) {
        const a = i >= bpp ? out[line + i - bpp] : 0,
          b = prev >= 0 ? out[prev + i] : 0;
        const c = prev >= 0 && i >= bpp ? out[prev + i - bpp] : 0,
          x = raw[inOff + i];
        out[line + i] = x + predictor(filter, a, b, c);
      }
      inOff += stride;
      outOff += stride;
    }
  }
  return out;
}

/** Expands unfiltered lines into 8-bit interleaved samples, applying PLTE and tRNS. */
function toPixels(
  h: Header,
  lines: Uint8Array,
  palette: Uint8Array | null,
  trns: Uint8Array | null,
  fail: (why: string) => never,
): PngImage {
  const spp = SAMPLES_PER_PIXEL[h.colourType],
    depth = h.bitDepth,
    maxV = (1 << Math.min(depth, 16)) - 1;
  const hasKey = trns !== null && (h.colourType === 0 || h.colourType === 2);
  if (hasKey && trns.length !== (h.colourType === 0 ? 2 : 6))
    fail(`tRNS chunk has ${trns.length} bytes for colour type ${h.colourType}`);
  const channels = outputChannels(h, trns);
  const nColours = palette ? palette.length / 3 : 0;
  const key = hasKey
    ? Array.from({ length: trns.length / 2 }, (_, i) => (trns[2 * i] << 8) | trns[2 * i + 1])
    : [];
  const data = new Uint8Array(h.width * h.height * channels);
  if (depth === 8 && h.colourType !== 3 && !hasKey && h.interlace === 0) {
    // the common case: unfiltered lines already are the interleaved 8-bit samples
    data.set(lines.subarray(0, h.height * h.width * spp));
    return { width: h.width, height: h.height, channels, data };
  }
  const sample = new Array<number>(spp);
  const scale = (v: number) =>
    depth === 16 ? Math.round(v / 257) : depth === 8 ? v : (v * 255) / maxV;
  let off = 0;
  for (const p of passes(h)) {
    const stride = bytesPerLine(h, p.w);
    for (let py = 0; py < p.h; py++, off += stride) {
      const y = p.y0 + py * p.dy;
      for (let px = 0; px < p.w; px++) {
        for (let s = 0; s < spp; s++) sample[s] = readSample(lines, off, px * spp + s, depth);
        let o = (y * h.width + p.x0 + px * p.dx) * channels;
        if (h.colourType === 3) {
          const idx = sample[0];
          if (idx >= nColours) fail(`palette index ${idx} is outside the ${nColours}-colour PLTE`);
          data[o++] = palette![3 * idx];
          data[o++] = palette![3 * idx + 1];
          data[o++] = palette![3 * idx + 2];
          if (trns) data[o] = idx < trns.length ? trns[idx] : 255;
          continue;
        }
        for (let s = 0; s < spp; s++) data[o++] = scale(sample[s]);
        if (hasKey) data[o] = sample.every((v, i) => v === key[i]) ? 0 : 255;
      }
    }
  }
  return { width: h.width, height: h.height, channels, data };
}

/** Sample i of a scanline starting at byte `off`, at the given bit depth (MSB first). */
function readSample(lines: Uint8Array, off: number, i: number, depth: number): number {
  if (depth === 8) return lines[off + i];
  if (depth === 16) return (lines[off + 2 * i] << 8) | lines[off + 2 * i + 1];
  const perByte = 8 / depth,
    byte = lines[off + Math.floor(i / perByte)];
  const shift = 8 - depth * ((i % perByte) + 1);
  return (byte >> shift) & ((1 << depth) - 1);
}

// ---------------------------------------------------------------------------------- model input
