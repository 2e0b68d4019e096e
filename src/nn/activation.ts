// src/nn/activation.ts: the elementwise nonlinearities as modules (no params), wrapping
// layers/activations.ts.
import {
  leakyReluBackward,
  leakyReluForward,
  reluBackward,
  reluForward,
  sigmoidBackward,
  sigmoidForward,
  tanhBackward,
  tanhForward,
  type LeakyReluCache,
  type ReluCache,
  type SigmoidCache,
  type TanhCache,
} from '../layers/index.js';
import { expectNumber, type FloatTensor, type Tensor } from '../tensor/index.js';
import { lastCache } from './util.js';
import { Module } from './module.js';

/** out = max(x, 0). */
export class ReLU extends Module {
  private cache: ReluCache | null = null;
  forward(x: Tensor): FloatTensor {
    const { out, cache } = reluForward(x);
    this.cache = cache;
    return out;
  }
  backward(dout: Tensor): FloatTensor {
    return reluBackward(dout, lastCache('ReLU.backward', this.cache)).dx;
  }
}

/** out = x if x > 0 else negativeSlope·x (default 0.01, as torch). */
export class LeakyReLU extends Module {
  private cache: LeakyReluCache | null = null;
  constructor(readonly negativeSlope = 0.01) {
    super();
    expectNumber('LeakyReLU', 'negativeSlope', negativeSlope);
  }
  forward(x: Tensor): FloatTensor {
    const { out, cache } = leakyReluForward(x, this.negativeSlope);
    this.cache = cache;
    return out;
  }
  backward(dout: Tensor): FloatTensor {
    return leakyReluBackward(dout, lastCache('LeakyReLU.backward', this.cache)).dx;
  }
  override toString(): string {
    return `LeakyReLU(${this.negativeSlope})`;
  }
}

/** out = 1 / (1 + e^−x). */
export class Sigmoid extends Module {
  private cache: SigmoidCache | null = null;
  forward(x: Tensor): FloatTensor {
    const { out, cache } = sigmoidForward(x);
    this.cache = cache;
    return out;
  }
  backward(dout: Tensor): FloatTensor {
    return sigmoidBackward(dout, lastCache('Sigmoid.backward', this.cache)).dx;
  }
}

/** out = tanh(x). */
export class Tanh extends Module {
  private cache: TanhCache | null = null;
  forward(x: Tensor): FloatTensor {
    const { out, cache } = tanhForward(x);
    this.cache = cache;
    return out;
  }
  backward(dout: Tensor): FloatTensor {
    return tanhBackward(dout, lastCache('Tanh.backward', this.cache)).dx;
  }
}
