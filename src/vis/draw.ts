// src/vis/draw.ts: the drawing helpers behind the pictures of src/vis/png.ts: colour maps, value
// scales, images and planes drawn large on a Canvas, frames, centred labels, colour bars, and
// the checks and options shared by the picture writers. Drawn on the raster and font of
// src/io/plot.ts.
import { Canvas, encodePng, TEXT_HEIGHT, textWidth, type RGB } from '../io/internal.js';
import { fmt, ShapeError, ValueError, type Tensor } from '../tensor/index.js';
// ---------------------------------------------------------------------------------- colours

/** A colour scale: t in [0, 1] => RGB, piecewise linear through evenly spaced anchors. */
export type ColourMap = (t: number) => RGB;

export function anchored(anchors: readonly RGB[]): ColourMap {
  return (t) => {
    const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (anchors.length - 1);
    const i = Math.min(anchors.length - 2, Math.floor(x)),
      f = x - i;
    const [a, b] = [anchors[i], anchors[i + 1]];
    return [0, 1, 2].map((k) => Math.round(a[k] + f * (b[k] - a[k]))) as unknown as RGB;
  };
}

/** Sequential, dark to bright (matplotlib's inferno at 0, 1/4, .., 1): magnitudes such as saliency. */
export const INFERNO: ColourMap = anchored([
  [0, 0, 4],
  [87, 16, 110],
  [188, 55, 84],
  [249, 142, 9],
  [252, 255, 164],
]);
/** Diverging, blue (negative) - white (0) - red (positive) (ColorBrewer RdBu): signed values. */
export const DIVERGING: ColourMap = anchored([
  [33, 102, 172],
  [103, 169, 207],
  [247, 247, 247],
  [239, 138, 98],
  [178, 24, 43],
]);
/** Grey levels, black to white: images. */
export const GREY: ColourMap = (t) => {
  const v = Math.round(255 * Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)));
  return [v, v, v];
};

export const WHITE: RGB = [255, 255, 255];
export const BLACK: RGB = [0, 0, 0];
export const DARK: RGB = [70, 70, 70];
export const LINE = TEXT_HEIGHT + 5; // a line of labels at text scale 1

// ---------------------------------------------------------------------------------- drawing

/** A value range and the colours it maps to. */
export interface Scale {
  readonly lo: number;
  readonly hi: number;
  readonly map: ColourMap;
}

/** Signed values around 0: the range [−m, m] with m = max |v| (1 when all are 0). */
export function symmetric(values: ArrayLike<number>, from = 0, to = values.length): Scale {
  let m = 0;
  for (let i = from; i < to; i++)
    if (Number.isFinite(values[i])) m = Math.max(m, Math.abs(values[i]));
  return { lo: -(m || 1), hi: m || 1, map: DIVERGING };
}

