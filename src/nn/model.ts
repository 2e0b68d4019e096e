// src/nn/model.ts: what every trainable model (a Sequential or a src/models class) offers the
// Solver and the checkpoint code, plus the L2 penalty the classic models share.
import {
  DTypeError,
  expectFloat,
  expectShape,
  fmt,
  ShapeError,
  ValueError,
  type FloatDType,
  type FloatTensor,
  type Labels,
  type Rng,
  type Tensor,
} from '../tensor/index.js';

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

/** What Classifier.inputGradient returns. */
export interface InputGradient {
  /** Test-mode scores (N, numClasses), as loss(X) gives them. */
  readonly scores: FloatTensor;
  /** Σ dscores ⊙ ∂scores/∂X: the gradient carried back to the input, shaped like X. */
  readonly dX: FloatTensor;
}

/**
 * One layer of a test-mode forward pass, as Classifier.trace records it. `backward` maps the
 * gradient with respect to `out` to the gradient with respect to this layer's input; it is valid
 * until the model runs another forward (a module keeps only its last cache).
 */
export interface TraceStep {
  /** e.g. 'conv1', 'relu1', 'affine3' for the classic models, '0 Conv2d' in a Sequential. */
  readonly name: string;
  readonly out: FloatTensor;
  backward(dout: FloatTensor): FloatTensor;
}

/**
 * A Model that maps X (N, ...) to class scores (N, numClasses) and can carry a gradient of the
 * scores back to X: what saliency maps, fooling images and class visualisation (src/vis) need.
 *
 * - `inputGradient(X, dscores)`: the forward pass in test mode (running batch-norm statistics,
 *   no dropout), then dscores (N, numClasses) propagated back to the input. Returns the scores
 *   and dX shaped like X. Params, buffers and the dropout generator are left unchanged (a
 *   Sequential is left in eval mode, as loss(X) leaves it). With dscores = the softmax loss's
 *   dx, dX is the gradient of that loss with respect to X.
 * - `trace(X)` (optional): the same forward one layer at a time, each step with its output and
 *   its backward; `vis.activations` shows it. A model that has it gets inputGradient from
 *   `inputGradientOfTrace`.
 *
 * To implement it for a new model, either write `trace` (and inputGradient as
 * `inputGradientOfTrace(fn, this.trace(X), dscores)`), or run the test-mode forward and the
 * backward of the training path with the first layer's dx switched on.
 */
export interface Classifier extends Model {
  inputGradient(X: Tensor, dscores: Tensor): InputGradient;
  trace?(X: Tensor): readonly TraceStep[];
}

/** True when m has an inputGradient method (is a Classifier). */
export function isClassifier(m: unknown): m is Classifier {
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof (m as { inputGradient?: unknown }).inputGradient === 'function'
  );
}

/**
 * inputGradient from a trace: checks dscores against the last step's output (the scores), then
 * runs the steps' backward from the last to the first.
 */
export function inputGradientOfTrace(
  fn: string,
  steps: readonly TraceStep[],
  dscores: Tensor,
): InputGradient {
  if (steps.length === 0) throw new ValueError(`${fn}: the model has no layers`);
  const scores = steps[steps.length - 1].out;
  expectFloat(fn, 'dscores', dscores);
  expectShape(fn, 'dscores', dscores, scores.shape, `the scores have shape ${fmt(scores.shape)}`);
  if (dscores.dtype !== scores.dtype) {
    throw new DTypeError(
      `${fn}: dscores has dtype ${dscores.dtype} but the scores have dtype ${scores.dtype}`,
    );
  }
  let d: FloatTensor = dscores;
  for (let i = steps.length - 1; i >= 0; i--) d = steps[i].backward(d);
  return { scores, dX: d };
}

/**
 * Checks the X of a dense model: float, (N, d1..dk) with d1·..·dk = D, of the model's dtype.
 * "fn: X has shape [2,5] but the model takes inputDim 784".
 */
export function expectDenseInput(
  fn: string,
  X: Tensor,
  D: number,
  dtype: FloatDType,
): asserts X is FloatTensor {
  expectFloat(fn, 'X', X);
  const size = X.shape.slice(1).reduce((a, b) => a * b, 1);
  if (X.shape.length < 2 || size !== D)
    throw new ShapeError(`${fn}: X has shape ${fmt(X.shape)} but the model takes inputDim ${D}`);
  if (X.dtype !== dtype)
    throw new DTypeError(`${fn}: X has dtype ${X.dtype} but the model is ${dtype}`);
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
