// src/cli/attentionPicture.ts: attention weights drawn over the images they look at, as PNG:
// the ViT's class token over the patches (one column per head), and the transformer captioner's
// cross-attention from each generated word to the digit slots (rows image x head, columns words).
import type { DigitCaptions } from '../data/index.js';
import { imageGridPng } from '../io/index.js';
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
  model.loss(x); // test mode; leaves the weights in the layers
  const weights = model.attentionWeights();
  const last = weights[weights.length - 1]; // (N, heads, P + 1, P + 1)
  const heads = last.shape[1],
    T = last.shape[2],
    Wp = W / p;
  const out = Tensor.zeros([N * (heads + 1), 3, H, W]);
  for (let n = 0; n < N; n++) {
    paintCell(out, n * (heads + 1), x, n, null);
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
  return imageGridPng(out, { cols: heads + 1, scale: SCALE, pad: 3, normalize: 'none' });
}

/**
 * The last decoder layer's cross-attention while captioning the first `count` held-out images
 * greedily: one row per image and head, one column per generated word (through <END>); each cell
 * is the image with the digit slots tinted by that word's weight on them.
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
    cols = T;
  const out = Tensor.full([N * heads * cols, 3, H, W], 1);
  for (let n = 0; n < N; n++) {
    let steps = 0;
    while (steps < T && (steps === 0 || words.data[n * words.shape[1] + steps - 1] !== model.endId))
      steps++;
    for (let h = 0; h < heads; h++)
      for (let t = 0; t < steps; t++) {
        const at = ((n * heads + h) * T + t) * L;
        const toSlots = stretched(w.data.subarray(at, at + L));
        const heat = new Float64Array(H * W);
        for (let i = 0; i < H; i++)
          for (let j = 0; j < W; j++)
            heat[i * W + j] = toSlots[Math.min(L - 1, Math.floor(j / slotW))];
        paintCell(out, (n * heads + h) * cols + t, x, n, heat);
      }
  }
  return imageGridPng(out, { cols, scale: 2, pad: 3, normalize: 'none' });
}
