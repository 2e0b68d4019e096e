// test/models/visionTransformer.test.ts: the ViT's whole-model gradient checks (every param and
// the input), overfitting a small batch, checkpoints through the model registry, errors.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evalNumericalGradient, relError } from '../../src/gradcheck/index.js';
import { loadModel, saveModel } from '../../src/io/checkpoint.js';
import { softmaxLoss } from '../../src/layers/index.js';
import { VisionTransformer } from '../../src/models/index.js';
import { Rng, Tensor } from '../../src/tensor/index.js';
import { accuracy, adamSteps, numericGrad, randn64, snapshot } from '../helpers.js';

const small = {
  inputDim: [2, 4, 6] as [number, number, number],
  patchSize: 2,
  embedDim: 8,
  numHeads: 2,
  numLayers: 2,
  mlpDim: 12,
  numClasses: 3,
};

/**
 * The five-point stencil with h = 1e-3 for gradients of the scalar loss: entries of 1e-6 beside
 * others of 1e-2 drown in the rounding noise of h = 1e-5 (2e-6 relative); with h = 1e-3 the
 * noise is 1e-13 and the O(h⁴) truncation 1e-12.
 */
const STENCIL = [1e-3, 4] as const;

describe('VisionTransformer', () => {
  it('every param gradient matches centred differences of the loss (float64)', () => {
    const model = new VisionTransformer({ ...small, dtype: 'float64', seed: 1 });
    // larger init than the default 0.02 so that every path carries a gradient well above noise
    for (const k of ['cls', 'pos', 'head.weight'])
      model.params[k].data.set(randn64(model.params[k].shape, 7, 0.5).data);
    const X = randn64([3, 2, 4, 6], 2),
      y = [0, 2, 1];
    const unchanged = snapshot(X);
    const { loss, grads } = model.loss(X, y);
    expect(unchanged()).toBe(true);
    expect(Object.keys(grads).sort()).toEqual(Object.keys(model.params).sort());
    expect(Object.keys(model.params)).toHaveLength(4 + 2 * 16 + 4);
    expect(Number.isFinite(loss)).toBe(true);
    const f = () => model.loss(X, y).loss;
    for (const [key, p] of Object.entries(model.params)) {
      const num = evalNumericalGradient(f, p, ...STENCIL);
      if (key.endsWith('.bk')) {
        // bk shifts every score of a query row equally, which softmax ignores: exactly 0
        expect(Math.max(...grads[key].data.map(Math.abs)), key).toBeLessThan(1e-12);
        expect(Math.max(...num.data.map(Math.abs)), key).toBeLessThan(1e-9);
      } else expect(relError(grads[key], num), key).toBeLessThan(1e-7);
    }
  });

  it('inputGradient: test-mode scores, and dX matches centred differences (float64)', () => {
    const model = new VisionTransformer({ ...small, dtype: 'float64', seed: 3, dropout: 0.2 });
    const X = randn64([2, 2, 4, 6], 4),
      dscores = randn64([2, 3], 5);
    const { scores, dX } = model.inputGradient(X, dscores);
    expect(relError(scores, model.loss(X))).toBe(0);
    expect(dX.shape).toEqual(X.shape);
    expect(
      relError(
        dX,
        numericGrad((t) => model.loss(t), X, dscores),
      ),
    ).toBeLessThan(1e-7);
    // the gradient of the loss w.r.t. X, through inputGradient and softmaxLoss's dscores
    const { dx } = softmaxLoss(scores, [1, 0]);
    const d = model.inputGradient(X, dx).dX;
    const num = evalNumericalGradient(() => softmaxLoss(model.loss(X), [1, 0]).loss, X, ...STENCIL);
    expect(relError(d, num)).toBeLessThan(1e-7);
  });

  it('overfits 40 random images to 100% train accuracy with full-batch Adam (float32)', () => {
    const rng = new Rng(3);
    const X = Tensor.randn([40, 1, 8, 8], { seed: 2 }),
      y = Array.from({ length: 40 }, () => rng.int(5));
    const model = new VisionTransformer({
      inputDim: [1, 8, 8],
      patchSize: 4,
      embedDim: 32,
      numHeads: 4,
      numLayers: 2,
      mlpDim: 64,
      numClasses: 5,
      seed: 1,
    });
    const before = accuracy(model.loss(X), y);
    const losses = adamSteps(model, X, y, 150, 3e-3);
    expect(losses[losses.length - 1]).toBeLessThan(0.05 * losses[0]);
    expect(accuracy(model.loss(X), y)).toBe(1);
    expect(before).toBeLessThan(0.5);
  });

  it('dropout: seeded masks in train mode, none in test mode', () => {
    const X = randn64([2, 2, 4, 6], 4);
    const a = new VisionTransformer({ ...small, dtype: 'float64', seed: 3, dropout: 0.3 });
    const b = new VisionTransformer({ ...small, dtype: 'float64', seed: 3, dropout: 0.3 });
    expect(a.loss(X, [0, 1]).loss).toBe(b.loss(X, [0, 1]).loss);
    const plain = new VisionTransformer({ ...small, dtype: 'float64', seed: 3 });
    expect(relError(a.loss(X), plain.loss(X))).toBe(0);
    expect(a.loss(X, [0, 1]).loss).not.toBe(plain.loss(X, [0, 1]).loss);
  });

  it('saves and loads through the model registry (io.saveModel / loadModel)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vit-'));
    try {
      const model = new VisionTransformer({ ...small, seed: 5 });
      const path = join(dir, 'vit.safetensors');
      saveModel(path, model);
      const loaded = loadModel(path);
      expect(loaded).toBeInstanceOf(VisionTransformer);
      const X = Tensor.randn([2, 2, 4, 6], { seed: 1 });
      expect(relError((loaded as VisionTransformer).loss(X), model.loss(X))).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exposes the attention weights of each layer for pictures', () => {
    const model = new VisionTransformer({ ...small, seed: 5 });
    model.loss(Tensor.randn([2, 2, 4, 6], { seed: 1 }));
    const w = model.attentionWeights();
    expect(w).toHaveLength(2);
    expect(w[0].shape).toEqual([2, 2, 7, 7]); // 6 patches + the class token
    for (let r = 0; r < 2 * 2 * 7; r++) {
      const sum = Array.from(w[0].data.slice(r * 7, r * 7 + 7)).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 5);
    }
  });

  it('names the class, the argument and the shapes', () => {
    expect(() => new VisionTransformer({ ...small, patchSize: 3 })).toThrow(
      'VisionTransformer: patchSize 3 must divide H and W of inputDim [2,4,6]',
    );
    expect(() => new VisionTransformer({ ...small, numHeads: 3 })).toThrow(
      'VisionTransformer: numHeads = 3 does not divide embedDim = 8',
    );
    expect(() => new VisionTransformer({ ...small, depth: 2 } as never)).toThrow(
      "VisionTransformer: unknown option 'depth'",
    );
    const model = new VisionTransformer(small);
    expect(() => model.loss(Tensor.zeros([2, 1, 4, 6]))).toThrow(
      'VisionTransformer.loss: X has shape [2,1,4,6] but the model was built for inputDim [2,4,6]',
    );
  });
});
