// src/cli/gradcheckCases.ts: the case table of `layerwise gradcheck`: one Check per layer
// (forward/backward pair), each comparing the backward's gradients with numerical ones in float64.
import * as L from '../layers/index.js';
import { Tensor, type Rng } from '../tensor/index.js';
import { attentionChecks } from './gradcheckAttention.js';
import {
  KINK,
  SMOOTH,
  elementwise,
  lossErrors,
  randn,
  randnHalf,
  vjpErrors,
  type Check,
} from './gradcheckHelpers.js';

function affineChecks(): Check[] {
  return [
    {
      layer: 'affine',
      threshold: SMOOTH,
      run: (rng) => {
        const x = randn(rng, 3, 2, 3),
          w = randn(rng, 6, 4),
          b = randn(rng, 4);
        return vjpErrors(
          rng,
          { x, w, b },
          () => L.affineForward(x, w, b).out,
          (d) => L.affineBackward(d, L.affineForward(x, w, b).cache),
        );
      },
    },
    elementwise('relu', KINK, L.reluForward, L.reluBackward),
    elementwise('leaky relu', KINK, (x) => L.leakyReluForward(x, 0.1), L.leakyReluBackward),
    elementwise('sigmoid', SMOOTH, L.sigmoidForward, L.sigmoidBackward),
    elementwise('tanh', SMOOTH, L.tanhForward, L.tanhBackward),
    {
      layer: 'svm loss',
      threshold: KINK,
      run: (rng) => {
        const x = randn(rng, 6, 5),
          y = Int32Array.from({ length: 6 }, () => rng.int(5));
        return lossErrors(x, () => L.svmLoss(x, y));
      },
    },
    {
      layer: 'softmax loss',
      threshold: SMOOTH,
      run: (rng) => {
        const x = randn(rng, 6, 5),
          y = Int32Array.from({ length: 6 }, () => rng.int(5));
        return lossErrors(x, () => L.softmaxLoss(x, y));
      },
    },
  ];
}

function normChecks(): Check[] {
  const bn = (backward: typeof L.batchnormBackward) => (rng: Rng) => {
    const x = randn(rng, 6, 4),
      gamma = randn(rng, 4),
      beta = randn(rng, 4);
    const fwd = () => L.batchnormForward(x, gamma, beta, { mode: 'train' });
    return vjpErrors(
      rng,
      { x, gamma, beta },
      () => fwd().out,
      (d) => backward(d, fwd().cache),
    );
  };
  return [
    { layer: 'batchnorm', threshold: SMOOTH, run: bn(L.batchnormBackward) },
    { layer: 'batchnorm (Alt)', threshold: SMOOTH, run: bn(L.batchnormBackwardAlt) },
    {
      layer: 'spatial batchnorm',
      threshold: SMOOTH,
      run: (rng) => {
        const x = randn(rng, 2, 3, 3, 2),
          gamma = randn(rng, 3),
          beta = randn(rng, 3);
        const fwd = () => L.spatialBatchnormForward(x, gamma, beta, { mode: 'train' });
        return vjpErrors(
          rng,
          { x, gamma, beta },
          () => fwd().out,
          (d) => L.spatialBatchnormBackward(d, fwd().cache),
        );
      },
    },
    {
      layer: 'layernorm',
      threshold: SMOOTH,
      run: (rng) => {
        const x = randn(rng, 4, 5),
          gamma = randn(rng, 5),
          beta = randn(rng, 5);
        const fwd = () => L.layernormForward(x, gamma, beta);
        return vjpErrors(
          rng,
          { x, gamma, beta },
          () => fwd().out,
          (d) => L.layernormBackward(d, fwd().cache),
        );
      },
    },
    {
      layer: 'dropout (seed 123)',
      threshold: SMOOTH,
      run: (rng) => {
        const x = randn(rng, 5, 6);
        const fwd = () => L.dropoutForward(x, { p: 0.3, mode: 'train', seed: 123 });
        return vjpErrors(
          rng,
          { x },
          () => fwd().out,
          (d) => L.dropoutBackward(d, fwd().cache),
        );
      },
    },
  ];
}

