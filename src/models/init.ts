// src/models/init.ts: option checks and seeded weight initialisation shared by the classic models.
import {
  defaultRng,
  expectNumber,
  fmt,
  Rng,
  Tensor,
  ValueError,
  type FloatDType,
  type FloatTensor,
} from '../tensor/index.js';

/** The generator a model initialises from: seeded when a seed is given. */
export function rngFor(seed: number | undefined): Rng {
  return seed === undefined ? defaultRng() : new Rng(seed);
}

/**
 * The most bytes one weight of a model may take (2 GiB): options that would need more (a
 * hidden size of 1e9 from a damaged file) are refused before anything is allocated.
 */
export const MAX_WEIGHT_BYTES = 2 ** 31;

/** weightScale · N(0, 1) of the given shape; refuses a shape above MAX_WEIGHT_BYTES. */
export function gaussianWeight(
  shape: readonly number[],
  weightScale: number,
  dtype: FloatDType,
  rng: Rng,
): FloatTensor {
  const bytes = shape.reduce((p, d) => p * d, dtype === 'float64' ? 8 : 4);
  if (bytes > MAX_WEIGHT_BYTES) {
    throw new ValueError(
      `model weights: a ${dtype} weight of shape ${fmt(shape)} would need ${bytes} bytes, more than the limit of ${MAX_WEIGHT_BYTES}; check the size options (hidden sizes, filters, inputDim)`,
    );
  }
  return Tensor.randn(shape, { dtype, std: weightScale, rng });
}

export function positiveInt(fn: string, arg: string, v: unknown): number {
  expectNumber(fn, arg, v, { integer: true, min: 1 });
  return v;
}

export function nonNegative(fn: string, arg: string, v: unknown): number {
  expectNumber(fn, arg, v, { min: 0 });
  return v;
}

/**
 * The group count of normalization 'groupnorm': `groups` when given (it must divide every
 * width), else the largest of 32, 16, 8, 4, 2, 1 that divides them all (Wu & He's default of 32
 * groups where the widths allow it).
 */
export function groupsFor(
  fn: string,
  groups: unknown,
  widths: ReadonlyArray<readonly [string, number]>,
): number {
  if (groups === undefined) {
    return [32, 16, 8, 4, 2, 1].find((g) => widths.every(([, w]) => w % g === 0)) ?? 1;
  }
  const g = positiveInt(fn, 'groups', groups);
  for (const [name, w] of widths) {
    if (w % g !== 0) throw new ValueError(`${fn}: groups = ${g} does not divide ${name} = ${w}`);
  }
  return g;
}
