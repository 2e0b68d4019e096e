// src/models/visionTransformer.ts: a small Vision Transformer (Dosovitskiy et al. 2020,
// https://arxiv.org/abs/2010.11929): the image is cut into patchSize x patchSize patches, each
// patch is mapped linearly to an embedDim token, a learned class token and learned position
// embeddings are added, pre-norm Transformer encoder layers mix the tokens, and a linear head
// scores the final layer-normed class token.
import { inOwnStepMemory } from '../kernels/index.js';
import { affineBackward, affineForward, softmaxLoss } from '../layers/index.js';
import {
  Dropout,
  LayerNorm,
  TemporalLinear,
  TransformerEncoderLayer,
  type LossResult,
  type Model,
  type ModelConfig,
} from '../nn/index.js';
import {
  defaultRng,
  expectFloat,
  expectNdim,
  expectNumber,
  expectOptions,
  expectSameDType,
  expectShape,
  floatDType,
  fmt,
  Rng,
  Tensor,
  ValueError,
  type FloatDType,
  type FloatTensor,
  type Labels,
} from '../tensor/index.js';
import { positiveInt } from './init.js';

export interface VisionTransformerOptions {
  inputDim?: readonly [number, number, number]; // [C, H, W], default [1, 28, 28]
  patchSize?: number; // divides H and W, default 7
  embedDim?: number; // default 64
  numHeads?: number; // divides embedDim, default 4
  numLayers?: number; // default 2
  mlpDim?: number; // hidden size of each feed-forward net, default 2·embedDim
  numClasses?: number; // default 10
  dropout?: number; // after the embeddings, in every layer and on the attention weights; default 0
  dtype?: FloatDType; // default 'float32'
  seed?: number;
}
const OPTIONS = [
  'inputDim',
  'patchSize',
  'embedDim',
  'numHeads',
  'numLayers',
  'mlpDim',
  'numClasses',
  'dropout',
  'dtype',
  'seed',
] as const;

/** Patch geometry: C channels, a Hp x Wp grid of p x p patches. */
interface Patches {
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly p: number;
}

/**
 * x (N, C, H, W) -> (N, Hp·Wp, C·p·p): patch (i, j) is row i·Wp + j, its values in (c, di, dj)
 * order, so that the patch embedding equals torch's Conv2d(C, E, p, stride=p) with weight
 * (E, C, p, p) = patch.weightᵀ.
 */
function patchify(x: FloatTensor, g: Patches): FloatTensor {
  const { C, H, W, p } = g,
    N = x.shape[0];
  const out = Tensor.empty([N, (H / p) * (W / p), C * p * p], x.dtype);
  forEachPatchValue(g, N, (xAt, outAt) => (out.data[outAt] = x.data[xAt]));
  return out;
}

/** The inverse of patchify: dpatches (N, P, C·p·p) -> dx (N, C, H, W). */
function unpatchify(d: FloatTensor, g: Patches): FloatTensor {
  const N = d.shape[0],
    dx = Tensor.empty([N, g.C, g.H, g.W], d.dtype);
  forEachPatchValue(g, N, (xAt, outAt) => (dx.data[xAt] = d.data[outAt]));
  return dx;
}

/** Calls visit(image offset, patch-row offset) once for every pixel of N images. */
function forEachPatchValue(
  { C, H, W, p }: Patches,
  N: number,
  visit: (xAt: number, patchAt: number) => void,
): void {
  const Wp = W / p,
    P = (H / p) * Wp,
    K = C * p * p;
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++) {
        const xRow = ((n * C + c) * H + h) * W,
          i = Math.floor(h / p),
          di = h % p;
        for (let w = 0; w < W; w++) {
          const j = Math.floor(w / p),
            dj = w % p;
          visit(xRow + w, (n * P + i * Wp + j) * K + (c * p + di) * p + dj);
        }
      }
}

/**
 * params: patch.weight (C·p·p, E), patch.bias (E); cls (E), the class token; pos (P + 1, E), the
 * position embeddings (P = (H/p)·(W/p)); layers.i.* of each TransformerEncoderLayer (pre-norm,
 * GELU); norm.weight, norm.bias (E); head.weight (E, numClasses), head.bias. Init: cls and pos
 * ~ 0.02·N(0, 1) (as ViT), the modules as torch, the head 0.02·N(0, 1) with bias 0.
 */
export class VisionTransformer implements Model {
  readonly params: Record<string, FloatTensor>;
  readonly config: ModelConfig;
  /** loss() creates no state: the Solver may reuse its memory every step (see Model). */
  readonly reusesStepMemory = true;
  /** Draws the dropout masks; seeded from options.seed (after the initial weights). */
  readonly rng: Rng;
  readonly inputDim: readonly [number, number, number];
  readonly patchSize: number;
  readonly numPatches: number;
  readonly embedDim: number;
  private readonly patch: TemporalLinear;
  readonly layers: readonly TransformerEncoderLayer[];
  private readonly norm: LayerNorm;
  private readonly embedDropout: Dropout;

