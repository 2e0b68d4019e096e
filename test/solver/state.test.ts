// The training state of a checkpoint: one typed parser (src/solver/state.ts) that refuses every
// kind of damage with a message naming the field, before the Solver or its model is touched;
// format 1 files (layerwise 0.1.0, committed in test/fixtures/checkpoints-v1) are migrated.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { setBackend } from '../../src/kernels/index.js';
import { readSafetensors, writeSafetensors } from '../../src/io/index.js';
import { FullyConnectedNet } from '../../src/models/index.js';
import { Solver, type SolverOptions } from '../../src/solver/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { blobs, sameBits, snapshot, trainValSplit } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'layerwise-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const V1 = join(import.meta.dirname, '../fixtures/checkpoints-v1');

const data = () => trainValSplit(blobs({ seed: 21, N: 150, D: 6 }), 120);
const net = (seed = 1) =>
  new FullyConnectedNet({
    hiddenDims: [16, 12],
    inputDim: 6,
    numClasses: 3,
    normalization: 'batchnorm',
    dropout: 0.1,
    weightScale: 0.1,
    seed,
  });
/** The options of the format-1 fixture's run: 5 iterations per epoch, 15 in all. */
const options: SolverOptions = {
  updateRule: 'adam',
  optimConfig: { learningRate: 5e-3 },
  lrDecay: 0.9,
  batchSize: 25,
  numEpochs: 3,
  numTrainSamples: 50,
  seed: 11,
};

/** A checkpoint saved after `stopAt` iterations (mid-epoch 2 for 7). */
function saved(name: string, stopAt = 7): string {
  const path = join(dir, name);
  const solver: Solver = new Solver(net(), data(), {
    ...options,
    onProgress: (p) => {
      if (p.iteration === stopAt) solver.saveCheckpoint(path);
    },
  });
  solver.train();
  return path;
}
const good = saved('good.safetensors');

