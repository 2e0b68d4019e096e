// src/nn/dropout.ts: Dropout, wrapping layers/dropout.ts: inverted dropout in train mode, the
// identity in eval mode. p is the probability of DROPPING a unit, as in torch.nn.Dropout.
import { dropoutBackward, dropoutForward, type DropoutCache } from '../layers/index.js';
import {
  expectNumber,
  expectOptions,
  Rng,
  type FloatTensor,
  type Tensor,
} from '../tensor/index.js';
import { lastCache } from './util.js';
import { Module } from './module.js';

export interface DropoutOptions {
  seed?: number; // masks from a generator of this module's own, Rng(seed)
  rng?: Rng; // masks from this generator (e.g. one a Sequential shares and checkpoints)
}

/**
 * out = x ⊙ mask, mask ~ Bernoulli(1 − p)/(1 − p), a fresh mask per forward in train mode;
 * out = x in eval mode. Masks come from `rng` when set, else from the global generator.
 */
export class Dropout extends Module {
  readonly p: number;
  /** The generator of the masks; Sequential({ seed }) sets it on dropouts that have none. */
  rng: Rng | undefined;
  private cache: DropoutCache | null = null;

  constructor(p = 0.5, options: DropoutOptions = {}) {
    super();
    const fn = 'Dropout';
    expectNumber(fn, 'p', p, { min: 0, max: 1 });
    expectOptions(fn, options, ['seed', 'rng']);
    if (options.seed !== undefined) expectNumber(fn, 'seed', options.seed);
    if (options.rng !== undefined && !(options.rng instanceof Rng))
      throw new TypeError(`${fn}: rng must be an Rng`);
    this.p = p;
    this.rng = options.rng ?? (options.seed !== undefined ? new Rng(options.seed) : undefined);
  }

  forward(x: Tensor): FloatTensor {
    const mode = this.training ? 'train' : 'test';
    const { out, cache } = dropoutForward(
      x,
      this.rng ? { p: this.p, mode, rng: this.rng } : { p: this.p, mode },
    );
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): FloatTensor {
    return dropoutBackward(dout, lastCache('Dropout.backward', this.cache)).dx;
  }

  override toString(): string {
    return `Dropout(p=${this.p})`;
  }
}