  constructor(options: VisionTransformerOptions = {}) {
    const fn = 'VisionTransformer';
    expectOptions(fn, options, OPTIONS);
    const inputDim = options.inputDim ?? [1, 28, 28];
    if (!Array.isArray(inputDim) || inputDim.length !== 3)
      throw new ValueError(`${fn}: inputDim must be [C, H, W], got ${JSON.stringify(inputDim)}`);
    const C = positiveInt(fn, 'inputDim[0] (C)', inputDim[0]);
    const H = positiveInt(fn, 'inputDim[1] (H)', inputDim[1]);
    const W = positiveInt(fn, 'inputDim[2] (W)', inputDim[2]);
    const p = positiveInt(fn, 'patchSize', options.patchSize ?? 7);
    if (H % p !== 0 || W % p !== 0)
      throw new ValueError(
        `${fn}: patchSize ${p} must divide H and W of inputDim ${fmt([C, H, W])}`,
      );
    const E = positiveInt(fn, 'embedDim', options.embedDim ?? 64);
    const heads = positiveInt(fn, 'numHeads', options.numHeads ?? 4);
    const L = positiveInt(fn, 'numLayers', options.numLayers ?? 2);
    const mlpDim = positiveInt(fn, 'mlpDim', options.mlpDim ?? 2 * E);
    const classes = positiveInt(fn, 'numClasses', options.numClasses ?? 10);
    const dropout = options.dropout ?? 0;
    expectNumber(fn, 'dropout', dropout, { min: 0, max: 1, maxExclusive: true });
    const dtype = floatDType(fn, options.dtype ?? 'float32');
    if (E % heads !== 0)
      throw new ValueError(`${fn}: numHeads = ${heads} does not divide embedDim = ${E}`);

    // One generator: the weights first, then the dropout masks, so a seed fixes both.
    const rng =
      options.seed !== undefined ? new Rng(options.seed) : new Rng(defaultRng().nextUint32());
    this.rng = rng;
    this.inputDim = [C, H, W];
    this.patchSize = p;
    this.numPatches = (H / p) * (W / p);
    this.embedDim = E;
    this.patch = new TemporalLinear(C * p * p, E, { dtype, rng });
    const cls = Tensor.randn([E], { dtype, std: 0.02, rng }),
      pos = Tensor.randn([this.numPatches + 1, E], { dtype, std: 0.02, rng });
    this.layers = Array.from(
      { length: L },
      () =>
        new TransformerEncoderLayer(E, heads, {
          dimFeedforward: mlpDim,
          dropout,
          activation: 'gelu',
          normFirst: true,
          dtype,
          rng,
        }),
    );
    this.norm = new LayerNorm(E, { dtype });
    this.embedDropout = new Dropout(dropout, { rng });
    this.params = {
      'patch.weight': this.patch.params.weight,
      'patch.bias': this.patch.params.bias,
      cls,
      pos,
    };
    this.layers.forEach((layer, i) =>
      Object.assign(this.params, layer.namedParams(`layers.${i}.`)),
    );
    Object.assign(this.params, {
      'norm.weight': this.norm.params.weight,
      'norm.bias': this.norm.params.bias,
      'head.weight': Tensor.randn([E, classes], { dtype, std: 0.02, rng }),
      'head.bias': Tensor.zeros([classes], dtype),
    });
    this.config = {
      type: 'VisionTransformer',
      options: { ...options, ...(options.inputDim ? { inputDim: [...options.inputDim] } : {}) },
    };
  }

  loss(X: Tensor): FloatTensor;
  loss(X: Tensor, y: Labels): LossResult;
  loss(X: Tensor, y?: Labels): FloatTensor | LossResult {
    // a training call runs in the model's own step memory unless it is in one already
    return y === undefined ? this.compute(X) : inOwnStepMemory(this, () => this.compute(X, y));
  }

  private compute(X: Tensor, y?: Labels): FloatTensor | LossResult {
    const fn = 'VisionTransformer.loss';
    const x = this.checkInput(fn, X);
    const { scores, backward } = this.run(x, y === undefined ? 'test' : 'train');
    if (y === undefined) return scores;
    const { loss, dx: dscores } = softmaxLoss(scores, y);
    const grads = backward(dscores, false).grads;
    return { loss, grads };
  }

