import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel, readSafetensors, saveModel } from '../../src/io/index.js';
import { FullyConnectedNet } from '../../src/models/index.js';
import { Solver, type SolverOptions } from '../../src/solver/index.js';
import { Rng, Tensor, type FloatTensor } from '../../src/tensor/index.js';
import { blobs, sameBits, trainValSplit } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'layerwise-resume-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const data = () => trainValSplit(blobs({ seed: 21, N: 150, D: 6 }), 120);
/** Batch norm (buffers) and dropout (model rng): everything a resume has to restore. */
const net = (seed: number) =>
  new FullyConnectedNet({
    hiddenDims: [16, 12],
    inputDim: 6,
    numClasses: 3,
    normalization: 'batchnorm',
    dropout: 0.1,
    weightScale: 0.1,
    seed,
  });
const augment = (X: FloatTensor, rng: Rng): FloatTensor => {
  const out = X.clone();
  for (let i = 0; i < out.size; i++) out.data[i] += 0.05 * rng.normal();
  return out;
};
class Interrupt extends Error {}

const setups: Record<string, SolverOptions> = {
  'adam with step decay': { updateRule: 'adam', optimConfig: { learningRate: 5e-3 }, lrDecay: 0.9 },
  'nesterov with warm-up, cosine and clipping': {
    updateRule: 'nesterov',
    schedule: 'cosine',
    warmupEpochs: 1,
    clipNorm: 1,
  },
};

describe('training checkpoints', () => {
  for (const [name, setup] of Object.entries(setups)) {
    // batchSize 25 over 120 rows: 5 iterations per epoch, the last of 20 rows; 4 epochs = 20 iterations.
    const options: SolverOptions = {
      ...setup,
      batchSize: 25,
      numEpochs: 4,
      numTrainSamples: 50,
      seed: 11,
      augment,
    };

    it(`${name}: interrupted and resumed from the epoch checkpoint, gives the straight run bit for bit`, () => {
      const straight = new Solver(net(1), data(), options).train();
      const path = join(dir, `epoch-${name.split(' ')[0]}.safetensors`);
      const stopAt = 13; // in epoch 3, after the checkpoint of epoch 2
      const first = new Solver(net(1), data(), {
        ...options,
        checkpoint: path,
        onProgress: (p) => {
          if (p.iteration === stopAt) throw new Interrupt();
        },
      });
      expect(() => first.train()).toThrow(Interrupt);
      expect(first.lossHistory).toHaveLength(stopAt);
      const resumed = Solver.resume(path, net(99), data(), { augment });
      expect(resumed.iteration).toBe(10);
      resumed.train();
      expect(sameBits(resumed.lossHistory, straight.lossHistory)).toBe(true);
      expect(resumed.valAccHistory).toEqual(straight.valAccHistory);
      expect(resumed.trainAccHistory).toEqual(straight.trainAccHistory);
      const a = straight.model,
        b = resumed.model;
      for (const k of Object.keys(a.params))
        expect(sameBits(b.params[k].data, a.params[k].data), k).toBe(true);
      for (const k of Object.keys(a.buffers))
        expect(sameBits(b.buffers[k].data, a.buffers[k].data), k).toBe(true);
    });

    it(`${name}: a checkpoint saved mid-epoch resumes exactly too`, () => {
      const straight = new Solver(net(1), data(), options).train();
      const path = join(dir, `mid-${name.split(' ')[0]}.safetensors`);
      const first: Solver = new Solver(net(1), data(), {
        ...options,
        onProgress: (p) => {
          if (p.iteration === 7) {
            first.saveCheckpoint(path);
            throw new Interrupt();
          }
        },
      });
      expect(() => first.train()).toThrow(Interrupt);
      const resumed = Solver.resume(path, net(5), data(), { augment }).train();
      expect(sameBits(resumed.lossHistory, straight.lossHistory)).toBe(true);
      for (const k of Object.keys(straight.model.params))
        expect(sameBits(resumed.model.params[k].data, straight.model.params[k].data), k).toBe(true);
    });
  }

  it('a training checkpoint is a safetensors file from which loadModel gets the model back', () => {
    const path = join(dir, 'final.safetensors');
    const solver = new Solver(net(1), data(), {
      batchSize: 40,
      numEpochs: 1,
      seed: 0,
      checkpoint: path,
    }).train();
    const { metadata, tensors } = readSafetensors(path);
    expect(metadata['layerwise.kind']).toBe('training');
    expect(Object.keys(tensors)).toEqual(
      expect.arrayContaining(['W1', 'runningMean1', 'best.W1', 'best.runningVar2']),
    );
    const model = loadModel<FullyConnectedNet>(path);
    expect(sameBits(model.params.W3.data, solver.model.params.W3.data)).toBe(true);
  });

  it('writes one file per epoch with {epoch} in the path', () => {
    new Solver(net(1), data(), {
      batchSize: 60,
      numEpochs: 2,
      seed: 0,
      checkpoint: join(dir, 'run-{epoch}.safetensors'),
    }).train();
    const iterationOf = (file: string): unknown =>
      JSON.parse(readSafetensors(join(dir, file)).metadata['layerwise.training']).iteration;
    // 120 rows in batches of 60: 2 iterations per epoch
    expect(iterationOf('run-1.safetensors')).toBe(2);
    expect(iterationOf('run-2.safetensors')).toBe(4);
  });

  it('refuses a checkpoint that does not fit the data or the model', () => {
    const path = join(dir, 'fit.safetensors');
    new Solver(net(1), data(), { batchSize: 60, numEpochs: 1, seed: 0, checkpoint: path }).train();
    const d = data();
    const fewer = {
      ...d,
      XTrain: Tensor.from(d.XTrain.data.subarray(0, 60), [10, 6]),
      yTrain: d.yTrain.subarray(0, 10),
    };
    expect(() => Solver.resume(path, net(1), fewer)).toThrow(
      `Solver.loadCheckpoint: ${path}: was saved with 120 training rows but XTrain has 10`,
    );
    expect(() => new Solver(net(1), d, { batchSize: 30 }).loadCheckpoint(path)).toThrow(
      `Solver.loadCheckpoint: ${path}: was saved with batchSize 60 but this Solver has 30`,
    );
    const other = new FullyConnectedNet({ hiddenDims: [16], inputDim: 6, numClasses: 3, seed: 0 });
    expect(() => Solver.resume(path, other, d)).toThrow(
      `Solver.loadCheckpoint: ${path}: has 'gamma1', 'beta1', 'gamma2', 'beta2', 'W3' and 5 more that the model does not have`,
    );
    const hooked = join(dir, 'hooked.safetensors');
    new Solver(net(1), d, {
      batchSize: 60,
      numEpochs: 1,
      seed: 0,
      augment,
      checkpoint: hooked,
    }).train();
    expect(() => Solver.resume(hooked, net(1), d)).toThrow(
      `Solver.resume: ${hooked}: the run used augment; pass the same function in options.augment to continue it exactly`,
    );
    const modelFile = join(dir, 'model-only.safetensors');
    saveModel(modelFile, net(1));
    expect(() => Solver.resume(modelFile, net(1), d)).toThrow(
      `Solver.resume: ${modelFile}: is not a training checkpoint (layerwise.kind is "model")`,
    );
  });
});