function convChecks(): Check[] {
  const conv = (fwd: typeof L.convForward, bwd: typeof L.convBackward) => (rng: Rng) => {
    const x = randn(rng, 2, 2, 5, 5),
      w = randn(rng, 3, 2, 3, 3),
      b = randn(rng, 3),
      param = { stride: 2, pad: 1 };
    return vjpErrors(
      rng,
      { x, w, b },
      () => fwd(x, w, b, param).out,
      (d) => bwd(d, fwd(x, w, b, param).cache),
    );
  };
  const pool = { poolHeight: 2, poolWidth: 2, stride: 2 };
  return [
    { layer: 'conv (fast)', threshold: SMOOTH, run: conv(L.convForward, L.convBackward) },
    {
      layer: 'conv (naive)',
      threshold: SMOOTH,
      run: conv(L.convForwardNaive, L.convBackwardNaive),
    },
    {
      layer: 'max pool',
      threshold: KINK,
      run: (rng) => {
        const x = randn(rng, 2, 2, 4, 4);
        return vjpErrors(
          rng,
          { x },
          () => L.maxPoolForward(x, pool).out,
          (d) => L.maxPoolBackward(d, L.maxPoolForward(x, pool).cache),
        );
      },
    },
    {
      layer: 'relu-max pool (fused)',
      threshold: KINK,
      run: (rng) => {
        const x = randn(rng, 2, 2, 4, 4);
        return vjpErrors(
          rng,
          { x },
          () => L.reluMaxPool2x2Forward(x).out,
          (d) => L.reluMaxPool2x2Backward(d, L.reluMaxPool2x2Forward(x).cache),
        );
      },
    },
    {
      layer: 'avg pool',
      threshold: SMOOTH,
      run: (rng) => {
        const x = randn(rng, 2, 2, 4, 4);
        return vjpErrors(
          rng,
          { x },
          () => L.avgPoolForward(x, pool).out,
          (d) => L.avgPoolBackward(d, L.avgPoolForward(x, pool).cache),
        );
      },
    },
  ];
}

function recurrentChecks(): Check[] {
  const N = 2,
    T = 3,
    D = 4,
    H = 3,
    V = 5;
  return [
    {
      layer: 'rnn step',
      threshold: SMOOTH,
      run: (rng) => {
        const x = randnHalf(rng, N, D),
          prevH = randnHalf(rng, N, H),
          Wx = randnHalf(rng, D, H),
          Wh = randnHalf(rng, H, H),
          b = randnHalf(rng, H);
        const fwd = () => L.rnnStepForward(x, prevH, Wx, Wh, b);
        return vjpErrors(
          rng,
          { x, prevH, Wx, Wh, b },
          () => fwd().nextH,
          (d) => L.rnnStepBackward(d, fwd().cache),
        );
      },
    },
    {
      layer: 'rnn sequence',
      threshold: SMOOTH,
      run: (rng) => {
        const x = randnHalf(rng, N, T, D),
          h0 = randnHalf(rng, N, H),
          Wx = randnHalf(rng, D, H),
          Wh = randnHalf(rng, H, H),
          b = randnHalf(rng, H);
        const fwd = () => L.rnnForward(x, h0, Wx, Wh, b);
        return vjpErrors(
          rng,
          { x, h0, Wx, Wh, b },
          () => fwd().h,
          (d) => L.rnnBackward(d, fwd().cache),
        );
      },
    },
    {
      layer: 'lstm step',
      threshold: SMOOTH,
      run: (rng) => {
        const x = randnHalf(rng, N, D),
          prevH = randnHalf(rng, N, H),
          prevC = randnHalf(rng, N, H);
        const Wx = randnHalf(rng, D, 4 * H),
          Wh = randnHalf(rng, H, 4 * H),
          b = randnHalf(rng, 4 * H);
        const fwd = () => L.lstmStepForward(x, prevH, prevC, Wx, Wh, b);
        // h and c both flow on: check Σ nextH·dnextH + Σ nextC·dnextC through one stacked output (2, N, H)
        const both = () => {
          const { nextH, nextC } = fwd();
          const out = Tensor.zeros([2, N, H], 'float64');
          out.data.set(nextH.data, 0);
          out.data.set(nextC.data, N * H);
          return out;
        };
        return vjpErrors(rng, { x, prevH, prevC, Wx, Wh, b }, both, (d) => {
          const dnextH = new Tensor(d.data.slice(0, N * H), [N, H]),
            dnextC = new Tensor(d.data.slice(N * H), [N, H]);
          return L.lstmStepBackward(dnextH, dnextC, fwd().cache);
        });
      },
    },
    {
      layer: 'lstm sequence',
      threshold: SMOOTH,
      run: (rng) => {
        const x = randnHalf(rng, N, T, D),
          h0 = randnHalf(rng, N, H),
          Wx = randnHalf(rng, D, 4 * H),
          Wh = randnHalf(rng, H, 4 * H),
          b = randnHalf(rng, 4 * H);
        const fwd = () => L.lstmForward(x, h0, Wx, Wh, b);
        return vjpErrors(
          rng,
          { x, h0, Wx, Wh, b },
          () => fwd().h,
          (d) => L.lstmBackward(d, fwd().cache),
        );
      },
    },
    {
      layer: 'gru step',
      threshold: SMOOTH,
      run: (rng) => {
        const x = randnHalf(rng, N, D),
          prevH = randnHalf(rng, N, H),
          Wx = randnHalf(rng, D, 3 * H),
          Wh = randnHalf(rng, H, 3 * H),
          b = randnHalf(rng, 3 * H);
        const fwd = () => L.gruStepForward(x, prevH, Wx, Wh, b);
        return vjpErrors(
          rng,
          { x, prevH, Wx, Wh, b },
          () => fwd().nextH,
          (d) => L.gruStepBackward(d, fwd().cache),
        );
      },
    },
    {
      layer: 'gru sequence',
      threshold: SMOOTH,
      run: (rng) => {
        const x = randnHalf(rng, N, T, D),
          h0 = randnHalf(rng, N, H),
          Wx = randnHalf(rng, D, 3 * H),
          Wh = randnHalf(rng, H, 3 * H),
          b = randnHalf(rng, 3 * H);
        const fwd = () => L.gruForward(x, h0, Wx, Wh, b);
        return vjpErrors(
          rng,
          { x, h0, Wx, Wh, b },
          () => fwd().h,
          (d) => L.gruBackward(d, fwd().cache),
        );
      },
    },
    {
      layer: 'word embedding',
      threshold: SMOOTH,
      run: (rng) => {
        const ids = Tensor.from([0, 3, 3, 1, 4, 0], [N, T], 'int32'),
          W = randn(rng, V, D);
        const fwd = () => L.wordEmbeddingForward(ids, W);
        return vjpErrors(
          rng,
          { W },
          () => fwd().out,
          (d) => L.wordEmbeddingBackward(d, fwd().cache),
        );
      },
    },
    {
      layer: 'temporal affine',
      threshold: SMOOTH,
      run: (rng) => {
        const x = randn(rng, N, T, D),
          w = randn(rng, D, V),
          b = randn(rng, V);
        const fwd = () => L.temporalAffineForward(x, w, b);
        return vjpErrors(
          rng,
          { x, w, b },
          () => fwd().out,
          (d) => L.temporalAffineBackward(d, fwd().cache),
        );
      },
    },
    {
      layer: 'temporal softmax loss',
      threshold: SMOOTH,
      run: (rng) => {
        const x = randn(rng, N, T, V),
          y = Tensor.from([1, 0, 4, 2, 2, 3], [N, T], 'int32');
        const mask = [
          [true, true, false],
          [true, false, true],
        ];
        return lossErrors(x, () => L.temporalSoftmaxLoss(x, y, mask));
      },
    },
  ];
}

