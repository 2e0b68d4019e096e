import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FullyConnectedNet } from '../../src/models/index.js';
import { Solver, type SolverOptions } from '../../src/solver/index.js';
import { Rng, type FloatTensor } from '../../src/tensor/index.js';
import { blobs, sameBits, trainValSplit } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'layerwise-async-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const data = () => trainValSplit(blobs({ seed: 5, N: 100, D: 5 }), 80);
const net = () =>
  new FullyConnectedNet({
    hiddenDims: [12],
    inputDim: 5,
    numClasses: 3,
    normalization: 'batchnorm',
    dropout: 0.1,
    weightScale: 0.1,
    seed: 3,
  });
const augment = (X: FloatTensor, rng: Rng): FloatTensor => {
  const out = X.clone();
  for (let i = 0; i < out.size; i++) out.data[i] += 0.05 * rng.normal();
  return out;
};
// 80 rows in batches of 15: 6 iterations per epoch (the last of 5 rows); 3 epochs = 18 iterations.
const options: SolverOptions = {
  updateRule: 'adam',
  optimConfig: { learningRate: 1e-2 },
  schedule: 'cosine',
  batchSize: 15,
  numEpochs: 3,
  seed: 7,
  augment,
};

describe('Solver.trainAsync', () => {
  it('without a stop gives the same run as train(), bit for bit, best params restored', async () => {
    const straight = new Solver(net(), data(), options).train();
    const solver = await new Solver(net(), data(), options).trainAsync({ yieldEveryMs: 0 });
    expect(solver.interrupted).toBe(false);
    expect(solver.iteration).toBe(18);
    expect(sameBits(solver.lossHistory, straight.lossHistory)).toBe(true);
    for (const k of Object.keys(straight.model.params)) {
      expect(sameBits(solver.model.params[k].data, straight.model.params[k].data), k).toBe(true);
    }
  });

  it('gives the event loop turns: a timer set before training runs during it', async () => {
    let timerRan = false,
      seenAt = -1;
    setTimeout(() => (timerRan = true), 0);
    const solver: Solver = new Solver(net(), data(), options);
    await solver.trainAsync({
      yieldEveryMs: 0,
      shouldStop: () => {
        if (timerRan && seenAt < 0) seenAt = solver.iteration;
        return false;
      },
    });
    expect(seenAt).toBeGreaterThan(0);
    expect(seenAt).toBeLessThan(18);
  });

  it('stops between iterations when asked, keeps the current params, and resumes exactly', async () => {
    const straight = new Solver(net(), data(), options).train();
    const first: Solver = new Solver(net(), data(), options);
    await first.trainAsync({ shouldStop: () => first.iteration === 9 }); // mid epoch 2
    expect(first.interrupted).toBe(true);
    expect(first.iteration).toBe(9);
    expect(first.lossHistory).toHaveLength(9);
    // not rolled back to the best (epoch-1) params: the model holds the params after iteration 9
    expect(first.bestParams).not.toBeNull();
    expect(
      sameBits(
        first.model.params.W1.data,
        (first.bestParams as Record<string, FloatTensor>).W1.data,
      ),
    ).toBe(false);
    const path = join(dir, 'stopped.safetensors');
    first.saveCheckpoint(path);
    const resumed = await Solver.resume(path, net(), data(), { augment }).trainAsync();
    expect(resumed.interrupted).toBe(false);
    expect(sameBits(resumed.lossHistory, straight.lossHistory)).toBe(true);
    expect(resumed.valAccHistory).toEqual(straight.valAccHistory);
    for (const k of Object.keys(straight.model.params)) {
      expect(sameBits(resumed.model.params[k].data, straight.model.params[k].data), k).toBe(true);
    }
    for (const k of Object.keys(straight.model.buffers)) {
      expect(sameBits(resumed.model.buffers[k].data, straight.model.buffers[k].data), k).toBe(true);
    }
  });

  it('rejects bad options', async () => {
    const solver = new Solver(net(), data(), options);
    await expect(solver.trainAsync({ yieldEvery: 5 } as never)).rejects.toThrow(
      "Solver.trainAsync: unknown option 'yieldEvery' (did you mean 'yieldEveryMs'?)",
    );
    await expect(solver.trainAsync({ shouldStop: true } as never)).rejects.toThrow(
      'Solver.trainAsync: shouldStop must be a function',
    );
    expect(solver.iteration).toBe(0);
  });
});
