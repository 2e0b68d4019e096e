// src/io/plot.ts: training curves and image grids as PNG files, with no dependencies: shapes and
// text (a built-in 5x7 bitmap font) are drawn into an RGB buffer, then encoded by encodePng.
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

// ---------------------------------------------------------------------------------- font

/**
 * ASCII 32..126, 5x7 pixels: 7 rows per glyph as 2 hex digits each, bit 4 = leftmost column.
 * Drawn for layerwise; characters outside the range print as '?'. The descenders g, p, q, y are
 * drawn 2 rows lower (their 7 rows are x-height body plus tail).
 */
const FONT_HEX =
  '00000000000000' +
  '04040404040004' +
  '0a0a0000000000' +
  '0a0a1f0a1f0a0a' +
  '040f140e051e04' + //  !"#$
  '18190204081303' +
  '0c12140815120d' +
  '04040000000000' +
  '02040808080402' +
  '08040202020408' + // %&'()
  '0004150e150400' +
  '0004041f040400' +
  '000000000c0408' +
  '0000001f000000' +
  '00000000000c0c' + // *+,-.
  '00010204081000' +
  '0e11131519110e' +
  '040c040404040e' +
  '0e11010204081f' +
  '1f02040201110e' + // /0123
  '02060a121f0202' +
  '1f101e0101110e' +
  '0608101e11110e' +
  '1f010204080808' +
  '0e11110e11110e' + // 45678
  '0e11110f01020c' +
  '000c0c000c0c00' +
  '000c0c000c0408' +
  '02040810080402' +
  '00001f001f0000' + // 9:;<=
  '08040201020408' +
  '0e110102040004' +
  '0e11010d15150e' +
  '0e11111f111111' +
  '1e11111e11111e' + // >?@AB
  '0e11101010110e' +
  '1c12111111121c' +
  '1f10101e10101f' +
  '1f10101e101010' +
  '0e11101711110f' + // CDEFG
  '1111111f111111' +
  '0e04040404040e' +
  '0702020202120c' +
  '11121418141211' +
  '1010101010101f' + // HIJKL
  '111b1515111111' +
  '11111915131111' +
  '0e11111111110e' +
  '1e11111e101010' +
  '0e11111115120d' + // MNOPQ
  '1e11111e141211' +
  '0f10100e01011e' +
  '1f040404040404' +
  '1111111111110e' +
  '11111111110a04' + // RSTUV
  '1111111515150a' +
  '11110a040a1111' +
  '11110a04040404' +
  '1f01020408101f' +
  '0e08080808080e' + // WXYZ[
  '00100804020100' +
  '0e02020202020e' +
  '040a1100000000' +
  '0000000000001f' +
  '08040200000000' + // \]^_`
  '00000e010f110f' +
  '1010161911111e' +
  '00000e1010110e' +
  '01010d1311110f' +
  '00000e111f100e' + // abcde
  '0609081c080808' +
  '0f11110f01010e' +
  '10101619111111' +
  '04000c0404040e' +
  '0200060202120c' + // fghij
  '10101214181412' +
  '0c04040404040e' +
  '00001a15151111' +
  '00001619111111' +
  '00000e1111110e' + // klmno
  '1e11111e101010' +
  '0f11110f010101' +
  '00001619101010' +
  '00000e100e011e' +
  '08081c08080906' + // pqrst
  '0000111111130d' +
  '00001111110a04' +
  '0000111115150a' +
  '0000110a040a11' +
  '1111110f01010e' + // uvwxy
  '00001f0204081f' +
  '02040408040402' +
  '04040404040404' +
  '08040402040408' +
  '00000815020000' + // z{|}~
  '';
const GLYPH_W = 5,
  GLYPH_H = 7,
  ADVANCE = 6,
  DESCENDERS = 'gpqy';

function glyphRows(ch: string): number[] {
  let code = ch.charCodeAt(0);
  if (code < 32 || code > 126) code = 63; // '?'
  const off = (code - 32) * 14;
  return Array.from({ length: GLYPH_H }, (_, r) =>
    parseInt(FONT_HEX.slice(off + 2 * r, off + 2 * r + 2), 16),
  );
}

// ---------------------------------------------------------------------------------- canvas

export type RGB = readonly [number, number, number];

/** An RGB raster with clipping; (0, 0) is the top-left pixel (src/vis draws on it too). */
export class Canvas {
  readonly data: Uint8Array;
  clip = { x0: 0, y0: 0, x1: 0, y1: 0 }; // drawing is limited to [x0, x1) x [y0, y1)

  constructor(
    readonly width: number,
    readonly height: number,
    background: RGB = [255, 255, 255],
  ) {
    this.data = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.data.set(background, 3 * i);
    this.resetClip();
  }

  resetClip(): void {
    this.clip = { x0: 0, y0: 0, x1: this.width, y1: this.height };
  }

