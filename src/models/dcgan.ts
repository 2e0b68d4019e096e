// src/models/dcgan.ts: a DCGAN (Radford et al. 2015, https://arxiv.org/abs/1511.06434) for 28x28
// grey images, built from nn modules: a generator z -> linear -> transposed convs with batch norm
// and relu -> tanh image, a discriminator image -> strided convs with leaky relu (group norm in
// the middle) -> one logit, and DCGAN.step, which alternates their Adam steps. Losses: 'vanilla'
// (the non-saturating GAN loss on logits) and 'lsgan' (least squares, Mao et al. 2017).
import { makeResident } from '../kernels/index.js';
import { bceWithLogitsLoss, mseLoss } from '../layers/index.js';
import { softmaxShift } from '../layers/internal.js';
import {
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  Flatten,
  GroupNorm,
  LeakyReLU,
  Linear,
  ReLU,
  Sequential,
  Tanh,
  Unflatten,
  type Model,
  type ModelConfig,
} from '../nn/index.js';
import { adam, type OptimConfig } from '../optim/index.js';
import {
  expectFloat,
  expectNumber,
  expectOneOf,
  expectOptions,
  expectShape,
  floatDType,
  fmt,
  Rng,
  Tensor,
  type FloatDType,
  type FloatTensor,
} from '../tensor/index.js';

export type GanLoss = 'vanilla' | 'lsgan';
const GAN_LOSSES: readonly GanLoss[] = ['vanilla', 'lsgan'];

export interface DCGANGeneratorOptions {
  latentDim?: number; // length of z, default 64
  width?: number; // channels of the 14x14 layer (the 7x7 one has twice as many), default 32
  dtype?: FloatDType; // default 'float32'
  seed?: number; // initial weights, default 0
}
const G_OPTIONS = ['latentDim', 'width', 'dtype', 'seed'] as const;

/** DCGAN's init: weights ~ N(0, 0.02), biases 0. */
const INIT = 0.02;

/**
 * z (N, latentDim) -> Linear (2·width·7·7) -> BatchNorm1d -> ReLU -> (N, 2·width, 7, 7)
 * -> ConvTranspose2d 4x4 stride 2 pad 1 (N, width, 14, 14) -> BatchNorm2d -> ReLU
 * -> ConvTranspose2d 4x4 stride 2 pad 1 (N, 1, 28, 28) -> Tanh: images in (−1, 1).
 * A Sequential, so io.saveModel / io.loadModel store and rebuild it (config type 'DCGANGenerator').
 */
export class DCGANGenerator extends Sequential {
  readonly config: ModelConfig;
  readonly latentDim: number;

  constructor(options: DCGANGeneratorOptions = {}) {
    const fn = 'DCGANGenerator';
    expectOptions(fn, options, G_OPTIONS);
    const latentDim = options.latentDim ?? 64,
      width = options.width ?? 32;
    expectNumber(fn, 'latentDim', latentDim, { integer: true, min: 1 });
    expectNumber(fn, 'width', width, { integer: true, min: 1 });
    const dtype = floatDType(fn, options.dtype ?? 'float32');
    const rng = new Rng(options.seed ?? 0);
    const init = { weightScale: INIT, dtype, rng };
    super(
      new Linear(latentDim, 2 * width * 49, init),
      new BatchNorm1d(2 * width * 49, { dtype }),
      new ReLU(),
      new Unflatten([2 * width, 7, 7]),
      new ConvTranspose2d(2 * width, width, 4, { stride: 2, pad: 1, ...init }),
      new BatchNorm2d(width, { dtype }),
      new ReLU(),
      new ConvTranspose2d(width, 1, 4, { stride: 2, pad: 1, ...init }),
      new Tanh(),
    );
    this.latentDim = latentDim;
    this.config = { type: 'DCGANGenerator', options: { ...options } };
  }

