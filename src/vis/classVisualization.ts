// src/vis/classVisualization.ts: an image that a trained classifier scores highly for one class,
// synthesised by regularised gradient ascent (Simonyan et al. 2014, with the jitter and blur of
// Yosinski et al. 2015, https://arxiv.org/abs/1506.06579), as in the course's network
// visualisation chapter; the loop runs in pixel space and clips to valid pixels.
import {
  argmaxRows,
  expectNumber,
  expectOptions,
  Rng,
  Tensor,
  ValueError,
  type FloatTensor,
} from '../tensor/index.js';
import type { Classifier } from '../nn/index.js';
import { classifierOf, expectClass, oneHot, pixelGradient } from './gradients.js';
import { PIXEL_OPTIONS, PixelSpace, type PixelOptions } from './pixels.js';

export interface ClassVisualizationOptions extends PixelOptions {
  /** Weight of the L2 penalty on the model's input, default 0.05. */
  l2?: number;
  /** The L2 length (pixels) of each ascent step, default 0.5. */
  learningRate?: number;
  /** Iterations, default 100. */
  steps?: number;
  /** Blur the image every this many iterations (0: never), default 5. */
  blurEvery?: number;
  /** Standard deviation of the Gaussian blur in pixels, default 0.5. */
  blurSigma?: number;
  /** Each iteration shifts the image by up to this many pixels each way first, default 1. */
  jitter?: number;
  /** Seed of the start image and the jitter, default 0. */
  seed?: number;
  /** The image shape (C, H, W); default the model's inputDim when it is one. */
  inputShape?: readonly number[];
}

export interface ClassVisualization {
  /** The synthesised image in pixels, (1, C, H, W) float64. */
  readonly image: FloatTensor;
  /** The target class's test-mode score before each iteration and after the last (steps + 1). */
  readonly scores: Float64Array;
  /** The class the model predicts for the final image. */
  readonly predicted: number;
}

const CLASS_VIS_OPTIONS = [
  ...PIXEL_OPTIONS,
  'l2',
  'learningRate',
  'steps',
  'blurEvery',
  'blurSigma',
  'jitter',
  'seed',
  'inputShape',
] as const;

/**
 * Synthesises an image for targetClass. From a dim random start, each iteration:
 *
 *   shift the image by (dx, dy) drawn from [−jitter, jitter] (cyclically);
 *   objective = score_target(x) − l2 · ‖pre(x)‖²   (pre: the model's preprocessing);
 *   g = ∂ objective / ∂ x;   x ← clip(x + learningRate · g / ‖g‖₂) after shifting back;
 *   every blurEvery iterations x ← GaussianBlur(x, blurSigma).
 *
 * The scores record the target score at each iteration; returned with the image in pixels.
 * The defaults suit 28x28 digits (the course's l2 1e-3 and unnormalised steps of 25 are for
 * 224x224 ImageNet images; on the default digit model they grow stripe textures).
 */
export function classVisualization(
  model: Classifier,
  targetClass: number,
  opts: ClassVisualizationOptions = {},
): ClassVisualization {
  const fn = 'classVisualization';
  const net = classifierOf(fn, model);
  expectOptions(fn, opts, CLASS_VIS_OPTIONS);
  const o = {
    l2: 0.05,
    learningRate: 0.5,
    steps: 100,
    blurEvery: 5,
    blurSigma: 0.5,
    jitter: 1,
    seed: 0,
    ...opts,
  };
  expectNumber(fn, 'l2', o.l2, { min: 0 });
  expectNumber(fn, 'learningRate', o.learningRate, { min: 0, minExclusive: true });
  expectNumber(fn, 'steps', o.steps, { min: 0, integer: true });
  expectNumber(fn, 'blurEvery', o.blurEvery, { min: 0, integer: true });
  expectNumber(fn, 'blurSigma', o.blurSigma, { min: 0 });
  expectNumber(fn, 'jitter', o.jitter, { min: 0, integer: true });
  expectNumber(fn, 'seed', o.seed, { integer: true });
  const shape = imageShape(fn, net, opts.inputShape);
  const space = PixelSpace.of(fn, shape, opts);
  const rng = new Rng(o.seed);
  const P = startImage(shape, space, rng);
  const scores = new Float64Array(o.steps + 1);
  const target = (s: FloatTensor) => {
    expectClass(fn, 'targetClass', targetClass, s.shape[1]);
    return oneHot(s, [targetClass]);
  };
  for (let t = 0; t < o.steps; t++) {
    const dx = rng.int(2 * o.jitter + 1) - o.jitter,
      dy = rng.int(2 * o.jitter + 1) - o.jitter;
    const shifted = roll(P, dx, dy);
    const { scores: s, dP } = pixelGradient(fn, net, space, shifted, target);
    scores[t] = s.data[targetClass];
    // the L2 penalty: ∂(l2·‖scale ⊙ p + offset‖²)/∂p = 2·l2·(scale ⊙ p + offset) ⊙ scale
    const Xm = space.toModel(shifted, 'float64'),
      D = P.size;
    for (let j = 0; j < D; j++) dP.data[j] -= 2 * o.l2 * Xm.data[j] * space.scale[j];
    ascend(shifted, dP, o.learningRate);
    P.data.set(roll(shifted, -dx, -dy).data);
    space.clip(P);
    if (o.blurEvery > 0 && (t + 1) % o.blurEvery === 0) gaussianBlur(P, o.blurSigma);
  }
  const final = pixelGradient(fn, net, space, P, target).scores;
  scores[o.steps] = final.data[targetClass];
  const predicted = argmaxRows(final)[0];
  return { image: P, scores, predicted };
}

