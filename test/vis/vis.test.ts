// test/vis/vis.test.ts: src/vis. Saliency maps and activation gradients against centred
// differences through the preprocessing (float64); fooling and class visualisation on a small
// conv net trained here on 8x8 bar images; the pictures decode with the sizes they should have;
// the error messages.
import { beforeAll, describe, expect, it } from 'vitest';
import { applyPreprocessing, fitPreprocessing, type Preprocessing } from '../../src/data/index.js';
import { decodePng } from '../../src/io/index.js';
import { FullyConnectedNet, ThreeLayerConvNet } from '../../src/models/index.js';
import { relError } from '../../src/gradcheck/index.js';
import { Rng, Tensor, argmaxRows, type FloatTensor } from '../../src/tensor/index.js';
import * as vis from '../../src/vis/index.js';
import { adamSteps, numericGrad, randn64, snapshot } from '../helpers.js';

/**
 * N images (1, 8, 8) in [0, 1] of three classes: a vertical bar (0), a horizontal bar (1), a
 * diagonal (2), at a random place, on a dim noisy background.
 */
function bars(N: number, seed: number): { X: FloatTensor; y: Int32Array } {
  const rng = new Rng(seed),
    X = Tensor.zeros([N, 1, 8, 8], 'float64'),
    y = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    y[n] = n % 3;
    const at = 1 + rng.int(6);
    for (let i = 0; i < 64; i++) X.data[n * 64 + i] = 0.15 * rng.uniform();
    for (let k = 0; k < 8; k++) {
      const [h, w] = y[n] === 0 ? [k, at] : y[n] === 1 ? [at, k] : [k, k];
      X.data[n * 64 + h * 8 + w] = 0.8 + 0.2 * rng.uniform();
    }
  }
  return { X, y };
}

const train = bars(90, 1),
  test = bars(30, 2);
/** Test image n as (1, 8, 8). */
const image = (n: number) =>
  new Tensor(test.X.data.slice(64 * n, 64 * (n + 1)), [1, 8, 8]) as FloatTensor;
let model: ThreeLayerConvNet;
beforeAll(() => {
  model = new ThreeLayerConvNet({
    inputDim: [1, 8, 8],
    numFilters: 4,
    filterSize: 3,
    hiddenDim: 16,
    numClasses: 3,
    weightScale: 0.1,
    dtype: 'float64',
    seed: 3,
  });
  adamSteps(model, train.X, train.y, 60, 1e-2);
});

describe('the model trained in this file', () => {
  it('classifies the test bars', () => {
    const acc = argmaxRows(model.loss(test.X)).filter((p, n) => p === test.y[n]).length / 30;
    expect(acc).toBeGreaterThanOrEqual(0.9);
  });
});

// A 2-channel float64 net with a per-channel preprocessing: the max over channels and the
// chain through (x − mean) / std are both exercised.
const net2 = new FullyConnectedNet({
  inputDim: 2 * 4 * 4,
  hiddenDims: [10],
  numClasses: 4,
  weightScale: 0.3,
  dtype: 'float64',
  seed: 5,
});
const P2 = Tensor.rand([3, 2, 4, 4], { seed: 6, dtype: 'float64' });
const perChannel: Preprocessing = fitPreprocessing(P2, 'per-channel');
const scoresOfPixels = (prep: Preprocessing) => (P: Tensor) =>
  net2.loss(applyPreprocessing(P as FloatTensor, prep));