  /** n images from z ~ N(0, 1) drawn from rng, in eval mode (batch norm's running statistics). */
  sample(n: number, rng: Rng): FloatTensor {
    expectNumber('DCGANGenerator.sample', 'n', n, { integer: true, min: 1 });
    return this.eval().forward(this.noise(n, rng));
  }

  /** z (n, latentDim) ~ N(0, 1) from rng, in the generator's dtype. */
  noise(n: number, rng: Rng): FloatTensor {
    return Tensor.randn([n, this.latentDim], { rng, dtype: this.params['0.weight'].dtype });
  }
}

export interface DCGANDiscriminatorOptions {
  width?: number; // channels of the 14x14 layer (the 7x7 one has twice as many), default 32
  dtype?: FloatDType; // default 'float32'
  seed?: number; // initial weights, default 1
}

/**
 * x (N, 1, 28, 28) -> Conv2d 4x4 stride 2 pad 1 (N, width, 14, 14) -> LeakyReLU(0.2)
 * -> Conv2d 4x4 stride 2 pad 1 (N, 2·width, 7, 7) -> GroupNorm(8 groups or fewer) -> LeakyReLU(0.2)
 * -> Flatten -> Linear (1): one logit per image. Group norm instead of DCGAN's batch norm: its
 * statistics are per image, so a batch of real and fake images together gives each the output it
 * would get alone.
 */
export class DCGANDiscriminator extends Sequential {
  readonly config: ModelConfig;

  constructor(options: DCGANDiscriminatorOptions = {}) {
    const fn = 'DCGANDiscriminator';
    expectOptions(fn, options, ['width', 'dtype', 'seed']);
    const width = options.width ?? 32;
    expectNumber(fn, 'width', width, { integer: true, min: 1 });
    const dtype = floatDType(fn, options.dtype ?? 'float32');
    const rng = new Rng(options.seed ?? 1);
    const init = { weightScale: INIT, dtype, rng };
    const groups = [8, 4, 2, 1].find((g) => (2 * width) % g === 0) ?? 1;
    super(
      new Conv2d(1, width, 4, { stride: 2, pad: 1, ...init }),
      new LeakyReLU(0.2),
      new Conv2d(width, 2 * width, 4, { stride: 2, pad: 1, ...init }),
      new GroupNorm(groups, 2 * width, { dtype }),
      new LeakyReLU(0.2),
      new Flatten(),
      new Linear(2 * width * 49, 1, init),
    );
    this.config = { type: 'DCGANDiscriminator', options: { ...options } };
  }
}

export interface DCGANOptions {
  latentDim?: number; // default 64
  generatorWidth?: number; // default 32
  discriminatorWidth?: number; // default 32
  loss?: GanLoss; // default 'vanilla'
  /** Adam's learning rate of both nets, default 2e-4 (DCGAN's). */
  learningRate?: number;
  /** Adam's β1, default 0.5 (DCGAN's; torch's default 0.9 makes GAN training oscillate). */
  beta1?: number;
  dtype?: FloatDType; // default 'float32'
  seed?: number; // weights (generator: seed, discriminator: seed + 1) and the noise, default 0
}
const OPTIONS = [
  'latentDim',
  'generatorWidth',
  'discriminatorWidth',
  'loss',
  'learningRate',
  'beta1',
  'dtype',
  'seed',
] as const;

/** The numbers of one DCGAN.step. */
export interface GanStepResult {
  /** The discriminator's loss: vanilla BCE(D(x), 1) + BCE(D(G(z)), 0); lsgan ½(D(x) − 1)² + ½D(G(z))² (means). */
  readonly dLoss: number;
  /** The generator's loss: vanilla BCE(D(G(z)), 1) (non-saturating); lsgan ½(D(G(z)) − 1)². */
  readonly gLoss: number;
  /** Mean of σ(D(x)) (vanilla) or D(x) (lsgan) on the real batch: 1 is "sure it is real". */
  readonly realScore: number;
  /** The same on the fake batch, before the discriminator's step. */
  readonly fakeScore: number;
}

