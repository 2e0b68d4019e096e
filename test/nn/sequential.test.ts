import { describe, expect, it } from 'vitest';
import { evalNumericalGradient, relError } from '../../src/gradcheck/index.js';
import {
  FullyConnectedNet,
  type FullyConnectedNetOptions,
  type Model,
} from '../../src/models/index.js';
import {
  BatchNorm1d,
  Dropout,
  Flatten,
  LayerNorm,
  Linear,
  ReLU,
  Sequential,
} from '../../src/nn/index.js';
import type { Module } from '../../src/nn/module.js';
import { Solver } from '../../src/solver/index.js';
import { Rng, Tensor, type FloatTensor } from '../../src/tensor/index.js';
import { fixture, fromFixture } from '../helpers.js';

type T = { shape: number[]; data: number[] };
interface NetCase {
  normalization: 'batchnorm' | 'layernorm' | null;
  hiddenDims: number[];
  inputDim: number;
  numClasses: number;
  reg: number;
  X: T;
  y: number[];
  params: Record<string, T>;
  loss: number;
  grads: Record<string, T>;
  runningAfter: Record<string, T>;
  testScores: T;
}

/**
 * FullyConnectedNet's architecture as a Sequential, plus the map from the classic keys (W1, gamma1,
 * runningMean1) to the dotted ones ('0.weight', '1.weight', '1.runningMean').
 */
function asSequential(
  o: Required<Pick<FullyConnectedNetOptions, 'inputDim' | 'hiddenDims' | 'numClasses'>> &
    FullyConnectedNetOptions,
) {
  const dims = [o.inputDim, ...o.hiddenDims, o.numClasses],
    modules: Module[] = [],
    keys: Record<string, string> = {};
  const dtype = o.dtype ?? 'float32';
  for (let i = 1; i < dims.length; i++) {
    keys[`W${i}`] = `${modules.length}.weight`;
    keys[`b${i}`] = `${modules.length}.bias`;
    modules.push(new Linear(dims[i - 1], dims[i], { dtype, seed: i }));
    if (i === dims.length - 1) break;
    if (o.normalization) {
      keys[`gamma${i}`] = `${modules.length}.weight`;
      keys[`beta${i}`] = `${modules.length}.bias`;
      if (o.normalization === 'batchnorm') {
        keys[`runningMean${i}`] = `${modules.length}.runningMean`;
        keys[`runningVar${i}`] = `${modules.length}.runningVar`;
        modules.push(new BatchNorm1d(dims[i], { dtype }));
      } else {
        modules.push(new LayerNorm(dims[i], { dtype }));
      }
    }
    modules.push(new ReLU());
    if (o.dropout) modules.push(new Dropout(o.dropout));
  }
  return { seq: new Sequential(...modules, { reg: o.reg ?? 0, seed: 0 }), keys };
}

function toyBatch(
  N: number,
  D: number,
  C: number,
  seed: number,
): { X: FloatTensor; y: Int32Array } {
  const rng = new Rng(seed);
  return {
    X: Tensor.randn([N, D], { rng, dtype: 'float64' }),
    y: Int32Array.from({ length: N }, () => rng.int(C)),
  };
}

