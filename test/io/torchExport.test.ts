// model.py, executed by torch: test/fixtures/gen/torch_export.py runs the model.py files that
// torchModelPy wrote for the networks below (committed in test/fixtures/torch_export/NAME/, with
// the state dict and the input) and records torch's scores. This test checks that the committed
// files are what layerwise writes today and that torch's scores equal ours. To regenerate:
//   LAYERWISE_WRITE_FIXTURES=1 npx vitest run test/io/torchExport.test.ts
//   /usr/bin/python3 test/fixtures/gen/torch_export.py
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  encodeSafetensors,
  fromTorchStateDict,
  toTorchStateDict,
  torchInt64Keys,
  torchModelPy,
  type TorchModelPyOptions,
} from '../../src/io/index.js';
import * as models from '../../src/models/index.js';
import * as nn from '../../src/nn/index.js';
import { Rng, Tensor, type FloatTensor } from '../../src/tensor/index.js';

const DIR = fileURLToPath(new URL('../fixtures/torch_export/', import.meta.url));
const WRITE = process.env.LAYERWISE_WRITE_FIXTURES === '1';

type AnyModel = {
  params: Record<string, FloatTensor>;
  buffers?: Record<string, FloatTensor>;
  loss(X: Tensor): FloatTensor;
};

/** Running statistics away from 0 / 1, so that eval mode is tested. */
function randomiseBuffers(m: AnyModel, seed: number): void {
  const rng = new Rng(seed);
  for (const [k, t] of Object.entries(m.buffers ?? {}))
    for (let i = 0; i < t.size; i++)
      t.data[i] = k.includes('Var') ? 0.5 + rng.uniform() : rng.normal();
}

/** Norm params (gamma / beta) away from 1 / 0. */
function randomiseNorms(m: AnyModel, seed: number): void {
  const rng = new Rng(seed);
  for (const [k, t] of Object.entries(m.params))
    if (/gamma|beta/.test(k)) for (let i = 0; i < t.size; i++) t.data[i] += 0.3 * rng.normal();
}

interface Case {
  model: AnyModel;
  input: Tensor;
  options: TorchModelPyOptions;
}

function cases(): Record<string, Case> {
  const cnn = new models.ThreeLayerConvNet({
    ...{ inputDim: [3, 8, 6], numFilters: 4, filterSize: 3, hiddenDim: 6, numClasses: 3 },
    ...{ normalization: 'batchnorm', dropout: 0.3, weightScale: 0.3, seed: 1 },
  });
  randomiseBuffers(cnn, 2);
  const fc = new models.FullyConnectedNet({
    ...{ inputDim: 12, hiddenDims: [7, 5], numClasses: 4, normalization: 'batchnorm' },
    ...{ weightScale: 0.4, dtype: 'float64', seed: 3 },
  });
  randomiseBuffers(fc, 4);
  const rnn = new nn.Sequential(
    new nn.GRU(4, 5, { seed: 5 }),
    new nn.LSTM(5, 3, { seed: 6 }),
    new nn.Linear(18, 2, { seed: 7 }),
  );
  // group norm (2 groups) on the conv output and on the hidden layer, gamma and beta not 1 and 0
  const cnnGn = new models.ThreeLayerConvNet({
    ...{ inputDim: [1, 8, 8], numFilters: 4, filterSize: 3, hiddenDim: 6, numClasses: 3 },
    ...{ normalization: 'groupnorm', groups: 2, weightScale: 0.3, seed: 11 },
  });
  randomiseNorms(cnnGn, 12);
  // the DCGAN generator: Linear, BatchNorm1d, Unflatten, ConvTranspose2d, BatchNorm2d, Tanh
  const gen = new models.DCGANGenerator({ latentDim: 6, width: 3, seed: 13 });
  randomiseBuffers(gen, 14);
  return {
    'cnn-groupnorm': { model: cnnGn, input: Tensor.rand([3, 1, 8, 8], { seed: 15 }), options: {} },
    'dcgan-generator': {
      model: gen,
      input: Tensor.randn([2, 6], { seed: 16 }),
      options: { inputShape: [6] },
    },
    'cnn-per-channel': {
      model: cnn,
      input: Tensor.rand([4, 3, 8, 6], { seed: 8 }),
      options: {
        preprocessing: { kind: 'per-channel', mean: [0.25, 0.5, 0.125], std: [0.3, 0.7, 1.1] },
        classNames: ['cat', 'dog', "bird's"],
        inputShape: [3, 8, 6],
      },
    },
    'fc-mean-image': {
      model: fc,
      input: Tensor.rand([3, 3, 4], { seed: 9, dtype: 'float64' }),
      options: {
        preprocessing: {
          kind: 'mean-image',
          shape: [3, 4],
          mean: Array.from({ length: 12 }, (_, i) => 0.1 * i - 0.3),
        },
        inputShape: [3, 4],
      },
    },
    'seq-recurrent': { model: rnn, input: Tensor.randn([2, 6, 4], { seed: 10 }), options: {} },
  };
}

