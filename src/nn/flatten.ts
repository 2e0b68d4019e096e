// src/nn/flatten.ts: Flatten, (N, d1..dk) -> (N, d1·..·dk), e.g. between conv and linear layers.
import { expectFloat, ShapeError, type FloatTensor, type Tensor } from '../tensor/index.js';
import { lastCache } from './util.js';
import { Module } from './module.js';

/**
 * out = x read as (N, D), D = d1·..·dk: a view sharing x's data, as torch's flatten.
 * backward gives dout back in x's shape (a fresh copy).   x: (N, d1..dk) => out: (N, D)
 */
export class Flatten extends Module {
  private inputShape: readonly number[] | null = null;

  forward(x: Tensor): FloatTensor {
    expectFloat('Flatten.forward', 'x', x);
    if (x.shape.length < 1)
      throw new ShapeError('Flatten.forward: x has shape [] but needs a batch dimension');
    this.inputShape = x.shape;
    const D = x.shape.slice(1).reduce((a, b) => a * b, 1);
    return x.reshape([x.shape[0], D]);
  }

  backward(dout: Tensor): FloatTensor {
    const shape = lastCache('Flatten.backward', this.inputShape);
    expectFloat('Flatten.backward', 'dout', dout);
    const D = shape.slice(1).reduce((a, b) => a * b, 1);
    if (dout.shape.length !== 2 || dout.shape[0] !== shape[0] || dout.shape[1] !== D) {
      throw new ShapeError(
        `Flatten.backward: dout has shape [${dout.shape}] but the forward output was [${shape[0]},${D}]`,
      );
    }
    return dout.clone().reshape(shape);
  }
}