describe('saliencyMap and activations: the gradients (float64)', () => {
  it('saliency = max over channels of |d score_y / d pixel| through the preprocessing', () => {
    const y = Int32Array.from([0, 3, 1]);
    const unchanged = snapshot(P2);
    const S = vis.saliencyMap(net2, P2, y, { preprocessing: perChannel });
    expect(unchanged()).toBe(true);
    expect(S.shape).toEqual([3, 4, 4]);
    const dout = Tensor.zeros([3, 4], 'float64');
    y.forEach((c, n) => (dout.data[n * 4 + c] = 1));
    const g = numericGrad(scoresOfPixels(perChannel), P2.clone(), dout);
    const want = Tensor.zeros([3, 4, 4], 'float64');
    for (let n = 0; n < 3; n++)
      for (let j = 0; j < 16; j++)
        want.data[n * 16 + j] = Math.max(
          Math.abs(g.data[n * 32 + j]),
          Math.abs(g.data[n * 32 + 16 + j]),
        );
    expect(relError(S, want)).toBeLessThan(1e-7);
  });

  it('activations: every layer, the gradient at the scores is one-hot, at the pixels numerical', () => {
    const acts = vis.activations(net2, P2, { preprocessing: perChannel, target: 2 });
    expect(acts.layers.map((l) => l.name)).toEqual(['affine1', 'relu1', 'affine2']);
    expect(acts.layers.map((l) => l.grad.shape)).toEqual([
      [3, 10],
      [3, 10],
      [3, 4],
    ]);
    expect(Array.from(acts.layers[2].grad.data)).toEqual([0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0]);
    expect(Array.from(acts.target)).toEqual([2, 2, 2]);
    const dout = Tensor.zeros([3, 4], 'float64');
    for (let n = 0; n < 3; n++) dout.data[n * 4 + 2] = 1;
    const g = numericGrad(scoresOfPixels(perChannel), P2.clone(), dout);
    expect(relError(acts.inputGrad, g)).toBeLessThan(1e-7);
    // relu1's gradient is affine2's carried back: d relu1 = d scores · W2ᵀ
    const W2 = net2.params.W2;
    for (let n = 0; n < 3; n++)
      for (let j = 0; j < 10; j++)
        expect(acts.layers[1].grad.data[n * 10 + j]).toBeCloseTo(W2.data[j * 4 + 2], 12);
  });

  it('without a target, the predicted class is differentiated', () => {
    const acts = vis.activations(model, test.X);
    expect(Array.from(acts.target)).toEqual(Array.from(argmaxRows(model.loss(test.X))));
  });

  it("PixelSpace maps pixels as data.applyPreprocessing does ('mean-image', 'per-channel')", () => {
    for (const kind of ['mean-image', 'per-channel'] as const) {
      const prep = fitPreprocessing(P2, kind);
      const space = vis.PixelSpace.of('test', [2, 4, 4], { preprocessing: prep });
      const X = randn64([3, 2, 4, 4], 7);
      expect(relError(space.toModel(X, 'float64'), applyPreprocessing(X, prep))).toBeLessThan(
        1e-12,
      );
    }
  });
});

describe('foolingImage(s) on the trained bars model', () => {
  it('flips every test image to the next class, in range, with the change it reports', () => {
    const targets = Int32Array.from(test.y, (c) => (c + 1) % 3);
    const unchanged = snapshot(test.X);
    const results = vis.foolingImages(model, test.X, targets, { learningRate: 0.2 });
    expect(unchanged()).toBe(true);
    const fooled = results.filter((r) => r.fooled).length;
    expect(fooled).toBe(30);
    const images = Tensor.zeros([30, 1, 8, 8], 'float64');
    results.forEach((r, n) => {
      images.data.set(r.image.data, n * 64);
      expect(r.steps).toBeGreaterThan(0);
      expect(r.steps).toBeLessThanOrEqual(100);
      let linf = 0,
        sq = 0;
      for (let j = 0; j < 64; j++) {
        const v = r.image.data[j],
          d = v - test.X.data[n * 64 + j];
        expect(v >= 0 && v <= 1).toBe(true);
        linf = Math.max(linf, Math.abs(d));
        sq += d * d;
      }
      expect(r.linf).toBeCloseTo(linf, 12);
      expect(r.l2).toBeCloseTo(Math.sqrt(sq), 12);
    });
    // the model itself, asked again, predicts the targets for the changed images
    expect(Array.from(argmaxRows(model.loss(images)))).toEqual(Array.from(targets));
    expect(Array.from(results, (r) => r.before)).toEqual(
      Array.from(argmaxRows(model.loss(test.X))),
    );
  });

  it('one image alone gives what it gets in a batch; an image of the target class is left alone', () => {
    const batch = vis.foolingImages(model, test.X, 2);
    const x = new Tensor(test.X.data.slice(64, 128), [1, 8, 8]) as FloatTensor; // image 1, a 1
    const one = vis.foolingImage(model, x, 2);
    expect(one.image.shape).toEqual([1, 8, 8]);
    expect(one.steps).toBe(batch[1].steps);
    expect(Array.from(one.image.data)).toEqual(Array.from(batch[1].image.data));
    const already = vis.foolingImage(model, image(2), 2);
    expect([already.steps, already.linf, already.fooled]).toEqual([0, 0, true]);
  });

  it('stops after maxSteps when the target is out of reach', () => {
    const r = vis.foolingImage(model, image(0), 1, {
      maxSteps: 1,
      learningRate: 1e-4,
    });
    expect([r.steps, r.fooled, r.after]).toEqual([1, false, 0]);
  });
});