/** Ours: preprocessing in float64, rounded once to the input's dtype, then the model in eval mode. */
function ourScores(c: Case): FloatTensor {
  const p = c.options.preprocessing;
  const x = c.input.clone() as FloatTensor;
  if (p?.kind === 'mean-image')
    for (let i = 0; i < x.size; i++) x.data[i] -= p.mean[i % p.mean.length];
  if (p?.kind === 'per-channel') {
    const C = p.mean.length,
      S = x.size / x.shape[0] / C;
    for (let i = 0; i < x.size; i++) {
      const c = Math.floor(i / S) % C;
      x.data[i] = (x.data[i] - p.mean[c]) * (1 / p.std[c]);
    }
  }
  return c.model.loss(x);
}

function stateBytes(m: AnyModel): Uint8Array {
  const sd = toTorchStateDict(m);
  return encodeSafetensors(sd, {}, { int64: torchInt64Keys(sd) });
}

if (WRITE) {
  for (const [name, c] of Object.entries(cases())) {
    const dir = join(DIR, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.py'), torchModelPy(c.model, c.options));
    writeFileSync(join(dir, 'model.safetensors'), stateBytes(c.model));
    const input = { dtype: c.input.dtype, shape: c.input.shape, data: Array.from(c.input.data) };
    writeFileSync(join(dir, 'input.json'), `${JSON.stringify(input)}\n`);
  }
}

describe('model.py run by torch', () => {
  const torchScores = existsSync(join(DIR, 'scores.json'))
    ? (JSON.parse(readFileSync(join(DIR, 'scores.json'), 'utf8')) as Record<
        string,
        { shape: number[]; data: number[] }
      >)
    : {};
  for (const [name, c] of Object.entries(cases())) {
    it(`${name}: the committed model.py and state dict are today's, and torch's scores are ours`, () => {
      const dir = join(DIR, name);
      expect(readFileSync(join(dir, 'model.py'), 'utf8')).toBe(torchModelPy(c.model, c.options));
      expect(new Uint8Array(readFileSync(join(dir, 'model.safetensors')))).toEqual(
        stateBytes(c.model),
      );
      const ref = torchScores[name];
      expect(ref, `scores.json lacks ${name}: run test/fixtures/gen/torch_export.py`).toBeDefined();
      const ours = ourScores(c);
      expect(ref.shape).toEqual(ours.shape);
      const tol = c.input.dtype === 'float64' ? 1e-12 : 1e-5;
      ref.data.forEach((v, i) => expect(Math.abs(v - ours.data[i])).toBeLessThan(tol));
    });
  }
});

describe('group norm and the generator modules through a torch state dict', () => {
  it('toTorchStateDict then fromTorchStateDict (strict) gives a fresh model the same scores', () => {
    const { 'cnn-groupnorm': cnn, 'dcgan-generator': gen } = cases();
    const fresh = {
      'cnn-groupnorm': new models.ThreeLayerConvNet({
        ...{ inputDim: [1, 8, 8], numFilters: 4, filterSize: 3, hiddenDim: 6, numClasses: 3 },
        ...{ normalization: 'groupnorm', groups: 2, seed: 99 },
      }),
      'dcgan-generator': new models.DCGANGenerator({ latentDim: 6, width: 3, seed: 99 }),
    };
    const sd = toTorchStateDict(cnn.model);
    expect(Object.keys(sd).filter((k) => k.startsWith('gn'))).toEqual([
      ...['gn1.weight', 'gn1.bias', 'gn2.weight', 'gn2.bias'],
    ]);
    for (const [name, c] of [
      ['cnn-groupnorm', cnn],
      ['dcgan-generator', gen],
    ] as const) {
      const target = fresh[name];
      expect(fromTorchStateDict(target, toTorchStateDict(c.model), { strict: true })).toEqual({
        missingKeys: [],
        unexpectedKeys: [],
      });
      expect(Array.from(target.loss(c.input).data)).toEqual(Array.from(c.model.loss(c.input).data));
    }
  });
});
