// The PyTorch bridge against torch itself: test/fixtures/gen/torch_bridge.py builds the torch
// networks by hand, writes their state dicts with its own safetensors writer and records torch's
// eval-mode scores; layerwise loads them with fromTorchStateDict(strict) and must give the same
// scores. Then layerwise -> torch keys -> layerwise must round-trip bit for bit.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  decodeSafetensors,
  encodeSafetensors,
  fromTorchStateDict,
  toTorchStateDict,
  torchInt64Keys,
} from '../../src/io/index.js';
import * as models from '../../src/models/index.js';
import * as nn from '../../src/nn/index.js';
import { Tensor, type FloatDType, type FloatTensor } from '../../src/tensor/index.js';
import { fixture } from '../helpers.js';

interface Fixture {
  models: Record<
    string,
    {
      inputShape: number[];
      input: number[];
      keys: string[];
      scores: Record<FloatDType, { shape: number[]; data: number[] }>;
    }
  >;
}
const want = fixture<Fixture>('torch_bridge');
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

type AnyModel = {
  params: Record<string, FloatTensor>;
  buffers?: Record<string, FloatTensor>;
  loss(X: Tensor): FloatTensor;
};

/** Our model for each torch network of the generator, with the given dtype and seed. */
const BUILD: Record<string, (dtype: FloatDType, seed: number) => AnyModel> = {
  linear: (dtype, seed) =>
    new models.LinearClassifier({ inputDim: 12, numClasses: 5, dtype, seed }),
  twolayer: (dtype, seed) =>
    new models.TwoLayerNet({ inputDim: 12, hiddenDim: 7, numClasses: 5, dtype, seed }),
  'fc-batchnorm': (dtype, seed) =>
    new models.FullyConnectedNet({
      ...{ inputDim: 12, hiddenDims: [9, 8], numClasses: 5 },
      ...{ normalization: 'batchnorm', dropout: 0.2, dtype, seed },
    }),
  'fc-layernorm': (dtype, seed) =>
    new models.FullyConnectedNet({
      ...{ inputDim: 12, hiddenDims: [9], numClasses: 5, normalization: 'layernorm' },
      ...{ dtype, seed },
    }),
  cnn: (dtype, seed) =>
    new models.ThreeLayerConvNet({
      ...{ inputDim: [2, 7, 6], numFilters: 3, filterSize: 3, hiddenDim: 7, numClasses: 4 },
      ...{ normalization: 'batchnorm', dropout: 0.3, dtype, seed },
    }),
  'seq-conv': (dtype, seed) =>
    new nn.Sequential(
      new nn.Conv2d(2, 4, 3, { pad: 1, dtype, seed }),
      new nn.BatchNorm2d(4, { dtype }),
      new nn.LeakyReLU(0.1),
      new nn.AvgPool2d(2),
      new nn.Conv2d(4, 3, [2, 3], { stride: 2, bias: false, dtype, seed: seed + 1 }),
      new nn.Tanh(),
      new nn.Flatten(),
      new nn.Linear(6, 6, { dtype, seed: seed + 2 }),
      new nn.LayerNorm(6, { dtype }),
      new nn.Sigmoid(),
      new nn.Dropout(0.5),
      new nn.Linear(6, 3, { bias: false, dtype, seed: seed + 3 }),
      { seed },
    ),
  'seq-linear': (dtype, seed) =>
    new nn.Sequential(
      new nn.Linear(12, 6, { dtype, seed }),
      new nn.BatchNorm1d(6, { dtype }),
      new nn.ReLU(),
      new nn.Linear(6, 3, { dtype, seed: seed + 1 }),
    ),
  'seq-recurrent': (dtype, seed) =>
    new nn.Sequential(
      new nn.LSTM(4, 5, { dtype, seed }),
      new nn.GRU(5, 3, { dtype, seed: seed + 1 }),
      new nn.RNN(3, 6, { dtype, seed: seed + 2 }),
      new nn.TemporalLinear(6, 2, { dtype, seed: seed + 3 }),
      new nn.Flatten(),
      new nn.Linear(12, 3, { dtype, seed: seed + 4 }),
    ),
};

