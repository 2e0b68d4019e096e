// src/io/png.ts: a small, dependency-free PNG encoder and decoder on bytes (zlib from ./zlib.ts, so
// it runs in a browser too), and the conversion of a decoded image into a model input, for
// `layerwise predict` and the plots. Reading a .png file is in files.ts.
// Format: https://www.w3.org/TR/png/ (signature, chunks with CRC-32, filtered scanlines).
import {
  expectOneOf,
  FileError,
  fmt,
  Tensor,
  ValueError,
  expectNumber,
  expectOptions,
  type FloatTensor,
} from '../tensor/index.js';
import { deflate, inflate, ZlibError } from './zlib.js';

/** A decoded image: 8-bit samples, row-major, channels interleaved (grey, grey+alpha, RGB, RGBA). */
export interface PngImage {
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  data: Uint8Array; // (height, width, channels)
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
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
function predictor(filter: number, a: number, b: number, c: number): number {
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

// ---------------------------------------------------------------------------------- encoding

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

// ---------------------------------------------------------------------------------- decoding

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

export interface ModelInputOptions {
  /**
   * Dark-on-light detection. MNIST digits are white on black; people draw black on white. With
   * 'auto' (the default for C = 1) the image is inverted (v -> 1 - v) when the mean of its
   * one-pixel border is above 0.5, i.e. when the background is light. Default false for C = 3.
   */
  invert?: 'auto' | boolean;
  /**
   * What transparent pixels are composited on: 'auto' (default) picks the opposite of the drawn
   * pixels (white when their alpha-weighted mean grey is below 0.5, else black), so strokes on a
   * transparent canvas stay visible whatever their colour.
   */
  background?: 'auto' | 'black' | 'white';
  /**
   * How the picture is fitted into H x W. 'stretch' (default): the whole image is resized to
   * H x W. 'digit': MNIST's own normalisation, for a drawn digit: crop to the bounding box of the
   * ink (values above 0.2 of the maximum, after inversion), pad it to a square, resize it to fit
   * a (20/28 H) x (20/28 W) box and place that box so the ink's centre of mass lands on pixel
   * (H/2, W/2), where MNIST digits have theirs (zero elsewhere). An image without ink falls back
   * to 'stretch'.
   */
  fit?: 'stretch' | 'digit';
}

/** C planes of (H, W) values. */
interface Planes {
  data: Float64Array[];
  H: number;
  W: number;
}

/**
 * Turns a decoded image into a model input: out (1, C, H, W) float32 in [0, 1] for
 * shape = [C, H, W], C = 1 or 3.
 * 1. samples v / 255; colour -> grey by 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, as PIL's
 *    convert('L')), grey -> RGB by repeating it;
 * 2. alpha composited on the background (see ModelInputOptions.background): a v + (1 - a) bg;
 * 3. optional inversion (ModelInputOptions.invert);
 * 4. resize to H x W (ModelInputOptions.fit), per axis by area averaging when shrinking and
 *    bilinear interpolation (half-pixel centres) when enlarging.
 */
export function toModelInput(
  img: PngImage,
  shape: readonly [number, number, number],
  opts: ModelInputOptions = {},
): FloatTensor {
  const fn = 'toModelInput';
  expectOptions(fn, opts, ['invert', 'background', 'fit']);
  const [C, H, W] = shape;
  const sizesOk = [H, W].every((d) => Number.isInteger(d) && d >= 1);
  if (!Array.isArray(shape) || shape.length !== 3 || (C !== 1 && C !== 3) || !sizesOk) {
    throw new ValueError(
      `${fn}: shape must be [C, H, W] with C = 1 or 3, got ${fmt(shape as readonly number[])}`,
    );
  }
  const invert = opts.invert ?? (C === 1 ? 'auto' : false),
    background = opts.background ?? 'auto';
  const fit = opts.fit ?? 'stretch';
  expectOneOf(fn, 'fit', fit, ['stretch', 'digit']);
  const planes = toPlanes(img, C, background);
  if (invert === true || (invert === 'auto' && borderMean(planes) > 0.5)) {
    for (const plane of planes.data) for (let i = 0; i < plane.length; i++) plane[i] = 1 - plane[i];
  }
  const fitted = (fit === 'digit' && fitDigit(planes, H, W)) || resizePlanes(planes, H, W);
  const out = Tensor.zeros([1, C, H, W]);
  fitted.data.forEach((plane, c) => {
    for (let i = 0; i < H * W; i++) out.data[c * H * W + i] = Math.min(1, Math.max(0, plane[i]));
  });
  return out;
}

/** Steps 1 and 2 of toModelInput: C planes in [0, 1], alpha composited on the background. */
function toPlanes(img: PngImage, C: number, background: 'auto' | 'black' | 'white'): Planes {
  const { width: W, height: H, channels, data } = img;
  const hasAlpha = channels === 2 || channels === 4,
    colour = channels >= 3,
    P = W * H;
  const planes = Array.from({ length: C }, () => new Float64Array(P));
  const alpha = new Float64Array(P).fill(1);
  let drawnSum = 0,
    drawnWeight = 0;
  for (let i = 0; i < P; i++) {
    const off = i * channels;
    const r = data[off] / 255,
      g = colour ? data[off + 1] / 255 : r,
      b = colour ? data[off + 2] / 255 : r;
    if (hasAlpha) alpha[i] = data[off + channels - 1] / 255;
    const grey = colour ? 0.299 * r + 0.587 * g + 0.114 * b : r;
    drawnSum += alpha[i] * grey;
    drawnWeight += alpha[i];
    if (C === 1) planes[0][i] = grey;
    else [planes[0][i], planes[1][i], planes[2][i]] = [r, g, b];
  }
  if (hasAlpha) {
    const auto = drawnWeight > 0 && drawnSum / drawnWeight < 0.5 ? 1 : 0;
    const bg = background === 'white' ? 1 : background === 'black' ? 0 : auto;
    for (const plane of planes)
      for (let i = 0; i < P; i++) plane[i] = alpha[i] * plane[i] + (1 - alpha[i]) * bg;
  }
  return { data: planes, H, W };
}

/** Every plane resized to Hout x Wout, separably: along the width, then along the height. */
function resizePlanes(p: Planes, Hout: number, Wout: number): Planes {
  const alongW = resizeWeights(p.W, Wout),
    alongH = resizeWeights(p.H, Hout);
  const data = p.data.map((plane) => {
    const tmp = new Float64Array(p.H * Wout); // (H, Wout)
    for (let y = 0; y < p.H; y++) {
      for (let x = 0; x < Wout; x++) {
        const { idx, w } = alongW[x];
        let s = 0;
        for (let k = 0; k < idx.length; k++) s += w[k] * plane[y * p.W + idx[k]];
        tmp[y * Wout + x] = s;
      }
    }
    const out = new Float64Array(Hout * Wout); // (Hout, Wout)
    for (let y = 0; y < Hout; y++) {
      const { idx, w } = alongH[y];
      for (let x = 0; x < Wout; x++) {
        let s = 0;
        for (let k = 0; k < idx.length; k++) s += w[k] * tmp[idx[k] * Wout + x];
        out[y * Wout + x] = s;
      }
    }
    return out;
  });
  return { data, H: Hout, W: Wout };
}

/** The 'digit' fit (see ModelInputOptions.fit), or null when the image has no ink. */
function fitDigit(p: Planes, H: number, W: number): Planes | null {
  const ink = new Float64Array(p.H * p.W); // mean over the planes
  for (const plane of p.data)
    for (let i = 0; i < ink.length; i++) ink[i] += plane[i] / p.data.length;
  let max = 0;
  for (const v of ink) max = Math.max(max, v);
  if (max <= 0) return null;
  let [y0, y1, x0, x1] = [p.H, -1, p.W, -1];
  for (let y = 0; y < p.H; y++) {
    for (let x = 0; x < p.W; x++) {
      if (ink[y * p.W + x] <= 0.2 * max) continue;
      [y0, y1, x0, x1] = [Math.min(y0, y), Math.max(y1, y), Math.min(x0, x), Math.max(x1, x)];
    }
  }
  // the square crop centred on the ink's bounding box, zero outside the picture
  const S = Math.max(y1 - y0 + 1, x1 - x0 + 1),
    top = y0 - Math.floor((S - (y1 - y0 + 1)) / 2);
  const left = x0 - Math.floor((S - (x1 - x0 + 1)) / 2);
  const crop = p.data.map((plane) => {
    const out = new Float64Array(S * S);
    for (let y = 0; y < S; y++) {
      const ys = top + y;
      if (ys < 0 || ys >= p.H) continue;
      for (let x = 0; x < S; x++) {
        const xs = left + x;
        if (xs >= 0 && xs < p.W) out[y * S + x] = plane[ys * p.W + xs];
      }
    }
    return out;
  });
  const boxH = Math.max(1, Math.round((H * 20) / 28)),
    boxW = Math.max(1, Math.round((W * 20) / 28));
  const box = resizePlanes({ data: crop, H: S, W: S }, boxH, boxW);
  // centre of mass of the box's ink -> the centre of the field
  let m = 0,
    my = 0,
    mx = 0;
  for (let y = 0; y < boxH; y++) {
    for (let x = 0; x < boxW; x++) {
      let v = 0;
      for (const plane of box.data) v += plane[y * boxW + x];
      m += v;
      my += v * y;
      mx += v * x;
    }
  }
  // MNIST's digits have their centre of mass at (14, 14) of 28 x 28 (pixel indices): H/2, W/2
  const dy = Math.round(H / 2 - my / m),
    dx = Math.round(W / 2 - mx / m);
  const data = box.data.map((plane) => {
    const out = new Float64Array(H * W);
    for (let y = 0; y < boxH; y++) {
      const yo = y + dy;
      if (yo < 0 || yo >= H) continue;
      for (let x = 0; x < boxW; x++) {
        const xo = x + dx;
        if (xo >= 0 && xo < W) out[yo * W + xo] = plane[y * boxW + x];
      }
    }
    return out;
  });
  return { data, H, W };
}

/** Mean over the one-pixel border of all planes (the background of a centred drawing). */
function borderMean({ data, H, W }: Planes): number {
  let s = 0,
    n = 0;
  for (const plane of data) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        if (y === 0 || y === H - 1 || x === 0 || x === W - 1) {
          s += plane[y * W + x];
          n++;
        }
      }
    }
  }
  return s / n;
}

