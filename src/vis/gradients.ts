// src/vis/gradients.ts: what a trained classifier's scores say about its input: saliency maps
// (the gradient of a class score with respect to the pixels) and the activations of every layer
// with the gradient of a score with respect to each. Everything here is one test-mode forward
// and one backward through Classifier.trace / inputGradient (src/nn/model.ts).
import {
  inputGradientOfTrace,
  isClassifier,
  type Classifier,
  type InputGradient,
} from '../nn/index.js';
import {
  argmaxRows,
  DTypeError,
  expectOptions,
  labelsOf,
  ShapeError,
  Tensor,
  ValueError,
  type FloatDType,
  type FloatTensor,
  type Labels,
} from '../tensor/index.js';
import { PIXEL_OPTIONS, PixelSpace, pixelsOf, type PixelOptions } from './pixels.js';

/** The model as a Classifier, or "fn: model has no inputGradient method (...)". */
export function classifierOf(fn: string, model: unknown): Classifier {
  if (isClassifier(model)) return model;
  throw new ValueError(
    `${fn}: model has no inputGradient method; use a classifier (LinearClassifier, TwoLayerNet, FullyConnectedNet, ThreeLayerConvNet, VisionTransformer or nn.Sequential)`,
  );
}

/** The dtype of the model's params (what its input must have). */
export function modelDType(model: Classifier): FloatDType {
  return Object.values(model.params)[0]?.dtype ?? 'float32';
}

/** Throws "fn: arg = k is outside [0, C) (the model has C classes)" unless k is a class. */
export function expectClass(fn: string, arg: string, k: unknown, C: number): asserts k is number {
  if (Number.isInteger(k) && (k as number) >= 0 && (k as number) < C) return;
  throw new ValueError(
    `${fn}: ${arg} = ${String(k)} is ${Number.isInteger(k) ? 'outside' : 'not an integer in'} [0, ${C}) (the model has ${C} classes)`,
  );
}

/** dscores (N, C) with a one at (n, classes[n]): the gradient of Σₙ scores[n, classes[n]]. */
export function oneHot(scores: FloatTensor, classes: ArrayLike<number>): FloatTensor {
  const [N, C] = scores.shape;
  const d = Tensor.zeros([N, C], scores.dtype);
  for (let n = 0; n < N; n++) d.data[n * C + classes[n]] = 1;
  return d;
}

/** Scores of the model at pixels P and the gradient of Σ dscores ⊙ scores with respect to P. */
export interface PixelGradient {
  readonly scores: FloatTensor; // (N, C), the model's dtype
  readonly dP: FloatTensor; // shaped like P, float64
}

/**
 * The test-mode scores at pixels P (N, ...) and, with dscores = dscoresOf(scores), the gradient
 * Σ dscores ⊙ ∂scores/∂P (through the preprocessing). One forward and one backward when the
 * model has trace(), else loss(X) then inputGradient(X, dscores). An input the model does not
 * take is "fn: the images do not fit the model: <the model's message>".
 */
export function pixelGradient(
  fn: string,
  model: Classifier,
  space: PixelSpace,
  P: FloatTensor,
  dscoresOf: (scores: FloatTensor) => FloatTensor,
): PixelGradient {
  const X = space.toModel(P, modelDType(model));
  let r: InputGradient;
  try {
    if (model.trace) {
      const steps = model.trace(X);
      const scores = steps[steps.length - 1]?.out;
      r = inputGradientOfTrace(fn, steps, scores ? dscoresOf(scores) : Tensor.zeros([0]));
    } else {
      r = model.inputGradient(X, dscoresOf(model.loss(X)));
    }
  } catch (e) {
    if (e instanceof ShapeError || e instanceof DTypeError)
      throw new ShapeError(`${fn}: the images do not fit the model: ${e.message}`, { cause: e });
    throw e;
  }
  return { scores: r.scores, dP: space.toPixelGrad(r.dX) };
}

/**
 * Saliency maps (Simonyan et al. 2014, https://arxiv.org/abs/1312.6034): for each image the
 * largest over channels of |∂ score_y / ∂ pixel|, where score_y is the test-mode score of the
 * image's class y (before the softmax).
 *
 *   S[n, h, w] = max_c |∂ scores[n, y[n]] / ∂ X[n, c, h, w]|
 *
 * X: (N, C, H, W) pixels (opts.preprocessing maps them to the model's input), y: (N) classes
 * => S: (N, H, W) float64.
 */
