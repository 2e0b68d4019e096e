// test/worker/worker.test.ts: layerwise/worker's protocol end to end, in a Node worker_threads
// Worker (serveTraining on its parentPort, the built dist/ code): the data is transferred, the
// loss history equals a Solver run here bit for bit, pause/resume continues exactly, stop ends
// early with the current model, checkpoints decode as model files, bad specs give clear errors.
// test/browser/chromium.test.ts runs the same API in a real browser.
import { afterEach, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { data, io, models, setBackend, Solver, Tensor } from '../../src/index.js';
import { trainInWorker, type TrainingSpec, type WorkerLike } from '../../src/worker/index.js';

const host = pathToFileURL(
  fileURLToPath(new URL('../../dist/src/worker/index.js', import.meta.url)),
);
const workers: Worker[] = [];

/** A worker_threads Worker serving training, seen through the WorkerLike interface. */
function nodeWorker(): WorkerLike {
  const w = new Worker(
    `import('${host.href}').then(({ serveTraining }) => serveTraining(require('node:worker_threads').parentPort));`,
    { eval: true },
  );
  workers.push(w);
  return {
    postMessage: (m, transfer) => w.postMessage(m, transfer),
    addEventListener: (_type, fn) => w.on('message', (data: unknown) => fn({ data })),
  };
}
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

/** 60 random 1x8x8 images of 3 classes, the class written into a corner so it can be learned. */
function tinyData(seed: number) {
  const X = Tensor.randn([60, 1, 8, 8], { seed });
  const y = Int32Array.from({ length: 60 }, (_, i) => i % 3);
  for (let n = 0; n < 60; n++) X.data[n * 64 + y[n]] += 3;
  return { X, y };
}
const MODEL = {
  type: 'ThreeLayerConvNet',
  options: {
    inputDim: [1, 8, 8],
    numFilters: 4,
    filterSize: 3,
    hiddenDim: 16,
    numClasses: 3,
    weightScale: 0.1,
    normalization: 'batchnorm',
    dropout: 0.2,
    seed: 3,
  },
};
const SOLVER = {
  updateRule: 'adam',
  optimConfig: { learningRate: 5e-3 },
  batchSize: 10,
  numEpochs: 4,
  seed: 1,
} as const;

function spec(): { spec: TrainingSpec; X: Tensor; y: Int32Array } {
  const { X, y } = tinyData(0);
  const copyX = new Float32Array(X.data),
    copyY = new Int32Array(y);
  return {
    spec: {
      model: MODEL,
      data: { XTrain: { data: copyX, shape: X.shape }, yTrain: copyY },
      solver: SOLVER,
      augment: { kind: 'shift', amount: 1 },
      backend: { name: 'reference' },
    },
    X,
    y,
  };
}

/** The same run in this process (the reference kernels, as in the Worker). */
function localRun(
  X: Tensor,
  y: Int32Array,
  epochs = SOLVER.numEpochs,
  wasm = false,
): Solver<models.ThreeLayerConvNet> {
  if (wasm) setBackend('wasm', { threads: 1 });
  else setBackend('reference');
  const model = new models.ThreeLayerConvNet(MODEL.options as never);
  return new Solver(
    model,
    { XTrain: X, yTrain: y },
    {
      ...SOLVER,
      numEpochs: epochs,
      augment: (Xb, rng) => data.randomShift(Xb, rng, 1),
    },
  ).train();
}

describe('trainInWorker (worker_threads)', () => {
  it('transfers the data, reports progress and gives the loss history and model of a local run', async () => {
    const { spec: s, X, y } = spec();
    const seen: number[] = [];
    const run = trainInWorker(nodeWorker(), s, { onProgress: (p) => seen.push(p.iteration) });
    expect(s.data.XTrain.data.length).toBe(0); // transferred: detached here
    expect(s.data.yTrain.length).toBe(0);
    const ready = await run.ready;
    expect(ready.name).toBe('reference');
    const done = await run.done;
    expect(done.reason).toBe('finished');
    expect(seen).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    const local = localRun(X, y);
    expect([...done.lossHistory]).toEqual(local.lossHistory);
    expect([...done.trainAccHistory]).toEqual(local.trainAccHistory);
    const scores = done.trainedModel.loss(X) as Tensor,
      want = local.model.loss(X);
    expect([...scores.data]).toEqual([...want.data]);
  });

  it('pauses and resumes exactly; checkpoints decode as model files; stop ends with the current model', async () => {
    // Every control message is sent before the Worker can act on it, and the Worker looks at its
    // messages after every iteration (yieldEveryMs 0): each lands within one iteration, whatever
    // the machine's load.
    const { spec: s, X, y } = spec();
    let last = 0;
    const run = trainInWorker(
      nodeWorker(),
      { ...s, yieldEveryMs: 0 },
      {
        onProgress: (p) => (last = p.iteration),
      },
    );
    const pausedAt = await run.pause();
    expect(pausedAt).toBeLessThanOrEqual(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(last).toBe(pausedAt); // nothing ran while paused
    const ckpt = await run.checkpoint();
    expect(ckpt.iteration).toBe(pausedAt);
    const asModel = io.decodeModel(ckpt.bytes);
    expect(asModel).toBeInstanceOf(models.ThreeLayerConvNet);
    const resumed = run.resume(),
      pausedAgain = run.pause();
    expect(await resumed).toBe(pausedAt);
    const second = await pausedAgain;
    expect(second).toBeGreaterThan(pausedAt);
    expect(second).toBeLessThanOrEqual(pausedAt + 1);
    run.stop(); // while paused: the run ends where it stands
    const done = await run.done;
    expect(done.reason).toBe('stopped');
    expect(done.iteration).toBe(second);
    const local = localRun(X, y);
    expect(done.lossHistory.length).toBe(second);
    expect([...done.lossHistory]).toEqual(local.lossHistory.slice(0, second));
  });

  it('trains on the wasm backend with its params in WASM memory: checkpoints and the model come back as a local run', async () => {
    // the Worker's params and Adam moments live in its shared WASM memory, which must never be
    // transferred: what comes back is copied out (io.encodeModel) and transferred
    const { spec: s, X, y } = spec();
    const run = trainInWorker(nodeWorker(), {
      ...s,
      backend: { name: 'wasm', threads: 1 },
      yieldEveryMs: 0,
    });
    expect((await run.ready).name).toBe('wasm');
    const pausedAt = await run.pause();
    const ckpt = await run.checkpoint();
    expect(ckpt.iteration).toBe(pausedAt);
    expect(io.decodeModel(ckpt.bytes)).toBeInstanceOf(models.ThreeLayerConvNet);
    expect(ckpt.bytes.buffer).toBeInstanceOf(ArrayBuffer);
    await run.resume();
    const done = await run.done;
    expect(done.reason).toBe('finished');
    const local = localRun(X, y, SOLVER.numEpochs, true);
    expect([...done.lossHistory]).toEqual(local.lossHistory);
    const scores = done.trainedModel.loss(X) as Tensor;
    expect([...scores.data]).toEqual([...local.model.loss(X).data]);
    setBackend('auto');
  });

  it('rejects a bad spec with the message of the error in the Worker', async () => {
    const { spec: s } = spec();
    const bad = { ...s, model: { type: 'ThreeLayerConvnet', options: {} } };
    await expect(trainInWorker(nodeWorker(), bad).done).rejects.toThrow(
      "trainInWorker: unknown model type 'ThreeLayerConvnet' (did you mean 'ThreeLayerConvNet'?)",
    );
    const typo = { ...spec().spec, epochs: 3 } as unknown as TrainingSpec;
    await expect(trainInWorker(nodeWorker(), typo).done).rejects.toThrow(
      "trainInWorker: unknown option 'epochs'",
    );
  });
});