type Json = Record<string, unknown>;
interface Parts {
  state: Json & { optim: Record<string, { scalars: Json; arrays: string[] }> };
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

let count = 0;
/** A copy of `from` with its parts edited; the state JSON may also be edited as text. */
function damaged(from: string, edit: (p: Parts) => void, text?: (json: string) => string): string {
  const { tensors, metadata } = readSafetensors(from);
  const parts = {
    state: JSON.parse(metadata['layerwise.training']) as Parts['state'],
    tensors: { ...tensors },
    metadata: { ...metadata },
  };
  edit(parts);
  const json = JSON.stringify(parts.state);
  parts.metadata['layerwise.training'] = text ? text(json) : json;
  const path = join(dir, `damaged-${count++}.safetensors`);
  writeSafetensors(path, parts.tensors, parts.metadata);
  return path;
}

/** resume reads the run part (options, rule, hooks) as Solver.resume, the rest as loadCheckpoint. */
const where = (path: string) => `${path}: training state:`;

describe('training state', () => {
  const f32 = (n: number) => new Tensor(new Float32Array(n), [n]);
  const f64 = (values: number[]) => new Tensor(Float64Array.from(values), [values.length]);
  // [what is damaged, the edit, the message after "training state: "]
  const cases: [string, (p: Parts) => void, string][] = [
    [
      'Adam moments dropped',
      (p) => {
        delete p.tensors['optim.W1.m'];
        p.state.optim.W1.arrays = ['v'];
      },
      "optim['W1'].arrays 'm' is missing (the rule keeps it after its first step)",
    ],
    [
      'a moment tensor dropped',
      (p) => delete p.tensors['optim.b2.v'],
      "tensor 'optim.b2.v' is missing",
    ],
    [
      'a moment of the wrong size',
      (p) => (p.tensors['optim.W2.v'] = f32(5)),
      "tensor 'optim.W2.v' is float32 [5] but param 'W2' is float32 with 192 elements",
    ],
    [
      'a non-finite moment',
      (p) => {
        const t = p.tensors['optim.W3.m'].clone();
        t.data[4] = Infinity;
        p.tensors['optim.W3.m'] = t;
      },
      "tensor 'optim.W3.m'[4] is Infinity, not a finite number",
    ],
    [
      'a negative Adam step',
      (p) => (p.state.optim.b1.scalars.t = -1),
      "optim['b1'].scalars.t is -1 but 7 steps were taken",
    ],
    [
      'a learning rate "x"',
      (p) => (p.state.optim.W1.scalars.learningRate = 'x'),
      `optim['W1'].scalars.learningRate must be a finite number, got "x"`,
    ],
    [
      'a negative learning rate',
      (p) => (p.state.optim.W1.scalars.learningRate = -1),
      "optim['W1']: adam: learningRate must be >= 0, got -1",
    ],
    [
      'an option of the wrong type',
      (p) => ((p.state.options as Json).numEpochs = 'x'),
      'options: numEpochs must be a finite number, got x',
    ],
    [
      'an iteration beyond the run',
      (p) => (p.state.iteration = 1000),
      'iteration is 1000 but the run has 15 iterations (numEpochs 3 x 5)',
    ],
    [
      'a fractional iteration',
      (p) => (p.state.iteration = 6.5),
      'iteration must be an integer >= 0, got 6.5',
    ],
    ['a missing field', (p) => delete p.state.numTrain, 'numTrain is missing'],
    ['an unknown field', (p) => (p.state.epoch = 1), 'epoch is not a known field'],
    [
      'an all-zero generator',
      (p) => (p.state.rng = { s: [0, 0, 0, 0], spare: null }),
      'rng.s is all zero, which no generator reaches',
    ],
    [
      'a generator word out of range',
      (p) => (p.state.modelRng = { s: [1, 2, 3, 2 ** 32], spare: null }),
      'modelRng.s must be 4 unsigned 32-bit integers',
    ],
    [
      'a model generator the model does not have',
      (p) => (p.state.modelRng = null),
      'modelRng is null but the model has an rng',
    ],
    [
      'a loss history one short',
      (p) => (p.tensors['solver.lossHistory'] = f64([1, 1, 1, 1, 1, 1])),
      "'solver.lossHistory' has 6 entries but iteration is 7, so it needs 7",
    ],
    [
      'a NaN loss',
      (p) => (p.tensors['solver.lossHistory'] = f64([1, 1, 1, NaN, 1, 1, 1])),
      "'solver.lossHistory'[3] is NaN, not a finite number",
    ],
    [
      'an accuracy above 1',
      (p) => (p.tensors['solver.valAccHistory'] = f64([1.5])),
      "'solver.valAccHistory'[0] is 1.5, not a fraction in [0, 1]",
    ],
    [
      'a history of the wrong dtype',
      (p) => (p.tensors['solver.trainAccHistory'] = f32(1)),
      "tensor 'solver.trainAccHistory' must be 1-D float64, got float32 [1]",
    ],
    [
      'an order that repeats a row',
      (p) => {
        const order = p.tensors['solver.order'].clone();
        order.data[1] = order.data[0];
        p.tensors['solver.order'] = order;
      },
      "tensor 'solver.order'[1] repeats row",
    ],
    [
      'an order dropped mid-epoch',
      (p) => delete p.tensors['solver.order'],
      "tensor 'solver.order' is missing but the run stopped mid-epoch",
    ],
    [
      'a best copy dropped',
      (p) => delete p.tensors['best.runningVar2'],
      "tensor 'best.runningVar2' is missing (the best copy of a model tensor)",
    ],
    [
      'a stray tensor',
      (p) => (p.tensors['optim.W1.extra'] = f32(96)),
      "tensor 'optim.W1.extra' is not part of a training state",
    ],
    [
      'optimiser state of a prototype name',
      (p) => (p.state.optim['constructor' as string] = { scalars: {}, arrays: [] }),
      "optim['constructor'] is not a param of the model",
    ],
    [
      'an update rule named toString',
      (p) => (p.state.updateRule = 'toString'),
      'updateRule must be a rule name or null, got "toString"',
    ],
    [
      'a hook of a prototype name',
      (p) => (p.state.hooks = ['constructor']),
      'hooks must list distinct names among augment, evaluate',
    ],
    [
      'an option a checkpoint does not hold',
      (p) => ((p.state.options as Json).onProgress = 1),
      'options.onProgress is not an option a checkpoint holds',
    ],
  ];
  for (const [what, edit, message] of cases) {
    it(`refuses ${what}, naming the field, and leaves the model alone`, () => {
      const path = damaged(good, edit);
      const model = net(3),
        unchanged = snapshot(...Object.values(model.params), ...Object.values(model.buffers));
      expect(() => Solver.resume(path, model, data())).toThrow(`${where(path)} ${message}`);
      expect(unchanged()).toBe(true);
    });
  }

  it('finds no prototype names: __proto__ as a param of the optimiser state', () => {
    const path = damaged(
      good,
      () => undefined,
      (json) => json.replace('"optim":{', '"optim":{"__proto__":{"scalars":{},"arrays":[]},'),
    );
    expect(() => Solver.resume(path, net(), data())).toThrow(
      `${where(path)} optim['__proto__'] is not a param of the model`,
    );
  });

  it('refuses a future or unknown format version, naming the file', () => {
    const future = damaged(good, (p) => (p.metadata['layerwise.version'] = '3'));
    expect(() => Solver.resume(future, net(), data())).toThrow(
      `Solver.resume: ${future}: has format version 3, newer than this layerwise reads (1 to 2); upgrade layerwise`,
    );
    const odd = damaged(good, (p) => (p.metadata['layerwise.version'] = '2.0'));
    expect(() => Solver.resume(odd, net(), data())).toThrow(
      `Solver.resume: ${odd}: metadata 'layerwise.version' is "2.0", not a format version`,
    );
  });

  it('migrates format 1 (layerwise 0.1.0): the resumed run ends where a straight run ends', () => {
    // The fixture was trained on Node 20, by the plain f32x4 build; Node 22+ would pick the relaxed
    // (fused multiply-add) build, whose sums differ in the last bit. Run both halves on the plain one.
    setBackend('wasm', { simd: 'simd' });
    onTestFinished(() => void setBackend('auto'));
    const straight = new Solver(net(), data(), options).train();
    const path = join(dir, 'v1.safetensors');
    copyFileSync(join(V1, 'training.safetensors'), path);
    const resumed = Solver.resume(path, net(8), data());
    expect(resumed.iteration).toBe(7);
    expect(resumed.epoch).toBe(1);
    resumed.train();
    expect(sameBits(resumed.lossHistory, straight.lossHistory)).toBe(true);
    expect(resumed.valAccHistory).toEqual(straight.valAccHistory);
    for (const k of Object.keys(straight.model.params))
      expect(sameBits(resumed.model.params[k].data, straight.model.params[k].data), k).toBe(true);
  });

  it('checks the derived fields that format 1 stored against the histories', () => {
    const v1 = join(V1, 'training.safetensors');
    const bad = [
      [(s: Json) => (s.epoch = 2), 'epoch is 2 but the iteration puts the run after epoch 1'],
      [(s: Json) => (s.hasOrder = false), 'hasOrder is false but the run is mid-epoch'],
      [(s: Json) => (s.bestValAcc = 0.9), "bestValAcc is 0.9 but valAccHistory's best is"],
      [(s: Json) => (s.lossHistory = [1, 2]), "'solver.lossHistory' has 2 entries"],
      [(s: Json) => (s.lossHistory = 'x'), 'lossHistory must be an array of numbers'],
      [(s: Json) => delete s.optimArrays, 'optimArrays is missing'],
    ] as const;
    for (const [edit, message] of bad) {
      const path = damaged(v1, (p) => edit(p.state));
      expect(() => Solver.resume(path, net(), data())).toThrow(`${where(path)} ${message}`);
    }
  });
});
