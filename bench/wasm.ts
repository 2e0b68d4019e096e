// bench/wasm.ts: the WASM backend beside TensorFlow.js (cpu and wasm backends) on the same inputs:
// SGEMM GFLOP/s (1 and 2 threads), the CNN's conv layer forward+backward, and whole training steps
// (forward + backward + SGD update, batch 64) of the MLP 784-100-10 and of the CNN
// conv(32 5x5, pad 2)-relu-pool 2x2-affine 100-relu-affine 10. Ratios are taken against tfjs-wasm.
// The machine's load average is reported before and after (a shared machine halves any number).
import type * as TF from '@tensorflow/tfjs-core';
import { register } from 'node:module';
import os from 'node:os';
import { currentBackend, setBackend, stepMemory, type StepMemory } from '../src/kernels/index.js';
import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/index.js';
import { convBackward, convForward } from '../src/layers/index.js';
import { ThreeLayerConvNet, TwoLayerNet, type Model } from '../src/models/index.js';
import { sgd } from '../src/optim/index.js';
import { Tensor, type FloatTensor } from '../src/tensor/index.js';
import { setAllocator } from '../src/tensor/internal.js';
import { ceilingGflops } from './ceiling.js';
import { timeMs, type BenchRow } from './common.js';
import { benchKernels, benchThreadShare } from './kernels.js';
import { residentSgemm } from './sgemm.js';
import { loadTf } from './tf.js';

const BATCH = 64;
const LR = 1e-3;

let gradientsLoaded = false;

/**
 * tf.grads and tf.variableGrads need tfjs-core's gradient registry, which the Node bundle leaves
 * out; its ESM files (dist/register_all_gradients.js) import without file extensions, so a resolve
 * hook adds '.js' for them. The registries live on globalThis, shared by both copies of the core.
 */
