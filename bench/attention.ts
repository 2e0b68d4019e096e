// bench/attention.ts: multi-head attention forward + backward (N=64, S=T=49, E=64, 4 heads:
// a 7x7 grid of tokens, as a ViT on 28x28 images with 4x4 patches) and a whole ViT training step
// (the `train --model vit` network, batch 64, SGD), layerwise beside TensorFlow.js (cpu and wasm
// backends) doing the same computation in the same process. Before timing, each row checks that tfjs
// gives the same outputs and gradients (dx included) from the same weights. Ratios against tfjs-wasm.
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
  const mine = attentionOnce(x, dout, p);
  const values: Record<string, number> = {};
  for (const backend of ['wasm', 'cpu'] as const) {
    values[`tfjs-${backend}`] = await onTf(backend, async (tf) => {
      // x is a variable too: tfjs computes dx as our backward does (dquery + dkey + dvalue)
      const tx = tf.variable(tf.tensor3d(x.data as Float32Array, [N, S, E])),
        td = tf.tensor3d(dout.data as Float32Array, [N, S, E]);
      const w = KEYS.map((k) => tf.variable(tf.tensor(p[k].data as Float32Array, [...p[k].shape])));
      const out = () => tfAttention(tf, tx, w);
      const f = () => tf.sum(tf.mul(out(), td)) as TF.Scalar;
      const { grads } = tf.variableGrads(f, [tx, ...w]);
      const theirs = [out(), grads[tx.name], ...w.map((v) => grads[v.name])];
      checkSame(
        `multi-head attention, tfjs-${backend}`,
        ['out', 'dx', ...KEYS.map((k) => `d${k}`)],
        theirs.map((t) => t.dataSync() as Float32Array),
        mine,
      );
      tf.dispose([...theirs, ...Object.values(grads)]);
      const step = () =>
        tf.tidy(() => {
          const { grads } = tf.variableGrads(f, [tx, ...w]);
          return Object.values(grads).map((g) => g.dataSync()[0]);
        });
      const ms = await timeMs(step, { warmup: 2, reps: 5, minMs: 1000 });
      tf.dispose([td]);
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

/** Our self-attention of x once, on the reference backend: [out, dx, dWq, dbq, ..., dbo]. */
function attentionOnce(
  x: FloatTensor,
  dout: FloatTensor,
  p: Record<(typeof KEYS)[number], FloatTensor>,
): Float32Array[] {
  setBackend('reference');
  const { out, cache } = multiHeadAttentionForward(x, x, x, p, { numHeads: HEADS });
  const g = multiHeadAttentionBackward(dout, cache);
  const dx = g.dquery.data.map((v, i) => v + g.dkey.data[i] + g.dvalue.data[i]);
  return [out.data, dx, ...KEYS.map((k) => g[`d${k}`].data)] as Float32Array[];
}

/**
 * Throws unless each of tfjs's results equals ours to `tol` of its largest entry (float32 sums in
 * another order): the two sides of a row must compute the same thing for the ratio to mean anything.
 * The scale has a floor of 1e-3 of the largest entry of all results, for gradients that are zero
 * in exact arithmetic and rounding noise in both (dbk: softmax ignores a shift shared by a row).
 */
function checkSame(
  what: string,
  names: readonly string[],
  theirs: readonly Float32Array[],
  mine: readonly Float32Array[],
  tol = 1e-4,
): void {
  const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const floor = 1e-3 * Math.max(...mine.map(maxAbs));
  names.forEach((name, k) => {
    let diff = 0;
    for (let i = 0; i < mine[k].length; i++)
      diff = Math.max(diff, Math.abs(theirs[k][i] - mine[k][i]));
    const scale = Math.max(maxAbs(mine[k]), floor);
    if (theirs[k].length !== mine[k].length || !(diff <= tol * scale)) {
      throw new Error(
        `bench attention: ${what}: ${name} differs from layerwise's (max diff ${diff}, scale ${scale})`,
      );
    }
  });
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
  const build = () =>
    new VisionTransformer({
      inputDim: [1, 28, 28],
      patchSize: VIT.patch,
      embedDim: VIT.E,
      numHeads: VIT.heads,
      numLayers: VIT.layers,
      mlpDim: VIT.mlp,
      numClasses: VIT.classes,
      seed: 1,
    });
  // both sides start from the same weights; the first step's loss and gradients must agree
  const start = build();
  setBackend('reference');
  const mine = stepMemory().run(() => {
    const { loss, grads } = start.loss(X, y);
    return {
      loss,
      grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.data.slice()])),
    };
  });
  const values: Record<string, number> = {};
  for (const backend of ['wasm', 'cpu'] as const) {
    values[`tfjs-${backend}`] = await onTf(backend, async (tf) => {
      const tx = tf.tensor4d(X.data as Float32Array, [B, 1, 28, 28]),
        yHot = tf.oneHot(tf.tensor1d(y, 'int32'), 10);
      const { f, vars } = tfVit(tf, tx, yHot, start.params);
      const { value, grads } = tf.variableGrads(f);
      const names = Object.keys(vars);
      checkSame(
        `ViT step, tfjs-${backend}`,
        ['loss', ...names],
        [
          value.dataSync() as Float32Array,
          ...names.map((k) => grads[vars[k].name].dataSync() as Float32Array),
        ],
        [Float32Array.of(mine.loss), ...names.map((k) => mine.grads[k] as Float32Array)],
        1e-3,
      );
      tf.dispose([value, ...Object.values(grads)]);
      const opt = tf.train.sgd(LR);
      const step = () => tf.tidy(() => opt.applyGradients(tf.variableGrads(f).grads));
      const ms = await timeMs(step, { warmup: 2, reps: 3, minMs: 1000 });
      tf.dispose([tx, yHot]);
      tf.disposeVariables();
      return rate(ms);
    });
  }
  for (const backend of ['reference', 'wasm'] as const) {
    setBackend(backend);
    const model = build();
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

/**
 * The same ViT loss in tfjs ops (pre-norm, exact GELU through erf), its variables made from our
 * model's params under the same names, so that tf.variableGrads computes what model.loss does.
 */
function tfVit(
  tf: typeof TF,
  X: TF.Tensor4D,
  yHot: TF.Tensor,
  params: Readonly<Record<string, FloatTensor>>,
): { f: () => TF.Scalar; vars: Record<string, TF.Variable> } {
  const { patch, E: e, layers } = VIT;
  const B = X.shape[0],
    g = 28 / patch,
    P = g * g,
    K = patch * patch;
  const shapes: Record<string, number[]> = { cls: [1, 1, e], pos: [1, P + 1, e] };
  const vars = Object.fromEntries(
    Object.entries(params).map(([k, t]) => [
      k,
      tf.variable(tf.tensor(t.data as Float32Array, shapes[k] ?? [...t.shape])),
    ]),
  );
  const v = (k: string) => vars[k];
  const layerNorm = (x: TF.Tensor, prefix: string) => {
    const { mean, variance } = tf.moments(x, -1, true);
    const xhat = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
    return tf.add(tf.mul(xhat, v(`${prefix}.weight`)), v(`${prefix}.bias`));
  };
  const gelu = (x: TF.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
  const dense = (x: TF.Tensor, prefix: string) => {
    const [n, s, d] = x.shape,
      W = v(`${prefix}.weight`) as TF.Tensor2D;
    return tf.reshape(
      tf.add(tf.matMul(tf.reshape(x, [n * s, d]) as TF.Tensor2D, W), v(`${prefix}.bias`)),
      [n, s, W.shape[1]],
    );
  };
  const f = (): TF.Scalar => {
    const patches = tf.reshape(
      tf.transpose(tf.reshape(X, [B, g, patch, g, patch]), [0, 1, 3, 2, 4]),
      [B, P, K],
    );
    const cls = tf.tile(v('cls'), [B, 1, 1]);
    let h: TF.Tensor = tf.add(tf.concat([cls, dense(patches, 'patch')], 1), v('pos'));
    for (let i = 0; i < layers; i++) {
      const at = `layers.${i}.`;
      const attn = KEYS.map((k) => v(`${at}selfAttn.${k}`));
      h = tf.add(h, tfAttention(tf, layerNorm(h, `${at}norm1`), attn));
      const z = layerNorm(h, `${at}norm2`);
      h = tf.add(h, dense(gelu(dense(z, `${at}linear1`)), `${at}linear2`));
    }
    const clsOut = tf.reshape(tf.slice(layerNorm(h, 'norm'), [0, 0, 0], [B, 1, e]), [B, e]);
    const scores = tf.add(
      tf.matMul(clsOut as TF.Tensor2D, v('head.weight') as TF.Tensor2D),
      v('head.bias'),
    );
    return tf.losses.softmaxCrossEntropy(yHot, scores) as TF.Scalar;
  };
  return { f, vars };
}
