// examples/twoLayerNet.ts: the first network of the curriculum on a small synthetic problem:
// three interleaved spirals in 2-D, which no linear classifier can separate.
//   npm run build && node dist/examples/twoLayerNet.js
import { models, Rng, Tensor } from '../src/index.js';

/** N points per class on C spiral arms with a little noise (the classic toy data set). */
function spirals(N: number, C: number, seed: number): { X: Tensor; y: Int32Array } {
  const rng = new Rng(seed),
    X = Tensor.zeros([N * C, 2]),
    y = new Int32Array(N * C);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < N; i++) {
      const r = i / N,
        theta = c * 4 + 4 * r + 0.2 * rng.normal(),
        n = c * N + i;
      X.data[2 * n] = r * Math.sin(theta);
      X.data[2 * n + 1] = r * Math.cos(theta);
      y[n] = c;
    }
  }
  return { X, y };
}

function accuracy(scores: Tensor, y: Int32Array): number {
  const C = scores.shape[1];
  let correct = 0;
  for (let n = 0; n < y.length; n++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (scores.data[n * C + c] > scores.data[n * C + best]) best = c;
    if (best === y[n]) correct++;
  }
  return correct / y.length;
}

const train = spirals(300, 3, 1),
  test = spirals(100, 3, 2);
const net = new models.TwoLayerNet({
  inputDim: 2,
  hiddenDim: 100,
  numClasses: 3,
  weightScale: 0.1,
  reg: 1e-3,
  seed: 0,
});
const lr = 1.0;
for (let step = 0; step <= 3000; step++) {
  const { loss, grads } = net.loss(train.X, train.y); // full-batch gradient descent
  for (const [k, p] of Object.entries(net.params)) {
    const g = grads[k].data;
    for (let i = 0; i < p.size; i++) p.data[i] -= lr * g[i];
  }
  if (step % 500 === 0)
    console.log(
      `step ${String(step).padStart(4)}  loss ${loss.toFixed(4)}  train acc ${(accuracy(net.loss(train.X), train.y) * 100).toFixed(1)}%`,
    );
}
console.log(
  `test accuracy: ${(accuracy(net.loss(test.X), test.y) * 100).toFixed(1)}% on ${test.y.length} held-out points`,
);
