// examples/browser/toy.ts: what the browser demo computes, without the DOM, so that
// test/browser/bundle.test.ts runs the same code in a browser-like context: the spirals toy
// problem, a small Sequential net trained by full-batch Adam, and float64 gradient checks of
// a few layers. Imports only the browser entry.
import {
  gradcheck,
  layers,
  nn,
  optim,
  Rng,
  Tensor,
  tensor,
  type FloatTensor,
  type Labels,
} from '../../src/browser.js';

/** A classification problem: X (N, 2) points, y (N) class ids. */
export interface Problem {
  readonly X: FloatTensor; // (N, 2)
  readonly y: Int32Array; // (N)
}

/** N points per class on C spiral arms in [-1, 1]², with angular noise (the classic toy set). */
export function spirals(N: number, C: number, seed: number, noise = 0.2): Problem {
  const rng = new Rng(seed),
    X = Tensor.zeros([N * C, 2]),
    y = new Int32Array(N * C);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < N; i++) {
      const r = i / N,
        theta = c * 4 + 4 * r + noise * rng.normal(),
        n = c * N + i;
      X.data[2 * n] = r * Math.sin(theta);
      X.data[2 * n + 1] = r * Math.cos(theta);
      y[n] = c;
    }
  }
  return { X, y };
}

/** Index of the largest score in each row.   scores: (N, C) => (N) */
export const predict = (scores: Tensor): Int32Array => tensor.argmaxRows(scores);

/** The fraction of rows whose largest score is at the label. */
export function accuracy(scores: Tensor, y: ArrayLike<number>): number {
  const p = predict(scores);
  let correct = 0;
  for (let n = 0; n < p.length; n++) if (p[n] === y[n]) correct++;
  return correct / p.length;
}

/** 2 -> hidden -> hidden -> C with ReLUs, softmax loss, a little L2. */
export function spiralNet(C: number, hidden: number, seed: number): nn.Sequential {
  return new nn.Sequential(
    new nn.Linear(2, hidden, { seed }),
    new nn.ReLU(),
    new nn.Linear(hidden, hidden, { seed: seed + 1 }),
    new nn.ReLU(),
    new nn.Linear(hidden, C, { seed: seed + 2 }),
    { reg: 1e-4 },
  );
}

/** The model side that a training step needs (Sequential and the classic models have it). */
export interface Trainable {
  readonly params: Record<string, FloatTensor>;
  loss(X: Tensor, y: Labels): Tensor | { loss: number; grads: Record<string, FloatTensor> };
}

/**
 * One step on (X, y): loss and gradients from model.loss, then Adam on every parameter, each
 * with its own config (the optimiser state lives there). Returns the loss before the update.
 */
export function adamStep(
  model: Trainable,
  configs: Record<string, optim.OptimConfig>,
  X: Tensor,
  y: Labels,
  learningRate: number,
): number {
  const result = model.loss(X, y);
  if (result instanceof Tensor)
    throw new Error('adamStep: model.loss(X, y) returned scores, not { loss, grads }');
  for (const [key, w] of Object.entries(model.params)) {
    configs[key] = optim.adam(w, result.grads[key], configs[key] ?? { learningRate });
  }
  return result.loss;
}

/** The outcome of one gradient check: the largest relative error and the bound it must meet. */
export interface GradcheckRow {
  readonly layer: string;
  readonly grad: string;
  readonly relError: number;
  readonly bound: number;
}

/**
 * Float64 centred-difference checks of affine, relu, softmax loss, batch norm, conv and an LSTM
 * step: analytic gradient (the backward) against numerical gradient (differences of the forward).
 * relu's bound is looser (1e-5) because of its kink at 0; the others are smooth (1e-7).
 */
