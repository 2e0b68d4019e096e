// src/cli/attentionPicture.ts: attention weights drawn over the images they look at, as PNG:
// the ViT's class token over the patches (one column per head), and the transformer captioner's
// cross-attention from each generated word to the digit slots (rows image x head, columns words).
import { DIGIT_VOCABULARY, type DigitCaptions } from '../data/index.js';
import { encodePng } from '../io/index.js';
import { Canvas, TEXT_HEIGHT, textWidth, type RGB } from '../io/internal.js';
import type { CaptioningTransformer, VisionTransformer } from '../models/index.js';
import { Tensor, type FloatTensor } from '../tensor/index.js';

const SCALE = 3;

/**
 * Writes image m (one channel of x (N, C, H, W), min..max stretched to 0..1) into cell `cell` of
 * out (cells, 3, H, W), tinted red where heat (H·W values in [0, 1]) is high; no heat: grey.
 */
function paintCell(
  out: FloatTensor,
  cell: number,
  x: FloatTensor,
  m: number,
  heat: ArrayLike<number> | null,
): void {
  const [, C, H, W] = x.shape,
    plane = H * W,
    at = m * C * plane;
  let lo = Infinity,
    hi = -Infinity;
  for (let i = 0; i < plane; i++)
    [lo, hi] = [Math.min(lo, x.data[at + i]), Math.max(hi, x.data[at + i])];
  const span = hi > lo ? hi - lo : 1;
  for (let i = 0; i < plane; i++) {
    const v = (x.data[at + i] - lo) / span,
      a = heat === null ? 0 : heat[i];
    const base = 0.1 + 0.55 * v;
    out.data[(cell * 3 + 0) * plane + i] = Math.min(1, base + 0.9 * a);
    out.data[(cell * 3 + 1) * plane + i] = Math.min(1, base + 0.2 * a);
    out.data[(cell * 3 + 2) * plane + i] = base * (1 - 0.7 * a);
  }
}

const PAD = 3,
  INK: RGB = [0, 0, 0];

/** The tint of paintCell on a mid-grey pixel at weight a in [0, 1], as 0..255 RGB. */
function tint(a: number): RGB {
  const base = 0.1 + 0.55 * 0.5;
  const c = [Math.min(1, base + 0.9 * a), Math.min(1, base + 0.2 * a), base * (1 - 0.7 * a)];
  return [Math.round(255 * c[0]), Math.round(255 * c[1]), Math.round(255 * c[2])];
}

/**
 * cells (n, 3, H, W) in [0, 1] as a PNG grid of `cols` columns, each cell scaled up and with its
 * label above it, a title line on top and a colour scale (weight 0 .. the map's largest) below.
 */
export function labelledGridPng(
  cells: FloatTensor,
  cols: number,
  scale: number,
  labels: readonly string[],
  title: string,
): Uint8Array {
  const [n, , H, W] = cells.shape,
    rows = Math.ceil(n / cols),
    cw = W * scale,
    ch = H * scale + TEXT_HEIGHT + 4,
    top = TEXT_HEIGHT + 2 * PAD,
    barH = 2 * TEXT_HEIGHT + 3 * PAD;
  const width = Math.max(cols * (cw + PAD) + PAD, textWidth(title, 1) + 2 * PAD, 140),
    height = top + rows * (ch + PAD) + barH;
  const cv = new Canvas(width, height);
  cv.text(PAD, PAD, title, INK);
  const plane = H * W;
  for (let c = 0; c < n; c++) {
    const x0 = PAD + (c % cols) * (cw + PAD),
      y0 = top + Math.floor(c / cols) * (ch + PAD);
    cv.text(x0, y0, (labels[c] ?? '').slice(0, Math.floor(cw / 6)), INK);
    for (let i = 0; i < plane; i++) {
      const at = c * 3 * plane + i;
      const rgb: RGB = [0, 1, 2].map((k) =>
        Math.round(255 * Math.min(1, Math.max(0, cells.data[at + k * plane]))),
      ) as unknown as RGB;
      cv.rect(
        x0 + (i % W) * scale,
        y0 + TEXT_HEIGHT + 4 + Math.floor(i / W) * scale,
        scale,
        scale,
        rgb,
      );
    }
  }
  const by = height - barH + PAD,
    bw = 100;
  for (let i = 0; i < bw; i++) cv.rect(PAD + i, by, 1, TEXT_HEIGHT, tint(i / (bw - 1)));
  cv.text(PAD, by + TEXT_HEIGHT + PAD, '0', INK);
  cv.text(PAD + bw - textWidth('max', 1), by + TEXT_HEIGHT + PAD, 'max', INK);
  cv.text(PAD + bw + 2 * PAD, by, "weight / the map's largest", INK);
  return encodePng(cv.data, width, height, 3);
}

/** Weights (n values) stretched so that the largest is 1. */
function stretched(w: ArrayLike<number>): number[] {
  const max = Math.max(1e-12, ...Array.from(w));
  return Array.from(w, (v) => v / max);
}

