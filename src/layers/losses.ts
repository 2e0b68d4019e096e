// src/layers/losses.ts: classification losses on scores x (N, C) and labels y (N), and the
// elementwise losses of generative nets (binary cross-entropy on logits, mean squared error) on
// x and targets y of one shape. Each returns the mean loss and its gradient dx in one pass.
import {
  expectFloat,
  expectNdim,
  expectSameDType,
  expectShape,
  fmt,
  labelsOf,
  Tensor,
  ValueError,
  type FloatTensor,
  type Labels,
} from '../tensor/index.js';
import { softmaxCrossEntropyRow } from './softmax.js';

/**
 * Multiclass hinge loss: mean over n of Σ_{j≠y} max(0, x_j − x_y + 1).
 * dx[n, j] = [margin_j > 0] / N for j ≠ y,  dx[n, y] = −#{j : margin_j > 0} / N.
 * x: (N, C), y: (N) => loss: number, dx: (N, C)
 */
export function svmLoss(x: Tensor, y: Labels): { loss: number; dx: FloatTensor } {
  expectFloat('svmLoss', 'x', x);
  expectNdim('svmLoss', 'x', x, 2, '(N, C) scores');
  const [N, C] = x.shape;
  const labels = labelsOf('svmLoss', 'y', y, N, C);
  const dx = Tensor.zeros([N, C], x.dtype),
    xd = x.data,
    dd = dx.data;
  let loss = 0;
  for (let n = 0; n < N; n++) {
    const row = n * C,
      yn = labels[n],
      correct = xd[row + yn];
    let positive = 0;
    for (let j = 0; j < C; j++) {
      if (j === yn) continue;
      const margin = xd[row + j] - correct + 1;
      if (margin > 0) {
        loss += margin;
        dd[row + j] = 1 / N;
        positive++;
      }
    }
    dd[row + yn] = -positive / N;
  }
  return { loss: N > 0 ? loss / N : 0, dx };
}

/**
 * Softmax cross-entropy: mean over n of −log softmax(x_n)[y_n], computed as logsumexp(x_n) − x_{n,y}
 * after subtracting the row maximum, so logits of ±1e4 give finite values.
 * dx[n, :] = (softmax(x_n) − onehot(y_n)) / N.   x: (N, C), y: (N) => loss: number, dx: (N, C)
 */
export function softmaxLoss(x: Tensor, y: Labels): { loss: number; dx: FloatTensor } {
  expectFloat('softmaxLoss', 'x', x);
  expectNdim('softmaxLoss', 'x', x, 2, '(N, C) scores');
  const [N, C] = x.shape;
  const labels = labelsOf('softmaxLoss', 'y', y, N, C);
  const dx = Tensor.zeros([N, C], x.dtype),
    xd = x.data,
    dd = dx.data;
  let loss = 0;
  for (let n = 0; n < N; n++) loss += softmaxCrossEntropyRow(xd, dd, n * C, C, labels[n], N);
  return { loss: N > 0 ? loss / N : 0, dx };
}

/** Checks an elementwise loss's y against x (both already float): one shape, one dtype. */
function checkTargets(fn: string, x: FloatTensor, y: FloatTensor): void {
  expectShape(fn, 'y', y, x.shape, `x has shape ${fmt(x.shape)}`);
  expectSameDType(fn, { x, y });
}

/**
 * Binary cross-entropy on logits, mean over all M elements of
 * −(y·log σ(x) + (1 − y)·log(1 − σ(x))) = max(x, 0) − x·y + log(1 + e^−|x|), the form that
 * stays finite for any |x| (torch's binary_cross_entropy_with_logits, mean reduction).
 * dx = (σ(x) − y) / M.   x: any shape, y: same shape, in [0, 1] => loss: number, dx: shape of x
 */
export function bceWithLogitsLoss(x: Tensor, y: Tensor): { loss: number; dx: FloatTensor } {
  const fn = 'bceWithLogitsLoss';
  expectFloat(fn, 'x', x);
  expectFloat(fn, 'y', y);
  checkTargets(fn, x, y);
  const M = x.size,
    xd = x.data,
    yd = y.data;
  for (let i = 0; i < M; i++) {
    if (!(yd[i] >= 0 && yd[i] <= 1))
      throw new ValueError(`${fn}: y[${i}] = ${yd[i]} is outside [0, 1]`);
  }
  const dx = Tensor.zeros(x.shape, x.dtype),
    dd = dx.data;
  let loss = 0;
  for (let i = 0; i < M; i++) {
    const v = xd[i],
      e = Math.exp(-Math.abs(v)); // in (0, 1]: never overflows
    loss += Math.max(v, 0) - v * yd[i] + Math.log1p(e);
    const sigmoid = v >= 0 ? 1 / (1 + e) : e / (1 + e);
    dd[i] = (sigmoid - yd[i]) / M;
  }
  return { loss: M > 0 ? loss / M : 0, dx };
}

/**
 * Mean squared error, mean over all M elements of (x − y)² (torch's mse_loss, mean reduction).
 * dx = 2·(x − y) / M.   x: any shape, y: same shape => loss: number, dx: shape of x
 */
export function mseLoss(x: Tensor, y: Tensor): { loss: number; dx: FloatTensor } {
  expectFloat('mseLoss', 'x', x);
  expectFloat('mseLoss', 'y', y);
  checkTargets('mseLoss', x, y);
  const M = x.size,
    xd = x.data,
    yd = y.data;
  const dx = Tensor.zeros(x.shape, x.dtype),
    dd = dx.data;
  let loss = 0;
  for (let i = 0; i < M; i++) {
    const diff = xd[i] - yd[i];
    loss += diff * diff;
    dd[i] = (2 * diff) / M;
  }
  return { loss: M > 0 ? loss / M : 0, dx };
}
