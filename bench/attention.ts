// bench/attention.ts: multi-head attention forward + backward (N=64, S=T=49, E=64, 4 heads:
// a 7x7 grid of tokens, as a ViT on 28x28 images with 4x4 patches) and a whole ViT training step
// (the `train --model vit` network, batch 64, SGD), layerwise beside TensorFlow.js (cpu and wasm
// backends) doing the same computation in the same process. Ratios against tfjs-wasm.
import type * as TF from '@tensorflow/tfjs-core';
import { setBackend, stepMemory } from '../src/kernels/index.js';
import { multiHeadAttentionBackward, multiHeadAttentionForward } from '../src/layers/index.js';
import { VisionTransformer } from '../src/models/index.js';
import { sgd } from '../src/optim/index.js';
import { Tensor, type FloatTensor } from '../src/tensor/index.js';
import { timeMs, type BenchRow } from './common.js';
import { onTf } from './wasm.js';

const [N, S, E, HEADS] = [64, 49, 64, 4];
const KEYS = ['Wq', 'bq', 'Wk', 'bk', 'Wv', 'bv', 'Wo', 'bo'] as const;
const VIT = { patch: 7, E: 64, heads: 4, layers: 3, mlp: 128, classes: 10, batch: 64 };
const LR = 1e-3;

export async function benchAttention(): Promise<BenchRow[]> {
  const rows = [await attentionRow(), await vitRow()];
  setBackend('auto');
  return rows;
}

async function attentionRow(): Promise<BenchRow> {
  const x = Tensor.randn([N, S, E], { seed: 1 }),
    dout = Tensor.randn([N, S, E], { seed: 2 });
  const p = Object.fromEntries(
    KEYS.map((k, i) => [k, Tensor.randn(k[0] === 'W' ? [E, E] : [E], { seed: 3 + i, std: 0.1 })]),
  ) as Record<(typeof KEYS)[number], FloatTensor>;
  const values: Record<string, number> = {};
  for (const backend of ['wasm', 'cpu'] as const) {
    values[`tfjs-${backend}`] = await onTf(backend, async (tf) => {
      const tx = tf.tensor3d(x.data as Float32Array, [N, S, E]),
        td = tf.tensor3d(dout.data as Float32Array, [N, S, E]);
      const w = KEYS.map((k) => tf.variable(tf.tensor(p[k].data as Float32Array, [...p[k].shape])));
      const f = () => tf.sum(tf.mul(tfAttention(tf, tx, w), td)) as TF.Scalar;
      const step = () =>
        tf.tidy(() => {
          const { grads } = tf.variableGrads(f);
          return Object.values(grads).map((g) => g.dataSync()[0]);
        });
      const ms = await timeMs(step, { warmup: 2, reps: 5, minMs: 1000 });
      tf.dispose([tx, td]);
      tf.disposeVariables();
      return ms;
    });
  }
  for (const backend of ['reference', 'wasm'] as const) {
    setBackend(backend);
    const mem = stepMemory();
    values[`layerwise-${backend}`] = await timeMs(
      () =>
        mem.run(() => {
          const { cache } = multiHeadAttentionForward(x, x, x, p, { numHeads: HEADS });
          return multiHeadAttentionBackward(dout, cache).dWq.data[0];
        }),
      { warmup: 2, reps: 5, minMs: 1000 },
    );
    mem.release();
  }
  return {
    section: 'attention',
    name: `multi-head attention fwd+bwd N=${N} S=T=${S} E=${E} ${HEADS} heads`,
    unit: 'ms',
    values,
    baseline: 'tfjs-wasm',
    higherIsBetter: false,
  };
}

/** Self-attention of x (N, S, E) in tfjs ops, our layout: w = [Wq, bq, Wk, bk, Wv, bv, Wo, bo]. */
function tfAttention(tf: typeof TF, x: TF.Tensor, w: TF.Tensor[]): TF.Tensor {
  const [n, s, e] = x.shape,
    dh = e / HEADS;
  const flat = tf.reshape(x, [n * s, e]) as TF.Tensor2D;
  const heads = (W: TF.Tensor, b: TF.Tensor) =>
    tf.reshape(
      tf.transpose(
        tf.reshape(tf.add(tf.matMul(flat, W as TF.Tensor2D), b), [n, s, HEADS, dh]),
        [0, 2, 1, 3],
      ),
      [n * HEADS, s, dh],
    ) as TF.Tensor3D;
  const q = heads(w[0], w[1]),
    k = heads(w[2], w[3]),
    v = heads(w[4], w[5]);
  const a = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)));
  const y = tf.reshape(
    tf.transpose(tf.reshape(tf.matMul(a as TF.Tensor3D, v), [n, HEADS, s, dh]), [0, 2, 1, 3]),
    [n * s, e],
  ) as TF.Tensor2D;
  return tf.reshape(tf.add(tf.matMul(y, w[6] as TF.Tensor2D), w[7]), [n, s, e]);
}