  pixel(x: number, y: number, c: RGB): void {
    x = Math.round(x);
    y = Math.round(y);
    const { x0, y0, x1, y1 } = this.clip;
    if (x < x0 || x >= x1 || y < y0 || y >= y1) return;
    this.data.set(c, 3 * (y * this.width + x));
  }

  rect(x: number, y: number, w: number, h: number, c: RGB): void {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) this.pixel(x + i, y + j, c);
  }

  /** A line of the given thickness (a square brush stamped along Bresenham's steps). */
  line(xa: number, ya: number, xb: number, yb: number, c: RGB, thickness = 1): void {
    let x = Math.round(xa),
      y = Math.round(ya);
    const x2 = Math.round(xb),
      y2 = Math.round(yb);
    const dx = Math.abs(x2 - x),
      dy = -Math.abs(y2 - y),
      sx = x < x2 ? 1 : -1,
      sy = y < y2 ? 1 : -1;
    const lo = -Math.floor((thickness - 1) / 2);
    let err = dx + dy;
    for (;;) {
      this.rect(x + lo, y + lo, thickness, thickness, c);
      if (x === x2 && y === y2) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y += sy;
      }
    }
  }

  /** Text with its top-left corner at (x, y); `vertical` runs bottom-to-top (for a y label). */
  text(x: number, y: number, s: string, c: RGB, scale = 1, vertical = false): void {
    [...s].forEach((ch, k) => {
      const rows = glyphRows(ch),
        drop = DESCENDERS.includes(ch) ? 2 : 0;
      for (let row = 0; row < GLYPH_H; row++) {
        const r = row + drop;
        for (let col = 0; col < GLYPH_W; col++) {
          if (!(rows[row] & (16 >> col))) continue;
          const gx = k * ADVANCE + col; // along the text
          if (vertical) this.rect(x + r * scale, y - (gx + 1) * scale, scale, scale, c);
          else this.rect(x + gx * scale, y + r * scale, scale, scale, c);
        }
      }
    });
  }
}

/** Height in pixels of a line of text at scale 1 (descenders excluded). */
export const TEXT_HEIGHT = GLYPH_H;

/** Width in pixels of s drawn at `scale`. */
export const textWidth = (s: string, scale: number) =>
  s.length === 0 ? 0 : (s.length * ADVANCE - 1) * scale;

// ---------------------------------------------------------------------------------- line plots

/** Numbers to plot: an array, or a Float64Array / Float32Array (e.g. a long loss history). */
export type Values = readonly number[] | Float64Array | Float32Array;

/** One panel: series drawn against x (default: 0, 1, 2, ... per series). */
export interface PlotOptions {
  series: { name: string; y: Values; x?: Values }[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Logarithmic y axis; points with y <= 0 are skipped. */
  logY?: boolean;
}

/** Distinct series colours (the matplotlib "tab10" hues). */
export const PLOT_COLOURS: readonly RGB[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];
const BLACK: RGB = [0, 0, 0],
  GRID: RGB = [225, 225, 225],
  DARK: RGB = [60, 60, 60];

/**
 * Line plots as a PNG: one panel per PlotOptions, side by side (e.g. the loss curve and the
 * train/validation accuracy curves). Each panel has a title, axes with "nice" tick values
 * (1, 2 or 5 times a power of ten; powers of ten with logY), light grid lines, axis labels and a
 * legend naming each series in its colour. Non-finite values (and y <= 0 with logY) are skipped,
 * breaking the line. opts.width/height are the whole image (default 480 per panel x 360).
 */
export function linePlotPng(
  plots: PlotOptions | PlotOptions[],
  opts: { width?: number; height?: number } = {},
): Uint8Array {
  const fn = 'linePlotPng';
  expectOptions(fn, opts, ['width', 'height']);
  const list = Array.isArray(plots) ? plots : [plots];
  if (list.length === 0) throw new ValueError(`${fn}: plots is empty`);
  list.forEach((p, i) => checkPlot(fn, p, i));
  const width = opts.width ?? 480 * list.length,
    height = opts.height ?? 360;
  for (const [arg, v, min] of [
    ['width', width, 120 * list.length],
    ['height', height, 100],
  ] as const) {
    if (!Number.isInteger(v) || v < min || v > 16384)
      throw new ValueError(`${fn}: ${arg} must be an integer in [${min}, 16384], got ${v}`);
  }
  const canvas = new Canvas(width, height);
  const panelW = Math.floor(width / list.length);
  list.forEach((p, i) => drawPanel(canvas, p, i * panelW, 0, panelW, height));
  return encodePng(canvas.data, width, height, 3);
}

function checkPlot(fn: string, p: PlotOptions, i: number): void {
  if (p === null || typeof p !== 'object' || !Array.isArray(p.series))
    throw new TypeError(`${fn}: plots[${i}].series must be an array`);
  expectOptions(`${fn}: plots[${i}]`, p, ['series', 'title', 'xLabel', 'yLabel', 'logY']);
  p.series.forEach((s, j) => {
    const at = `plots[${i}].series[${j}]`;
    if (s === null || typeof s !== 'object' || typeof s.name !== 'string')
      throw new TypeError(`${fn}: ${at}.name must be a string`);
    if (!isNumbers(s.y)) throw new TypeError(`${fn}: ${at}.y must be an array of numbers`);
    if (s.x !== undefined) {
      if (!isNumbers(s.x)) throw new TypeError(`${fn}: ${at}.x must be an array of numbers`);
      if (s.x.length !== s.y.length)
        throw new ShapeError(`${fn}: ${at} has ${s.x.length} x values but ${s.y.length} y values`);
    }
  });
}

const isNumbers = (a: unknown): boolean =>
  (Array.isArray(a) || ArrayBuffer.isView(a)) &&
  Array.prototype.every.call(a, (v: unknown) => typeof v === 'number');

/** Tick positions between lo and hi: multiples of 1, 2 or 5 x 10^k, about `target` of them. */
export function niceTicks(lo: number, hi: number, target = 5): { ticks: number[]; step: number } {
  const raw = (hi - lo) / target,
    mag = 10 ** Math.floor(Math.log10(raw)),
    f = raw / mag;
  const step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9); t * step <= hi + step * 1e-9; t++)
    ticks.push(t * step + 0); // + 0: no -0
  return { ticks, step };
}

