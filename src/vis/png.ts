// src/vis/png.ts: the pictures of src/vis as PNG bytes (no file access; the CLI writes them):
// saliency maps beside their images, fooling images with their change, class visualisations,
// per-layer activations, and the first layer's filters with its activations. Images are drawn
// large (scale pixels per value), every panel is labelled, and every colour scale is shown with
// its numbers. The colour maps and drawing helpers are in src/vis/draw.ts.
import { Canvas, textWidth } from '../io/internal.js';
import { fmt, ShapeError, ValueError, type FloatTensor } from '../tensor/index.js';
import type { Activations } from './gradients.js';
import type { FoolingResult } from './fooling.js';
import type { ClassVisualization } from './classVisualization.js';
import {
  BAR_HEIGHT,
  BLACK,
  DARK,
  GREY,
  INFERNO,
  LINE,
  WHITE,
  centred,
  checkImages,
  checkScale,
  colourBar,
  drawImage,
  drawPlane,
  frame,
  pngOf,
  scaleFor,
  short,
  spanOf,
  symmetric,
  type PictureOptions,
} from './draw.js';
// ---------------------------------------------------------------------------------- saliency

export interface SaliencyPictureOptions extends PictureOptions {
  /** The line above the grid (default: the plain map's definition). */
  title?: string;
}

/**
 * Each image beside its saliency map (inferno, 0 to that map's largest value), in a grid of
 * pairs with a label above each pair.   images: (N, C, H, W) pixels, maps: (N, H, W)
 */
export function saliencyPng(
  images: FloatTensor,
  maps: FloatTensor,
  labels: readonly string[] = [],
  opts: SaliencyPictureOptions = {},
): Uint8Array {
  const fn = 'saliencyPng';
  const [N, C, H, W] = checkImages(fn, 'images', images);
  if (maps.shape.length !== 3 || maps.shape[0] !== N || maps.shape[1] !== H || maps.shape[2] !== W)
    throw new ShapeError(
      `${fn}: maps has shape ${fmt(maps.shape)} but the images need ${fmt([N, H, W])}`,
    );
  const s = opts.scale ?? scaleFor(H, W);
  checkScale(fn, s);
  const cols = Math.min(N, opts.cols ?? 4),
    rows = Math.ceil(N / cols);
  const iw = W * s,
    ih = H * s,
    gap = 6,
    pad = 14;
  const cellW = 2 * iw + gap + pad,
    cellH = LINE + ih + pad;
  const width = Math.max(cols * cellW + pad, 260),
    height = LINE + 6 + rows * cellH + BAR_HEIGHT + pad;
  const canvas = new Canvas(width, height, WHITE);
  centred(
    canvas,
    width / 2,
    4,
    opts.title ?? 'saliency: max over channels of |d score(class) / d pixel|',
  );
  for (let n = 0; n < N; n++) {
    const x = pad + (n % cols) * cellW,
      y = LINE + 6 + Math.floor(n / cols) * cellH;
    if (labels[n] !== undefined) canvas.text(x, y, labels[n], BLACK);
    drawImage(canvas, x, y + LINE, images.data, n * C * H * W, [C, H, W], s, opts.range ?? [0, 1]);
    const sc = { ...spanOf(maps.data, n * H * W, (n + 1) * H * W, INFERNO), lo: 0 };
    drawPlane(canvas, x + iw + gap, y + LINE, maps.data, n * H * W, H, W, s, sc);
    frame(canvas, x, y + LINE, iw, ih);
    frame(canvas, x + iw + gap, y + LINE, iw, ih);
  }
  const barW = Math.min(width - 2 * pad, 240);
  colourBar(
    canvas,
    (width - barW) / 2,
    height - BAR_HEIGHT - 4,
    barW,
    { lo: 0, hi: 1, map: INFERNO },
    'saliency / its largest value in the image',
  );
  return pngOf(canvas);
}

// ---------------------------------------------------------------------------------- fooling

/**
 * One row per image: the original, the fooling image, and their difference (diverging colours,
 * one symmetric scale for all rows, shown on a bar), each labelled with its class.
 * originals: (N, C, H, W) pixels; results[n].image the changed image n.
 */