export function saliencyMap(
  model: Classifier,
  X: FloatTensor,
  y: Labels,
  opts: PixelOptions = {},
): FloatTensor {
  const fn = 'saliencyMap';
  const net = classifierOf(fn, model);
  expectOptions(fn, opts, PIXEL_OPTIONS);
  const { P, space } = saliencySetUp(fn, X, opts);
  const { dP } = pixelGradient(fn, net, space, P, (scores) =>
    oneHot(scores, labelsOf(fn, 'y', y, P.shape[0], scores.shape[1])),
  );
  return maxAbsOverChannels(dP);
}

/** S[n, h, w] = max_c |G[n, c, h, w]|.   G: (N, C, H, W) => (N, H, W) float64 */
export function maxAbsOverChannels(G: FloatTensor): FloatTensor {
  const [N, C, H, W] = G.shape,
    HW = H * W;
  const S = Tensor.zeros([N, H, W], 'float64');
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      const off = (n * C + c) * HW; // G[n, c, :, :]
      for (let j = 0; j < HW; j++)
        S.data[n * HW + j] = Math.max(S.data[n * HW + j], Math.abs(G.data[off + j]));
    }
  return S;
}

/** The pixels (N, C, H, W), the pixel space and the classes of a saliency call, checked. */
export function saliencySetUp(fn: string, X: FloatTensor, opts: PixelOptions) {
  const P = pixelsOf(fn, 'X', X);
  return { P, space: PixelSpace.of(fn, P.shape.slice(1), opts) };
}

/** One layer in `activations`: its test-mode output and the gradient of the scores at it. */
export interface LayerActivation {
  /** The layer's name from Classifier.trace ('conv1', 'relu1', '0 Conv2d', ...). */
  readonly name: string;
  /** The layer's output for the batch, (N, ...). */
  readonly out: FloatTensor;
  /** ∂ scores[n, target[n]] / ∂ out, shaped like out. */
  readonly grad: FloatTensor;
}

export interface Activations {
  readonly scores: FloatTensor; // (N, C)
  /** The class whose score is differentiated, per image (the predicted one by default). */
  readonly target: Int32Array;
  /** Every layer of the test-mode forward, in order (the last one outputs the scores). */
  readonly layers: readonly LayerActivation[];
  /** ∂ scores[n, target[n]] / ∂ pixels, shaped like X. */
  readonly inputGrad: FloatTensor;
}

export interface ActivationOptions extends PixelOptions {
  /** The class (one for all, or one per image) whose score is differentiated; default the predicted class. */
  target?: number | Labels;
}

/**
 * The named output of every layer of the model's test-mode forward for a batch X (N, ...) of
 * pixels, and the gradient of one class score per image with respect to each output and to
 * the pixels. Needs a model with trace() (every classifier of src/models and nn.Sequential).
 */
export function activations(
  model: Classifier,
  X: FloatTensor,
  opts: ActivationOptions = {},
): Activations {
  const fn = 'activations';
  const net = classifierOf(fn, model);
  expectOptions(fn, opts, [...PIXEL_OPTIONS, 'target']);
  if (!net.trace) throw new ValueError(`${fn}: the model has no trace method (see Classifier)`);
  const P = pixelsOf(fn, 'X', X, X.shape.length);
  const space = PixelSpace.of(fn, P.shape.slice(1), opts);
  const Xm = space.toModel(P, modelDType(net));
  let steps;
  try {
    steps = net.trace(Xm);
  } catch (e) {
    if (e instanceof ShapeError || e instanceof DTypeError)
      throw new ShapeError(`${fn}: the images do not fit the model: ${e.message}`, { cause: e });
    throw e;
  }
  if (steps.length === 0) throw new ValueError(`${fn}: the model has no layers`);
  const scores = steps[steps.length - 1].out;
  const [N, C] = scores.shape;
  const t = opts.target;
  let target: Int32Array;
  if (t === undefined) target = argmaxRows(scores);
  else if (typeof t === 'number') {
    expectClass(fn, 'target', t, C);
    target = new Int32Array(N).fill(t);
  } else target = Int32Array.from(labelsOf(fn, 'target', t, N, C));
  const grads: FloatTensor[] = new Array<FloatTensor>(steps.length);
  let d = oneHot(scores, target);
  for (let i = steps.length - 1; i >= 0; i--) {
    grads[i] = d;
    d = steps[i].backward(d);
  }
  return {
    scores,
    target,
    layers: steps.map((s, i) => ({ name: s.name, out: s.out, grad: grads[i] })),
    inputGrad: space.toPixelGrad(d),
  };
}