/**
 * Interpolation weights along one axis, in -> out samples: area averaging when out <= in (each
 * output covers [j in/out, (j+1) in/out) of the input, weights = overlap / (in/out)); bilinear
 * with half-pixel centres when out > in (source coordinate (j + 0.5) in/out - 0.5, clamped).
 */
export function resizeWeights(inSize: number, outSize: number): { idx: number[]; w: number[] }[] {
  const ratio = inSize / outSize;
  return Array.from({ length: outSize }, (_, j) => {
    if (outSize <= inSize) {
      const lo = j * ratio,
        hi = (j + 1) * ratio,
        idx: number[] = [],
        w: number[] = [];
      for (let i = Math.floor(lo); i < Math.min(inSize, Math.ceil(hi)); i++) {
        const overlap = Math.min(hi, i + 1) - Math.max(lo, i);
        if (overlap > 1e-12) {
          idx.push(i);
          w.push(overlap / ratio);
        }
      }
      return { idx, w };
    }
    const src = Math.min(inSize - 1, Math.max(0, (j + 0.5) * ratio - 0.5));
    const i0 = Math.floor(src),
      i1 = Math.min(inSize - 1, i0 + 1),
      f = src - i0;
    return i1 === i0 || f === 0 ? { idx: [i0], w: [1] } : { idx: [i0, i1], w: [1 - f, f] };
  });
}