/**
 * A generator and a discriminator and their Adam states. step(real) makes one discriminator
 * step on real images and G(z) (one batch of 2N: group norm keeps them apart), then one
 * generator step through the updated discriminator, reusing the same G(z) (as torch's DCGAN
 * example does). Real images must be scaled to [−1, 1], the range of the generator's tanh.
 */
export class DCGAN {
  readonly generator: DCGANGenerator;
  readonly discriminator: DCGANDiscriminator;
  readonly loss: GanLoss;
  readonly config: ModelConfig;
  /** Draws z for the training steps. */
  readonly rng: Rng;
  private readonly adamG: Record<string, OptimConfig> = {};
  private readonly adamD: Record<string, OptimConfig> = {};
  private readonly learningRate: number;
  private readonly beta1: number;

  constructor(options: DCGANOptions = {}) {
    const fn = 'DCGAN';
    expectOptions(fn, options, OPTIONS);
    this.loss = expectOneOf(fn, 'loss', options.loss ?? 'vanilla', GAN_LOSSES);
    this.learningRate = options.learningRate ?? 2e-4;
    this.beta1 = options.beta1 ?? 0.5;
    expectNumber(fn, 'learningRate', this.learningRate, { min: 0, minExclusive: true });
    expectNumber(fn, 'beta1', this.beta1, { min: 0, max: 1, maxExclusive: true });
    const seed = options.seed ?? 0;
    expectNumber(fn, 'seed', seed, { integer: true });
    const dtype = floatDType(fn, options.dtype ?? 'float32');
    this.generator = new DCGANGenerator({
      latentDim: options.latentDim ?? 64,
      width: options.generatorWidth ?? 32,
      dtype,
      seed,
    });
    this.discriminator = new DCGANDiscriminator({
      width: options.discriminatorWidth ?? 32,
      dtype,
      seed: seed + 1,
    });
    this.rng = new Rng(seed + 2);
    this.config = { type: 'DCGAN', options: { ...options } };
  }

  /** One discriminator step and one generator step on a batch of real images in [−1, 1]. */
  step(real: Tensor): GanStepResult {
    const fn = 'DCGAN.step';
    expectFloat(fn, 'real', real);
    expectShape(fn, 'real', real, [-1, 1, 28, 28], `the nets make and judge (N, 1, 28, 28) images`);
    const N = real.shape[0];
    if (N === 0) throw new RangeError(`${fn}: real has shape ${fmt(real.shape)}: no images`);
    const G = this.generator.train(),
      D = this.discriminator.train();
    makeResident([...Object.values(G.params), ...Object.values(D.params)]); // once (wasm)
    const fake = G.forward(G.noise(N, this.rng)); // (N, 1, 28, 28); G keeps its cache
    // discriminator: real images labelled 1, fakes 0, one batch of 2N
    const both = Tensor.empty([2 * N, 1, 28, 28], real.dtype);
    both.data.set(real.data);
    both.data.set(fake.data, real.size);
    const logits = D.forward(both); // (2N, 1)
    const target = Tensor.zeros([2 * N, 1], real.dtype);
    target.data.fill(1, 0, N);
    const d = this.objective(logits, target, 2); // the sum of the real and the fake means
    D.backward(d.dx);
    this.adamStep(D, this.adamD);
    // generator: the fakes through the updated discriminator, labelled 1
    const fakeLogits = D.forward(fake);
    const g = this.objective(fakeLogits, Tensor.full([N, 1], 1, real.dtype), 1);
    G.backward(D.backward(g.dx));
    this.adamStep(G, this.adamG);
    const scores = this.scores(logits);
    return {
      dLoss: d.loss,
      gLoss: g.loss,
      realScore: mean(scores.subarray(0, N)),
      fakeScore: mean(scores.subarray(N)),
    };
  }

