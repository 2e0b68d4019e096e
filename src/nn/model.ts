// src/nn/model.ts: what every trainable model (a Sequential or a src/models class) offers the
// Solver and the checkpoint code, plus the L2 penalty the classic models share.
import type { FloatTensor, Labels, Rng, Tensor } from '../tensor/index.js';

export interface LossResult {
  readonly loss: number;
  /** One gradient per key of params, same shape and dtype. */
  readonly grads: Record<string, FloatTensor>;
}

/** How to rebuild a model: its class name and constructor options (JSON). */
export interface ModelConfig {
  readonly type: string;
  readonly options: Record<string, unknown>;
}

/**
 * A classifier: `params` is the live store (writing into a param's data changes the model);
 * `loss(X)` gives test-mode scores (N, C); `loss(X, y)` runs in train mode and returns the loss
 * and a gradient for every param.
 */
export interface Model {
  readonly params: Record<string, FloatTensor>;
  /** Non-trainable state that belongs with the params, e.g. batch-norm running statistics. */
  readonly buffers?: Record<string, FloatTensor>;
  readonly config?: ModelConfig;
  /**
   * The generator of training-time randomness (dropout masks), when the model has any; a
   * training checkpoint saves its state so that a resumed run draws the same masks.
   */
  readonly rng?: Rng;
  /**
   * True when loss() keeps nothing it allocates past its next call: its state (params, buffers,
   * rng) is created outside loss(). The Solver then serves loss(X, y)'s allocations from memory it
   * reuses every step (kernels.StepMemory), so that a step allocates nothing and the wasm kernels
   * work on its tensors in place. Leave it unset for a model that creates state inside loss().
   */
  readonly reusesStepMemory?: boolean;
  loss(X: Tensor): FloatTensor;
  loss(X: Tensor, y: Labels): LossResult;
}

/** Adds 0.5·reg·Σ W² over the named weights to loss and reg·W to their gradients (in place). */
export function addL2(
  loss: number,
  grads: Record<string, FloatTensor>,
  params: Record<string, FloatTensor>,
  weightKeys: readonly string[],
  reg: number,
): number {
  if (reg === 0) return loss;
  for (const key of weightKeys) {
    const w = params[key].data,
      dw = grads[key].data;
    let sumSq = 0;
    for (let i = 0; i < w.length; i++) {
      sumSq += w[i] * w[i];
      dw[i] += reg * w[i];
    }
    loss += 0.5 * reg * sumSq;
  }
  return loss;
}