export function foolingPng(
  originals: FloatTensor,
  results: readonly FoolingResult[],
  classNames: readonly string[],
  opts: PictureOptions = {},
): Uint8Array {
  const fn = 'foolingPng';
  const [N, C, H, W] = checkImages(fn, 'originals', originals);
  const D = C * H * W;
  if (results.length !== N || results.some((r) => r.image.size !== D))
    throw new ShapeError(`${fn}: results must hold ${N} images of ${D} pixels, one per original`);
  const s = opts.scale ?? scaleFor(H, W);
  checkScale(fn, s);
  const cols = Math.min(N, opts.cols ?? 4),
    rows = Math.ceil(N / cols);
  const iw = W * s,
    ih = H * s,
    gap = 6,
    pad = 14;
  const diff = new Float64Array(N * D);
  results.forEach((r, n) => {
    for (let j = 0; j < D; j++) diff[n * D + j] = r.image.data[j] - originals.data[n * D + j];
  });
  const dScale = symmetric(diff);
  const cellW = 3 * iw + 2 * gap + pad,
    cellH = 2 * LINE + ih + pad;
  const width = Math.max(cols * cellW + pad, 300),
    height = LINE + 6 + rows * cellH + BAR_HEIGHT + pad;
  const canvas = new Canvas(width, height, WHITE);
  const name = (k: number) => classNames[k] ?? String(k);
  centred(canvas, width / 2, 4, 'original | fooling image | change');
  results.forEach((r, n) => {
    const x = pad + (n % cols) * cellW,
      y = LINE + 6 + Math.floor(n / cols) * cellH;
    canvas.text(
      x,
      y,
      `${name(r.before)} -> ${name(r.after)}${r.fooled ? '' : ' (not fooled)'}`,
      BLACK,
    );
    canvas.text(
      x,
      y + LINE,
      `${r.steps} steps, Linf ${r.linf.toFixed(2)}, L2 ${r.l2.toFixed(2)}`,
      DARK,
    );
    const top = y + 2 * LINE;
    drawImage(canvas, x, top, originals.data, n * D, [C, H, W], s, opts.range ?? [0, 1]);
    drawImage(canvas, x + iw + gap, top, r.image.data, 0, [C, H, W], s, opts.range ?? [0, 1]);
    drawPlane(canvas, x + 2 * (iw + gap), top, diff, n * D, H, W, s, dScale); // channel 0 of the change
    for (let k = 0; k < 3; k++) frame(canvas, x + k * (iw + gap), top, iw, ih);
  });
  const barW = Math.min(width - 2 * pad, 240);
  colourBar(
    canvas,
    (width - barW) / 2,
    height - BAR_HEIGHT - 4,
    barW,
    dScale,
    'change of a pixel (channel 0)',
  );
  return pngOf(canvas);
}

// ---------------------------------------------------------------------------------- classes

/** The synthesised image of each class, labelled with the class and its score before and after. */
export function classesPng(
  results: readonly ClassVisualization[],
  classes: readonly number[],
  classNames: readonly string[],
  opts: PictureOptions = {},
): Uint8Array {
  const fn = 'classesPng';
  if (results.length === 0 || results.length !== classes.length)
    throw new ValueError(
      `${fn}: results (${results.length}) and classes (${classes.length}) must be as many, at least 1`,
    );
  const [, C, H, W] = checkImages(fn, 'results[0].image', results[0].image);
  const s = opts.scale ?? scaleFor(H, W);
  checkScale(fn, s);
  const N = results.length,
    cols = Math.min(N, opts.cols ?? 5),
    rows = Math.ceil(N / cols);
  const iw = W * s,
    ih = H * s,
    pad = 14;
  const cellW = Math.max(iw, textWidth('score -00.0 -> 00.0', 1)) + pad,
    cellH = 2 * LINE + ih + pad;
  const width = cols * cellW + pad,
    height = LINE + 6 + rows * cellH + pad;
  const canvas = new Canvas(width, height, WHITE);
  centred(canvas, width / 2, 4, 'class visualisation (pixels, black 0 - white 1)');
  results.forEach((r, n) => {
    const x = pad + (n % cols) * cellW,
      y = LINE + 6 + Math.floor(n / cols) * cellH;
    const first = r.scores[0],
      last = r.scores[r.scores.length - 1];
    canvas.text(x, y, `class ${classNames[classes[n]] ?? classes[n]}`, BLACK);
    canvas.text(x, y + LINE, `score ${first.toFixed(1)} -> ${last.toFixed(1)}`, DARK);
    drawImage(canvas, x, y + 2 * LINE, r.image.data, 0, [C, H, W], s, opts.range ?? [0, 1]);
    frame(canvas, x, y + 2 * LINE, iw, ih);
  });
  return pngOf(canvas);
}

// ---------------------------------------------------------------------------------- activations

/**
 * Image n of an `activations` result: the input, then for each layer its output maps (a conv
 * layer's channels as tiles, a dense layer's units as one strip of cells; grey, per layer from
 * its min to its max) above the gradient of the chosen score at them (diverging, per layer).
 */
