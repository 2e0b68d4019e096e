// src/nn/unflatten.ts: Unflatten, the inverse of Flatten: (N, D) -> (N, ...shape), e.g. between a
// generator's linear layer and its transposed convolutions (torch's nn.Unflatten(1, shape)).
import {
  expectFloat,
  expectNumber,
  fmt,
  ShapeError,
  type FloatTensor,
  type Tensor,
} from '../tensor/index.js';
import { lastCache } from './util.js';
import { Module } from './module.js';

/**
 * out = x read as (N, ...shape): a view sharing x's data. backward gives dout back as (N, D)
 * (a fresh copy).   x: (N, D), D = the product of shape => out: (N, ...shape)
 */
export class Unflatten extends Module {
  readonly shape: readonly number[];
  private batch: number | null = null;

  constructor(shape: readonly number[]) {
    super();
    if (!Array.isArray(shape) || shape.length === 0)
      throw new TypeError(`Unflatten: shape must be a non-empty array, e.g. [C, H, W]`);
    shape.forEach((d, i) => expectNumber('Unflatten', `shape[${i}]`, d, { integer: true, min: 1 }));
    this.shape = [...shape];
  }

  forward(x: Tensor): FloatTensor {
    const fn = 'Unflatten.forward';
    expectFloat(fn, 'x', x);
    const D = this.shape.reduce((a, b) => a * b, 1);
    if (x.shape.length !== 2 || x.shape[1] !== D)
      throw new ShapeError(
        `${fn}: x has shape ${fmt(x.shape)} but must be (N, ${D}) to become (N, ${this.shape.join(', ')})`,
      );
    this.batch = x.shape[0];
    return x.reshape([x.shape[0], ...this.shape]);
  }

  backward(dout: Tensor): FloatTensor {
    const N = lastCache('Unflatten.backward', this.batch);
    expectFloat('Unflatten.backward', 'dout', dout);
    const want = [N, ...this.shape];
    if (dout.shape.join() !== want.join())
      throw new ShapeError(
        `Unflatten.backward: dout has shape ${fmt(dout.shape)} but the forward output was ${fmt(want)}`,
      );
    return dout.clone().reshape([N, dout.size / Math.max(1, N)]);
  }

  override toString(): string {
    return `Unflatten(${this.shape.join(', ')})`;
  }
}