function torchFile(name: string, dtype: FloatDType): Record<string, Tensor> {
  const bytes = readFileSync(here(`../fixtures/torch/${name}-${dtype}.safetensors`));
  return decodeSafetensors(bytes, `${name}-${dtype}.safetensors`).tensors;
}

function input(name: string, dtype: FloatDType): Tensor {
  const f = want.models[name];
  const data = dtype === 'float64' ? Float64Array.from(f.input) : Float32Array.from(f.input);
  return new Tensor(data, f.inputShape);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function allTensors(m: AnyModel): Record<string, FloatTensor> {
  return { ...m.params, ...(m.buffers ?? {}) };
}

const NAMES = Object.keys(BUILD);

describe('fromTorchStateDict: torch state dicts give torch scores', () => {
  it('covers every network of the generator', () => {
    expect(NAMES.sort()).toEqual(Object.keys(want.models).sort());
  });

  for (const name of NAMES) {
    for (const [dtype, tol] of [
      ['float64', 1e-9],
      ['float32', 1e-5],
    ] as const) {
      it(`${name} (${dtype}) matches torch's eval scores to ${tol}`, () => {
        const model = BUILD[name](dtype, 1);
        const result = fromTorchStateDict(model, torchFile(name, dtype), { strict: true });
        expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
        const scores = model.loss(input(name, dtype));
        const ref = want.models[name].scores[dtype];
        expect(scores.shape).toEqual(ref.shape);
        expect(maxDiff(scores.data, ref.data)).toBeLessThan(tol);
      });
    }
  }
});

describe('toTorchStateDict', () => {
  for (const name of NAMES) {
    it(`${name}: torch's key names in torch's order, and a bit-exact round trip`, () => {
      const a = BUILD[name]('float32', 3);
      fromTorchStateDict(a, torchFile(name, 'float32'));
      const sd = toTorchStateDict(a);
      expect(Object.keys(sd)).toEqual(want.models[name].keys);
      // the tensors torch wrote come back bit for bit; the counters are not kept (0), and
      // torch's two recurrent biases come back as one (bias_ih + bias_hh, in float32) and zeros
      const file = torchFile(name, 'float32');
      for (const [k, t] of Object.entries(sd)) {
        expect(t.shape).toEqual(file[k].shape);
        let expected = Array.from(file[k].data);
        if (k.endsWith('num_batches_tracked')) expected = [0];
        if (k.endsWith('bias_hh_l0')) expected = expected.map(() => 0);
        if (k.endsWith('bias_ih_l0')) {
          const hh = file[k.replace('bias_ih', 'bias_hh')].data;
          expected = expected.map((v, i) => (hh[i] === 0 ? v : Math.fround(v + hh[i])));
        }
        expect(Array.from(t.data)).toEqual(expected);
      }
      // layerwise -> bytes -> layerwise, into a model with other initial values
      const bytes = encodeSafetensors(sd, {}, { int64: torchInt64Keys(sd) });
      const b = BUILD[name]('float32', 99);
      fromTorchStateDict(b, decodeSafetensors(bytes).tensors);
      const [ta, tb] = [allTensors(a), allTensors(b)];
      for (const k of Object.keys(ta)) {
        expect(new Uint8Array(tb[k].data.buffer)).toEqual(new Uint8Array(ta[k].data.buffer));
      }
    });
  }

  it('reorders LSTM gates from our i, f, o, g to torch i, f, g, o and transposes', () => {
    const lstm = new nn.LSTM(1, 1, { dtype: 'float64' });
    lstm.params.Wx.data.set([1, 2, 3, 4]); // (1, 4H): i f o g
    lstm.params.b.data.set([10, 20, 30, 40]);
    const sd = toTorchStateDict(new nn.Sequential(lstm));
    expect(sd['0.weight_ih_l0'].shape).toEqual([4, 1]);
    expect(Array.from(sd['0.weight_ih_l0'].data)).toEqual([1, 2, 4, 3]);
    expect(Array.from(sd['0.bias_ih_l0'].data)).toEqual([10, 20, 40, 30]);
    expect(Array.from(sd['0.bias_hh_l0'].data)).toEqual([0, 0, 0, 0]);
  });
});

describe('fromTorchStateDict refuses what does not fit', () => {
  const twoLayer = () => new models.TwoLayerNet({ inputDim: 12, hiddenDim: 7, numClasses: 5 });

  it('lists missing and unexpected keys by name (strict), and reports them when not strict', () => {
    const sd = torchFile('twolayer', 'float32');
    delete sd['fc2.bias'];
    sd['fc3.weight'] = Tensor.zeros([5, 7]);
    expect(() => fromTorchStateDict(twoLayer(), sd)).toThrow(
      "fromTorchStateDict: the state dict does not fit the model (strict): missing keys 'fc2.bias'; unexpected keys 'fc3.weight'",
    );
    const m = twoLayer();
    const before = Array.from(m.params.b2.data);
    expect(fromTorchStateDict(m, sd, { strict: false })).toEqual({
      missingKeys: ['fc2.bias'],
      unexpectedKeys: ['fc3.weight'],
    });
    expect(Array.from(m.params.b2.data)).toEqual(before);
    expect(Array.from(m.params.W1.data.subarray(0, 3))).not.toEqual(before.slice(0, 3));
  });

  it('names the key and both shapes, and writes nothing, when a shape differs', () => {
    const sd = torchFile('twolayer', 'float32');
    sd['fc2.weight'] = Tensor.zeros([7, 5]); // our layout, not torch's
    const m = twoLayer();
    const W1 = Array.from(m.params.W1.data);
    expect(() => fromTorchStateDict(m, sd)).toThrow(
      "fromTorchStateDict: 'fc2.weight' has shape [7,5] but the model needs [5,7]",
    );
    expect(Array.from(m.params.W1.data)).toEqual(W1);
  });

  it("refuses a GRU whose bias_hh has an n-gate part (layerwise's GRU has none)", () => {
    const seq = BUILD['seq-recurrent']('float32', 1);
    const sd = torchFile('seq-recurrent', 'float32');
    sd['1.bias_hh_l0'].data[7] = 0.25; // H = 3: index 7 is in the n block [6, 9)
    expect(() => fromTorchStateDict(seq, sd)).toThrow(
      "fromTorchStateDict: '1.bias_hh_l0'[7] = 0.25, but layerwise's GRU has no hidden-side bias of the n gate (b_hn must be 0)",
    );
  });

  it('refuses integer weights and models without a torch equivalent', () => {
    const sd = torchFile('twolayer', 'float32');
    sd['fc1.bias'] = Tensor.zeros([7], 'int32');
    expect(() => fromTorchStateDict(twoLayer(), sd)).toThrow(
      "fromTorchStateDict: 'fc1.bias' has dtype int32 but 'b1' is float32",
    );
    const captioner = new models.CaptioningRNN({
      wordToIdx: { '<NULL>': 0, '<START>': 1, '<END>': 2 },
      ...{ inputDim: 4, wordvecDim: 3, hiddenDim: 2 },
    });
    expect(() => toTorchStateDict(captioner)).toThrow(
      /^toTorchStateDict: no torch equivalent is known for a CaptioningRNN/,
    );
    class Doubling extends nn.Module {
      forward(x: Tensor): FloatTensor {
        return x as FloatTensor;
      }
      backward(d: Tensor): FloatTensor {
        return d as FloatTensor;
      }
    }
    const odd = new nn.Sequential(new nn.Linear(2, 2), new nn.Sequential(new Doubling()));
    expect(() => toTorchStateDict(odd)).toThrow(
      "toTorchStateDict: module 1.0 (Doubling) has no torch equivalent in layerwise's bridge",
    );
  });
});