  /** The forward pass in test mode, then dscores (N, numClasses) back to X: dX has X's shape. */
  inputGradient(X: Tensor, dscores: Tensor): { scores: FloatTensor; dX: FloatTensor } {
    const fn = 'VisionTransformer.inputGradient';
    const x = this.checkInput(fn, X);
    const { scores, backward } = this.run(x, 'test');
    expectShape(fn, 'dscores', dscores, scores.shape, `the scores have shape ${fmt(scores.shape)}`);
    expectSameDType(fn, { dscores, X });
    return { scores, dX: backward(dscores as FloatTensor, true).dX as FloatTensor };
  }

  /** The attention weights of every layer's last forward, (N, heads, P + 1, P + 1) each. */
  attentionWeights(): FloatTensor[] {
    return this.layers.map((l) => l.weights).filter((w): w is FloatTensor => w !== null);
  }

  private checkInput(fn: string, X: Tensor): FloatTensor {
    expectFloat(fn, 'X', X);
    expectNdim(fn, 'X', X, 4, '(N, C, H, W)');
    const [C, H, W] = this.inputDim;
    expectShape(
      fn,
      'X',
      X,
      [-1, C, H, W],
      `the model was built for inputDim ${fmt(this.inputDim)}`,
    );
    expectSameDType(fn, { X, 'patch.weight': this.params['patch.weight'] });
    return X;
  }

  /** The forward pass; backward(dscores) gives the param gradients (and dX when asked). */
  private run(x: FloatTensor, mode: 'train' | 'test') {
    const p = this.params,
      [C, H, W] = this.inputDim,
      geometry = { C, H, W, p: this.patchSize };
    const N = x.shape[0],
      P = this.numPatches,
      E = this.embedDim;
    for (const m of [this.patch, this.norm, this.embedDropout, ...this.layers])
      m.train(mode === 'train');
    const tokens = this.patch.forward(patchify(x, geometry)); // (N, P, E)
    const seq = Tensor.empty([N, P + 1, E], x.dtype); // [cls; tokens] + pos
    for (let n = 0; n < N; n++) {
      const at = n * (P + 1) * E;
      for (let e = 0; e < E; e++) seq.data[at + e] = p.cls.data[e] + p.pos.data[e];
      for (let j = 0; j < P * E; j++)
        seq.data[at + E + j] = tokens.data[n * P * E + j] + p.pos.data[E + j];
    }
    let h = this.embedDropout.forward(seq);
    for (const layer of this.layers) h = layer.forward(h);
    const normed = this.norm.forward(h); // (N, P + 1, E)
    const clsOut = Tensor.empty([N, E], x.dtype);
    for (let n = 0; n < N; n++)
      clsOut.data.set(normed.data.subarray(n * (P + 1) * E, n * (P + 1) * E + E), n * E);
    const head = affineForward(clsOut, p['head.weight'], p['head.bias']); // (N, classes)

    const backward = (dscores: FloatTensor, wantDX: boolean) => {
      const grads: Record<string, FloatTensor> = {};
      const dh = affineBackward(dscores, head.cache);
      [grads['head.weight'], grads['head.bias']] = [dh.dw, dh.db];
      const dnormed = Tensor.zeros([N, P + 1, E], x.dtype); // only the class token is read
      for (let n = 0; n < N; n++)
        dnormed.data.set(dh.dx.data.subarray(n * E, (n + 1) * E), n * (P + 1) * E);
      let d = this.norm.backward(dnormed);
      [grads['norm.weight'], grads['norm.bias']] = [this.norm.grads.weight, this.norm.grads.bias];
      for (let i = this.layers.length - 1; i >= 0; i--) {
        d = this.layers[i].backward(d);
        for (const [k, g] of Object.entries(this.layers[i].grads)) grads[`layers.${i}.${k}`] = g;
      }
      const dseq = this.embedDropout.backward(d); // (N, P + 1, E)
      const dcls = Tensor.zeros([E], x.dtype),
        dpos = Tensor.zeros([P + 1, E], x.dtype),
        dtokens = Tensor.empty([N, P, E], x.dtype);
      for (let n = 0; n < N; n++) {
        const at = n * (P + 1) * E;
        for (let e = 0; e < E; e++) dcls.data[e] += dseq.data[at + e];
        for (let j = 0; j < (P + 1) * E; j++) dpos.data[j] += dseq.data[at + j];
        dtokens.data.set(dseq.data.subarray(at + E, at + (P + 1) * E), n * P * E);
      }
      [grads.cls, grads.pos] = [dcls, dpos];
      const dpatches = this.patch.backward(dtokens);
      [grads['patch.weight'], grads['patch.bias']] = [
        this.patch.grads.weight,
        this.patch.grads.bias,
      ];
      return { grads, dX: wantDX ? unpatchify(dpatches, geometry) : null };
    };
    return { scores: head.out, backward };
  }
}
