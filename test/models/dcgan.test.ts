// test/models/dcgan.test.ts: models.DCGAN: the nets' shapes, a short run on real digits that
// must learn (the discriminator's loss falls from 2·log 2, the samples move from grey towards the
// digits' black background and white strokes), a saved generator that samples the same images
// again, judgeSamples' arithmetic, and the option errors.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEmbeddedMnist } from '../../src/data/index.js';
import { loadModel, saveModel } from '../../src/io/index.js';
import {
  DCGAN,
  DCGANDiscriminator,
  DCGANGenerator,
  judgeSamples,
  type Model,
} from '../../src/models/index.js';
import { Rng, Tensor, type FloatTensor } from '../../src/tensor/index.js';

const dir = mkdtempSync(join(tmpdir(), 'layerwise-dcgan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Share of pixels below −0.5 (background) and above 0.5 (stroke) of images in [−1, 1]. */
function inkProfile(X: FloatTensor): { dark: number; bright: number } {
  let dark = 0,
    bright = 0;
  for (const v of X.data) {
    if (v < -0.5) dark++;
    if (v > 0.5) bright++;
  }
  return { dark: dark / X.size, bright: bright / X.size };
}

describe('DCGAN nets', () => {
  it('the generator maps z (N, 64) to (N, 1, 28, 28) in (−1, 1); the discriminator gives one logit', () => {
    const G = new DCGANGenerator({ width: 8 }),
      D = new DCGANDiscriminator({ width: 8 });
    const images = G.sample(5, new Rng(1));
    expect(images.shape).toEqual([5, 1, 28, 28]);
    expect(images.data.every((v) => v > -1 && v < 1)).toBe(true);
    expect(D.forward(images).shape).toEqual([5, 1]);
    expect(G.params['4.weight'].shape).toEqual([16, 8, 4, 4]); // ConvTranspose2d (C_in, F, 4, 4)
  });

  it('rejects a batch of the wrong shape and an unknown loss', () => {
    const gan = new DCGAN({ generatorWidth: 4, discriminatorWidth: 4 });
    expect(() => gan.step(Tensor.zeros([2, 1, 32, 32]))).toThrow(
      'DCGAN.step: real has shape [2,1,32,32] but the nets make and judge (N, 1, 28, 28) images',
    );
    expect(() => new DCGAN({ loss: 'wgan' as 'vanilla' })).toThrow(
      "DCGAN: loss must be 'vanilla' or 'lsgan', got 'wgan'",
    );
  });
});

describe('DCGAN learns on the digits (short run)', () => {
  const digits = loadEmbeddedMnist({ valFraction: 0 }).XTrain;
  const real = Tensor.empty([2048, 1, 28, 28]);
  for (let i = 0; i < real.size; i++) real.data[i] = 2 * digits.data[i] - 1;
  const data = inkProfile(real);

  for (const loss of ['vanilla', 'lsgan'] as const) {
    it(`${loss}: the discriminator's loss falls and the samples take on the digits' ink profile`, () => {
      const gan = new DCGAN({
        loss,
        generatorWidth: 16,
        discriminatorWidth: 16,
        learningRate: 5e-4,
        seed: 3,
      });
      const before = inkProfile(gan.generator.sample(64, new Rng(9)));
      const B = 32,
        steps = 200,
        results = [];
      for (let s = 0; s < steps; s++) {
        const start = ((s * B) % real.shape[0]) * 784;
        const batch = Tensor.from(real.data.subarray(start, start + B * 784), [B, 1, 28, 28]);
        results.push(gan.step(batch));
      }
      // an untrained discriminator scores everything ~0.5: loss 2·log 2 (vanilla), 2·½·½² (lsgan)
      const chance = loss === 'vanilla' ? 2 * Math.log(2) : 0.25;
      expect(results[0].dLoss).toBeGreaterThan(0.8 * chance);
      const late = results.slice(-16);
      const meanOf = (k: 'dLoss' | 'realScore' | 'fakeScore') =>
        late.reduce((a, r) => a + r[k], 0) / late.length;
      expect(meanOf('dLoss')).toBeLessThan(0.8 * chance);
      expect(meanOf('realScore')).toBeGreaterThan(meanOf('fakeScore'));
      // untrained samples are grey (tanh of ~0: neither dark nor bright); the data is ~80% dark
      expect(before.dark).toBeLessThan(0.05);
      const after = inkProfile(gan.generator.sample(64, new Rng(9)));
      // after 200 steps (measured: vanilla 49% dark, 3.1% bright; lsgan 61%, 0.17%; the data
      // 85%, 11%): a dark background has formed and the first white strokes appear
      expect(after.dark).toBeGreaterThan(0.4);
      expect(after.dark).toBeLessThan(data.dark + 0.1);
      expect(after.bright).toBeGreaterThan(0.001);
    }, 60_000);
  }
});

describe('a saved generator', () => {
  it('io.loadModel rebuilds it (config type DCGANGenerator) and it samples the same images', () => {
    const gan = new DCGAN({ generatorWidth: 4, discriminatorWidth: 4, seed: 1 });
    const real = Tensor.rand([8, 1, 28, 28], { seed: 2, low: -1, high: 1 });
    for (let s = 0; s < 3; s++) gan.step(real); // moves the weights and the running statistics
    const path = join(dir, 'generator.safetensors');
    saveModel(path, gan.generator);
    const loaded = loadModel<DCGANGenerator>(path);
    expect(loaded).toBeInstanceOf(DCGANGenerator);
    const a = gan.generator.sample(6, new Rng(5)),
      b = loaded.sample(6, new Rng(5));
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
  });
});

describe('judgeSamples', () => {
  it('counts samples above the threshold per class and the classes covered', () => {
    // a stand-in classifier whose scores are fixed per image: softmax([s, 0, 0]) = e^s / (e^s + 2)
    const rows = [
      [5, 0, 0], // class 0, p = 0.987
      [0, 5, 0], // class 1, p = 0.987
      [0, 6, 0], // class 1, p = 0.995
      [1, 0, 0], // class 0, p = 0.576: not confident
    ];
    const classifier = {
      params: { w: Tensor.zeros([1]) },
      loss: (X: Tensor) => {
        expect(X.data.every((v) => v >= 0 && v <= 1)).toBe(true); // pixels mapped to [0, 1]
        return Tensor.from(rows.slice(0, X.shape[0]).flat(), [X.shape[0], 3]);
      },
    } as unknown as Model;
    const images = Tensor.rand([4, 1, 28, 28], { seed: 1, low: -1, high: 1 });
    const j = judgeSamples(classifier, images);
    expect(j.confident).toBe(0.75);
    expect(j.counts).toEqual([1, 2, 0]);
    expect(j.classesCovered).toBe(2);
    const p = (s: number) => Math.exp(s) / (Math.exp(s) + 2);
    expect(j.meanConfidence).toBeCloseTo((p(5) * 2 + p(6) + p(1)) / 4, 6);
  });
});