describe('classVisualization on the trained bars model', () => {
  it('the target score rises and the model predicts the target, for every class', () => {
    for (let c = 0; c < 3; c++) {
      const r = vis.classVisualization(model, c, { steps: 40, seed: c });
      expect(r.scores).toHaveLength(41);
      expect(r.scores[40]).toBeGreaterThan(r.scores[0] + 2);
      expect(r.predicted).toBe(c);
      expect(r.image.shape).toEqual([1, 1, 8, 8]);
      expect(r.image.data.every((v) => v >= 0 && v <= 1)).toBe(true);
    }
  });

  it('is reproducible from its seed, and differs with another seed', () => {
    const a = vis.classVisualization(model, 1, { steps: 10, seed: 4 }),
      b = vis.classVisualization(model, 1, { steps: 10, seed: 4 }),
      c = vis.classVisualization(model, 1, { steps: 10, seed: 5 });
    expect(Array.from(a.image.data)).toEqual(Array.from(b.image.data));
    expect(Array.from(a.image.data)).not.toEqual(Array.from(c.image.data));
  });

  it('gaussianBlur keeps a constant image and the sum of an inner point; roll undoes itself', () => {
    const flat = Tensor.full([1, 1, 5, 5], 0.3, 'float64');
    vis.gaussianBlur(flat, 0.5);
    for (const v of flat.data) expect(v).toBeCloseTo(0.3, 14);
    const dot = Tensor.zeros([1, 1, 7, 7], 'float64');
    dot.data[3 * 7 + 3] = 1;
    vis.gaussianBlur(dot, 0.5);
    expect(Array.from(dot.data).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
    expect(dot.data[3 * 7 + 3]).toBeLessThan(1);
    const P = randn64([1, 2, 3, 4], 8);
    expect(Array.from(vis.roll(vis.roll(P, 2, -1), -2, 1).data)).toEqual(Array.from(P.data));
    expect(vis.roll(P, 1, 0).data[1]).toBe(P.data[0]);
  });
});

describe('the pictures', () => {
  const size = (png: Uint8Array) => {
    const img = decodePng(png);
    return [img.width, img.height, img.channels];
  };
  it('decode as RGB PNGs of the expected sizes', () => {
    const X = new Tensor(test.X.data.slice(0, 3 * 64), [3, 1, 8, 8]) as FloatTensor;
    const y = test.y.subarray(0, 3);
    const S = vis.saliencyMap(model, X, y);
    // 3 pairs of 8x8 images at scale 4: 3·(2·32 + 6 + 14) + 14 wide
    expect(size(vis.saliencyPng(X, S, ['a', 'b', 'c'], { scale: 4 }))).toEqual([266, 127, 3]);
    const fool = vis.foolingImages(model, X, 2);
    expect(size(vis.foolingPng(X, fool, ['v', 'h', 'd'], { scale: 4 }))).toEqual([
      3 * (3 * 32 + 2 * 6 + 14) + 14,
      139,
      3,
    ]);
    const cls = [0, 1, 2].map((c) => vis.classVisualization(model, c, { steps: 3 }));
    const [w, h] = size(vis.classesPng(cls, [0, 1, 2], ['v', 'h', 'd'], { scale: 4 }));
    expect([w, h]).toEqual([3 * (113 + 14) + 14, 12 + 6 + (2 * 12 + 32 + 14) + 14]);
    const acts = vis.activations(model, X);
    expect(size(vis.activationsPng(X, acts, 1))[0]).toBe(1000);
    const maps = acts.layers[0].out; // conv1 (3, 4, 8, 8)
    const [fw] = size(vis.filtersPng(model.params.W1, { images: X, maps }));
    expect(fw).toBeGreaterThanOrEqual(4 * 3 * 16); // four 3x3 filters at 16 pixels per weight
  });

  it('saliencyPng draws the map on the inferno scale (its largest value in the brightest colour)', () => {
    const X = new Tensor(test.X.data.slice(0, 64), [1, 1, 8, 8]) as FloatTensor;
    const S = vis.saliencyMap(model, X, [0]);
    const img = decodePng(vis.saliencyPng(X, S, [], { scale: 2 }));
    const brightest = vis.INFERNO(1);
    let found = false;
    for (let i = 0; i < img.width * img.height && !found; i++)
      found = [0, 1, 2].every((k) => img.data[3 * i + k] === brightest[k]);
    expect(found).toBe(true);
  });
});

describe('bad arguments: the messages', () => {
  const x = new Tensor(test.X.data.slice(0, 64), [1, 8, 8]) as FloatTensor;
  it('class out of range, image of the wrong size, not a classifier, bad options', () => {
    expect(() => vis.foolingImage(model, x, 3)).toThrow(
      'foolingImage: targetClass = 3 is outside [0, 3) (the model has 3 classes)',
    );
    expect(() => vis.classVisualization(model, -1)).toThrow(
      'classVisualization: targetClass = -1 is outside [0, 3) (the model has 3 classes)',
    );
    expect(() =>
      vis.saliencyMap(
        model,
        test.X.reshape([30, 1, 8, 8]),
        test.y.map(() => 4),
      ),
    ).toThrow('saliencyMap: y[0] = 4 is outside [0, 3)');
    expect(() => vis.saliencyMap(model, Tensor.zeros([2, 1, 9, 9], 'float64'), [0, 1])).toThrow(
      'saliencyMap: the images do not fit the model: ThreeLayerConvNet.trace: X has shape [2,1,9,9] but the model was built for inputDim [1,8,8]',
    );
    expect(() => vis.saliencyMap(model, Tensor.zeros([8, 8], 'float64'), [0])).toThrow(
      'saliencyMap: X has shape [8,8] but must be (N, C, H, W) with N >= 1',
    );
    expect(() => vis.foolingImage(model, Tensor.zeros([2, 1, 8, 8], 'float64'), 1)).toThrow(
      'foolingImage: x has shape [2,1,8,8] but must be one image (C, H, W) or (1, C, H, W); foolingImages takes a batch',
    );
    const notAClassifier = { params: {}, loss: () => Tensor.zeros([1, 3]) };
    expect(() => vis.saliencyMap(notAClassifier as never, test.X, test.y)).toThrow(
      'saliencyMap: model has no inputGradient method; use a classifier (LinearClassifier, TwoLayerNet, FullyConnectedNet, ThreeLayerConvNet, VisionTransformer or nn.Sequential)',
    );
    expect(() => vis.foolingImage(model, x, 1, { lr: 1 } as never)).toThrow(
      "foolingImage: unknown option 'lr'",
    );
    expect(() => vis.foolingImage(model, x, 1, { learningRate: 0 })).toThrow(
      'foolingImage: learningRate',
    );
    expect(() => vis.classVisualization(net2, 0)).toThrow(
      'classVisualization: the model does not say its image shape; pass inputShape: [C, H, W]',
    );
    expect(() =>
      vis.saliencyMap(net2, P2, [0, 0, 0], {
        preprocessing: fitPreprocessing(test.X, 'per-channel'),
      }),
    ).toThrow(
      'saliencyMap: the images have shape [2,4,4] but the preprocessing has statistics for 1 channels',
    );
  });
});