/** opts.inputShape, else the model's inputDim when it is (C, H, W). */
function imageShape(fn: string, model: Classifier, given?: readonly number[]): number[] {
  const fromModel = model.config?.options?.inputDim;
  const shape = given ?? (Array.isArray(fromModel) ? (fromModel as number[]) : undefined);
  if (shape === undefined) {
    throw new ValueError(
      `${fn}: the model does not say its image shape; pass inputShape: [C, H, W]`,
    );
  }
  if (shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0))
    throw new ValueError(
      `${fn}: inputShape must be [C, H, W] of positive integers, got [${shape.join(',')}]`,
    );
  return [...shape];
}

/** A dim, slightly noisy start: 10% of the range plus 5% Gaussian noise, clipped.  => (1, C, H, W) */
function startImage(shape: readonly number[], space: PixelSpace, rng: Rng): FloatTensor {
  const P = Tensor.zeros([1, ...shape], 'float64'),
    span = space.hi - space.lo;
  for (let i = 0; i < P.size; i++) P.data[i] = space.lo + span * (0.1 + 0.05 * rng.normal());
  space.clip(P);
  return P;
}

/** P += learningRate · g / ‖g‖₂ (no step when g = 0). */
function ascend(P: FloatTensor, g: FloatTensor, learningRate: number): void {
  let sq = 0;
  for (let j = 0; j < g.size; j++) sq += g.data[j] * g.data[j];
  if (!(sq > 0)) return;
  const step = learningRate / Math.sqrt(sq);
  for (let j = 0; j < g.size; j++) P.data[j] += step * g.data[j];
}

/** The image (1, C, H, W) shifted cyclically by dx columns and dy rows (np.roll).  => new tensor */
export function roll(P: FloatTensor, dx: number, dy: number): FloatTensor {
  const [, C, H, W] = P.shape;
  const out = Tensor.zeros(P.shape, 'float64');
  for (let c = 0; c < C; c++) {
    for (let h = 0; h < H; h++) {
      const src = (c * H + h) * W,
        dst = (c * H + ((((h + dy) % H) + H) % H)) * W;
      for (let w = 0; w < W; w++) out.data[dst + ((((w + dx) % W) + W) % W)] = P.data[src + w];
    }
  }
  return out;
}

/**
 * Separable Gaussian blur of every channel of P (1, C, H, W) in place, σ in pixels, radius
 * ceil(3σ), weights normalised to sum 1 and edges clamped (the nearest pixel repeats).
 */
export function gaussianBlur(P: FloatTensor, sigma: number): void {
  if (!(sigma > 0)) return;
  const r = Math.ceil(3 * sigma);
  const k = Array.from({ length: 2 * r + 1 }, (_, i) =>
    Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)),
  );
  const sum = k.reduce((a, b) => a + b, 0);
  const weights = k.map((v) => v / sum);
  const [, C, H, W] = P.shape;
  const tmp = new Float64Array(H * W);
  for (let c = 0; c < C; c++) {
    const plane = P.data.subarray(c * H * W, (c + 1) * H * W);
    for (let h = 0; h < H; h++) {
      for (let w = 0; w < W; w++) {
        let s = 0;
        for (let i = -r; i <= r; i++)
          s += weights[i + r] * plane[h * W + Math.min(W - 1, Math.max(0, w + i))];
        tmp[h * W + w] = s;
      }
    }
    for (let h = 0; h < H; h++) {
      for (let w = 0; w < W; w++) {
        let s = 0;
        for (let i = -r; i <= r; i++)
          s += weights[i + r] * tmp[Math.min(H - 1, Math.max(0, h + i)) * W + w];
        plane[h * W + w] = s;
      }
    }
  }
}