/**
 * The last layer's attention from the class token to each patch, per head, for `count` evenly
 * spaced images of X: one row per image, the image first, then one column per head (each map
 * stretched so that its largest weight is full red).
 */
export function vitAttentionPng(
  model: VisionTransformer,
  X: FloatTensor,
  count: number,
  y: ArrayLike<number> | null = null,
): Uint8Array {
  const N = Math.min(count, X.shape[0]),
    [C, H, W] = model.inputDim,
    p = model.patchSize;
  // evenly spaced images (a split may be sorted by class)
  const x = Tensor.zeros([N, C, H, W], X.dtype === 'float64' ? 'float64' : 'float32'),
    D = C * H * W,
    stride = Math.floor(X.shape[0] / N);
  for (let n = 0; n < N; n++)
    x.data.set(X.data.subarray(n * stride * D, (n * stride + 1) * D), n * D);
  const scores = model.loss(x) as FloatTensor; // test mode; leaves the weights in the layers
  const classes = scores.shape[1],
    labels: string[] = [];
  const weights = model.attentionWeights();
  const last = weights[weights.length - 1]; // (N, heads, P + 1, P + 1)
  const heads = last.shape[1],
    T = last.shape[2],
    Wp = W / p;
  const out = Tensor.zeros([N * (heads + 1), 3, H, W]);
  for (let n = 0; n < N; n++) {
    paintCell(out, n * (heads + 1), x, n, null);
    const row = Array.from(scores.data.subarray(n * classes, (n + 1) * classes)),
      pred = row.indexOf(Math.max(...row));
    labels.push(y === null ? `pred ${pred}` : `${y[n * stride]}->${pred}`);
    for (let h = 0; h < heads; h++) labels.push(`head ${h}`);
    for (let h = 0; h < heads; h++) {
      const row = ((n * heads + h) * T + 0) * T; // the class token's row
      const toPatches = stretched(last.data.subarray(row + 1, row + T));
      const heat = new Float64Array(H * W);
      for (let i = 0; i < H; i++)
        for (let j = 0; j < W; j++)
          heat[i * W + j] = toPatches[Math.floor(i / p) * Wp + Math.floor(j / p)];
      paintCell(out, n * (heads + 1) + h + 1, x, n, heat);
    }
  }
  const title = 'ViT: class token -> patches, last layer (true->predicted)';
  return labelledGridPng(out, heads + 1, SCALE, labels, title);
}

/**
 * The last decoder layer's cross-attention while captioning the first `count` held-out images
 * greedily: one row per image and head, one column per generated word (through <END>); each cell
 * is the image with the digit slots tinted by that word's weight on them. A last, blank column
 * carries the true digits on each image's first row.
 */
export function captionAttentionPng(
  model: CaptioningTransformer,
  features: FloatTensor,
  composed: DigitCaptions,
  count: number,
): Uint8Array {
  const N = Math.min(count, features.shape[0]),
    [, L, K] = features.shape,
    images = composed.images,
    [, , H, W] = images.shape,
    slotW = W / L;
  const f = new Tensor(features.data.slice(0, N * L * K), [N, L, K]) as FloatTensor;
  const x = new Tensor(images.data.slice(0, N * H * W), [N, 1, H, W]) as FloatTensor;
  const words = model.sample(f); // the last forward saw every generated step
  const all = model.crossAttentionWeights();
  const w = all[all.length - 1]; // (N, heads, T, L)
  const [, heads, T] = w.shape,
    cols = T + 1; // T words, then the label column
  const out = Tensor.full([N * heads * cols, 3, H, W], 1),
    labels: string[] = [],
    T1 = words.shape[1];
  const wordOf = (id: number) => DIGIT_VOCABULARY[id] ?? String(id);
  for (let n = 0; n < N; n++) {
    let steps = 0;
    while (steps < T && (steps === 0 || words.data[n * words.shape[1] + steps - 1] !== model.endId))
      steps++;
    const truth = composed.digits[n].join(' ');
    for (let h = 0; h < heads; h++)
      for (let t = 0; t < cols; t++) {
        const word = t < steps ? wordOf(words.data[n * T1 + t]) : '';
        if (t === T) labels.push(h === 0 ? `[${truth}]` : '');
        else labels.push(t === 0 ? `h${h} ${word}` : word);
        if (t >= steps) continue;
        const at = ((n * heads + h) * T + t) * L;
        const toSlots = stretched(w.data.subarray(at, at + L));
        const heat = new Float64Array(H * W);
        for (let i = 0; i < H; i++)
          for (let j = 0; j < W; j++)
            heat[i * W + j] = toSlots[Math.min(L - 1, Math.floor(j / slotW))];
        paintCell(out, (n * heads + h) * cols + t, x, n, heat);
      }
  }
  const title = 'caption: cross-attention word -> digit slots (rows image x head h, [true digits])';
  return labelledGridPng(out, cols, 2, labels, title);
}
