// src/nn/module.ts: the base of the stateful modules. A module owns its params, their grads and
// its buffers, remembers the cache of its last forward, and calls the functional layers in
// layers/ for the maths, as torch.nn.Linear wraps F.linear.
import type { FloatTensor, Tensor } from '../tensor/index.js';

export abstract class Module {
  /** Train mode (batch statistics, dropout on) or eval mode (running statistics, dropout off). */
  training = true;
  /** Trainable tensors by local name, e.g. { weight, bias }; live: writing into them changes the module. */
  readonly params: Record<string, FloatTensor> = {};
  /** Gradients of the last backward, same keys as params (fresh tensors each backward). */
  readonly grads: Record<string, FloatTensor> = {};
  /** Non-trainable state saved with the params, e.g. { runningMean, runningVar }. */
  readonly buffers: Record<string, FloatTensor> = {};

  /** Runs the layer and keeps what backward needs.   x => out */
  abstract forward(x: Tensor): FloatTensor;
  /** Gradient w.r.t. the last forward's input; stores param gradients in `grads`. */
  abstract backward(dout: Tensor): FloatTensor;

  /** Sub-modules by name (Sequential's are '0', '1', ...). Leaves have none. */
  children(): ReadonlyArray<readonly [string, Module]> {
    return [];
  }

  train(on = true): this {
    this.training = on;
    for (const [, child] of this.children()) child.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** All params of this module and its children, keyed by dotted path ('0.weight'). */
  namedParams(prefix = ''): Record<string, FloatTensor> {
    return this.collect(prefix, (m) => m.params);
  }

  /** All grads, keyed like namedParams. */
  namedGrads(prefix = ''): Record<string, FloatTensor> {
    return this.collect(prefix, (m) => m.grads);
  }

  /** All buffers, keyed by dotted path ('1.runningMean'). */
  namedBuffers(prefix = ''): Record<string, FloatTensor> {
    return this.collect(prefix, (m) => m.buffers);
  }

  private collect(
    prefix: string,
    pick: (m: Module) => Record<string, FloatTensor>,
  ): Record<string, FloatTensor> {
    const out: Record<string, FloatTensor> = {};
    for (const [k, v] of Object.entries(pick(this))) out[prefix + k] = v;
    for (const [name, child] of this.children())
      Object.assign(out, child.collect(`${prefix}${name}.`, pick));
    return out;
  }

  /** A short description for printing, e.g. "Linear(784 -> 100)". */
  toString(): string {
    return this.constructor.name;
  }
}
