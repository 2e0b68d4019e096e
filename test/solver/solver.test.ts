import { describe, expect, it } from 'vitest';
import { CaptioningRNN, TwoLayerNet, type LossResult } from '../../src/models/index.js';
import { sgd, type OptimConfig } from '../../src/optim/index.js';
import { Solver, type SolverModel, type SolverProgress } from '../../src/solver/index.js';
import { Rng, Tensor, type FloatTensor, type Labels } from '../../src/tensor/index.js';
import { sameBits } from '../helpers.js';

/** Three Gaussian blobs in D dimensions, labels 0..2; a seeded, learnable problem. */
function blobs(N: number, D: number, seed: number): { X: FloatTensor; y: Int32Array } {
  const rng = new Rng(seed),
    centres = Tensor.randn([3, D], { rng, std: 2 });
  const X = Tensor.zeros([N, D]),
    y = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    y[n] = rng.int(3);
    for (let d = 0; d < D; d++) X.data[n * D + d] = centres.data[y[n] * D + d] + rng.normal();
  }
  return { X, y };
}

/**
 * A model whose only param w moves by the update rule, whose buffer counts train-mode calls and
 * whose loss records the rows it saw (X row n holds the value n).
 */
class Probe implements SolverModel {
  readonly params = { w: Tensor.zeros([1], 'float64') };
  readonly buffers = { calls: Tensor.zeros([1], 'float64') };
  readonly seen: number[][] = [];
  constructor(private readonly accuracyAt: (w: number) => number = () => 1) {}
  loss(X: Tensor, y?: Labels): Tensor | LossResult {
    if (y === undefined) {
      // scores (N, 2): row n predicts class 0 (the label) for n < accuracyAt(w)·N
      const N = X.shape[0],
        k = Math.round(this.accuracyAt(this.params.w.data[0]) * N);
      return Tensor.from(
        Array.from({ length: N }, (_, n) => (n < k ? [1, 0] : [0, 1])),
        [N, 2],
        'float64',
      );
    }
    this.buffers.calls.data[0] += 1;
    this.seen.push(Array.from(X.data));
    return { loss: 1, grads: { w: Tensor.from([-1], [1], 'float64') } };
  }
}
const probeData = (N: number) => ({
  XTrain: Tensor.from(
    Array.from({ length: N }, (_, n) => n),
    [N, 1],
    'float64',
  ),
  yTrain: new Int32Array(N),
  XVal: Tensor.zeros([10, 1], 'float64'),
  yVal: new Int32Array(10),
});

