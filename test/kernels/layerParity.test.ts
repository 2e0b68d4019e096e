// test/kernels/layerParity.test.ts: the layers and models that run on the kernels give the same
// float32 results with backend 'wasm' as with 'reference' (1e-5 relative), forward and backward,
// on ragged shapes. The reference backend itself is checked against fixtures and float64
// gradient checks in test/layers and test/models.
import { afterAll, describe, expect, it } from 'vitest';
import { setAutoStepMemory, setBackend, type BackendName } from '../../src/kernels/index.js';
import {
  affineBackward,
  affineForward,
  convBackward,
  convForward,
  reluBackward,
  reluForward,
} from '../../src/layers/index.js';
import { ThreeLayerConvNet, TwoLayerNet } from '../../src/models/index.js';
import { Tensor, type FloatTensor } from '../../src/tensor/index.js';

afterAll(() => setBackend('auto'));

/** Runs fn under each backend and returns both results. */
function both<T>(fn: () => T): { ref: T; wasm: T } {
  const on = (name: BackendName): T => {
    setBackend(name);
    return fn();
  };
  // fresh arrays for each run: in a model's own step memory the second run would overwrite the first
  const previous = setAutoStepMemory(false);
  try {
    return { ref: on('reference'), wasm: on('wasm') };
  } finally {
    setAutoStepMemory(previous);
  }
}

/** Asserts |got − want| <= 1e-5·(scale + |want|) elementwise, scale = the mean |want| (or 1). */
function expectClose(got: Tensor, want: Tensor, what: string): void {
  expect(got.shape, what).toEqual(want.shape);
  expect(got.dtype, what).toBe('float32');
  let mean = 0;
  for (let i = 0; i < want.size; i++) mean += Math.abs(want.data[i]);
  const scale = want.size > 0 && mean > 0 ? mean / want.size : 1;
  let worst = 0;
  for (let i = 0; i < want.size; i++) {
    const e = Math.abs(got.data[i] - want.data[i]) / (scale + Math.abs(want.data[i]));
    worst = Math.max(worst, Number.isNaN(e) ? Infinity : e);
  }
  expect(worst, what).toBeLessThan(1e-5);
}

const randn = (shape: number[], seed: number): FloatTensor => Tensor.randn(shape, { seed });

describe('layers: wasm vs reference (float32)', () => {
  it('affine forward and backward on ragged shapes', () => {
    for (const [N, D, M] of [
      [1, 1, 1],
      [3, 17, 5],
      [64, 784, 100],
      [65, 129, 63],
      [5, 257, 10],
    ]) {
      const x = randn([N, D], 1),
        w = randn([D, M], 2),
        b = randn([M], 3),
        dout = randn([N, M], 4);
      const { ref, wasm } = both(() => {
        const { out, cache } = affineForward(x, w, b);
        return { out, ...affineBackward(dout, cache) };
      });
      for (const key of ['out', 'dx', 'dw', 'db'] as const)
        expectClose(wasm[key], ref[key], `affine ${N}x${D}x${M} ${key}`);
    }
  });

  it('relu forward and backward on ragged sizes', () => {
    for (const shape of [[1], [3, 5], [17, 63], [4, 8, 129]]) {
      const x = randn(shape, 5),
        dout = randn(shape, 6);
      const { ref, wasm } = both(() => {
        const { out, cache } = reluForward(x);
        return { out, ...reluBackward(dout, cache) };
      });
      expectClose(wasm.out, ref.out, `relu ${shape} out`);
      expectClose(wasm.dx, ref.dx, `relu ${shape} dx`);
    }
  });

  it('conv forward and backward (the CNN layer, and ragged geometries)', () => {
    const cases: Array<[number[], number[], { stride: number; pad: number }]> = [
      [[2, 1, 28, 28], [32, 1, 5, 5], { stride: 1, pad: 2 }],
      [[3, 3, 9, 11], [5, 3, 3, 3], { stride: 1, pad: 1 }],
      [[2, 4, 13, 7], [3, 4, 3, 2], { stride: 2, pad: 0 }],
      [[1, 17, 5, 5], [65, 17, 3, 3], { stride: 1, pad: 1 }],
    ];
    for (const [xs, ws, p] of cases) {
      const x = randn(xs, 7),
        w = randn(ws, 8),
        b = randn([ws[0]], 9);
      const { ref, wasm } = both(() => {
        const { out, cache } = convForward(x, w, b, p);
        return { out, ...convBackward(Tensor.randn(out.shape, { seed: 10 }), cache) };
      });
      for (const key of ['out', 'dx', 'dw', 'db'] as const)
        expectClose(wasm[key], ref[key], `conv ${xs} ${ws} ${key}`);
    }
  });
});

describe('models: wasm vs reference (float32)', () => {
  it('TwoLayerNet 784-100-10 loss and gradients, batch 64', () => {
    const X = randn([64, 784], 11),
      y = Array.from({ length: 64 }, (_, i) => (i * 7) % 10);
    const model = new TwoLayerNet({
      inputDim: 784,
      hiddenDim: 100,
      numClasses: 10,
      weightScale: 0.05,
      seed: 1,
    });
    const { ref, wasm } = both(() => model.loss(X, y));
    expect(Math.abs(wasm.loss - ref.loss) / Math.abs(ref.loss)).toBeLessThan(1e-5);
    for (const key of Object.keys(ref.grads))
      expectClose(wasm.grads[key], ref.grads[key], `TwoLayerNet d${key}`);
  });

  it('ThreeLayerConvNet (32 5x5 filters on 1x28x28, hidden 100) loss and gradients, batch 4', () => {
    const X = randn([4, 1, 28, 28], 12),
      y = [3, 1, 4, 1];
    const model = new ThreeLayerConvNet({
      inputDim: [1, 28, 28],
      numFilters: 32,
      filterSize: 5,
      hiddenDim: 100,
      weightScale: 0.05,
      seed: 2,
    });
    const { ref, wasm } = both(() => model.loss(X, y));
    expect(Math.abs(wasm.loss - ref.loss) / Math.abs(ref.loss)).toBeLessThan(1e-5);
    for (const key of Object.keys(ref.grads))
      expectClose(wasm.grads[key], ref.grads[key], `ThreeLayerConvNet d${key}`);
  });
});
