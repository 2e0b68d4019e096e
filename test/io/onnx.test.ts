// ONNX export checked by a real runtime: onnxruntime-web (its WebAssembly build, run in Node)
// must give layerwise's eval-mode scores to 1e-5 at batch sizes 1 and 37, for every model kind
// and every exportable module.
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { exportOnnx } from '../../src/io/index.js';
import * as models from '../../src/models/index.js';
import * as nn from '../../src/nn/index.js';
import { Rng, Tensor, type FloatTensor } from '../../src/tensor/index.js';

ort.env.wasm.numThreads = 1;

type AnyModel = {
  params: Record<string, FloatTensor>;
  buffers?: Record<string, FloatTensor>;
  loss(X: Tensor): FloatTensor;
};

/** Running statistics and norm params away from their initial values, so eval mode is tested. */
function randomise(m: AnyModel, seed: number): AnyModel {
  const rng = new Rng(seed);
  for (const [k, t] of Object.entries(m.buffers ?? {}))
    for (let i = 0; i < t.size; i++)
      t.data[i] = /Var/.test(k) ? 0.5 + rng.uniform() : 0.5 * rng.normal();
  for (const [k, t] of Object.entries(m.params))
    if (/gamma|beta|^\d+\.(weight|bias)$/.test(k) && t.shape.length === 1)
      for (let i = 0; i < t.size; i++) t.data[i] += 0.3 * rng.normal();
  return m;
}

const CASES: Record<string, { make: () => AnyModel; sample: number[]; inputShape?: number[] }> = {
  LinearClassifier: {
    make: () => new models.LinearClassifier({ inputDim: 12, numClasses: 5, seed: 1 }),
    sample: [12],
  },
  'TwoLayerNet on (N, 3, 4)': {
    make: () => new models.TwoLayerNet({ inputDim: 12, hiddenDim: 9, numClasses: 5, seed: 2 }),
    sample: [3, 4],
    inputShape: [3, 4],
  },
  'FullyConnectedNet, batchnorm and dropout': {
    make: () =>
      randomise(
        new models.FullyConnectedNet({
          ...{ inputDim: 12, hiddenDims: [9, 8], numClasses: 5, normalization: 'batchnorm' },
          ...{ dropout: 0.4, weightScale: 0.3, seed: 3 },
        }),
        4,
      ),
    sample: [12],
  },
  'FullyConnectedNet, layernorm': {
    make: () =>
      randomise(
        new models.FullyConnectedNet({
          ...{ inputDim: 12, hiddenDims: [9], numClasses: 5, normalization: 'layernorm' },
          ...{ weightScale: 0.3, seed: 5 },
        }),
        6,
      ),
    sample: [12],
  },
  'ThreeLayerConvNet, batchnorm and dropout': {
    make: () =>
      randomise(
        new models.ThreeLayerConvNet({
          ...{ inputDim: [2, 9, 8], numFilters: 4, filterSize: 5, hiddenDim: 7, numClasses: 3 },
          ...{ normalization: 'batchnorm', dropout: 0.3, weightScale: 0.2, seed: 7 },
        }),
        8,
      ),
    sample: [2, 9, 8],
  },
  'Sequential of every image module': {
    make: () =>
      randomise(
        new nn.Sequential(
          new nn.Conv2d(2, 4, 3, { pad: 1, seed: 9 }),
          new nn.BatchNorm2d(4),
          new nn.LeakyReLU(0.1),
          new nn.MaxPool2d(2),
          new nn.Conv2d(4, 3, [2, 3], { stride: 2, bias: false, seed: 10 }),
          new nn.Tanh(),
          new nn.AvgPool2d([1, 1], 1),
          new nn.Linear(6, 6, { seed: 11 }), // flattens (N, 3, 2, 1) itself
          new nn.LayerNorm(6),
          new nn.Sigmoid(),
          new nn.Dropout(0.5),
          new nn.Flatten(),
          new nn.BatchNorm1d(6),
          new nn.ReLU(),
          new nn.Linear(6, 3, { bias: false, seed: 12 }),
        ),
        13,
      ),
    sample: [2, 8, 6],
    inputShape: [2, 8, 6],
  },
  'ThreeLayerConvNet, groupnorm (2 groups)': {
    make: () =>
      randomise(
        new models.ThreeLayerConvNet({
          ...{ inputDim: [2, 9, 8], numFilters: 4, filterSize: 5, hiddenDim: 6, numClasses: 3 },
          ...{ normalization: 'groupnorm', groups: 2, weightScale: 0.2, seed: 21 },
        }),
        22,
      ),
    sample: [2, 9, 8],
  },
  'FullyConnectedNet, groupnorm (3 groups)': {
    make: () =>
      randomise(
        new models.FullyConnectedNet({
          ...{ inputDim: 12, hiddenDims: [9, 6], numClasses: 5, normalization: 'groupnorm' },
          ...{ groups: 3, weightScale: 0.3, seed: 23 },
        }),
        24,
      ),
    sample: [12],
  },
  'Sequential of generator modules (Unflatten, ConvTranspose2d, GroupNorm)': {
    make: () =>
      randomise(
        new nn.Sequential(
          new nn.Linear(5, 18, { seed: 25 }),
          new nn.Unflatten([2, 3, 3]),
          new nn.ConvTranspose2d(2, 4, 4, { stride: 2, pad: 1, seed: 26 }), // (4, 6, 6)
          new nn.GroupNorm(2, 4, { eps: 1e-4 }),
          new nn.ReLU(),
          new nn.ConvTranspose2d(4, 1, 3, { stride: 2, pad: 1, outputPad: 1, bias: false }), // (1, 12, 12)
          new nn.Tanh(),
          new nn.Linear(144, 3, { seed: 27 }), // flattens (N, 1, 12, 12) itself
        ),
        28,
      ),
    sample: [5],
    inputShape: [5],
  },
  'Sequential of RNN, LSTM, GRU and TemporalLinear': {
    make: () =>
      new nn.Sequential(
        new nn.LSTM(4, 5, { seed: 14 }),
        new nn.GRU(5, 3, { seed: 15 }),
        new nn.RNN(3, 6, { seed: 16 }),
        new nn.TemporalLinear(6, 2, { seed: 17 }),
        new nn.Linear(12, 3, { seed: 18 }),
      ),
    sample: [6, 4],
    inputShape: [6, 4],
  },
};

