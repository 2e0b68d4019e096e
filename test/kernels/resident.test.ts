// test/kernels/resident.test.ts: params and optimizer state resident in the backend's memory
// (kernels.makeResident, residentZeros). Under the wasm backend training moves them into WASM
// memory, so the kernels use them in place: the same bits as with ordinary arrays
// (setResidentParams(false)), through the plain loop and the Solver; after the first step a step
// copies only the caller's input batch; a resident model's files load back equal; and a moved
// array's block goes back to the backend once the array is collected.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadModel, saveModel } from '../../src/io/index.js';
import {
  currentBackend,
  makeResident,
  releaseStepMemory,
  residentZeros,
  setBackend,
  setResidentParams,
  type WasmKernels,
} from '../../src/kernels/index.js';
import { createWasmKernels } from '../../src/kernels/wasm/index.js';
import { makeResidentOn } from '../../src/kernels/resident.js';
import {
  FullyConnectedNet,
  ThreeLayerConvNet,
  VisionTransformer,
  type Model,
} from '../../src/models/index.js';
import { adam, type OptimConfig } from '../../src/optim/index.js';
import { Solver } from '../../src/solver/index.js';
import { Tensor, type FloatData, type FloatTensor } from '../../src/tensor/index.js';
import { sameBits } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'layerwise-resident-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  setResidentParams(true);
  setBackend('auto');
});

interface Net {
  readonly make: () => Model;
  readonly shape: readonly number[]; // of one batch X
}
const NETS: Record<string, Net> = {
  ThreeLayerConvNet: { make: () => new ThreeLayerConvNet({ seed: 3 }), shape: [4, 3, 32, 32] },
  FullyConnectedNet: {
    make: () =>
      new FullyConnectedNet({
        inputDim: 20,
        hiddenDims: [16, 12],
        normalization: 'batchnorm',
        seed: 4,
      }),
    shape: [8, 20],
  },
  VisionTransformer: {
    make: () =>
      new VisionTransformer({
        inputDim: [1, 8, 8],
        patchSize: 4,
        embedDim: 16,
        numHeads: 2,
        numLayers: 1,
        seed: 5,
      }),
    shape: [4, 1, 8, 8],
  },
};

const labels = (N: number): number[] => Array.from({ length: N }, (_, n) => (n * 7) % 10);
const batches = ({ shape }: Net) =>
  [0, 1, 2].map((s) => [Tensor.randn(shape, { seed: s }), labels(shape[0])] as const);

interface Trained {
  readonly model: Model;
  readonly losses: readonly number[];
  readonly configs: Record<string, OptimConfig>;
}

/** The README's plain loop: model.loss(X, y), then Adam on every param; 4 steps over 3 batches. */
function plainLoop(net: Net): Trained {
  const model = net.make(),
    data = batches(net);
  const configs: Record<string, OptimConfig> = {},
    losses: number[] = [];
  for (let step = 0; step < 4; step++) {
    const [X, y] = data[step % data.length];
    const { loss, grads } = model.loss(X, y);
    losses.push(loss);
    for (const [k, w] of Object.entries(model.params))
      configs[k] = adam(w, grads[k] as FloatTensor, configs[k] ?? { learningRate: 1e-3 });
  }
  releaseStepMemory(model);
  return { model, losses, configs };
}

/** The Solver with Adam: 12 rows in batches of 4, one epoch (3 iterations). */
function solverRun(net: Net): Trained {
  const model = net.make(),
    N = 12;
  const solver = new Solver(
    model,
    { XTrain: Tensor.randn([N, ...net.shape.slice(1)], { seed: 9 }), yTrain: labels(N) },
    { updateRule: 'adam', batchSize: 4, numEpochs: 1, seed: 0, metric: 'none' },
  ).train();
  return { model, losses: solver.lossHistory, configs: solver.optimConfigs };
}

function expectSameTraining(a: Trained, b: Trained): void {
  expect(a.losses).toEqual(b.losses);
  for (const [k, w] of Object.entries(b.model.params))
    expect(sameBits(a.model.params[k].data, w.data), k).toBe(true);
  for (const [k, t] of Object.entries(b.model.buffers ?? {}))
    expect(sameBits((a.model.buffers ?? {})[k].data, t.data), k).toBe(true);
  for (const [k, c] of Object.entries(b.configs)) {
    expect(sameBits(a.configs[k].m as FloatData, c.m as FloatData), `${k}.m`).toBe(true);
    expect(sameBits(a.configs[k].v as FloatData, c.v as FloatData), `${k}.v`).toBe(true);
  }
}

/** Every param and Adam moment of `t` lies in the memory of wasm. */
function expectResident(wasm: WasmKernels, t: Trained): void {
  for (const [k, w] of Object.entries(t.model.params)) {
    expect(wasm.isResident(w.data), k).toBe(true);
    expect(wasm.isResident(t.configs[k].m as FloatData), `${k}.m`).toBe(true);
    expect(wasm.isResident(t.configs[k].v as FloatData), `${k}.v`).toBe(true);
  }
}

