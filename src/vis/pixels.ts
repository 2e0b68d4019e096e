// src/vis/pixels.ts: images in pixel space and the model's input. A trained model sees its
// preprocessing of the pixels (data.applyPreprocessing), an affine map per element; the vis
// functions take and return pixels, so that a fooling or synthesised image is clipped to valid
// pixels and drawn as the model's user would see it, and chain gradients through that map.
import type { Preprocessing } from '../data/index.js';
import {
  expectFloat,
  expectNumber,
  fmt,
  ShapeError,
  Tensor,
  ValueError,
  type FloatDType,
  type FloatTensor,
} from '../tensor/index.js';

/** How pixels reach the model: every vis function takes these options. */
export interface PixelOptions {
  /**
   * The preprocessing the model was trained with (what `layerwise train` stores in its
   * checkpoints), applied to the pixels before the network. Default { kind: 'none' }.
   */
  preprocessing?: Preprocessing;
  /** The range of a valid pixel, default [0, 1] (the library's image loaders). */
  range?: readonly [number, number];
}

export const PIXEL_OPTIONS = ['preprocessing', 'range'] as const;

/**
 * The map model input = scale ⊙ pixel + offset of one sample (D values each), and the valid
 * pixel range. 'mean-image': scale 1, offset −mean; 'per-channel' (axis 1): scale 1/std[c],
 * offset −mean[c]/std[c]; 'none': the identity.
 */
export class PixelSpace {
  private constructor(
    readonly scale: Float64Array,
    readonly offset: Float64Array,
    readonly lo: number,
    readonly hi: number,
  ) {}

  /** The pixel space of samples shaped `sample` (e.g. [1, 28, 28]); fn names the caller. */
  static of(fn: string, sample: readonly number[], opts: PixelOptions = {}): PixelSpace {
    const [lo, hi] = opts.range ?? [0, 1];
    expectNumber(fn, 'range[0]', lo);
    expectNumber(fn, 'range[1]', hi);
    if (!(hi > lo)) throw new ValueError(`${fn}: range [${lo}, ${hi}] is empty`);
    const D = sample.reduce((a, b) => a * b, 1);
    const scale = new Float64Array(D).fill(1),
      offset = new Float64Array(D);
    const p = opts.preprocessing ?? { kind: 'none' };
    if (p.kind === 'mean-image') {
      if (p.shape.length !== sample.length || p.shape.some((d, i) => d !== sample[i])) {
        throw new ShapeError(
          `${fn}: the images have shape ${fmt(sample)} but the preprocessing's mean image has shape ${fmt(p.shape)}`,
        );
      }
      for (let j = 0; j < D; j++) offset[j] = -p.mean[j];
    } else if (p.kind === 'per-channel') {
      const C = p.mean.length;
      if (sample.length < 1 || sample[0] !== C) {
        throw new ShapeError(
          `${fn}: the images have shape ${fmt(sample)} but the preprocessing has statistics for ${C} channels`,
        );
      }
      const S = D / C; // positions per channel
      for (let c = 0; c < C; c++) {
        for (let j = c * S; j < (c + 1) * S; j++) {
          scale[j] = 1 / p.std[c];
          offset[j] = -p.mean[c] / p.std[c];
        }
      }
    }
    return new PixelSpace(scale, offset, lo, hi);
  }

  /** The model's input of pixels P (N, ...), in dtype.   P: (N, ...) => (N, ...) */
  toModel(P: FloatTensor, dtype: FloatDType): FloatTensor {
    const X = Tensor.zeros(P.shape, dtype),
      D = this.scale.length;
    for (let i = 0; i < P.size; i++) {
      const j = i % D;
      X.data[i] = this.scale[j] * P.data[i] + this.offset[j];
    }
    return X;
  }

  /** The gradient with respect to the pixels of one with respect to the model's input: dP = scale ⊙ dX. */
  toPixelGrad(dX: FloatTensor): FloatTensor {
    const dP = Tensor.zeros(dX.shape, 'float64'),
      D = this.scale.length;
    for (let i = 0; i < dX.size; i++) dP.data[i] = this.scale[i % D] * dX.data[i];
    return dP;
  }

  /** Clips pixels to [lo, hi] in place. */
  clip(P: FloatTensor): void {
    for (let i = 0; i < P.size; i++) P.data[i] = Math.min(this.hi, Math.max(this.lo, P.data[i]));
  }
}

/**
 * Checks a batch of images (N, C, H, W) in pixel space and returns a float64 copy (the vis loops
 * run in float64; the model sees its own dtype).
 */
export function pixelsOf(fn: string, arg: string, X: unknown, ndim = 4): FloatTensor {
  expectFloat(fn, arg, X as Tensor);
  const t = X as FloatTensor;
  if (t.shape.length !== ndim || t.shape[0] === 0) {
    const want = ndim === 4 ? '(N, C, H, W) with N >= 1' : '(C, H, W)';
    throw new ShapeError(`${fn}: ${arg} has shape ${fmt(t.shape)} but must be ${want}`);
  }
  const P = Tensor.zeros(t.shape, 'float64');
  P.data.set(t.data);
  return P;
}
