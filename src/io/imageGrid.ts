// src/io/imageGrid.ts: a batch of images (N, C, H, W) tiled into one PNG grid, for looking at
// data, samples and filters. No Node imports.
import {
  expectOneOf,
  fmt,
  ShapeError,
  ValueError,
  expectFloat,
  expectOptions,
  type Tensor,
} from '../tensor/index.js';
import { encodePng } from './png.js';

export interface ImageGridOptions {
  /** Images per row. Default ceil(sqrt(N)). */
  cols?: number;
  /** Each image pixel becomes scale x scale pixels. Default 1. */
  scale?: number;
  /** White border between and around images, in output pixels. Default 1. */
  pad?: number;
  /**
   * How values map to 0..255: 'each' (default) stretches every image's own min..max (first-layer
   * filters), 'all' one min..max over all images, 'none' clamps to [0, 1] (images in [0, 1]).
   */
  normalize?: 'each' | 'all' | 'none';
}

/**
 * A grid of images as a PNG (first-layer filters, sample digits). images: (N, C, H, W) with
 * C = 1 (grey PNG) or 3 (RGB PNG), row-major over the grid. A constant image maps to mid-grey.
 */
export function imageGridPng(images: Tensor, opts: ImageGridOptions = {}): Uint8Array {
  const fn = 'imageGridPng';
  expectOptions(fn, opts, ['cols', 'scale', 'pad', 'normalize']);
  expectFloat(fn, 'images', images);
  const [N, C, H, W] = images.shape;
  if (images.shape.length !== 4 || (C !== 1 && C !== 3) || N === 0) {
    throw new ShapeError(
      `${fn}: images has shape ${fmt(images.shape)} but must be (N, C, H, W) with N >= 1 and C = 1 or 3`,
    );
  }
  const cols = opts.cols ?? Math.ceil(Math.sqrt(N)),
    scale = opts.scale ?? 1,
    pad = opts.pad ?? 1;
  const normalize = opts.normalize ?? 'each';
  for (const [arg, v, min] of [
    ['cols', cols, 1],
    ['scale', scale, 1],
    ['pad', pad, 0],
  ] as const) {
    if (!Number.isInteger(v) || v < min)
      throw new ValueError(`${fn}: ${arg} must be an integer >= ${min}, got ${v}`);
  }
  expectOneOf(fn, 'normalize', normalize, ['each', 'all', 'none']);
  const rows = Math.ceil(N / Math.min(cols, N)),
    nCols = Math.min(cols, N);
  const cellW = W * scale,
    cellH = H * scale;
  const outW = nCols * cellW + (nCols + 1) * pad,
    outH = rows * cellH + (rows + 1) * pad;
  if (outW * outH > 1 << 26)
    throw new ValueError(
      `${fn}: the grid would be ${outW}x${outH} pixels; use a smaller scale or fewer images`,
    );
  const out = new Uint8Array(outW * outH * C).fill(255);
  const D = C * H * W,
    x = images.data;
  const range = (from: number, to: number): [number, number] => {
    let lo = Infinity,
      hi = -Infinity;
    for (let i = from; i < to; i++) {
      if (Number.isFinite(x[i])) [lo, hi] = [Math.min(lo, x[i]), Math.max(hi, x[i])];
    }
    return [lo, hi];
  };
  const all = normalize === 'all' ? range(0, N * D) : null;
  for (let n = 0; n < N; n++) {
    const [lo, hi] = normalize === 'none' ? [0, 1] : (all ?? range(n * D, (n + 1) * D));
    const ox = pad + (n % nCols) * (cellW + pad),
      oy = pad + Math.floor(n / nCols) * (cellH + pad);
    for (let c = 0; c < C; c++) {
      for (let h = 0; h < H; h++) {
        for (let w = 0; w < W; w++) {
          const v = x[n * D + (c * H + h) * W + w];
          const clamped = Math.min(hi, Math.max(lo, v));
          const level = !(hi > lo)
            ? 128
            : Number.isFinite(v)
              ? Math.round((255 * (clamped - lo)) / (hi - lo))
              : 0;
          for (let dy = 0; dy < scale; dy++) {
            const row = (oy + h * scale + dy) * outW;
            for (let dx = 0; dx < scale; dx++) out[(row + ox + w * scale + dx) * C + c] = level;
          }
        }
      }
    }
  }
  return encodePng(out, outW, outH, C as 1 | 3);
}