/** [min, max] of the values (a constant gets a unit-wide range). */
export function spanOf(values: ArrayLike<number>, from = 0, to = values.length, map = GREY): Scale {
  let lo = Infinity,
    hi = -Infinity;
  for (let i = from; i < to; i++) {
    if (!Number.isFinite(values[i])) continue;
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  if (!(hi > lo)) [lo, hi] = lo === Infinity ? [0, 1] : [lo - 0.5, lo + 0.5];
  return { lo, hi, map };
}

/**
 * Draws an (H, W) plane (values[off + h·W + w]) or, for C = 3 with a grey-free scale, an RGB
 * image at (x, y), s pixels per value.
 */
export function drawPlane(
  canvas: Canvas,
  x: number,
  y: number,
  values: ArrayLike<number>,
  off: number,
  H: number,
  W: number,
  s: number,
  scale: Scale,
): void {
  for (let h = 0; h < H; h++) {
    for (let w = 0; w < W; w++) {
      const t = (values[off + h * W + w] - scale.lo) / (scale.hi - scale.lo);
      canvas.rect(x + w * s, y + h * s, s, s, scale.map(t));
    }
  }
}

/** An image (C, H, W) at off: grey for C = 1, colour for C = 3, pixels in [lo, hi]. */
export function drawImage(
  canvas: Canvas,
  x: number,
  y: number,
  values: ArrayLike<number>,
  off: number,
  [C, H, W]: readonly number[],
  s: number,
  range: readonly [number, number],
): void {
  if (C !== 3)
    return drawPlane(canvas, x, y, values, off, H, W, s, { lo: range[0], hi: range[1], map: GREY });
  const level = (v: number) =>
    Math.round(255 * Math.min(1, Math.max(0, (v - range[0]) / (range[1] - range[0]))));
  for (let h = 0; h < H; h++) {
    for (let w = 0; w < W; w++) {
      const at = (c: number) => level(values[off + (c * H + h) * W + w]);
      canvas.rect(x + w * s, y + h * s, s, s, [at(0), at(1), at(2)]);
    }
  }
}

/** A thin frame just outside the box (x, y, w, h). */
export function frame(
  canvas: Canvas,
  x: number,
  y: number,
  w: number,
  h: number,
  c: RGB = DARK,
): void {
  canvas.line(x - 1, y - 1, x + w, y - 1, c);
  canvas.line(x - 1, y + h, x + w, y + h, c);
  canvas.line(x - 1, y - 1, x - 1, y + h, c);
  canvas.line(x + w, y - 1, x + w, y + h, c);
}

/** Text centred on cx. */
export function centred(canvas: Canvas, cx: number, y: number, s: string, c: RGB = BLACK): void {
  canvas.text(Math.round(cx - textWidth(s, 1) / 2), y, s, c);
}

/** A short number for a colour-bar label: 3 significant digits, exponent when tiny or huge. */
export function short(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-2 ? v.toExponential(1) : String(Number(v.toPrecision(3)));
}

/** A horizontal colour bar `w` wide at (x, y) with its end (and, when signed, middle) values and a caption. */
export function colourBar(
  canvas: Canvas,
  x: number,
  y: number,
  w: number,
  scale: Scale,
  caption: string,
): void {
  const h = 10;
  for (let i = 0; i < w; i++) canvas.rect(x + i, y, 1, h, scale.map(i / Math.max(1, w - 1)));
  frame(canvas, x, y, w, h);
  const lo = short(scale.lo),
    hi = short(scale.hi);
  canvas.text(x, y + h + 3, lo, DARK);
  canvas.text(x + w - textWidth(hi, 1), y + h + 3, hi, DARK);
  if (scale.lo < 0 && scale.hi > 0) centred(canvas, x + w / 2, y + h + 3, '0', DARK);
  centred(canvas, x + w / 2, y + h + 3 + LINE, caption, DARK);
}
export const BAR_HEIGHT = 10 + 3 + 2 * LINE;

export function pngOf(canvas: Canvas): Uint8Array {
  return encodePng(canvas.data, canvas.width, canvas.height, 3);
}

export function checkImages(fn: string, arg: string, t: Tensor): [number, number, number, number] {
  const [N, C, H, W] = t.shape;
  if (t.shape.length !== 4 || N === 0 || (C !== 1 && C !== 3))
    throw new ShapeError(
      `${fn}: ${arg} has shape ${fmt(t.shape)} but must be (N, C, H, W) with N >= 1 and C = 1 or 3`,
    );
  return [N, C, H, W];
}

export function checkScale(fn: string, s: number): void {
  if (!Number.isInteger(s) || s < 1 || s > 64)
    throw new ValueError(`${fn}: scale must be an integer in [1, 64], got ${s}`);
}

/** Options shared by the picture writers. */
export interface PictureOptions {
  /** Output pixels per image pixel; default so that a 28x28 image is drawn 112 pixels wide. */
  scale?: number;
  /** Cells per row; default min(N, 8) (or 4 pairs). */
  cols?: number;
  /** The valid pixel range of the images, default [0, 1]. */
  range?: readonly [number, number];
}

export const scaleFor = (H: number, W: number) =>
  Math.max(1, Math.min(16, Math.round(112 / Math.max(H, W))));
