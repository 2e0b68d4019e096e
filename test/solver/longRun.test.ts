// Resume at any length (issue 17): nothing in save or resume recurses or spreads an array whose
// length grows with the iterations or the rows, so a state of 10 million iterations (here with a
// million epochs of accuracy histories and best copies) saves, parses and resumes.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LinearClassifier } from '../../src/models/index.js';
import { Solver } from '../../src/solver/index.js';
import { Tensor } from '../../src/tensor/index.js';

const dir = mkdtempSync(join(tmpdir(), 'layerwise-long-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ITERATIONS = 10_000_000;
// 10 rows in batches of 1: 10 iterations per epoch, a million epochs.
const data = {
  XTrain: new Tensor(
    Float32Array.from({ length: 20 }, (_, i) => (i % 3) - 1),
    [10, 2],
  ),
  yTrain: Int32Array.from({ length: 10 }, (_, i) => i % 2),
  XVal: new Tensor(Float32Array.from([1, 0, 0, 1]), [2, 2]),
  yVal: Int32Array.from([0, 1]),
};
const model = () => new LinearClassifier({ inputDim: 2, numClasses: 2, seed: 0 });
const options = {
  updateRule: 'sgd',
  optimConfig: { learningRate: 1e-3 },
  batchSize: 1,
  numEpochs: ITERATIONS / 10,
  numTrainSamples: null,
  seed: 0,
} as const;

describe('a run of 10 million iterations', () => {
  it('saves, resumes, trains its last epoch and resumes again at the end', () => {
    class Stop extends Error {}
    let stopAt: number | null = 1;
    const solver = new Solver(model(), data, {
      ...options,
      onProgress: (p) => {
        if (p.iteration === stopAt) throw new Stop();
      },
    });
    // One real step (so the optimiser configs are those of a run), then a synthetic state one
    // epoch before the end: histories filled, a best copy taken.
    expect(() => solver.train()).toThrow(Stop);
    stopAt = null;
    solver.lossHistory.length = 0;
    const done = ITERATIONS - 10,
      epochs = done / 10;
    for (let i = 0; i < done; i++) solver.lossHistory.push(1 / (1 + i));
    for (let e = 0; e < epochs; e++) {
      solver.trainAccHistory.push(0.5);
      solver.valAccHistory.push(e === 12_345 ? 1 : 0.5);
    }
    solver.iteration = done;
    solver.bestValAcc = 1;
    solver.bestParams = { W: solver.model.params.W.clone(), b: solver.model.params.b.clone() };
    const path = join(dir, 'long.safetensors');
    solver.saveCheckpoint(path);
    // the loss history alone is 80 MB of float64
    expect(statSync(path).size).toBeGreaterThan(8 * ITERATIONS);

    const resumed = Solver.resume(path, model(), data);
    expect(resumed.iteration).toBe(done);
    expect(resumed.epoch).toBe(epochs);
    expect(resumed.lossHistory).toHaveLength(done);
    expect(resumed.lossHistory[done - 1]).toBe(1 / done);
    expect(resumed.bestValAcc).toBe(1);
    resumed.train();
    expect(resumed.iteration).toBe(ITERATIONS);
    expect(resumed.valAccHistory).toHaveLength(ITERATIONS / 10);

    resumed.saveCheckpoint(path);
    const atEnd = Solver.resume(path, model(), data);
    expect(atEnd.iteration).toBe(ITERATIONS);
    expect(atEnd.lossHistory).toHaveLength(ITERATIONS);
    expect(atEnd.lossHistory[ITERATIONS - 1]).toBe(resumed.lossHistory[ITERATIONS - 1]);
    // the best epoch stays the synthetic one (a later 1 would not beat it)
    expect(atEnd.bestValAcc).toBe(1);
  });
});