describe('resident params and optimizer state', () => {
  for (const [name, net] of Object.entries(NETS)) {
    for (const [how, train] of [
      ['the plain loop', plainLoop],
      ['the Solver', solverRun],
    ] as const) {
      it(`${name}, ${how} (wasm): trains bit for bit as with ordinary arrays, and leaves everything resident`, () => {
        const wasm = setBackend('wasm') as WasmKernels;
        const resident = train(net);
        expectResident(wasm, resident);
        setResidentParams(false);
        const plain = train(net);
        expect(wasm.isResident(Object.values(plain.model.params)[0].data)).toBe(false);
        expectSameTraining(resident, plain);
      });
    }
    it(`${name}, the plain loop (reference): nothing moves, and it trains as before`, () => {
      setBackend('reference');
      const a = plainLoop(net);
      setResidentParams(false);
      expectSameTraining(a, plainLoop(net));
    });
  }

  it('after the first step a step copies only the input batch (ThreeLayerConvNet, plain loop)', () => {
    const wasm = setBackend('wasm') as WasmKernels;
    const copiedPerStep = (): number => {
      const model = new ThreeLayerConvNet({ seed: 3 }),
        configs: Record<string, OptimConfig> = {};
      const X = Tensor.randn([4, 3, 32, 32], { seed: 1 }),
        y = labels(4);
      const step = () => {
        const { grads } = model.loss(X, y);
        for (const [k, w] of Object.entries(model.params))
          configs[k] = adam(w, grads[k] as FloatTensor, configs[k] ?? {});
      };
      step();
      const before = wasm.copiedBytes;
      step();
      releaseStepMemory(model);
      return wasm.copiedBytes - before;
    };
    const on = copiedPerStep();
    setResidentParams(false);
    const off = copiedPerStep();
    // off: the weights read by the forward and the backward products, then w, m and v in and out
    // for Adam: 8 times the params' 3.3 MB (26.5 MB). on: X (48 KiB), read by the conv forward
    // and backward: 96 KiB, 0.37% of it.
    const paramBytes = 4 * (32 * 3 * 7 * 7 + 32 + 32 * 16 * 16 * 100 + 100 + 100 * 10 + 10);
    expect(off).toBeGreaterThan(7 * paramBytes);
    expect(on).toBe(2 * 4 * 3 * 32 * 32 * 4);
  });

  it('a resident model saves and loads back equal, and its Solver resumes from a checkpoint bit for bit', () => {
    setBackend('wasm');
    const net = NETS.FullyConnectedNet,
      N = 12;
    const data = { XTrain: Tensor.randn([N, 20], { seed: 9 }), yTrain: labels(N) };
    const options = { updateRule: 'adam', batchSize: 4, numEpochs: 2, seed: 0 } as const;
    const straight = new Solver(net.make(), data, { ...options, metric: 'none' }).train();
    const first = new Solver(net.make(), data, { ...options, numEpochs: 1, metric: 'none' });
    first.train();
    const ckpt = join(dir, 'run.safetensors'),
      file = join(dir, 'model.safetensors');
    first.saveCheckpoint(ckpt);
    saveModel(file, first.model);
    const loaded = loadModel<Model>(file);
    for (const [k, w] of Object.entries(first.model.params))
      expect(sameBits(loaded.params[k].data, w.data), k).toBe(true);
    const resumed = Solver.resume(ckpt, net.make(), data, { numEpochs: 2, metric: 'none' }).train();
    expect(resumed.lossHistory).toEqual(straight.lossHistory);
    for (const [k, w] of Object.entries(straight.model.params))
      expect(sameBits(resumed.model.params[k].data, w.data), k).toBe(true);
    expectResident(currentBackend() as WasmKernels, {
      model: resumed.model,
      losses: [],
      configs: resumed.optimConfigs, // read from the file, then moved by the first update
    });
  });

  it('moves each float32 array once (shared by reshapes), leaves other dtypes and views alone', () => {
    const wasm = createWasmKernels({ threads: 1 });
    const w = Tensor.randn([6, 4], { seed: 1 }),
      view = w.reshape([24]);
    const values = w.data.slice();
    const part = new Tensor(new Float32Array(32).subarray(8), [24]);
    const ints = Tensor.zeros([5], 'int32'),
      f64 = Tensor.zeros([5], 'float64');
    expect(makeResidentOn(wasm, [w, view, part, ints, f64])).toBe(2);
    expect(wasm.isResident(w.data)).toBe(true);
    expect(view.data).toBe(w.data); // one block for both
    expect(sameBits(w.data, values)).toBe(true);
    expect(wasm.isResident(part.data) || wasm.isResident(ints.data as never)).toBe(false);
    expect(makeResidentOn(wasm, [w, view])).toBe(0); // already there
    wasm.close();
  });

  it('does nothing when switched off or on the reference backend, and checks its switch', () => {
    setBackend('reference');
    const t = Tensor.randn([10], { seed: 2 }),
      before = t.data;
    expect(makeResident([t])).toBe(0);
    expect(t.data).toBe(before);
    expect(residentZeros(3)).toEqual(new Float32Array(3));
    const wasm = setBackend('wasm') as WasmKernels;
    expect(setResidentParams(false)).toBe(true);
    expect(makeResident([t])).toBe(0);
    expect(wasm.isResident(residentZeros(3))).toBe(false);
    expect(setResidentParams(true)).toBe(false);
    expect(makeResident([t])).toBe(1);
    expect(wasm.isResident(residentZeros(3))).toBe(true);
    expect(() => setResidentParams(1 as never)).toThrow(
      'setResidentParams: enabled must be a boolean, got number',
    );
  });

  it("gives a moved array's block back to the backend once the array is collected", async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const wasm = createWasmKernels({ threads: 1 });
    const n = 1 << 20; // 4 MiB a round
    makeResidentOn(wasm, [Tensor.zeros([n])]); // the first block: the memory grows once
    const grown = wasm.memoryBytes;
    for (let round = 0; round < 8; round++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10)); // the finalizers run
      const t = Tensor.zeros([n]);
      expect(makeResidentOn(wasm, [t])).toBe(1);
    }
    expect(wasm.memoryBytes).toBeLessThanOrEqual(grown + 2 * 4 * n); // not 8 more blocks
    wasm.close();
  });
});