describe('Sequential built like FullyConnectedNet', () => {
  const base = {
    inputDim: 6,
    hiddenDims: [8, 5],
    numClasses: 4,
    weightScale: 0.5,
    dtype: 'float64' as const,
    seed: 7,
  };
  const variants: Array<[string, FullyConnectedNetOptions]> = [
    ['plain, reg 0.2', { reg: 0.2 }],
    ['batchnorm, reg 0.1', { normalization: 'batchnorm', reg: 0.1 }],
    ['layernorm', { normalization: 'layernorm' }],
    [
      'batchnorm + dropout 0.3 (same generator state)',
      { normalization: 'batchnorm', dropout: 0.3 },
    ],
  ];
  for (const [name, extra] of variants) {
    it(`${name}: same loss, gradients, running statistics and test scores for the same params`, () => {
      const opts = { ...base, ...extra };
      const net = new FullyConnectedNet(opts),
        { seq, keys } = asSequential(opts);
      expect(Object.keys(seq.params).sort()).toEqual(
        Object.keys(net.params)
          .map((k) => keys[k])
          .sort(),
      );
      for (const [k, p] of Object.entries(net.params)) seq.params[keys[k]].data.set(p.data);
      if (net.rng) seq.rng!.setState(net.rng.getState());
      const { X, y } = toyBatch(10, 6, 4, 3);
      for (let step = 0; step < 2; step++) {
        const a = net.loss(X, y),
          b = seq.loss(X, y);
        expect(relError(b.loss, a.loss)).toBeLessThan(1e-13);
        expect(Object.keys(b.grads).sort()).toEqual(Object.keys(seq.params).sort());
        for (const [k, g] of Object.entries(a.grads))
          expect(relError(b.grads[keys[k]], g), k).toBeLessThan(1e-12);
      }
      for (const [k, buf] of Object.entries(net.buffers))
        expect(relError(seq.buffers[keys[k]], buf), k).toBeLessThan(1e-13);
      expect(relError(seq.loss(X), net.loss(X))).toBeLessThan(1e-12);
    });
  }

  const ref = fixture<{ cases: NetCase[] }>('fc_net');
  ref.cases.forEach((c, i) => {
    it(`fixture case ${i} (${c.normalization}): matches PyTorch through the nn modules`, () => {
      const { seq, keys } = asSequential({ ...c, dtype: 'float64' });
      for (const [k, v] of Object.entries(c.params)) seq.params[keys[k]].data.set(v.data);
      const X = fromFixture(c.X);
      const { loss, grads } = seq.loss(X, c.y);
      expect(relError(loss, c.loss)).toBeLessThan(1e-12);
      for (const [k, g] of Object.entries(c.grads)) {
        // the biases in front of batch norm have a zero gradient: compare those absolutely
        const tiny = g.data.every((v) => Math.abs(v) < 1e-12);
        if (tiny)
          expect(
            grads[keys[k]].data.every((v) => Math.abs(v) < 1e-12),
            k,
          ).toBe(true);
        else expect(relError(grads[keys[k]], g.data), k).toBeLessThan(1e-9);
      }
      for (const [k, r] of Object.entries(c.runningAfter))
        expect(relError(seq.buffers[keys[k]], r.data), k).toBeLessThan(1e-12);
      expect(relError(seq.loss(X), c.testScores.data)).toBeLessThan(1e-10);
    });
  });
});

