// src/layers/losses.ts: classification losses on scores x (N, C) and labels y (N). Each returns
// the mean loss over the batch and its gradient dx in one pass, as the classic losses do.
import {
  expectFloat,
  expectNdim,
  labelsOf,
  Tensor,
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