export function activationsPng(
  image: FloatTensor,
  acts: Activations,
  n = 0,
  labels: { classNames?: readonly string[]; range?: readonly [number, number] } = {},
): Uint8Array {
  const fn = 'activationsPng';
  const [, C, H, W] = checkImages(
    fn,
    'image',
    image.shape.length === 3 ? image.reshape([1, ...image.shape]) : image,
  );
  const N = acts.scores.shape[0];
  if (!Number.isInteger(n) || n < 0 || n >= N)
    throw new ValueError(`${fn}: n = ${n} is outside [0, ${N})`);
  const pad = 12,
    maxWidth = 1000,
    name = (k: number) => labels.classNames?.[k] ?? String(k);
  // lay out each layer first to know the height
  type Block = {
    title: string;
    out: FloatTensor;
    grad: FloatTensor;
    tiles: number;
    th: number;
    tw: number;
    s: number;
    perRow: number;
  };
  const blocks: Block[] = acts.layers.map((l) => {
    const per = l.out.size / l.out.shape[0];
    const spatial = l.out.shape.length === 4;
    const [F, h, w] = spatial ? l.out.shape.slice(1) : [1, 1, per];
    const s = spatial
      ? Math.max(1, Math.min(6, Math.floor(56 / Math.max(h, w))))
      : Math.max(2, Math.min(12, Math.floor((maxWidth - 2 * pad) / per)));
    const tw = w * s,
      th = spatial ? h * s : 12;
    const perRow = spatial ? Math.max(1, Math.floor((maxWidth - 2 * pad + 4) / (tw + 4))) : 1;
    return {
      title: `${l.name}  ${fmt(l.out.shape.slice(1))}`,
      out: l.out,
      grad: l.grad,
      tiles: F,
      th,
      tw,
      s,
      perRow,
    };
  });
  const blockHeight = (b: Block) => {
    const rows = Math.ceil(b.tiles / b.perRow);
    return LINE + 2 * (rows * (b.th + 4)) + LINE + 8;
  };
  const is = Math.max(1, Math.round(84 / Math.max(H, W)));
  const top = LINE + 6 + H * is + LINE + pad;
  const height = top + blocks.reduce((a, b) => a + blockHeight(b), 0) + pad;
  const canvas = new Canvas(maxWidth, height, WHITE);
  const target = acts.target[n];
  canvas.text(
    pad,
    4,
    `activations (grey: layer output, min-max per layer) and d score(${name(target)}) / d output (blue - | red +)`,
    BLACK,
  );
  drawImage(
    canvas,
    pad,
    LINE + 6,
    image.data,
    (image.shape.length === 3 ? 0 : n) * C * H * W,
    [C, H, W],
    is,
    labels.range ?? [0, 1],
  );
  frame(canvas, pad, LINE + 6, W * is, H * is);
  const scores = acts.scores.data,
    K = acts.scores.shape[1];
  let pred = 0;
  for (let k = 1; k < K; k++) if (scores[n * K + k] > scores[n * K + pred]) pred = k;
  canvas.text(
    pad + W * is + 10,
    LINE + 10,
    `input; predicted ${name(pred)}, score ${scores[n * K + pred].toFixed(2)}`,
    DARK,
  );
  let y = top;
  for (const b of blocks) {
    canvas.text(pad, y, b.title, BLACK);
    y += LINE;
    const per = b.out.size / b.out.shape[0],
      plane = per / b.tiles;
    const outScale = spanOf(b.out.data, n * per, (n + 1) * per);
    const gradScale = symmetric(b.grad.data, n * per, (n + 1) * per);
    const rows = Math.ceil(b.tiles / b.perRow);
    for (const [k, data, sc] of [
      [0, b.out.data, outScale],
      [1, b.grad.data, gradScale],
    ] as const) {
      for (let f = 0; f < b.tiles; f++) {
        const x = pad + (f % b.perRow) * (b.tw + 4),
          ty = y + k * rows * (b.th + 4) + Math.floor(f / b.perRow) * (b.th + 4);
        const h = b.out.shape.length === 4 ? b.th / b.s : 1;
        if (b.out.shape.length === 4)
          drawPlane(canvas, x, ty, data, n * per + f * plane, h, plane / h, b.s, sc);
        else
          for (let j = 0; j < per; j++)
            canvas.rect(
              x + j * b.s,
              ty,
              b.s,
              b.th,
              sc.map((data[n * per + j] - sc.lo) / (sc.hi - sc.lo)),
            );
      }
    }
    y += 2 * rows * (b.th + 4);
    canvas.text(
      pad,
      y,
      `output ${short(outScale.lo)} .. ${short(outScale.hi)};  gradient +-${short(gradScale.hi)}`,
      DARK,
    );
    y += LINE + 8;
  }
  return pngOf(canvas);
}

// ---------------------------------------------------------------------------------- filters

/**
 * The first layer's filters (F, C, HH, WW) large, on one symmetric diverging scale shared by all
 * (shown on a bar), each labelled with its index; C = 3 filters are drawn as colour images
 * scaled together. With `samples` (S, C, H, W) and their first-layer outputs `maps` (S, F, H', W'),
 * a row per sample below: the image, then its F maps (grey, one min-max scale per sample).
 */