/**
 * A short tick label: exponent form (1e-4, 2e6) for tiny or huge values, else fixed decimals
 * fitting the tick step; without a step (log axes), the value to 3 significant digits.
 */
export function formatTick(v: number, step?: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return Number(v.toPrecision(3)).toExponential().replace('e+', 'e');
  if (step === undefined) return String(Number(v.toPrecision(3)));
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

function drawPanel(
  canvas: Canvas,
  p: PlotOptions,
  left: number,
  top: number,
  w: number,
  h: number,
): void {
  const s = w >= 700 && h >= 450 ? 2 : 1; // text scale
  const lineH = (GLYPH_H + 3) * s;
  const points = p.series.map((ser) =>
    Array.from(ser.y, (y, k) => [ser.x ? ser.x[k] : k, p.logY ? Math.log10(y) : y]).filter(
      ([x, y]) => Number.isFinite(x) && Number.isFinite(y),
    ),
  );
  let [xlo, xhi, ylo, yhi] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const pts of points) {
    for (const [x, y] of pts) {
      [xlo, xhi, ylo, yhi] = [
        Math.min(xlo, x),
        Math.max(xhi, x),
        Math.min(ylo, y),
        Math.max(yhi, y),
      ];
    }
  }
  if (xlo > xhi) [xlo, xhi, ylo, yhi] = [0, 1, 0, 1]; // nothing to draw
  if (xhi === xlo) [xlo, xhi] = [xlo - 1, xhi + 1];
  if (yhi === ylo)
    [ylo, yhi] = [ylo - (Math.abs(ylo) * 0.1 || 1), yhi + (Math.abs(yhi) * 0.1 || 1)];
  if (!p.logY) {
    // widen the y range to whole tick steps, so curves do not run along the frame
    const { step } = niceTicks(ylo, yhi);
    [ylo, yhi] = [Math.floor(ylo / step + 1e-9) * step, Math.ceil(yhi / step - 1e-9) * step];
  } else {
    const margin = 0.04 * (yhi - ylo);
    [ylo, yhi] = [ylo - margin, yhi + margin];
  }
  const xt = niceTicks(xlo, xhi),
    yt = p.logY ? logTicks(ylo, yhi) : niceTicks(ylo, yhi);
  const yLabels = yt.ticks.map((t) => (p.logY ? formatTick(10 ** t) : formatTick(t, yt.step)));
  // plot area
  const x0 =
    left +
    8 * s +
    (p.yLabel ? lineH : 0) +
    Math.max(...yLabels.map((l) => textWidth(l, s))) +
    6 * s;
  const x1 = left + w - 12 * s;
  const y0 = top + (p.title ? lineH + 8 * s : 12 * s);
  const y1 = top + h - (6 * s + lineH + (p.xLabel ? lineH : 0));
  if (x1 - x0 < 20 || y1 - y0 < 20) return;
  const px = (x: number) => x0 + ((x - xlo) / (xhi - xlo)) * (x1 - x0);
  const py = (y: number) => y1 - ((y - ylo) / (yhi - ylo)) * (y1 - y0);
  // grid, ticks and labels
  xt.ticks.forEach((t) => {
    const x = Math.round(px(t));
    canvas.line(x, y0, x, y1, GRID);
    canvas.line(x, y1, x, y1 + 3 * s, BLACK);
    const label = formatTick(t, xt.step);
    canvas.text(x - textWidth(label, s) / 2, y1 + 5 * s, label, DARK, s);
  });
  yt.ticks.forEach((t, k) => {
    const y = Math.round(py(t));
    canvas.line(x0, y, x1, y, GRID);
    canvas.line(x0 - 3 * s, y, x0, y, BLACK);
    canvas.text(
      x0 - 5 * s - textWidth(yLabels[k], s),
      y - Math.floor((GLYPH_H * s) / 2),
      yLabels[k],
      DARK,
      s,
    );
  });
  // series, clipped to the plot area
  canvas.clip = { x0, y0, x1: x1 + 1, y1: y1 + 1 };
  points.forEach((pts, i) => {
    const c = PLOT_COLOURS[i % PLOT_COLOURS.length];
    for (let k = 1; k < pts.length; k++) {
      canvas.line(px(pts[k - 1][0]), py(pts[k - 1][1]), px(pts[k][0]), py(pts[k][1]), c, 2 * s);
    }
    if (pts.length > 40) return; // markers only where points are few enough to see
    for (const [x, y] of pts)
      canvas.rect(Math.round(px(x)) - s - 1, Math.round(py(y)) - s - 1, 2 * s + 3, 2 * s + 3, c);
  });
  canvas.resetClip();
  // frame, title, axis labels
  canvas.line(x0, y0, x1, y0, BLACK);
  canvas.line(x0, y1, x1, y1, BLACK);
  canvas.line(x0, y0, x0, y1, BLACK);
  canvas.line(x1, y0, x1, y1, BLACK);
  if (p.title)
    canvas.text((x0 + x1) / 2 - textWidth(p.title, s) / 2, top + 6 * s, p.title, BLACK, s);
  if (p.xLabel)
    canvas.text((x0 + x1) / 2 - textWidth(p.xLabel, s) / 2, y1 + 5 * s + lineH, p.xLabel, BLACK, s);
  if (p.yLabel)
    canvas.text(left + 6 * s, (y0 + y1) / 2 + textWidth(p.yLabel, s) / 2, p.yLabel, BLACK, s, true);
  drawLegend(
    canvas,
    p.series.map((ser) => ser.name),
    x1,
    y0,
    s,
  );
}