async function runtimeScores(bytes: Uint8Array, X: Tensor): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({
    input: new ort.Tensor('float32', X.data as Float32Array, X.shape),
  });
  return out.scores.data as Float32Array;
}

describe('exportOnnx, run by onnxruntime-web', () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: the runtime's scores are layerwise's to 1e-5 at N = 1 and 37`, async () => {
      const model = c.make();
      const bytes = exportOnnx(model, c.inputShape ? { inputShape: c.inputShape } : {});
      for (const N of [1, 37]) {
        const X = Tensor.randn([N, ...c.sample], { seed: N });
        const ours = model.loss(X);
        const theirs = await runtimeScores(bytes, X);
        expect(theirs.length).toBe(ours.size);
        let worst = 0;
        for (let i = 0; i < ours.size; i++)
          worst = Math.max(worst, Math.abs(theirs[i] - ours.data[i]));
        expect(worst).toBeLessThan(1e-5);
      }
    });
  }

  it("the DCGAN generator: the runtime's images are the generator's (eval mode) to 1e-5", async () => {
    const gen = randomise(new models.DCGANGenerator({ latentDim: 6, width: 3, seed: 29 }), 30);
    const bytes = exportOnnx(gen, { inputShape: [6] });
    const z = Tensor.randn([4, 6], { seed: 31 });
    const ours = (gen as models.DCGANGenerator).eval().forward(z); // (4, 1, 28, 28)
    const theirs = await runtimeScores(bytes, z);
    expect(theirs.length).toBe(ours.size);
    let worst = 0;
    for (let i = 0; i < ours.size; i++) worst = Math.max(worst, Math.abs(theirs[i] - ours.data[i]));
    expect(worst).toBeLessThan(1e-5);
  });

  it('stores the preprocessing, class names and input shape in metadata_props', () => {
    const model = new models.TwoLayerNet({ inputDim: 4, hiddenDim: 3, numClasses: 2, seed: 1 });
    const bytes = exportOnnx(model, {
      inputShape: [1, 2, 2],
      classNames: ['no', 'yes'],
      preprocessing: { kind: 'per-channel', mean: [0.5], std: [0.25] },
    });
    const text = new TextDecoder('latin1').decode(bytes);
    expect(text).toContain('layerwise.classNames');
    expect(text).toContain('["no","yes"]');
    expect(text).toContain('{"kind":"per-channel","mean":[0.5],"std":[0.25]}');
    expect(text).toContain('layerwise.inputShape');
  });

  it('names the module it cannot export and the models it covers', () => {
    const seq = new nn.Sequential(new nn.Linear(2, 2), new nn.Embedding(3, 2));
    expect(() => exportOnnx(seq, { inputShape: [2] })).toThrow(
      'exportOnnx: module Sequential.1 (Embedding) cannot be exported: no Gather over integer token ids (the graph input is float) in the exporter',
    );
    expect(() => exportOnnx(new nn.Sequential(new nn.ReLU()))).toThrow(
      "exportOnnx: a Sequential needs options.inputShape (one sample's shape)",
    );
    const captioner = new models.CaptioningRNN({
      wordToIdx: { '<NULL>': 0, '<START>': 1, '<END>': 2 },
      ...{ inputDim: 4, wordvecDim: 3, hiddenDim: 2 },
    });
    expect(() => exportOnnx(captioner)).toThrow(/^exportOnnx: a CaptioningRNN cannot be exported/);
  });
});