async function loadTfGradients(): Promise<void> {
  if (gradientsLoaded) return;
  gradientsLoaded = true;
  const hook = `export async function resolve(spec, ctx, next) {
    try { return await next(spec, ctx); } catch (e) {
      if (spec.startsWith('.') && ctx.parentURL && ctx.parentURL.includes('/@tensorflow/tfjs-core/dist/')) return next(spec + '.js', ctx);
      throw e;
    }
  }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
}

/** Runs fn with tfjs switched to `backend` (both are registered; switching keeps tensors apart). */
export async function onTf<T>(
  backend: 'cpu' | 'wasm',
  fn: (tf: typeof TF) => Promise<T>,
): Promise<T> {
  const tf = await loadTf(backend);
  await loadTfGradients();
  return fn(tf);
}

export async function benchWasm(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [loadRow('before')];
  rows.push(...(await benchSgemm([128, 256, 512, 1024])));
  rows.push(...(await benchKernels())); // gemm, conv forward and conv dW GFLOP/s side by side
  rows.push(...(await benchCopies([128, 256, 512, 1024])));
  rows.push(await benchConvLayer());
  rows.push(...(await benchStep('mlp')));
  rows.push(...(await benchStep('cnn')));
  rows.push(...(await benchThreadShare())); // 1 vs 2 threads, and the second thread's share
  rows.push(loadRow('after'));
  setBackend('auto');
  return rows;
}

/** The 1-minute load average over the core count: above ~0.5 other processes share the cores. */
function loadRow(when: string): BenchRow {
  const perCore = os.loadavg()[0] / os.cpus().length;
  return {
    section: 'wasm',
    name: `machine load per core (${when})`,
    unit: 'load',
    values: { uptime: perCore },
    baseline: 'uptime',
    higherIsBetter: false,
  };
}

/**
 * SGEMM GFLOP/s beside tfjs: layerwise with operands in WASM memory (as a training step's tensors
 * are, in StepMemory) on 1 and 2 threads, and with plain arrays (copied in and out per call); the
 * plain f32x4 build beside the relaxed-SIMD one (fused multiply-add, what Node and current
 * browsers run by default); and the machine's multiply-add ceiling for each.
 */
async function benchSgemm(sizes: readonly number[]): Promise<BenchRow[]> {
  const resident = await residentSgemm(sizes, 'auto');
  const plain = resident.simd === 'relaxed' ? await residentSgemm(sizes, 'simd') : null;
  const two = createWasmKernels({ threads: 2 });
  two.warmUp();
  const rows: BenchRow[] = [];
  for (const n of sizes) {
    const a = Tensor.randn([n, n], { seed: 1 }),
      b = Tensor.randn([n, n], { seed: 2 });
    // best of reps for every implementation alike: kernel throughput on a shared machine
    const out = new Float32Array(n * n),
      flops = 2 * n * n * n,
      reps = n >= 1024 ? 5 : 9,
      stat = 'min' as const;
    const gflops = (ms: number): number => flops / ms / 1e6;
    const values: Record<string, number> = {};
    for (const backend of ['wasm', 'cpu'] as const) {
      if (backend === 'cpu' && n > 512) continue; // minutes at 1 GFLOP/s
      values[`tfjs-${backend}`] = await onTf(backend, async (tf) => {
        const ta = tf.tensor2d(a.data as Float32Array, [n, n]),
          tb = tf.tensor2d(b.data as Float32Array, [n, n]);
        // read outside tidy: dataSync inside tf.tidy is ~20x slower on tfjs-wasm 4.22
        const ms = await timeMs(
          () => {
            const o = tf.tidy(() => tf.matMul(ta, tb));
            o.dataSync();
            o.dispose();
          },
          { reps, stat },
        );
        tf.dispose([ta, tb]);
        return gflops(ms);
      });
    }
    for (const [threads, v] of Object.entries(resident.gflops[n]))
      values[`layerwise-wasm-${threads}`] = v;
    values[`layerwise-wasm-${two.info.threads}t-copying`] = gflops(
      await timeMs(() => two.gemm(out, a.data, b.data, n, n, n), { reps, stat }),
    );
    for (const [threads, v] of Object.entries(plain?.gflops[n] ?? {}))
      values[`layerwise-plain-simd-${threads}`] = v;
    rows.push({
      section: 'wasm',
      name: `sgemm n=${n} (${resident.simd})`,
      unit: 'GFLOP/s',
      values,
      baseline: 'tfjs-wasm',
      higherIsBetter: true,
    });
  }
  two.close();
  const ceiling: Record<string, number> = { 'f32x4-mul-add': (await ceilingGflops('simd')) ?? NaN };
  const fma = await ceilingGflops('relaxed');
  if (fma !== null) ceiling['relaxed-fma'] = fma;
  rows.push({
    section: 'wasm',
    name: 'SIMD multiply-add ceiling, 1 thread, data in L1',
    unit: 'GFLOP/s',
    values: ceiling,
    baseline: 'f32x4-mul-add',
    higherIsBetter: true,
  });
  return rows;
}

/**
 * What the copies into and out of WASM memory cost beside the product: the wasm gemm copies a
 * and b in and out back (O(n²)) around O(n³) work. Measured as the time of the same three copies
 * into a SharedArrayBuffer-backed array, over the time of the whole gemm call (percent).
 */
async function benchCopies(sizes: readonly number[]): Promise<BenchRow[]> {
  const k = createWasmKernels({ threads: 1 });
  const rows: BenchRow[] = [];
  for (const n of sizes) {
    const a = Tensor.randn([n, n], { seed: 1 }),
      b = Tensor.randn([n, n], { seed: 2 }),
      out = new Float32Array(n * n);
    const arena = new Float32Array(new SharedArrayBuffer(3 * n * n * 4));
    const copies = await timeMs(
      () => {
        arena.set(a.data, 0);
        arena.set(b.data, n * n);
        out.set(arena.subarray(2 * n * n, 3 * n * n));
      },
      { reps: 20 },
    );
    const total = await timeMs(() => k.gemm(out, a.data, b.data, n, n, n), { reps: 5 });
    rows.push({
      section: 'wasm',
      name: `copy share of gemm n=${n}`,
      unit: '%',
      values: { 'layerwise-wasm-1t': (100 * copies) / total },
      baseline: 'layerwise-wasm-1t',
      higherIsBetter: false,
    });
  }
  return rows;
}

type Conv = (x: TF.Tensor4D, w: TF.Tensor4D) => TF.Tensor4D;

/**
 * conv2d (stride 1, 'same' padding, NHWC, filters (HH, WW, C, F)) with its gradients. tfjs-wasm
 * 4.22 has no Conv2DBackpropFilter kernel, so there dw is computed with its own conv2d kernel:
 * dw[hh, ww, c, f] = Σ_{n, ho, wo} xpad[n, ho + hh, wo + ww, c]·dy[n, ho, wo, f] is a convolution
 * of x read as (C, H, W, N) by dy read as (Hout, Wout, N, F), padded by (HH − 1)/2.
 */
function tfConv(tf: typeof TF): Conv {
  if (tf.getKernel('Conv2DBackpropFilter', tf.getBackend()))
    return (x, w) => tf.conv2d(x, w, 1, 'same');
  const conv = tf.customGrad((...args: Array<TF.Tensor | ((ts: TF.Tensor[]) => void)>) => {
    const [x4, w4, save] = args as [TF.Tensor4D, TF.Tensor4D, (ts: TF.Tensor[]) => void];
    save([x4, w4]);
    return {
      value: tf.conv2d(x4, w4, 1, 'same'),
      gradFunc: (dy: TF.Tensor4D, saved: TF.Tensor[]) => {
        const [xs, ws] = saved as [TF.Tensor4D, TF.Tensor4D];
        const dy4 = dy as TF.Tensor4D,
          pad = (ws.shape[0] - 1) / 2;
        const dx = tf.conv2dTranspose(dy4, ws, xs.shape, 1, 'same');
        const dw = tf.transpose(
          tf.conv2d(tf.transpose(xs, [3, 1, 2, 0]), tf.transpose(dy4, [1, 2, 0, 3]), 1, pad),
          [1, 2, 0, 3],
        );
        return [dx, dw];
      },
    };
  });
  return (x, w) => conv(x, w) as TF.Tensor4D;
}

/** The CNN's conv layer: x (64, 1, 28, 28), w (32, 1, 5, 5), pad 2; forward + backward. */
async function benchConvLayer(): Promise<BenchRow> {
  const x = Tensor.randn([BATCH, 1, 28, 28], { seed: 3 }),
    w = Tensor.randn([32, 1, 5, 5], { seed: 4, std: 0.1 });
  const b = Tensor.zeros([32]),
    dout = Tensor.randn([BATCH, 32, 28, 28], { seed: 5 });
  const values: Record<string, number> = {};
  for (const backend of ['wasm', 'cpu'] as const) {
    values[`tfjs-${backend}`] = await onTf(backend, async (tf) => {
      // tfjs convolves NHWC with filters (HH, WW, C, F)
      const tx = tf.transpose(
        tf.tensor4d(x.data as Float32Array, [BATCH, 1, 28, 28]),
        [0, 2, 3, 1],
      );
      const tw = tf.transpose(tf.tensor4d(w.data as Float32Array, [32, 1, 5, 5]), [2, 3, 1, 0]);
      const tb = tf.zeros([32]);
      const tdout = tf.transpose(
        tf.tensor4d(dout.data as Float32Array, [BATCH, 32, 28, 28]),
        [0, 2, 3, 1],
      );
      const conv = tfConv(tf);
      const g = tf.grads((xi: TF.Tensor, wi: TF.Tensor, bi: TF.Tensor) =>
        tf.add(conv(xi as TF.Tensor4D, wi as TF.Tensor4D), bi),
      );
      const ms = await timeMs(
        () => {
          const gs = tf.tidy(() => g([tx, tw, tb], tdout));
          for (const t of gs) t.dataSync();
          tf.dispose(gs);
        },
        backend === 'cpu' ? { warmup: 0, reps: 1, minMs: 0 } : { reps: 5 },
      ); // tfjs-cpu: ~10 s a run
      tf.dispose([tx, tw, tb, tdout]);
      return ms;
    });
  }
  const layer = (xs: Tensor, douts: Tensor): void => {
    const { cache } = convForward(xs, w, b, { stride: 1, pad: 2 });
    convBackward(douts, cache);
  };
  for (const name of ['reference', 'wasm'] as const) {
    setBackend(name);
    values[`layerwise-${name}${name === 'wasm' ? '-copying' : ''}`] = await timeMs(
      () => layer(x, dout),
      { reps: name === 'reference' ? 2 : 5 },
    );
  }
  // as in training: x, dout and every tensor of the layer in step memory (WASM memory, no copies)
  const inputs = stepMemory(),
    mem = stepMemory();
  const [xr, doutr] = inputs.run(() => [x, dout].map((t) => Tensor.from(t.data, t.shape)));
  values['layerwise-wasm'] = await timeMs(() => mem.run(() => layer(xr, doutr)), { reps: 5 });
  inputs.release();
  mem.release();
  return {
    section: 'wasm',
    name: 'conv 64x1x28x28 * 32x5x5 fwd+bwd',
    unit: 'ms',
    values,
    baseline: 'tfjs-wasm',
    higherIsBetter: false,
  };
}

/**
 * One training step of layerwise: loss and gradients, then SGD on every parameter. With `mem`,
 * loss() runs in step memory as the Solver runs it (reused storage, in WASM memory with the wasm
 * backend); without, every tensor is a fresh array.
 */
export function layerwiseStep(model: Model, X: Tensor, y: number[], mem: StepMemory | null): void {
  const { grads } = mem ? mem.run(() => model.loss(X, y)) : model.loss(X, y);
  for (const key of Object.keys(model.params))
    sgd(model.params[key], grads[key], { learningRate: LR });
}

/** The same step in tfjs: tf.variableGrads of the mean softmax cross-entropy, then sgd. */
function tfStep(tf: typeof TF, kind: 'mlp' | 'cnn', X: TF.Tensor, yHot: TF.Tensor): () => void {
  const v = (shape: number[], std: number): TF.Variable =>
    tf.variable(tf.randomNormal(shape, 0, std));
  const opt = tf.train.sgd(LR);
  if (kind === 'mlp') {
    const W1 = v([784, 100], 0.01),
      b1 = tf.variable(tf.zeros([100])),
      W2 = v([100, 10], 0.01),
      b2 = tf.variable(tf.zeros([10]));
    const f = (): TF.Scalar => {
      const h = tf.relu(tf.add(tf.matMul(X as TF.Tensor2D, W1), b1));
      return tf.losses.softmaxCrossEntropy(
        yHot,
        tf.add(tf.matMul(h as TF.Tensor2D, W2), b2),
      ) as TF.Scalar;
    };
    return () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(f);
        opt.applyGradients(grads);
      });
  }
  const W1 = v([5, 5, 1, 32], 0.01),
    b1 = tf.variable(tf.zeros([32]));
  const W2 = v([14 * 14 * 32, 100], 0.01),
    b2 = tf.variable(tf.zeros([100]));
  const W3 = v([100, 10], 0.01),
    b3 = tf.variable(tf.zeros([10]));
  const conv = tfConv(tf);
  const f = (): TF.Scalar => {
    const c = tf.relu(tf.add(conv(X as TF.Tensor4D, W1 as TF.Tensor4D), b1));
    const p = tf.reshape(tf.maxPool(c as TF.Tensor4D, 2, 2, 'valid'), [BATCH, 14 * 14 * 32]);
    const h = tf.relu(tf.add(tf.matMul(p as TF.Tensor2D, W2), b2));
    return tf.losses.softmaxCrossEntropy(
      yHot,
      tf.add(tf.matMul(h as TF.Tensor2D, W3), b3),
    ) as TF.Scalar;
  };
  return () =>
    tf.tidy(() => {
      const { grads } = tf.variableGrads(f);
      opt.applyGradients(grads);
    });
}

async function benchStep(kind: 'mlp' | 'cnn'): Promise<BenchRow[]> {
  const shape = kind === 'mlp' ? [BATCH, 784] : [BATCH, 1, 28, 28];
  const X: FloatTensor = Tensor.randn(shape, { seed: 6 });
  const y = Array.from({ length: BATCH }, (_, i) => (i * 7) % 10);
  const rate = (ms: number): number => (BATCH * 1000) / ms;
  const values: Record<string, number> = {};
  for (const backend of ['wasm', 'cpu'] as const) {
    values[`tfjs-${backend}`] = await onTf(backend, async (tf) => {
      const tx =
        kind === 'mlp'
          ? tf.tensor2d(X.data as Float32Array, [BATCH, 784])
          : tf.transpose(tf.tensor4d(X.data as Float32Array, [BATCH, 1, 28, 28]), [0, 2, 3, 1]);
      const yHot = tf.oneHot(tf.tensor1d(y, 'int32'), 10);
      const step = tfStep(tf, kind, tx, yHot);
      const slow = kind === 'cnn' && backend === 'cpu'; // seconds a step
      const ms = await timeMs(
        step,
        slow ? { warmup: 1, reps: 1, minMs: 0 } : { warmup: 2, reps: 5, minMs: 1000 },
      );
      tf.dispose([tx, yHot]);
      tf.disposeVariables();
      return rate(ms);
    });
  }
  const make = (): Model => benchNet(kind);
  const runs = [
    ['reference', true],
    ['wasm', false],
    ['wasm', true],
  ] as const; // wasm with step memory last
  const mems: StepMemory[] = [];
  for (const [name, reuse] of runs) {
    setBackend(name);
    const model = make(),
      mem = reuse ? stepMemory() : null;
    if (mem) mems.push(mem);
    const ms = await timeMs(() => layerwiseStep(model, X, y, mem), {
      warmup: 2,
      reps: name === 'reference' && kind === 'cnn' ? 2 : 5,
      minMs: 1000,
    });
    values[`layerwise-${name}${reuse ? '' : '-fresh'}`] = rate(ms);
  }
  const label =
    kind === 'mlp' ? 'train step MLP 784-100-10 b64' : 'train step CNN 32c5-pool-100-10 b64';
  const model = make(),
    mem = stepMemory(); // under the wasm backend, selected last above
  const memory = (reuse: boolean): Record<string, number> => {
    const m = stepCost(() => layerwiseStep(model, X, y, reuse ? mem : null));
    const how = reuse ? 'step-memory' : 'fresh';
    return { [`${how}-allocated`]: m.allocated, [`${how}-copied`]: m.copied };
  };
  const rows: BenchRow[] = [
    {
      section: 'wasm',
      name: label,
      unit: 'samples/s',
      values,
      baseline: 'tfjs-wasm',
      higherIsBetter: true,
    },
    {
      section: 'wasm',
      name: `${label} memory traffic`,
      unit: 'MB/step',
      values: { ...memory(false), ...memory(true) },
      baseline: 'fresh-allocated',
      higherIsBetter: false,
      ratios: false,
    },
  ];
  for (const m of [...mems, mem]) m.release();
  return rows;
}

/**
 * What one step costs in memory traffic, after a warm-up step (first-use allocations such as
 * optimizer state and step-memory blocks are not per step): MB of fresh tensor storage
 * (Tensor.zeros and everything built on it, outside step memory) and MB copied into and out of
 * WASM memory by the wasm kernels (operands that are not resident).
 */
function stepCost(fn: () => void): { allocated: number; copied: number } {
  fn();
  const wasm = currentBackend() as Partial<WasmKernels>;
  const copied0 = wasm.copiedBytes ?? 0;
  let bytes = 0;
  const previous = setAllocator((dtype, n) => {
    bytes += n * (dtype === 'float64' ? 8 : 4);
    return dtype === 'float32'
      ? new Float32Array(n)
      : dtype === 'float64'
        ? new Float64Array(n)
        : new Int32Array(n);
  });
  try {
    fn();
  } finally {
    setAllocator(previous);
  }
  return { allocated: bytes / 2 ** 20, copied: ((wasm.copiedBytes ?? 0) - copied0) / 2 ** 20 };
}

/**
 * The bench's networks (bench/torch_steps.py builds the same in PyTorch): the MLP 784-100-10 and
 * the CNN conv(32 5x5, pad 2)-relu-pool 2x2-affine 100-relu-affine 10, trained with SGD (LR).
 */
export function benchNet(kind: 'mlp' | 'cnn'): Model {
  return kind === 'mlp'
    ? new TwoLayerNet({ inputDim: 784, hiddenDim: 100, numClasses: 10, weightScale: 0.01, seed: 1 })
    : new ThreeLayerConvNet({
        inputDim: [1, 28, 28],
        numFilters: 32,
        filterSize: 5,
        hiddenDim: 100,
        weightScale: 0.01,
        seed: 1,
      });
}

/** The batch and SGD learning rate of benchStep, for the same steps in PyTorch (bench/torch.ts). */
export const BENCH_STEP = { batch: BATCH, learningRate: LR } as const;