/**
 * Ticks for a log axis, in log10 units: powers of ten (every k-th one over many decades); with
 * less than two of them in range, 1-2-5 multiples; failing that, linear nice ticks.
 */
function logTicks(lo: number, hi: number): { ticks: number[]; step: number } {
  const ticks: number[] = [];
  const every = Math.max(1, Math.ceil((hi - lo) / 8)); // at most about 8 decades labelled
  for (let k = Math.ceil(lo / every - 1e-9) * every; k <= hi + 1e-9; k += every) ticks.push(k);
  if (ticks.length >= 2) return { ticks, step: every };
  const fine: number[] = [];
  for (let k = Math.floor(lo) - 1; k <= Math.ceil(hi); k++) {
    for (const m of [1, 2, 5]) {
      const t = k + Math.log10(m);
      if (t >= lo - 1e-9 && t <= hi + 1e-9) fine.push(t);
    }
  }
  if (fine.length >= 3) return { ticks: fine, step: 1 };
  const linear = niceTicks(10 ** lo, 10 ** hi).ticks.filter((v) => v > 0);
  return { ticks: linear.map(Math.log10), step: 1 };
}

/** A boxed legend in the top-right corner of the plot area. */
function drawLegend(
  canvas: Canvas,
  names: string[],
  xRight: number,
  yTop: number,
  s: number,
): void {
  if (names.length === 0) return;
  const lineH = (GLYPH_H + 4) * s,
    swatch = 14 * s;
  const w = Math.max(...names.map((n) => textWidth(n, s))) + swatch + 12 * s,
    h = names.length * lineH + 6 * s;
  const x = xRight - w - 6 * s,
    y = yTop + 6 * s;
  canvas.rect(x, y, w, h, [255, 255, 255]);
  canvas.line(x, y, x + w, y, DARK);
  canvas.line(x, y + h, x + w, y + h, DARK);
  canvas.line(x, y, x, y + h, DARK);
  canvas.line(x + w, y, x + w, y + h, DARK);
  names.forEach((name, i) => {
    const ly = y + 4 * s + i * lineH,
      c = PLOT_COLOURS[i % PLOT_COLOURS.length];
    canvas.rect(x + 4 * s, ly + Math.floor((GLYPH_H * s) / 2) - s, swatch - 4 * s, 2 * s, c);
    canvas.text(x + swatch + 4 * s, ly, name, BLACK, s);
  });
}

// ---------------------------------------------------------------------------------- image grids

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
