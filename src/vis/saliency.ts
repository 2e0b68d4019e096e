// src/vis/saliency.ts: two saliency maps that read better than the plain one of gradients.ts
// (saliencyMap, the definition): SmoothGrad, the gradient averaged over noisy copies of each
// image, and gradient ⊙ input. Why the plain map is speckle for a conv net with max pooling:
// on a flat background every 2x2 pool window is a tie, the max pool sends the whole gradient
// to one position of each window, and the score is not differentiable there (its one-sided
// derivatives differ); noise breaks the ties, and averaging over copies keeps what is common.
import { Rng, expectNumber, expectOptions, labelsOf, Tensor } from '../tensor/index.js';
import type { FloatTensor, Labels } from '../tensor/index.js';
import type { Classifier } from '../nn/index.js';
import {
  classifierOf,
  maxAbsOverChannels,
  oneHot,
  pixelGradient,
  saliencySetUp,
} from './gradients.js';
import { PIXEL_OPTIONS, type PixelOptions } from './pixels.js';

export interface SmoothGradOptions extends PixelOptions {
  /** Noisy copies per image (default 25). */
  samples?: number;
  /** Standard deviation of the Gaussian noise, as a fraction of the pixel range (default 0.15). */
  noise?: number;
  /** Seed of the noise (default 0). */
  seed?: number;
}

/**
 * SmoothGrad (Smilkov et al. 2017, https://arxiv.org/abs/1706.03825): the gradient of the score
 * of class y averaged over `samples` copies of each image with Gaussian noise of standard
 * deviation noise·(hi − lo) added (not clipped), then the largest over channels of its size.
 *
 *   S[n] = max_c |mean_k ∂ scores[n, y[n]] / ∂ X[n, c] at X[n] + ε_k|,  ε_k ~ N(0, σ²)
 *
 * X: (N, C, H, W) pixels, y: (N) classes => S: (N, H, W) float64. Seeded: the same call gives
 * the same map.
 */
export function smoothGrad(
  model: Classifier,
  X: FloatTensor,
  y: Labels,
  opts: SmoothGradOptions = {},
): FloatTensor {
  const fn = 'smoothGrad';
  const net = classifierOf(fn, model);
  expectOptions(fn, opts, [...PIXEL_OPTIONS, 'samples', 'noise', 'seed']);
  const o = { samples: 25, noise: 0.15, seed: 0, ...opts };
  expectNumber(fn, 'samples', o.samples, { min: 1, integer: true });
  expectNumber(fn, 'noise', o.noise, { min: 0 });
  expectNumber(fn, 'seed', o.seed, { integer: true });
  const { P, space } = saliencySetUp(fn, X, opts);
  const sigma = o.noise * (space.hi - space.lo);
  const rng = new Rng(o.seed);
  const sum = Tensor.zeros(P.shape, 'float64'); // Σ_k dP at the noisy copies
  const noisy = Tensor.zeros(P.shape, 'float64');
  for (let k = 0; k < o.samples; k++) {
    for (let i = 0; i < P.size; i++) noisy.data[i] = P.data[i] + sigma * rng.normal();
    const { dP } = pixelGradient(fn, net, space, noisy, (scores) =>
      oneHot(scores, labelsOf(fn, 'y', y, P.shape[0], scores.shape[1])),
    );
    for (let i = 0; i < P.size; i++) sum.data[i] += dP.data[i] / o.samples;
  }
  return maxAbsOverChannels(sum);
}

/**
 * Gradient ⊙ input: S[n, h, w] = max_c |(X − lo) ⊙ ∂ scores[n, y[n]] / ∂ X| (lo: the dark end
 * of the pixel range), the first-order change of the score when a pixel goes dark. Zero where
 * there is no ink. X: (N, C, H, W) pixels, y: (N) classes => S: (N, H, W) float64.
 */
export function gradientTimesInput(
  model: Classifier,
  X: FloatTensor,
  y: Labels,
  opts: PixelOptions = {},
): FloatTensor {
  const fn = 'gradientTimesInput';
  const net = classifierOf(fn, model);
  expectOptions(fn, opts, PIXEL_OPTIONS);
  const { P, space } = saliencySetUp(fn, X, opts);
  const { dP } = pixelGradient(fn, net, space, P, (scores) =>
    oneHot(scores, labelsOf(fn, 'y', y, P.shape[0], scores.shape[1])),
  );
  for (let i = 0; i < P.size; i++) dP.data[i] *= P.data[i] - space.lo;
  return maxAbsOverChannels(dP);
}