export function filtersPng(
  filters: FloatTensor,
  samples?: {
    images: FloatTensor;
    maps: FloatTensor;
    labels?: readonly string[];
    /** The images' value range for drawing, default [0, 1]. */
    range?: readonly [number, number];
  },
): Uint8Array {
  const fn = 'filtersPng';
  const [F, C, HH, WW] = filters.shape;
  if (filters.shape.length !== 4 || F === 0)
    throw new ShapeError(
      `${fn}: filters has shape ${fmt(filters.shape)} but must be (F, C, HH, WW)`,
    );
  const s = Math.max(2, Math.min(16, Math.floor(64 / Math.max(HH, WW)))),
    pad = 14,
    gap = 8;
  const perRow = Math.min(F, 16);
  const fw = WW * s,
    fh = HH * s;
  const filterRows = Math.ceil(F / perRow);
  const wScale = symmetric(filters.data);
  let mapS = 0,
    mapW = 0,
    mapH = 0,
    S = 0;
  if (samples) {
    const [Sn, Fm, Hm, Wm] = samples.maps.shape;
    if (samples.maps.shape.length !== 4 || Fm !== F || samples.images.shape[0] !== Sn)
      throw new ShapeError(
        `${fn}: maps has shape ${fmt(samples.maps.shape)} but must be (S, ${F}, H, W) for ${samples.images.shape[0]} images`,
      );
    S = Sn;
    mapS = Math.max(1, Math.min(4, Math.floor(Math.max(fw, 40) / Math.max(Hm, Wm))));
    [mapH, mapW] = [Hm, Wm];
  }
  const cellW = Math.max(fw, mapW * mapS, textWidth('00', 1)) + gap;
  const imgS = samples ? Math.max(1, Math.floor((mapH * mapS) / samples.images.shape[2])) : 1;
  const left =
    pad + (samples ? Math.max(samples.images.shape[3] * imgS, textWidth('input', 1)) + gap : 0);
  const width = Math.max(left + perRow * cellW + pad, 320);
  const filtersTop = LINE + 6;
  const samplesTop = filtersTop + filterRows * (LINE + fh + gap) + BAR_HEIGHT + pad;
  const height = samplesTop + (samples ? LINE + S * (mapH * mapS + gap + LINE) : 0) + pad;
  const canvas = new Canvas(width, height, WHITE);
  canvas.text(pad, 4, `first layer: ${F} filters ${C}x${HH}x${WW}, one colour scale`, BLACK);
  const D = C * HH * WW;
  for (let f = 0; f < F; f++) {
    const x = left + (f % perRow) * cellW,
      y = filtersTop + Math.floor(f / perRow) * (LINE + fh + gap);
    canvas.text(x, y, String(f), DARK);
    if (C === 3) {
      const m = wScale.hi;
      drawImage(canvas, x, y + LINE, filters.data, f * D, [3, HH, WW], s, [-m, m]);
    } else drawPlane(canvas, x, y + LINE, filters.data, f * D, HH, WW, s, wScale);
    frame(canvas, x, y + LINE, fw, fh);
  }
  const barW = Math.min(width - 2 * pad, 260);
  const barY = filtersTop + filterRows * (LINE + fh + gap);
  colourBar(
    canvas,
    (width - barW) / 2,
    barY,
    barW,
    C === 3 ? { ...wScale, map: GREY } : wScale,
    C === 3 ? 'weight (each channel, grey = 0)' : 'weight',
  );
  if (samples) {
    const { images, maps } = samples;
    const [, Ci, Hi, Wi] = images.shape;
    canvas.text(
      pad,
      samplesTop,
      "test images and the first layer's output for each filter (grey, min-max per image)",
      BLACK,
    );
    const per = F * mapH * mapW;
    for (let n = 0; n < S; n++) {
      const y = samplesTop + LINE + n * (mapH * mapS + gap + LINE);
      canvas.text(pad, y, samples.labels?.[n] ?? `image ${n}`, DARK);
      drawImage(
        canvas,
        pad,
        y + LINE,
        images.data,
        n * Ci * Hi * Wi,
        [Ci, Hi, Wi],
        imgS,
        samples.range ?? [0, 1],
      );
      frame(canvas, pad, y + LINE, Wi * imgS, Hi * imgS);
      const sc = spanOf(maps.data, n * per, (n + 1) * per);
      for (let f = 0; f < F && f < perRow * filterRows; f++) {
        if (f >= perRow) break; // one row of maps per image: the first perRow filters
        const x = left + f * cellW;
        drawPlane(canvas, x, y + LINE, maps.data, n * per + f * mapH * mapW, mapH, mapW, mapS, sc);
        frame(canvas, x, y + LINE, mapW * mapS, mapH * mapS);
      }
    }
  }
  return pngOf(canvas);
}