describe('Solver', () => {
  it('trains a TwoLayerNet on three blobs to over 90% validation accuracy', () => {
    const all = blobs(400, 5, 1);
    // rows 0..299 train, 300..399 validate
    const XTrain = Tensor.from(all.X.data.subarray(0, 1500), [300, 5]),
      XVal = Tensor.from(all.X.data.subarray(1500), [100, 5]);
    const yTrain = all.y.subarray(0, 300),
      yVal = all.y.subarray(300);
    const model = new TwoLayerNet({
      inputDim: 5,
      hiddenDim: 20,
      numClasses: 3,
      weightScale: 1e-1,
      seed: 0,
    });
    const solver = new Solver(
      model,
      { XTrain, yTrain, XVal, yVal },
      {
        updateRule: 'adam',
        optimConfig: { learningRate: 1e-2 },
        batchSize: 50,
        numEpochs: 10,
        seed: 0,
      },
    );
    solver.train();
    expect(solver.lossHistory).toHaveLength(60);
    expect(solver.valAccHistory).toHaveLength(10);
    expect(solver.trainAccHistory).toHaveLength(10);
    expect(Math.max(...solver.valAccHistory)).toBeGreaterThan(0.9);
    expect(solver.lossHistory[59]).toBeLessThan(solver.lossHistory[0] / 3);
    expect(solver.checkAccuracy(XVal, yVal)).toBe(solver.bestValAcc); // best params left in the model
  });

  it('overfits 50 samples with random labels', () => {
    const { X } = blobs(50, 10, 3);
    const y = Int32Array.from({ length: 50 }, (_, i) => (i * 7) % 5);
    const model = new TwoLayerNet({
      inputDim: 10,
      hiddenDim: 50,
      numClasses: 5,
      weightScale: 1e-1,
      seed: 1,
    });
    const solver = new Solver(
      model,
      { XTrain: X, yTrain: y, XVal: X, yVal: y },
      {
        updateRule: 'adam',
        optimConfig: { learningRate: 2e-2 },
        batchSize: 25,
        numEpochs: 60,
        seed: 1,
      },
    );
    solver.train();
    expect(solver.bestValAcc).toBe(1);
  });

  it('gives the same loss history bit for bit with the same seed, another with another seed', () => {
    const run = (seed: number) => {
      const { X, y } = blobs(60, 4, 4);
      const model = new TwoLayerNet({
        inputDim: 4,
        hiddenDim: 8,
        numClasses: 3,
        weightScale: 1e-1,
        seed: 2,
      });
      const augment = (Xb: FloatTensor, rng: Rng) => {
        const out = Xb.clone();
        for (let i = 0; i < out.size; i++) out.data[i] += 0.1 * rng.normal();
        return out;
      };
      return new Solver(
        model,
        { XTrain: X, yTrain: y, XVal: X, yVal: y },
        {
          updateRule: 'sgdMomentum',
          batchSize: 16,
          numEpochs: 3,
          numTrainSamples: 20,
          augment,
          seed,
        },
      ).train();
    };
    const [a, b, c] = [run(7), run(7), run(8)];
    expect(sameBits(a.lossHistory, b.lossHistory)).toBe(true);
    expect(sameBits(a.model.params.W1.data, b.model.params.W1.data)).toBe(true);
    expect(sameBits(a.lossHistory, c.lossHistory)).toBe(false);
  });

  it('visits every row once per epoch (no replacement), the last batch holding the remainder', () => {
    const model = new Probe();
    new Solver(model, probeData(10), { batchSize: 4, numEpochs: 3, seed: 3 }).train();
    expect(model.seen.map((b) => b.length)).toEqual([4, 4, 2, 4, 4, 2, 4, 4, 2]);
    const epochs = [0, 1, 2].map((e) =>
      model.seen
        .slice(3 * e, 3 * e + 3)
        .flat()
        .sort((a, b) => a - b),
    );
    for (const rows of epochs) expect(rows).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(model.seen[0]).not.toEqual(model.seen[3]); // reshuffled each epoch
  });

  it('restores the best-validation params and buffers, and stops after `patience` epochs', () => {
    const accuracy = [0.2, 0.8, 0.6, 0.6, 1];
    const model = new Probe((w) => accuracy[w - 1]);
    const solver = new Solver(model, probeData(5), {
      updateRule: 'sgd',
      optimConfig: { learningRate: 1 },
      batchSize: 5,
      numEpochs: 5,
      patience: 2,
      seed: 0,
    });
    solver.train();
    expect(solver.valAccHistory).toEqual([0.2, 0.8, 0.6, 0.6]);
    expect(solver.stoppedEarly).toBe(true);
    expect(solver.lossHistory).toHaveLength(4);
    expect(model.params.w.data[0]).toBe(2); // the params of epoch 2 ...
    expect(model.buffers.calls.data[0]).toBe(2); // ... with the buffers of epoch 2
  });

  it('checks accuracy in batches of batchSize, the train check on numTrainSamples distinct rows', () => {
    const batches: number[][] = [];
    const model: SolverModel = {
      params: { w: Tensor.zeros([1], 'float64') },
      loss(X: Tensor, y?: Labels) {
        if (y !== undefined) return { loss: 0, grads: { w: Tensor.zeros([1], 'float64') } };
        batches.push(Array.from(X.data));
        return Tensor.zeros([X.shape[0], 2], 'float64');
      },
    };
    const XTrain = Tensor.from(
      Array.from({ length: 12 }, (_, n) => n),
      [12, 1],
      'float64',
    );
    const XVal = Tensor.from(
      Array.from({ length: 10 }, (_, n) => 100 + n),
      [10, 1],
      'float64',
    );
    new Solver(
      model,
      { XTrain, yTrain: new Int32Array(12), XVal, yVal: new Int32Array(10) },
      { batchSize: 4, numEpochs: 1, numTrainSamples: 6, seed: 0 },
    ).train();
    expect(batches.map((b) => b.length)).toEqual([4, 2, 4, 4, 2]);
    const train = batches.slice(0, 2).flat();
    expect(new Set(train).size).toBe(6);
    expect(train.every((v) => v < 12)).toBe(true);
    expect(batches.slice(2).flat()).toEqual(Array.from({ length: 10 }, (_, n) => 100 + n));
  });

  it('reports progress after every iteration', () => {
    const seen: SolverProgress[] = [];
    const solver = new Solver(new Probe(), probeData(10), {
      batchSize: 5,
      numEpochs: 2,
      seed: 0,
      onProgress: (p) => seen.push(p),
    });
    solver.train();
    expect(seen.map((p) => [p.epoch, p.iteration, p.epochEnd])).toEqual([
      [1, 1, false],
      [1, 2, true],
      [2, 3, false],
      [2, 4, true],
    ]);
    expect(seen[0]).toMatchObject({
      numEpochs: 2,
      totalIterations: 4,
      iterationsPerEpoch: 2,
      loss: 1,
      trainAcc: null,
      valAcc: null,
      learningRate: 1e-2,
    });
    expect(seen[1].valAcc).toBe(1);
    expect(seen[3].samplesPerSecond).toBeGreaterThan(0);
  });

  it('logs like the classic solver when verbose', () => {
    const lines: string[] = [];
    new Solver(new Probe(), probeData(4), {
      batchSize: 2,
      numEpochs: 1,
      printEvery: 1,
      verbose: true,
      log: (l) => lines.push(l),
      seed: 0,
    }).train();
    expect(lines).toEqual([
      '(Iteration 1 / 2) loss: 1.000000',
      '(Iteration 2 / 2) loss: 1.000000',
      '(Epoch 1 / 1) train acc: 1.000000; val acc: 1.000000',
    ]);
  });

  describe('learning-rate schedules', () => {
    const rates = (options: object) => {
      const lrs: number[] = [];
      const rule = (w: FloatTensor, dw: FloatTensor, config?: OptimConfig) => {
        lrs.push(config?.learningRate as number);
        return sgd(w, dw, config);
      };
      new Solver(new Probe(), probeData(4), {
        batchSize: 2,
        numEpochs: 3,
        seed: 0,
        updateRule: rule,
        optimConfig: { learningRate: 0.8 },
        ...options,
      }).train();
      return lrs;
    };
    it('decays by lrDecay once per epoch', () => {
      expect(rates({ lrDecay: 0.5 })).toEqual([0.8, 0.8, 0.4, 0.4, 0.2, 0.2]);
    });
    it('warms up linearly, then anneals by cosine', () => {
      const lrs = rates({ schedule: 'cosine', warmupIterations: 2 });
      expect(lrs.slice(0, 3)).toEqual([0.4, 0.8, 0.8]);
      expect(lrs[3]).toBeCloseTo((0.8 * (1 + Math.cos(Math.PI / 4))) / 2, 15);
      expect(rates({ warmupEpochs: 1 }).slice(0, 3)).toEqual([0.4, 0.8, 0.8]);
    });
  });

  it('clips the global gradient norm', () => {
    const norms: number[] = [];
    const rule = (w: FloatTensor, dw: FloatTensor, c?: OptimConfig) => (
      norms.push(Math.abs(dw.data[0])),
      sgd(w, dw, c)
    );
    new Solver(new Probe(), probeData(4), {
      batchSize: 2,
      numEpochs: 1,
      seed: 0,
      updateRule: rule,
      clipNorm: 0.25,
    }).train();
    expect(norms).toEqual([0.25 / (1 + 1e-6), 0.25 / (1 + 1e-6)]);
  });

  it('trains a model without a scores mode (CaptioningRNN) with metric none or evaluate', () => {
    const wordToIdx = { '<NULL>': 0, '<START>': 1, '<END>': 2, a: 3, b: 4 };
    const N = 8,
      T = 5;
    const features = Tensor.randn([N, 6], { seed: 1 });
    const captions = Tensor.from(
      Array.from({ length: N * T }, (_, i) => [1, 3 + (i % 2), 4, 2, 0][i % T]),
      [N, T],
      'int32',
    );
    const make = () =>
      new CaptioningRNN({
        wordToIdx,
        inputDim: 6,
        wordvecDim: 4,
        hiddenDim: 5,
        cellType: 'rnn',
        seed: 0,
      });
    const none = new Solver(
      make(),
      { XTrain: features, yTrain: captions },
      { updateRule: 'adam', metric: 'none', batchSize: 4, numEpochs: 2, seed: 0 },
    ).train();
    expect(none.lossHistory).toHaveLength(4);
    expect(none.valAccHistory).toEqual([]);
    const scored = new Solver(
      make(),
      { XTrain: features, yTrain: captions, XVal: features, yVal: captions },
      {
        updateRule: 'adam',
        batchSize: 4,
        numEpochs: 2,
        seed: 0,
        evaluate: (m, X, y) => -m.loss(X, y as Tensor).loss,
      },
    ).train();
    expect(scored.valAccHistory).toHaveLength(2);
    expect(scored.valAccHistory[0]).toBeLessThan(0);
  });

  it('gathers the rows of a (N, T) target with the rows of X', () => {
    const pairs: number[][] = [];
    const model: SolverModel = {
      params: { w: Tensor.zeros([1], 'float64') },
      loss(X: Tensor, y?: Labels) {
        const t = y as Tensor;
        for (let b = 0; b < X.shape[0]; b++)
          pairs.push([X.data[b], t.data[2 * b], t.data[2 * b + 1]]);
        return { loss: 0, grads: { w: Tensor.zeros([1], 'float64') } };
      },
    };
    const X = Tensor.from([0, 1, 2, 3, 4], [5, 1], 'float64');
    const y = Tensor.from([0, 10, 1, 11, 2, 12, 3, 13, 4, 14], [5, 2], 'int32');
    new Solver(
      model,
      { XTrain: X, yTrain: y },
      { metric: 'none', batchSize: 2, numEpochs: 1, seed: 0 },
    ).train();
    expect(pairs.map(([x, a, b]) => [x === a, b === a + 10])).toEqual(Array(5).fill([true, true]));
    expect(pairs.map((p) => p[0]).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  describe('numerical safety', () => {
    const bad = (loss: number, grad: number, at: number): SolverModel => {
      let calls = 0;
      return {
        params: { W1: Tensor.zeros([2], 'float64') },
        loss(_X: Tensor, y?: Labels) {
          if (y === undefined) return Tensor.zeros([_X.shape[0], 2], 'float64');
          calls++;
          return {
            loss: calls === at ? loss : 1,
            grads: { W1: Tensor.from([calls === at ? grad : 0, 0], [2], 'float64') },
          };
        },
      };
    };
    it('stops on a non-finite gradient, naming the param and the iteration', () => {
      expect(() =>
        new Solver(bad(1, NaN, 3), probeData(4), { batchSize: 2, numEpochs: 2, seed: 0 }).train(),
      ).toThrow(
        "Solver: the gradient of 'W1' at iteration 3 (epoch 2) has a non-finite value (NaN) at flat index 0 of shape [2]",
      );
    });
    it('stops on a non-finite loss', () => {
      expect(() =>
        new Solver(bad(Infinity, 0, 2), probeData(4), {
          batchSize: 2,
          numEpochs: 2,
          seed: 0,
        }).train(),
      ).toThrow(
        'Solver: loss is Infinity at iteration 2 (epoch 1); lower the learning rate, or set clipNorm',
      );
    });
    it('stops when an update overflows a param', () => {
      expect(() =>
        new Solver(bad(1, 1e308, 1), probeData(4), {
          batchSize: 2,
          numEpochs: 1,
          seed: 0,
          optimConfig: { learningRate: 1e10 },
        }).train(),
      ).toThrow(
        "Solver: param 'W1' after the update at iteration 1 (epoch 1) has a non-finite value (-Infinity) at flat index 0 of shape [2]",
      );
    });
  });

  describe('options', () => {
    const data = probeData(4);
    it('rejects unknown options with a suggestion', () => {
      expect(() => new Solver(new Probe(), data, { lr_decay: 0.9 } as object)).toThrow(
        "Solver: unknown option 'lr_decay' (did you mean 'lrDecay'?)",
      );
      expect(() => new Solver(new Probe(), data, { updateRule: 'adma' as 'adam' })).toThrow(
        "Solver: unknown updateRule 'adma' (did you mean 'adam'?)",
      );
      expect(
        () => new Solver(new Probe(), data, { updateRule: 'adam', optimConfig: { momentum: 0.9 } }),
      ).toThrow("Solver: optimConfig for adam: unknown option 'momentum'");
      expect(() => new Solver(new Probe(), data, { optimConfig: { learningRate: -1 } })).toThrow(
        'sgd: learningRate must be >= 0, got -1',
      );
      expect(() => new Solver(new Probe(), { ...data, Xval: data.XVal } as typeof data)).toThrow(
        "Solver: data: unknown option 'Xval' (did you mean 'XVal'?)",
      );
    });
    it('checks sizes and counts', () => {
      expect(() => new Solver(new Probe(), { ...data, yTrain: [0, 1] }, {})).toThrow(
        'Solver: yTrain has 2 labels but X has 4 rows',
      );
      expect(() => new Solver(new Probe(), data, { batchSize: 0 })).toThrow(
        'Solver: batchSize must be >= 1, got 0',
      );
      expect(
        () =>
          new Solver(new Probe(), { XTrain: data.XTrain, yTrain: data.yTrain }, { patience: 2 }),
      ).toThrow('Solver: patience needs validation data (XVal, yVal) and a metric');
      expect(
        () =>
          new Solver(new Probe(), data, { updateRule: (w, dw, c) => sgd(w, dw, c), lrDecay: 0.5 }),
      ).toThrow(
        'Solver: a learning-rate schedule needs optimConfig.learningRate with a custom updateRule',
      );
    });
    it('explains a model without scores under metric accuracy', () => {
      const model: SolverModel = { params: {}, loss: () => ({ loss: 0, grads: {} }) };
      expect(() =>
        new Solver(model, data, { batchSize: 4, numEpochs: 1, seed: 0 }).train(),
      ).toThrow(
        "Solver.checkAccuracy: model.loss(X) gave no scores for 4 rows; a model without a scores mode needs metric 'none' or evaluate",
      );
    });
  });
});