async function vitRow(): Promise<BenchRow> {
  const B = VIT.batch;
  const X = Tensor.rand([B, 1, 28, 28], { seed: 4 });
  const y = Array.from({ length: B }, (_, i) => (i * 7) % 10);
  const rate = (ms: number) => (B * 1000) / ms;
  const values: Record<string, number> = {};
  for (const backend of ['wasm', 'cpu'] as const) {
    values[`tfjs-${backend}`] = await onTf(backend, async (tf) => {
      const tx = tf.tensor4d(X.data as Float32Array, [B, 1, 28, 28]),
        yHot = tf.oneHot(tf.tensor1d(y, 'int32'), 10);
      const step = tfVitStep(tf, tx, yHot);
      const ms = await timeMs(step, { warmup: 2, reps: 3, minMs: 1000 });
      tf.dispose([tx, yHot]);
      tf.disposeVariables();
      return rate(ms);
    });
  }
  for (const backend of ['reference', 'wasm'] as const) {
    setBackend(backend);
    const model = new VisionTransformer({
      inputDim: [1, 28, 28],
      patchSize: VIT.patch,
      embedDim: VIT.E,
      numHeads: VIT.heads,
      numLayers: VIT.layers,
      mlpDim: VIT.mlp,
      numClasses: VIT.classes,
      seed: 1,
    });
    const mem = stepMemory();
    const ms = await timeMs(
      () => {
        const { grads } = mem.run(() => model.loss(X, y));
        for (const key of Object.keys(model.params))
          sgd(model.params[key], grads[key], { learningRate: LR });
      },
      { warmup: 1, reps: 3, minMs: 1000 },
    );
    mem.release();
    values[`layerwise-${backend}`] = rate(ms);
  }
  return {
    section: 'attention',
    name: `train step ViT 7x7 patches E=${VIT.E} ${VIT.heads} heads ${VIT.layers} layers b${B}`,
    unit: 'samples/s',
    values,
    baseline: 'tfjs-wasm',
    higherIsBetter: true,
  };
}

/** The same ViT step in tfjs ops (pre-norm, exact GELU through erf), tf.variableGrads + sgd. */
function tfVitStep(tf: typeof TF, X: TF.Tensor4D, yHot: TF.Tensor): () => void {
  const { patch, E: e, layers, mlp, classes } = VIT;
  const B = X.shape[0],
    g = 28 / patch,
    P = g * g,
    K = patch * patch;
  const v = (shape: number[], std: number) => tf.variable(tf.randomNormal(shape, 0, std));
  const zeros = (n: number) => tf.variable(tf.zeros([n]));
  const ones = (n: number) => tf.variable(tf.ones([n]));
  const Wp = v([K, e], 0.1),
    bp = zeros(e),
    cls = v([1, 1, e], 0.02),
    pos = v([1, P + 1, e], 0.02);
  const blocks = Array.from({ length: layers }, () => ({
    attn: [v([e, e], 0.1), zeros(e), v([e, e], 0.1), zeros(e), v([e, e], 0.1), zeros(e)].concat([
      v([e, e], 0.1),
      zeros(e),
    ]),
    ln1: [ones(e), zeros(e)],
    ln2: [ones(e), zeros(e)],
    ff: [v([e, mlp], 0.1), zeros(mlp), v([mlp, e], 0.1), zeros(e)],
  }));
  const lnF = [ones(e), zeros(e)],
    Wh = v([e, classes], 0.02),
    bh = zeros(classes);
  const layerNorm = (x: TF.Tensor, [gamma, beta]: TF.Tensor[]) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta);
  };
  const gelu = (x: TF.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
  const dense = (x: TF.Tensor, W: TF.Tensor, b: TF.Tensor) => {
    const [n, s, d] = x.shape;
    return tf.reshape(
      tf.add(tf.matMul(tf.reshape(x, [n * s, d]) as TF.Tensor2D, W as TF.Tensor2D), b),
      [n, s, W.shape[1] as number],
    );
  };
  const opt = tf.train.sgd(LR);
  const f = (): TF.Scalar => {
    const patches = tf.reshape(
      tf.transpose(tf.reshape(X, [B, g, patch, g, patch]), [0, 1, 3, 2, 4]),
      [B, P, K],
    );
    let h: TF.Tensor = tf.add(tf.concat([tf.tile(cls, [B, 1, 1]), dense(patches, Wp, bp)], 1), pos);
    for (const blk of blocks) {
      h = tf.add(h, tfAttention(tf, layerNorm(h, blk.ln1), blk.attn));
      const z = layerNorm(h, blk.ln2);
      h = tf.add(h, dense(gelu(dense(z, blk.ff[0], blk.ff[1])), blk.ff[2], blk.ff[3]));
    }
    const clsOut = tf.reshape(tf.slice(layerNorm(h, lnF), [0, 0, 0], [B, 1, e]), [B, e]);
    const scores = tf.add(tf.matMul(clsOut as TF.Tensor2D, Wh), bh);
    return tf.losses.softmaxCrossEntropy(yHot, scores) as TF.Scalar;
  };
  return () =>
    tf.tidy(() => {
      const { grads } = tf.variableGrads(f);
      opt.applyGradients(grads);
    });
}
