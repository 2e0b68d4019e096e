// src/vis/fooling.ts: fooling images (Szegedy et al. 2014, https://arxiv.org/abs/1312.6199):
// gradient ascent on one class score, in pixel space, until the model predicts that class.
import {
  argmaxRows,
  expectNumber,
  expectOptions,
  fmt,
  ShapeError,
  labelsOf,
  Tensor,
  type FloatTensor,
  type Labels,
} from '../tensor/index.js';
import { gatherRows } from '../data/internal.js';
import type { Classifier } from '../nn/index.js';
import { classifierOf, expectClass, oneHot, pixelGradient } from './gradients.js';
import { PIXEL_OPTIONS, PixelSpace, pixelsOf, type PixelOptions } from './pixels.js';

export interface FoolingOptions extends PixelOptions {
  /** The L2 length of each step in pixel units, default 0.1 (a 28x28 digit changes by about 1.5-2 in L2 before it flips). */
  learningRate?: number;
  /** Give up after this many steps, default 100. */
  maxSteps?: number;
}

/** One fooled (or not) image. */
export interface FoolingResult {
  /** The changed image, pixels shaped like the input, float64. */
  readonly image: FloatTensor;
  /** The model's class for the original image and for the changed one. */
  readonly before: number;
  readonly after: number;
  /** True when the model predicts the target class for the changed image. */
  readonly fooled: boolean;
  /** Gradient steps taken (0 when the image already was of the target class). */
  readonly steps: number;
  /** Size of the change in pixels: max |Δ| and sqrt(Σ Δ²). */
  readonly linf: number;
  readonly l2: number;
}

const FOOLING_OPTIONS = [...PIXEL_OPTIONS, 'learningRate', 'maxSteps'] as const;

/**
 * A fooling image: x (C, H, W) or (1, C, H, W) in pixels, changed by gradient ascent on the
 * test-mode score of targetClass until the model predicts it (or maxSteps):
 *
 *   g = ∂ score_target / ∂ x, with components that would push a pixel past the valid range
 *       zeroed where the pixel already is at that bound;
 *   x ← clip(x + learningRate · g / ‖g‖₂)
 *
 * The preprocessing in opts is applied before the network, so the image stays valid pixels.
 */
export function foolingImage(
  model: Classifier,
  x: FloatTensor,
  targetClass: number,
  opts: FoolingOptions = {},
): FoolingResult {
  const fn = 'foolingImage';
  const single = x.shape.length === 3;
  const X = single ? pixelsOf(fn, 'x', x, 3).reshape([1, ...x.shape]) : pixelsOf(fn, 'x', x);
  if (X.shape[0] !== 1) {
    throw new ShapeError(
      `${fn}: x has shape ${fmt(x.shape)} but must be one image (C, H, W) or (1, C, H, W); foolingImages takes a batch`,
    );
  }
  const r = foolingImages(model, X, targetClass, opts, fn)[0];
  return single ? { ...r, image: r.image.reshape(x.shape) } : r;
}

/**
 * foolingImage for a batch X (N, C, H, W) of pixels: one target class for all, or one per image.
 * Each image stops when it is fooled; the result of each is what foolingImage gives it alone.
 */
export function foolingImages(
  model: Classifier,
  X: FloatTensor,
  targets: number | Labels,
  opts: FoolingOptions = {},
  fn = 'foolingImages',
): FoolingResult[] {
  const net = classifierOf(fn, model);
  expectOptions(fn, opts, FOOLING_OPTIONS);
  const { learningRate = 0.1, maxSteps = 100 } = opts;
  expectNumber(fn, 'learningRate', learningRate, { min: 0, minExclusive: true });
  expectNumber(fn, 'maxSteps', maxSteps, { min: 0, integer: true });
  const P = pixelsOf(fn, 'X', X);
  const N = P.shape[0],
    D = P.size / N;
  const space = PixelSpace.of(fn, P.shape.slice(1), opts);
  const original = P.clone();
  space.clip(P);
  let target: Int32Array = new Int32Array(N);
  const before = new Int32Array(N),
    after = new Int32Array(N),
    steps = new Int32Array(N);
  let active = Array.from({ length: N }, (_, n) => n);
  for (let step = 0; active.length > 0; step++) {
    const Pa = gatherRows(P, active);
    const { scores, dP } = pixelGradient(fn, net, space, Pa, (s) => {
      if (step === 0) target = checkTargets(fn, targets, N, s.shape[1]);
      return oneHot(
        s,
        active.map((n) => target[n]),
      );
    });
    const pred = argmaxRows(scores);
    const next: number[] = [];
    active.forEach((n, k) => {
      if (step === 0) before[n] = pred[k];
      after[n] = pred[k];
      if (pred[k] === target[n] || step === maxSteps) return;
      if (ascend(P, n * D, dP, k * D, D, space, learningRate)) {
        steps[n]++;
        next.push(n);
      }
    });
    active = next;
  }
  return Array.from({ length: N }, (_, n) => {
    const image = Tensor.zeros(P.shape.slice(1), 'float64');
    image.data.set(P.data.subarray(n * D, (n + 1) * D));
    const { linf, l2 } = change(original.data, P.data, n * D, D);
    const fooled = after[n] === target[n];
    return { image, before: before[n], after: after[n], fooled, steps: steps[n], linf, l2 };
  });
}

function checkTargets(fn: string, targets: number | Labels, N: number, C: number): Int32Array {
  if (typeof targets !== 'number') return Int32Array.from(labelsOf(fn, 'targets', targets, N, C));
  expectClass(fn, fn === 'foolingImage' ? 'targetClass' : 'targets', targets, C);
  return new Int32Array(N).fill(targets);
}

/**
 * One normalised ascent step on image n (D pixels at pOff) along g (at gOff), projected onto the
 * box [lo, hi]; false when no component can move (the image cannot change any further).
 */
function ascend(
  P: FloatTensor,
  pOff: number,
  dP: FloatTensor,
  gOff: number,
  D: number,
  space: PixelSpace,
  learningRate: number,
): boolean {
  const g = new Float64Array(D);
  let sq = 0;
  for (let j = 0; j < D; j++) {
    const p = P.data[pOff + j],
      v = dP.data[gOff + j];
    const blocked = (p <= space.lo && v < 0) || (p >= space.hi && v > 0);
    g[j] = blocked ? 0 : v;
    sq += g[j] * g[j];
  }
  if (!(sq > 0)) return false;
  const step = learningRate / Math.sqrt(sq);
  for (let j = 0; j < D; j++) {
    const p = P.data[pOff + j] + step * g[j];
    P.data[pOff + j] = Math.min(space.hi, Math.max(space.lo, p));
  }
  return true;
}

/** max |b − a| and sqrt(Σ (b − a)²) over D values at off. */
function change(a: ArrayLike<number>, b: ArrayLike<number>, off: number, D: number) {
  let linf = 0,
    sq = 0;
  for (let j = off; j < off + D; j++) {
    const d = Math.abs(b[j] - a[j]);
    linf = Math.max(linf, d);
    sq += d * d;
  }
  return { linf, l2: Math.sqrt(sq) };
}
