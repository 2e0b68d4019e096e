import { describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import {
  adam,
  adamw,
  clipGradNorm,
  getUpdateRule,
  rmsprop,
  sgd,
  sgdMomentum,
  updateRules,
  type OptimConfig,
  type RuleName,
} from '../../src/optim/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, snapshot } from '../helpers.js';

type T = { shape: number[]; data: number[] };
interface Case {
  name: string;
  rule: RuleName;
  config: OptimConfig;
  weights: number[][];
}
const ref = fixture<{ w0: T; grads: T[]; cases: Case[] }>('optim');

describe('update rules against torch.optim (float64, 4 steps)', () => {
  it('covers every rule', () => {
    expect(new Set(ref.cases.map((c) => c.rule))).toEqual(new Set(Object.keys(updateRules)));
  });
  for (const c of ref.cases) {
    it(`${c.name} matches torch after each step`, () => {
      const w = fromFixture(ref.w0);
      let config: OptimConfig | undefined = Object.keys(c.config).length
        ? { ...c.config }
        : undefined;
      c.weights.forEach((want, step) => {
        const dw = fromFixture(ref.grads[step]);
        const unchanged = snapshot(dw);
        config = updateRules[c.rule](w, dw, config);
        expect(unchanged()).toBe(true);
        expect(relError(w, want)).toBeLessThan(1e-12);
      });
    });
  }
});

describe('update rule configs', () => {
  const w = () => Tensor.from([1, -2, 3], [3], 'float64');
  const dw = () => Tensor.from([0.5, 0.5, -1], [3], 'float64');

  it('fills in torch defaults and keeps state in the config', () => {
    const cfg = adam(w(), dw());
    expect(cfg).toMatchObject({
      learningRate: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      weightDecay: 0,
      t: 1,
    });
    expect(cfg.m).toBeInstanceOf(Float64Array);
    expect(adamw(w(), dw()).weightDecay).toBe(0.01);
    expect(rmsprop(w(), dw())).toMatchObject({
      learningRate: 1e-2,
      decayRate: 0.99,
      epsilon: 1e-8,
      momentum: 0,
    });
    expect(rmsprop(w(), dw()).velocity).toBeUndefined(); // only kept with momentum > 0
    expect(sgdMomentum(w(), dw()).momentum).toBe(0.9);
    expect(sgd(w(), dw()).learningRate).toBe(1e-2);
    const w32 = Tensor.from([1, 2], [2]);
    expect(adam(w32, Tensor.from([1, 1], [2])).v).toBeInstanceOf(Float32Array);
  });

  it('one step of sgd by hand', () => {
    const x = w();
    sgd(x, dw(), { learningRate: 0.5 });
    expect(Array.from(x.data)).toEqual([0.75, -2.25, 3.5]);
  });

  it('rejects unknown keys with a suggestion, and keys of other rules', () => {
    expect(() => adam(w(), dw(), { learningrate: 1 } as OptimConfig)).toThrow(
      "adam: unknown option 'learningrate' (did you mean 'learningRate'?)",
    );
    expect(() => sgd(w(), dw(), { momentum: 0.9 })).toThrow("sgd: unknown option 'momentum'");
  });

  it('rejects negative or non-finite hyperparameters', () => {
    expect(() => sgd(w(), dw(), { learningRate: -1 })).toThrow(
      'sgd: learningRate must be >= 0, got -1',
    );
    expect(() => adam(w(), dw(), { beta2: 1 })).toThrow('adam: beta2 must be < 1, got 1');
    expect(() => rmsprop(w(), dw(), { epsilon: NaN })).toThrow(
      'rmsprop: epsilon must be a finite number, got NaN',
    );
    expect(() => sgdMomentum(w(), dw(), { weightDecay: -0.1 })).toThrow(
      'sgdMomentum: weightDecay must be >= 0, got -0.1',
    );
  });

  it('rejects a gradient of another shape or dtype, and state of the wrong size', () => {
    expect(() => sgd(w(), Tensor.zeros([4], 'float64'))).toThrow(
      'sgd: dw has shape [4] but w has shape [3]',
    );
    expect(() => sgd(w(), Tensor.zeros([3]))).toThrow(
      'sgd: dw has dtype float32 but w has dtype float64',
    );
    expect(() => adam(w(), dw(), { m: new Float64Array(2) })).toThrow(
      'adam: config.m is Float64Array(2) but w is float64 with 3 elements',
    );
  });

  it('looks rules up by name with a suggestion', () => {
    expect(getUpdateRule('Solver', 'adam')).toBe(adam);
    expect(() => getUpdateRule('Solver', 'Adamw ')).toThrow(
      "Solver: unknown updateRule 'Adamw ' (did you mean 'adamw'?)",
    );
  });

  it('a learning rate of 0 leaves w unchanged but advances the state', () => {
    const x = w(),
      before = snapshot(x);
    const cfg = adam(x, dw(), { learningRate: 0 });
    expect(before()).toBe(true);
    expect(cfg.t).toBe(1);
  });
});

describe('clipGradNorm', () => {
  it('scales by maxNorm / (norm + 1e-6) above the limit, as torch', () => {
    const grads = { a: Tensor.from([3, 0], [2], 'float64'), b: Tensor.from([4], [1], 'float64') };
    expect(clipGradNorm(grads, 1)).toBe(5);
    const c = 1 / (5 + 1e-6);
    expect(Array.from(grads.a.data)).toEqual([3 * c, 0]);
    expect(Array.from(grads.b.data)).toEqual([4 * c]);
  });
  it('leaves small gradients alone', () => {
    const g = { a: Tensor.from([0.3, 0.4], [2], 'float64') };
    expect(clipGradNorm(g, 1)).toBeCloseTo(0.5, 15);
    expect(Array.from(g.a.data)).toEqual([0.3, 0.4]);
  });
  it('names a non-finite gradient', () => {
    const g = { W1: Tensor.from([1, NaN], [2], 'float64') };
    expect(() => clipGradNorm(g, 1)).toThrow(
      'clipGradNorm: grads.W1 has a non-finite value (NaN) at flat index 1 of shape [2]',
    );
  });
});
