// test/models/captioningTransformer.test.ts: whole-model gradient checks (every param), the
// causal structure of generation, overfitting a small captioning set through the Solver,
// checkpoints, errors.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evalNumericalGradient, relError } from '../../src/gradcheck/index.js';
import { loadModel, saveModel } from '../../src/io/checkpoint.js';
import { CaptioningTransformer } from '../../src/models/index.js';
import { Solver } from '../../src/solver/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { randn64, snapshot } from '../helpers.js';

const vocab = { '<NULL>': 0, '<START>': 1, '<END>': 2, a: 3, b: 4, c: 5 };
/** Five-point stencil, h = 1e-3: see test/models/visionTransformer.test.ts. */
const STENCIL = [1e-3, 4] as const;

describe('CaptioningTransformer', () => {
  for (const [label, shape] of [
    ['(N, D) features: one memory token', [2, 5]],
    ['(N, L, D) features: three memory tokens', [2, 3, 5]],
  ] as const) {
    it(`every param gradient matches centred differences of the loss, ${label} (float64)`, () => {
      const model = new CaptioningTransformer({
        wordToIdx: vocab,
        inputDim: 5,
        wordvecDim: 8,
        numHeads: 2,
        numLayers: shape.length === 2 ? 1 : 2, // two layers once: the check costs 4 losses per value
        maxLength: 6,
        dimFeedforward: 8,
        dtype: 'float64',
        seed: 1,
      });
      const features = randn64(shape, 2);
      const captions = [
        [1, 3, 4, 2, 0],
        [1, 5, 2, 0, 0],
      ];
      const unchanged = snapshot(features);
      const { loss, grads } = model.loss(features, captions);
      expect(unchanged()).toBe(true);
      expect(Number.isFinite(loss)).toBe(true);
      expect(Object.keys(grads).sort()).toEqual(Object.keys(model.params).sort());
      const f = () => model.loss(features, captions).loss;
      for (const [key, p] of Object.entries(model.params)) {
        const num = evalNumericalGradient(f, p, ...STENCIL);
        if (key.endsWith('.bk') || (shape.length === 2 && key.includes('crossAttn.'))) {
          // bk shifts every score of a query row equally; with one memory token every weight is
          // 1, so the cross-attention's query and key paths carry no gradient either: 0 exactly
          if (key.endsWith('.bk') || /crossAttn\.(Wq|bq|Wk)$/.test(key)) {
            expect(Math.max(...grads[key].data.map(Math.abs)), key).toBeLessThan(1e-12);
            expect(Math.max(...num.data.map(Math.abs)), key).toBeLessThan(1e-9);
            continue;
          }
        }
        expect(relError(grads[key], num), key).toBeLessThan(1e-7);
      }
    });
  }

  it('padding after <END> changes nothing: a word never sees later words', () => {
    const model = new CaptioningTransformer({
      wordToIdx: vocab,
      inputDim: 4,
      wordvecDim: 8,
      numHeads: 2,
      numLayers: 1,
      maxLength: 6,
      dtype: 'float64',
      seed: 2,
    });
    const features = randn64([1, 4], 1);
    // the extra step reads <END> and predicts <NULL> (masked); the causal mask keeps it from
    // changing the earlier steps, so the loss and every gradient stay the same
    const short = model.loss(features, [[1, 3, 4, 2]]),
      padded = model.loss(features, [[1, 3, 4, 2, 0, 0]]);
    expect(relError(padded.loss, short.loss)).toBeLessThan(1e-14);
    for (const [k, g] of Object.entries(short.grads))
      expect(relError(padded.grads[k], g), k).toBeLessThan(1e-12);
  });

  const toyData = () => {
    const N = 40,
      features = Tensor.randn([N, 2, 6], { seed: 5 });
    const rows = Array.from({ length: N }, (_, n) => {
      const words = [0, 1, 2] // 2 or 3 words, the length and each word read from the features
        .filter((j) => j < (features.get(n, 1, 5) > 0 ? 3 : 2))
        .map((j) => (features.get(n, j % 2, j) > 0 ? 3 : 4));
      return [1, ...words, 2, ...new Array(3 - words.length).fill(0)];
    });
    return { XTrain: features, yTrain: Tensor.from(rows, [N, 5], 'int32') };
  };
  const make = (seed: number) =>
    new CaptioningTransformer({
      wordToIdx: vocab,
      inputDim: 6,
      wordvecDim: 32,
      numHeads: 2,
      numLayers: 1,
      maxLength: 5,
      seed,
    });
  const exact = (m: CaptioningTransformer, X: Tensor, y: Tensor) => {
    const out = m.sample(X, 5),
      T = y.shape[1];
    let ok = 0;
    for (let n = 0; n < X.shape[0]; n++) {
      const truth = m.decode([Array.from(y.data.subarray(n * T + 1, (n + 1) * T))])[0];
      if (m.decode([Array.from(out.data.subarray(n * 5, n * 5 + 5))])[0] === truth) ok++;
    }
    return ok / X.shape[0];
  };

  it('overfits a small captioning set through the Solver, reproducibly', () => {
    const options = {
      updateRule: 'adam' as const,
      optimConfig: { learningRate: 1e-2 },
      batchSize: 10,
      numEpochs: 60,
      seed: 3,
      evaluate: exact,
    };
    const a = new Solver(make(1), toyData(), options).train();
    const short = { ...options, numEpochs: 3 }; // the same seeds give the same run
    const b = new Solver(make(1), toyData(), short).train();
    expect(b.lossHistory).toEqual(a.lossHistory.slice(0, b.lossHistory.length));
    expect(a.lossHistory[a.lossHistory.length - 1]).toBeLessThan(0.01 * a.lossHistory[0]);
    expect(exact(a.model, toyData().XTrain, toyData().yTrain)).toBe(1);
  });

  it('samples <NULL> after <END>, decodes words, and saves and loads through the registry', () => {
    const model = make(4);
    const out = model.sample(toyData().XTrain, 5);
    expect(out.shape).toEqual([40, 5]);
    for (let n = 0; n < 40; n++) {
      const row = Array.from(out.data.subarray(n * 5, n * 5 + 5));
      const end = row.indexOf(2);
      if (end >= 0) expect(row.slice(end + 1).every((v) => v === 0)).toBe(true);
    }
    expect(model.decode([[3, 4, 2, 0]])).toEqual(['a b']);
    const dir = mkdtempSync(join(tmpdir(), 'captioning-transformer-'));
    try {
      const path = join(dir, 'captioner.safetensors');
      saveModel(path, model);
      const loaded = loadModel<CaptioningTransformer>(path);
      expect(loaded).toBeInstanceOf(CaptioningTransformer);
      expect(Array.from(loaded.sample(toyData().XTrain, 5).data)).toEqual(Array.from(out.data));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the class, the argument and the shapes', () => {
    const model = make(1);
    expect(() => model.loss(Tensor.zeros([2, 5]), [[1, 2]])).toThrow(
      'CaptioningTransformer.loss: features has shape [2,5] but must be (N, 6) or (N, L, 6) (inputDim 6)',
    );
    expect(() => model.loss(Tensor.zeros([1, 6]), [[1, 3, 3, 3, 3, 3, 2]])).toThrow(
      'CaptioningTransformer.loss: captions has shape [1,7] but must be (N, T + 1) = [1, 2..6] for features of shape [1,6]',
    );
    expect(() => model.loss(Tensor.zeros([1, 6]))).toThrow(
      'CaptioningTransformer.loss: captions are required (use sample() to generate captions)',
    );
    expect(
      () => new CaptioningTransformer({ wordToIdx: vocab, wordvecDim: 6, numHeads: 4 }),
    ).toThrow('CaptioningTransformer: numHeads = 4 does not divide wordvecDim = 6');
  });
});