describe('Sequential as a Model', () => {
  it('params and buffers are stable live records keyed by dotted path', () => {
    const lin = new Linear(4, 3, { seed: 1 }),
      bn = new BatchNorm1d(3);
    const seq: Model = new Sequential(
      new Flatten(),
      lin,
      bn,
      new ReLU(),
      new Linear(3, 2, { seed: 2 }),
    );
    expect(Object.keys(seq.params)).toEqual([
      '1.weight',
      '1.bias',
      '2.weight',
      '2.bias',
      '4.weight',
      '4.bias',
    ]);
    expect(Object.keys(seq.buffers!)).toEqual(['2.runningMean', '2.runningVar']);
    expect(seq.params['1.weight']).toBe(lin.params.weight);
    const replacement = Tensor.zeros([4, 3]);
    seq.params['1.weight'] = replacement; // a replaced tensor reaches the module
    expect(lin.params.weight).toBe(replacement);
    const X = Tensor.randn([5, 2, 2], { seed: 3 });
    seq.loss(X, [0, 1, 1, 0, 1]);
    expect(seq.buffers!['2.runningMean']).toBe(bn.buffers.runningMean);
    expect(seq.rng).toBeUndefined(); // no dropout, no generator
  });

  it('loss(X) runs in eval mode and loss(X, y) in train mode', () => {
    const drop = new Dropout(0.5);
    const seq = new Sequential(
      new Linear(4, 6, { seed: 1 }),
      new ReLU(),
      drop,
      new Linear(6, 3, { seed: 2 }),
      { seed: 5 },
    );
    const X = Tensor.randn([8, 4], { seed: 1 });
    const a = seq.loss(X),
      b = seq.loss(X);
    expect(drop.training).toBe(false);
    expect([...a.data]).toEqual([...b.data]);
    expect(drop.rng).toBe(seq.rng); // the Sequential's generator, seeded by its options
    const state = seq.rng!.getState();
    seq.loss(X, [0, 1, 2, 0, 1, 2, 0, 1]);
    expect(drop.training).toBe(true);
    expect(seq.rng!.getState()).not.toEqual(state);
  });

  it('whole-model gradients match centred differences (with reg and an SVM loss)', () => {
    const { X, y } = toyBatch(5, 4, 3, 9);
    const seq = new Sequential(
      new Linear(4, 7, { dtype: 'float64', seed: 1 }),
      new LayerNorm(7, { dtype: 'float64' }),
      new ReLU(),
      new Linear(7, 3, { dtype: 'float64', seed: 2 }),
      { loss: 'svm', reg: 0.3 },
    );
    const { grads } = seq.loss(X, y);
    for (const [k, p] of Object.entries(seq.params)) {
      // svm and relu are kinked: DESIGN.md's looser bound for kinks
      expect(
        relError(
          grads[k],
          evalNumericalGradient(() => seq.loss(X, y).loss, p),
        ),
        k,
      ).toBeLessThan(1e-5);
    }
  });

  it('nests: a Sequential inside a Sequential gets keys like "1.0.weight"', () => {
    const inner = new Sequential(new Linear(3, 3, { seed: 1 }), new ReLU());
    const outer = new Sequential(
      new Linear(2, 3, { seed: 2 }),
      inner,
      new Linear(3, 2, { seed: 3 }),
      { reg: 1 },
    );
    expect(Object.keys(outer.params)).toEqual([
      '0.weight',
      '0.bias',
      '1.0.weight',
      '1.0.bias',
      '2.weight',
      '2.bias',
    ]);
    expect(outer.l2Keys).toEqual(['0.weight', '1.0.weight', '2.weight']);
    const { grads } = outer.loss(Tensor.randn([4, 2], { seed: 1 }), [0, 1, 1, 0]);
    expect(grads['1.0.weight']).toBe(inner.grads['0.weight']);
    expect(String(outer)).toContain('(1): Sequential(');
  });

  it('applies L2 to linear weights only, not to biases or normalisation params', () => {
    const seq = new Sequential(
      new Linear(3, 4, { seed: 1 }),
      new BatchNorm1d(4),
      new Linear(4, 2, { seed: 2 }),
      { reg: 0.5 },
    );
    expect(seq.l2Keys).toEqual(['0.weight', '2.weight']);
  });

  it('the Solver trains it like a classic model: 50 samples overfit, best buffers restored', () => {
    const { X, y } = toyBatch(50, 20, 10, 21); // random labels: only memorising can fit them
    const X32 = Tensor.from(X.data, X.shape),
      bn = new BatchNorm1d(64);
    const seq = new Sequential(
      new Linear(20, 64, { seed: 1 }),
      bn,
      new ReLU(),
      new Dropout(0.1),
      new Linear(64, 10, { seed: 2 }),
      { seed: 3 },
    );
    const solver = new Solver(
      seq,
      { XTrain: X32, yTrain: y, XVal: X32, yVal: y },
      {
        updateRule: 'adam',
        optimConfig: { learningRate: 1e-2 },
        batchSize: 25,
        numEpochs: 40,
        seed: 4,
      },
    );
    solver.train();
    expect(solver.bestValAcc).toBe(1);
    expect(solver.bestParams!['1.runningMean']).toBeDefined(); // buffers travel with the best params
    expect(solver.lossHistory[solver.lossHistory.length - 1]).toBeLessThan(
      0.2 * solver.lossHistory[0],
    );
  });

  it('names the argument at fault', () => {
    expect(() => new Sequential(new ReLU(), {} as never, new ReLU())).toThrow(
      'Sequential: arguments must be modules, optionally followed by one options object',
    );
    const relu = new ReLU();
    expect(() => new Sequential(relu, new Linear(2, 2), relu)).toThrow(
      'Sequential: module 2 is the same object as module 0; each position needs its own instance (it keeps the cache of its forward)',
    );
    expect(() => new Sequential(new ReLU(), { regularization: 1 } as never)).toThrow(
      "Sequential: unknown option 'regularization'",
    );
    expect(() => new Sequential(new ReLU(), { loss: 'hinge' as never })).toThrow(
      "Sequential: loss must be 'softmax' or 'svm', got 'hinge'",
    );
  });
});