  /** vanilla: BCE on logits; lsgan: ½·MSE. Both times `scale` (2: a real mean plus a fake mean). */
  private objective(
    logits: FloatTensor,
    target: FloatTensor,
    scale: number,
  ): { loss: number; dx: FloatTensor } {
    const half = this.loss === 'lsgan' ? 0.5 : 1;
    const { loss, dx } =
      this.loss === 'vanilla' ? bceWithLogitsLoss(logits, target) : mseLoss(logits, target);
    const k = scale * half;
    for (let i = 0; i < dx.size; i++) dx.data[i] *= k;
    return { loss: k * loss, dx };
  }

  /** σ(logit) for vanilla, the raw output for lsgan (its targets are 0 and 1 directly). */
  private scores(logits: FloatTensor): Float64Array {
    const s = Float64Array.from(logits.data);
    if (this.loss === 'vanilla')
      for (let i = 0; i < s.length; i++) s[i] = 1 / (1 + Math.exp(-s[i]));
    return s;
  }

  private adamStep(net: Sequential, states: Record<string, OptimConfig>): void {
    for (const [key, w] of Object.entries(net.params)) {
      states[key] = adam(
        w,
        net.grads[key],
        states[key] ?? { learningRate: this.learningRate, beta1: this.beta1 },
      );
    }
  }
}

const mean = (v: Float64Array): number => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);

/** How a classifier sees a generator's samples (see judgeSamples). */
export interface SampleJudgement {
  /** Share of samples whose top softmax probability is above `threshold`. */
  readonly confident: number;
  /** Classes that at least 2% of the confident samples fall into (of numClasses). */
  readonly classesCovered: number;
  /** Confident samples per class (N·confident in all). */
  readonly counts: readonly number[];
  /** Mean top softmax probability over all samples. */
  readonly meanConfidence: number;
}

/**
 * Scores images in [−1, 1] (N, 1, 28, 28) with a digit classifier trained on [0, 1] pixels (e.g.
 * `layerwise train`'s ThreeLayerConvNet): the share classified with probability above
 * `threshold` (recognisable digits) and how those spread over the classes (mode collapse shows
 * as few classes). Runs the classifier in test mode, in batches of 256.
 */
export function judgeSamples(
  classifier: Model,
  images: FloatTensor,
  threshold = 0.9,
): SampleJudgement {
  const fn = 'judgeSamples';
  expectFloat(fn, 'images', images);
  expectShape(fn, 'images', images, [-1, 1, 28, 28], 'the classifier reads (N, 1, 28, 28) digits');
  expectNumber(fn, 'threshold', threshold, { min: 0, max: 1 });
  const N = images.shape[0],
    P = 784;
  const dtype = classifier.params[Object.keys(classifier.params)[0]]?.dtype ?? 'float32';
  let confidentCount = 0,
    sumTop = 0,
    counts: number[] = [];
  for (let n0 = 0; n0 < N; n0 += 256) {
    const B = Math.min(256, N - n0);
    const x = Tensor.empty([B, 1, 28, 28], dtype);
    for (let i = 0; i < B * P; i++) x.data[i] = (images.data[n0 * P + i] + 1) / 2;
    const scores = classifier.loss(x); // (B, C)
    const C = scores.shape[1];
    if (counts.length === 0) counts = new Array<number>(C).fill(0);
    for (let b = 0; b < B; b++) {
      const { logSum } = softmaxShift(scores.data, b * C, C);
      let best = 0;
      for (let c = 1; c < C; c++) if (scores.data[b * C + c] > scores.data[b * C + best]) best = c;
      const top = Math.exp(-logSum); // softmax of the largest score: exp(max − max − logSum)
      sumTop += top;
      if (top > threshold) {
        confidentCount++;
        counts[best]++;
      }
    }
  }
  const covered = counts.filter((k) => k >= 0.02 * confidentCount && k > 0).length;
  return {
    confident: confidentCount / Math.max(1, N),
    classesCovered: covered,
    counts,
    meanConfidence: sumTop / Math.max(1, N),
  };
}