export function layerGradchecks(seed: number): GradcheckRow[] {
  const rng = new Rng(seed);
  const randn = (shape: number[]): FloatTensor => Tensor.randn(shape, { rng, dtype: 'float64' });
  const rows: GradcheckRow[] = [];
  const row = (
    layer: string,
    grad: string,
    analytic: Tensor,
    numeric: Tensor,
    bound = 1e-7,
  ): void => {
    rows.push({ layer, grad, relError: gradcheck.relError(analytic, numeric), bound });
  };
  const num = gradcheck.evalNumericalGradientArray;

  // affine: x (4, 5), w (5, 3), b (3)
  const x = randn([4, 5]),
    w = randn([5, 3]),
    b = randn([3]),
    dout = randn([4, 3]);
  const affine = layers.affineBackward(dout, layers.affineForward(x, w, b).cache);
  row(
    'affine',
    'dx',
    affine.dx,
    num((t) => layers.affineForward(t, w, b).out, x, dout),
  );
  row(
    'affine',
    'dw',
    affine.dw,
    num((t) => layers.affineForward(x, t, b).out, w, dout),
  );
  row(
    'affine',
    'db',
    affine.db,
    num((t) => layers.affineForward(x, w, t).out, b, dout),
  );

  // relu: x (4, 5)
  const dr = randn([4, 5]);
  const relu = layers.reluBackward(dr, layers.reluForward(x).cache);
  row(
    'relu',
    'dx',
    relu.dx,
    num((t) => layers.reluForward(t).out, x, dr),
    1e-5,
  );

  // softmax loss: scores (6, 4)
  const scores = randn([6, 4]),
    labels = [0, 3, 1, 2, 3, 0];
  const softmax = layers.softmaxLoss(scores, labels);
  row(
    'softmax loss',
    'dx',
    softmax.dx,
    gradcheck.evalNumericalGradient((t) => layers.softmaxLoss(t, labels).loss, scores),
  );

  // batch norm (train mode): x (6, 4)
  const xb = randn([6, 4]),
    gamma = randn([4]),
    beta = randn([4]),
    db = randn([6, 4]);
  const bn = (t: Tensor, g: Tensor, be: Tensor): Tensor =>
    layers.batchnormForward(t, g, be, { mode: 'train' }).out;
  const bnGrads = layers.batchnormBackward(
    db,
    layers.batchnormForward(xb, gamma, beta, { mode: 'train' }).cache,
  );
  row(
    'batch norm',
    'dx',
    bnGrads.dx,
    num((t) => bn(t, gamma, beta), xb, db),
  );
  row(
    'batch norm',
    'dgamma',
    bnGrads.dgamma,
    num((t) => bn(xb, t, beta), gamma, db),
  );

  // conv: x (2, 3, 5, 5), w (2, 3, 3, 3), stride 1, pad 1
  const xc = randn([2, 3, 5, 5]),
    wc = randn([2, 3, 3, 3]),
    bc = randn([2]),
    dc = randn([2, 2, 5, 5]);
  const conv = { stride: 1, pad: 1 };
  const convGrads = layers.convBackward(dc, layers.convForward(xc, wc, bc, conv).cache);
  row(
    'conv',
    'dx',
    convGrads.dx,
    num((t) => layers.convForward(t, wc, bc, conv).out, xc, dc),
  );
  row(
    'conv',
    'dw',
    convGrads.dw,
    num((t) => layers.convForward(xc, t, bc, conv).out, wc, dc),
  );

  // LSTM step: x (3, 4), prevH, prevC (3, 5), Wx (4, 20), Wh (5, 20), b (20); checks dx, dWh
  const xl = randn([3, 4]),
    h0 = randn([3, 5]),
    c0 = randn([3, 5]);
  const Wx = randn([4, 20]),
    Wh = randn([5, 20]),
    bl = randn([20]),
    dh = randn([3, 5]),
    dcn = randn([3, 5]);
  const step = layers.lstmStepForward(xl, h0, c0, Wx, Wh, bl);
  const lstm = layers.lstmStepBackward(dh, dcn, step.cache);
  // numerical: Σ nextH ⊙ dh + Σ nextC ⊙ dcn as one scalar
  const lstmLoss = (t: Tensor, which: 'x' | 'Wh'): number => {
    const s =
      which === 'x'
        ? layers.lstmStepForward(t, h0, c0, Wx, Wh, bl)
        : layers.lstmStepForward(xl, h0, c0, Wx, t, bl);
    let sum = 0;
    for (let i = 0; i < dh.size; i++)
      sum += s.nextH.data[i] * dh.data[i] + s.nextC.data[i] * dcn.data[i];
    return sum;
  };
  row(
    'LSTM step',
    'dx',
    lstm.dx,
    gradcheck.evalNumericalGradient((t) => lstmLoss(t, 'x'), xl),
  );
  row(
    'LSTM step',
    'dWh',
    lstm.dWh,
    gradcheck.evalNumericalGradient((t) => lstmLoss(t, 'Wh'), Wh),
  );
  return rows;
}
