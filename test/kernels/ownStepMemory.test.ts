// test/kernels/ownStepMemory.test.ts: a plain user loop (model.loss(X, y), then an update rule per
// param, as PyTorch and TF.js users write it) trains in the model's own step memory
// (kernels.inOwnStepMemory). The rule a user must know: what one training call returns is valid
// until the next training call of the same model. These tests fail if anything (the models, the
// update rules, the loop of the README) reads a tensor after that point, because reused memory
// would then give other numbers than fresh arrays.
import { afterEach, describe, expect, it } from 'vitest';
import { releaseStepMemory, setAutoStepMemory, setBackend } from '../../src/kernels/index.js';
import { FullyConnectedNet, ThreeLayerConvNet } from '../../src/models/index.js';
import { adam, type OptimConfig } from '../../src/optim/index.js';
import { Tensor, type FloatTensor } from '../../src/tensor/index.js';
import { sameBits } from '../helpers.js';

afterEach(() => {
  setAutoStepMemory(true);
  setBackend('auto');
});

type Net = ThreeLayerConvNet | FullyConnectedNet;

/** The README's plain loop: 6 steps of Adam over 3 batches; returns the losses and the params. */
function plainLoop(make: () => Net, batches: Array<[Tensor, number[]]>) {
  const model = make();
  const configs: Record<string, OptimConfig> = {};
  const losses: number[] = [];
  const gradBuffers = new Set<ArrayBufferLike>();
  for (let step = 0; step < 6; step++) {
    const [X, y] = batches[step % batches.length];
    const { loss, grads } = model.loss(X, y);
    losses.push(loss);
    for (const k of Object.keys(model.params)) {
      gradBuffers.add(grads[k].data.buffer);
      configs[k] = adam(
        model.params[k],
        grads[k] as FloatTensor,
        configs[k] ?? { learningRate: 1e-2 },
      );
    }
  }
  releaseStepMemory(model);
  return { losses, params: model.params, buffers: model.buffers ?? {}, gradBuffers };
}

const conv = () =>
  new ThreeLayerConvNet({
    inputDim: [2, 8, 8],
    numFilters: 4,
    filterSize: 3,
    hiddenDim: 10,
    numClasses: 3,
    normalization: 'batchnorm',
    dropout: 0.25,
    seed: 7,
  });
const fc = () =>
  new FullyConnectedNet({
    inputDim: 12,
    hiddenDims: [9, 7],
    numClasses: 3,
    normalization: 'layernorm',
    dropout: 0.2,
    seed: 8,
  });

describe("a model's own step memory", () => {
  for (const backend of ['wasm', 'reference'] as const) {
    for (const [name, make, shape] of [
      ['ThreeLayerConvNet', conv, [8, 2, 8, 8]],
      ['FullyConnectedNet', fc, [8, 12]],
    ] as const) {
      it(`${name} (${backend}): the plain loop reuses its memory and trains bit for bit as with fresh arrays`, () => {
        setBackend(backend);
        const batches = [0, 1, 2].map(
          (s) =>
            [Tensor.randn([...shape], { seed: s }), [0, 1, 2, 0, 1, 2, 0, 1]] as [Tensor, number[]],
        );
        const reused = plainLoop(make, batches);
        setAutoStepMemory(false);
        const fresh = plainLoop(make, batches);
        expect(reused.losses).toEqual(fresh.losses);
        for (const k of Object.keys(fresh.params))
          expect(sameBits(reused.params[k].data, fresh.params[k].data), k).toBe(true);
        for (const k of Object.keys(fresh.buffers))
          expect(sameBits(reused.buffers[k].data, fresh.buffers[k].data), k).toBe(true);
        // the gradients of every step live in one or two reused blocks, not 6 x params arrays
        expect(reused.gradBuffers.size).toBeLessThanOrEqual(2);
        expect(fresh.gradBuffers.size).toBe(6 * Object.keys(fresh.params).length);
      });
    }
  }

  it('the rule: a training call overwrites what the previous one returned; a clone keeps it', () => {
    const model = conv();
    const X1 = Tensor.randn([4, 2, 8, 8], { seed: 1 }),
      X2 = Tensor.randn([4, 2, 8, 8], { seed: 2 });
    const first = model.loss(X1, [0, 1, 2, 0]).grads.W1 as FloatTensor;
    const kept = first.clone();
    const second = model.loss(X2, [2, 1, 0, 2]).grads.W1 as FloatTensor;
    expect(second.data.buffer).toBe(first.data.buffer); // the same memory...
    expect(sameBits(first.data, second.data)).toBe(true); // ...now holding the second step's values
    expect(sameBits(kept.data, second.data)).toBe(false);
    // test-mode scores are not served from it: they stay valid after later training calls
    const scores = model.loss(X1);
    const copy = scores.clone();
    model.loss(X2, [0, 0, 0, 0]);
    expect(sameBits(scores.data, copy.data)).toBe(true);
    releaseStepMemory(model);
  });

  it('setAutoStepMemory checks its argument', () => {
    expect(() => setAutoStepMemory('no' as never)).toThrow(
      'setAutoStepMemory: enabled must be a boolean, got string',
    );
  });
});
