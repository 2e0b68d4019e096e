// src/models/init.ts: option checks and seeded weight initialisation shared by the classic models.
import {
  defaultRng,
  expectNumber,
  Rng,
  Tensor,
  type FloatDType,
  type FloatTensor,
} from '../tensor/index.js';

/** The generator a model initialises from: seeded when a seed is given. */
export function rngFor(seed: number | undefined): Rng {
  return seed === undefined ? defaultRng() : new Rng(seed);
}

/** weightScale · N(0, 1) of the given shape. */
export function gaussianWeight(
  shape: readonly number[],
  weightScale: number,
  dtype: FloatDType,
  rng: Rng,
): FloatTensor {
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
