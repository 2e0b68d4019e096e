// vis.smoothGrad and vis.gradientTimesInput against numerical gradients (float64 net, per-channel
// preprocessing, 2 channels so the max over channels counts).
import { describe, expect, it } from 'vitest';
import { applyPreprocessing, fitPreprocessing } from '../../src/data/index.js';
import { relError } from '../../src/gradcheck/index.js';
import { FullyConnectedNet } from '../../src/models/index.js';
import { Rng, Tensor, type FloatTensor } from '../../src/tensor/index.js';
import * as vis from '../../src/vis/index.js';
import { numericGrad } from '../helpers.js';

const net = new FullyConnectedNet({
  inputDim: 2 * 4 * 4,
  hiddenDims: [10],
  numClasses: 4,
  weightScale: 0.3,
  dtype: 'float64',
  seed: 5,
});
const P = Tensor.rand([3, 2, 4, 4], { seed: 6, dtype: 'float64' }); // (N, C, H, W) pixels
const preprocessing = fitPreprocessing(P, 'per-channel');
const y = Int32Array.from([0, 3, 1]);
const dout = Tensor.zeros([3, 4], 'float64');
y.forEach((c, n) => (dout.data[n * 4 + c] = 1));
/** d Σ scores[n, y[n]] / d pixels at Q (N, C, H, W), numerically. */
const gradAt = (Q: FloatTensor) =>
  numericGrad(
    (X: Tensor) => net.loss(applyPreprocessing(X as FloatTensor, preprocessing)),
    Q.clone(),
    dout,
  );
/** max over the 2 channels of |G|: (3, 2, 4, 4) => (3, 4, 4) */
function maxAbs(G: FloatTensor): FloatTensor {
  const S = Tensor.zeros([3, 4, 4], 'float64');
  for (let n = 0; n < 3; n++)
    for (let j = 0; j < 16; j++)
      S.data[n * 16 + j] = Math.max(
        Math.abs(G.data[n * 32 + j]),
        Math.abs(G.data[n * 32 + 16 + j]),
      );
  return S;
}

describe('smoothGrad and gradientTimesInput', () => {
  it('gradientTimesInput = max over channels of |pixel x d score_y / d pixel|', () => {
    const g = gradAt(P);
    for (let i = 0; i < g.size; i++) g.data[i] *= P.data[i];
    expect(
      relError(vis.gradientTimesInput(net, P, y, { preprocessing }), maxAbs(g as FloatTensor)),
    ).toBeLessThan(1e-7);
  });

  it('smoothGrad = max over channels of |the gradient averaged over the seeded noisy copies|', () => {
    const samples = 3,
      noise = 0.1;
    const rng = new Rng(7); // the same stream as seed 7
    const mean = Tensor.zeros(P.shape, 'float64');
    for (let k = 0; k < samples; k++) {
      const Q = Tensor.zeros(P.shape, 'float64');
      for (let i = 0; i < P.size; i++) Q.data[i] = P.data[i] + noise * rng.normal();
      const g = gradAt(Q);
      for (let i = 0; i < P.size; i++) mean.data[i] += g.data[i] / samples;
    }
    const S = vis.smoothGrad(net, P, y, { preprocessing, samples, noise, seed: 7 });
    expect(relError(S, maxAbs(mean))).toBeLessThan(1e-7);
    // noise 0: the plain saliency map
    const S0 = vis.smoothGrad(net, P, y, { preprocessing, samples: 2, noise: 0 });
    expect(relError(S0, vis.saliencyMap(net, P, y, { preprocessing }))).toBeLessThan(1e-12);
  });

  it('bad options are named', () => {
    expect(() => vis.smoothGrad(net, P, y, { samples: 0 })).toThrow(/smoothGrad: samples/);
    expect(() => vis.smoothGrad(net, P, y, { noise: -1 })).toThrow(/smoothGrad: noise/);
    expect(() => vis.gradientTimesInput(net, P, y, { seed: 1 } as object)).toThrow(
      /gradientTimesInput/,
    );
  });
});