/** Issue 15: transposed conv (fast and naive), group norm, the GAN losses. */
function generativeChecks(): Check[] {
  const up =
    (fwd: typeof L.convTransposeForward, bwd: typeof L.convTransposeBackward) => (rng: Rng) => {
      const x = randn(rng, 2, 3, 3, 2),
        w = randn(rng, 3, 2, 4, 3),
        b = randn(rng, 2),
        param = { stride: 2, pad: 1, outputPad: 1 };
      return vjpErrors(
        rng,
        { x, w, b },
        () => fwd(x, w, b, param).out,
        (d) => bwd(d, fwd(x, w, b, param).cache),
      );
    };
  return [
    {
      layer: 'conv transpose (fast)',
      threshold: SMOOTH,
      run: up(L.convTransposeForward, L.convTransposeBackward),
    },
    {
      layer: 'conv transpose (naive)',
      threshold: SMOOTH,
      run: up(L.convTransposeForwardNaive, L.convTransposeBackwardNaive),
    },
    {
      layer: 'spatial groupnorm',
      threshold: SMOOTH,
      run: (rng) => {
        const x = randn(rng, 2, 6, 2, 3),
          gamma = randn(rng, 6),
          beta = randn(rng, 6);
        const fwd = () => L.spatialGroupnormForward(x, gamma, beta, { groups: 3 });
        return vjpErrors(
          rng,
          { x, gamma, beta },
          () => fwd().out,
          (d) => L.spatialGroupnormBackward(d, fwd().cache),
        );
      },
    },
    {
      layer: 'bce with logits loss',
      threshold: SMOOTH,
      run: (rng) => {
        const x = randn(rng, 4, 3),
          y = Tensor.from(
            Array.from({ length: 12 }, (_, i) => (i % 3) / 2),
            [4, 3],
            'float64',
          );
        return lossErrors(x, () => L.bceWithLogitsLoss(x, y));
      },
    },
    {
      layer: 'mse loss',
      threshold: SMOOTH,
      run: (rng) => {
        const x = randn(rng, 4, 3),
          y = randn(rng, 4, 3);
        return lossErrors(x, () => L.mseLoss(x, y));
      },
    },
  ];
}

export const CHECKS: readonly Check[] = [
  ...affineChecks(),
  ...normChecks(),
  ...convChecks(),
  ...recurrentChecks(),
  ...generativeChecks(),
  ...attentionChecks(),
];
