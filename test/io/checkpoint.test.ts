import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  loadModel,
  loadModelInto,
  readSafetensors,
  registerModel,
  saveModel,
  writeSafetensors,
} from '../../src/io/index.js';
import {
  CaptioningRNN,
  FullyConnectedNet,
  LinearClassifier,
  ThreeLayerConvNet,
  TwoLayerNet,
} from '../../src/models/index.js';
import { Tensor, type FloatTensor } from '../../src/tensor/index.js';
import { sameBits } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'layerwise-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string) => join(dir, name);

/** A batch-norm net whose running statistics have moved away from their initial values. */
function trainedBnNet(seed: number): FullyConnectedNet {
  const net = new FullyConnectedNet({
    hiddenDims: [6, 5],
    inputDim: 4,
    numClasses: 3,
    normalization: 'batchnorm',
    dropout: 0.2,
    seed,
  });
  net.loss(Tensor.randn([8, 4], { seed: 9 }), [0, 1, 2, 0, 1, 2, 0, 1]);
  return net;
}

describe('model checkpoints', () => {
  it('saves params and config, and loadModel rebuilds the same TwoLayerNet', () => {
    const net = new TwoLayerNet({
      inputDim: 5,
      hiddenDim: 7,
      numClasses: 3,
      weightScale: 0.1,
      seed: 1,
    });
    const path = file('two.safetensors');
    saveModel(path, net);
    const back = loadModel<TwoLayerNet>(path);
    expect(back).toBeInstanceOf(TwoLayerNet);
    for (const k of Object.keys(net.params))
      expect(sameBits(back.params[k].data, net.params[k].data)).toBe(true);
    const X = Tensor.randn([2, 5], { seed: 3 });
    expect(sameBits(back.loss(X).data, net.loss(X).data)).toBe(true);
  });

  it('keeps batch-norm running statistics (buffers)', () => {
    const net = trainedBnNet(2);
    expect(net.buffers.runningMean1.data.some((v) => v !== 0)).toBe(true);
    const path = file('bn.safetensors');
    saveModel(path, net);
    const back = loadModel<FullyConnectedNet>(path);
    for (const k of Object.keys(net.buffers))
      expect(sameBits(back.buffers[k].data, net.buffers[k].data)).toBe(true);
    const X = Tensor.randn([3, 4], { seed: 4 });
    expect(sameBits(back.loss(X).data, net.loss(X).data)).toBe(true); // test mode uses the running statistics
  });

  it('rebuilds a ThreeLayerConvNet and a CaptioningRNN from their configs', () => {
    const conv = new ThreeLayerConvNet({
      inputDim: [1, 6, 6],
      numFilters: 2,
      filterSize: 3,
      hiddenDim: 4,
      numClasses: 3,
      seed: 1,
    });
    saveModel(file('conv.safetensors'), conv);
    const convBack = loadModel<ThreeLayerConvNet>(file('conv.safetensors'));
    expect(convBack).toBeInstanceOf(ThreeLayerConvNet);
    const X = Tensor.randn([2, 1, 6, 6], { seed: 2 });
    expect(sameBits(convBack.loss(X).data, conv.loss(X).data)).toBe(true);
    const wordToIdx = { '<NULL>': 0, '<START>': 1, '<END>': 2, cat: 3 };
    const rnn = new CaptioningRNN({
      wordToIdx,
      inputDim: 5,
      wordvecDim: 3,
      hiddenDim: 4,
      cellType: 'lstm',
      seed: 1,
    });
    saveModel(file('rnn.safetensors'), rnn);
    const rnnBack = loadModel<CaptioningRNN>(file('rnn.safetensors'));
    expect(rnnBack).toBeInstanceOf(CaptioningRNN);
    expect(rnnBack.config).toEqual(rnn.config);
    for (const k of Object.keys(rnn.params))
      expect(sameBits(rnnBack.params[k].data, rnn.params[k].data), k).toBe(true);
  });

  it('writes plain tensors and a JSON architecture that an independent reader sees', () => {
    const net = trainedBnNet(3);
    const path = file('py.safetensors');
    saveModel(path, net);
    const script = fileURLToPath(new URL('../fixtures/gen/read_safetensors.py', import.meta.url));
    const py = JSON.parse(execFileSync('python3', [script, path], { encoding: 'utf8' })) as {
      metadata: Record<string, string>;
      tensors: Record<string, { dtype: string; shape: number[]; data: number[] }>;
    };
    expect(JSON.parse(py.metadata['layerwise.config'])).toEqual(net.config);
    expect(py.metadata['layerwise.kind']).toBe('model');
    expect(py.tensors.W1.shape).toEqual([4, 6]);
    expect(py.tensors.runningVar2.data).toEqual(Array.from(net.buffers.runningVar2.data));
  });

  it('loadModelInto writes into the live tensors', () => {
    const a = new TwoLayerNet({ inputDim: 3, hiddenDim: 4, numClasses: 2, seed: 1 });
    const b = new TwoLayerNet({ inputDim: 3, hiddenDim: 4, numClasses: 2, seed: 2 });
    const W1 = b.params.W1;
    saveModel(file('a.safetensors'), a);
    loadModelInto(file('a.safetensors'), b);
    expect(b.params.W1).toBe(W1);
    expect(sameBits(W1.data, a.params.W1.data)).toBe(true);
  });

  it('refuses a mismatched model, naming the file and the tensor, and changes nothing', () => {
    const path = file('m.safetensors');
    saveModel(path, new TwoLayerNet({ inputDim: 3, hiddenDim: 4, numClasses: 2, seed: 1 }));
    const wider = new TwoLayerNet({ inputDim: 3, hiddenDim: 5, numClasses: 2, seed: 1 });
    const before = wider.params.W1.data.slice();
    expect(() => loadModelInto(path, wider)).toThrow(
      `loadModelInto: ${path}: 'W1' has shape [3,4] but the model's is [3,5]`,
    );
    expect(sameBits(wider.params.W1.data, before)).toBe(true);
    expect(() =>
      loadModelInto(
        path,
        new TwoLayerNet({ inputDim: 3, hiddenDim: 4, numClasses: 2, dtype: 'float64' }),
      ),
    ).toThrow(`loadModelInto: ${path}: 'W1' has dtype float32 but the model's is float64`);
    expect(() => loadModelInto(path, new LinearClassifier({ inputDim: 3, numClasses: 2 }))).toThrow(
      `loadModelInto: ${path}: holds a TwoLayerNet but the model is a LinearClassifier`,
    );
    const bare = { params: { W1: Tensor.zeros([3, 4]) } };
    expect(() => loadModelInto(path, bare)).toThrow(
      `loadModelInto: ${path}: has 'b1', 'W2', 'b2' that the model does not have`,
    );
    const more = {
      params: {
        ...new TwoLayerNet({ inputDim: 3, hiddenDim: 4, numClasses: 2 }).params,
        extra: Tensor.zeros([1]),
      },
    };
    expect(() => loadModelInto(path, more)).toThrow(
      `loadModelInto: ${path}: lacks 'extra' that the model has`,
    );
  });

  it('reads a file without layerwise metadata into a matching model', () => {
    const path = file('foreign.safetensors');
    writeSafetensors(path, {
      W: Tensor.from([1, 2, 3, 4, 5, 6], [3, 2]),
      b: Tensor.from([7, 8], [2]),
    });
    const lin = new LinearClassifier({ inputDim: 3, numClasses: 2 });
    loadModelInto(path, lin);
    expect(Array.from(lin.params.b.data)).toEqual([7, 8]);
    expect(() => loadModel(path)).toThrow(
      `loadModel: ${path}: has no 'layerwise.config' metadata, so the architecture is unknown; build the model and use loadModelInto`,
    );
  });

  it('rebuilds registered model types', () => {
    class Tiny {
      readonly params: Record<string, FloatTensor>;
      readonly config;
      constructor(readonly size: number) {
        this.params = { v: Tensor.zeros([size]) };
        this.config = { type: 'Tiny', options: { size } };
      }
    }
    const path = file('tiny.safetensors');
    const t = new Tiny(3);
    t.params.v.data.set([1, 2, 3]);
    saveModel(path, t);
    expect(() => loadModel(path)).toThrow(
      `loadModel: ${path}: no model type 'Tiny' is known; register one with io.registerModel('Tiny', factory)`,
    );
    registerModel('Tiny', (o) => new Tiny(o.size as number));
    const back = loadModel<Tiny>(path);
    expect(back.size).toBe(3);
    expect(Array.from(back.params.v.data)).toEqual([1, 2, 3]);
  });

  it('names the file when it is corrupted', () => {
    const path = file('bad.safetensors');
    saveModel(path, new TwoLayerNet({ inputDim: 2, hiddenDim: 2, numClasses: 2 }));
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 1));
    expect(() => loadModel(path)).toThrow(`readSafetensors: ${path}: `);
    expect(() => readSafetensors(join(dir, 'missing.safetensors'))).toThrow(
      `readSafetensors: ${join(dir, 'missing.safetensors')}: no such file`,
    );
  });
});
