// src/io/linePlot.ts: training curves as a PNG, with no dependencies: panels with "nice" ticks,
// grid lines, labels and a legend are drawn on a Canvas (canvas.ts), then encoded by encodePng.
import { ShapeError, ValueError, expectOptions } from '../tensor/index.js';
import { Canvas, TEXT_HEIGHT, textWidth, type RGB } from './canvas.js';
import { encodePng } from './png.js';

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
  const lineH = (TEXT_HEIGHT + 3) * s;
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
      y - Math.floor((TEXT_HEIGHT * s) / 2),
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
  const lineH = (TEXT_HEIGHT + 4) * s,
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
    canvas.rect(x + 4 * s, ly + Math.floor((TEXT_HEIGHT * s) / 2) - s, swatch - 4 * s, 2 * s, c);
    canvas.text(x + swatch + 4 * s, ly, name, BLACK, s);
  });
}
