// bench/conv.ts: float32 convolution, forward and forward+backward, on a batch of 64 MNIST-sized
// images (1x28x28, 32 filters 5x5, pad 2), layerwise's im2col + gemm path beside tfjs-cpu's
// conv2d and its gradients, plus the naive loops (timed once on a smaller batch and scaled).
import { currentBackend, reference, setBackend, type BackendName } from '../src/kernels/index.js';
import { convBackward, convBackwardNaive, convForward, convForwardNaive } from '../src/layers/index.js';
import { Tensor } from '../src/tensor/index.js';
import { timeMs, type BenchRow } from './common.js';
import { loadTf } from './tf.js';

export interface ConvBenchSize {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly F: number;
  readonly K: number; // square filter size
  readonly pad: number;
}

export const MNIST_CONV: ConvBenchSize = { N: 64, C: 1, H: 28, W: 28, F: 32, K: 5, pad: 2 };

/** A copy of x (N, C, H, W) in NHWC, tfjs's native layout; the layout change is not timed. */
function toNHWC(x: Float32Array, N: number, C: number, H: number, W: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let p = 0; p < H * W; p++) out[(n * H * W + p) * C + c] = x[(n * C + c) * H * W + p];
  return out;
}

/** w (F, C, HH, WW) as tfjs's filter layout (HH, WW, C, F). */
function toHWCF(w: Float32Array, F: number, C: number, HH: number, WW: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let f = 0; f < F; f++)
    for (let c = 0; c < C; c++)
      for (let p = 0; p < HH * WW; p++) out[(p * C + c) * F + f] = w[(f * C + c) * HH * WW + p];
  return out;
}

export async function benchConv(s: ConvBenchSize = MNIST_CONV): Promise<BenchRow[]> {
  const { N, C, H, W, F, K, pad } = s;
  const Hout = H + 2 * pad - K + 1, Wout = W + 2 * pad - K + 1;
  const x = Tensor.randn([N, C, H, W], { seed: 1 }), w = Tensor.randn([F, C, K, K], { seed: 2, std: 0.1 });
  const b = Tensor.randn([F], { seed: 3 }), dout = Tensor.randn([N, F, Hout, Wout], { seed: 4 });
  const param = { stride: 1, pad };

  // The reference kernels (the goal: at least tfjs-cpu's speed), then the selected fast backend
  // if there is one; the selection is restored afterwards.
  const selected: BackendName = currentBackend() === reference ? 'reference' : 'wasm';
  const fwd: Record<string, number> = {}, both: Record<string, number> = {};
  for (const backend of selected === 'reference' ? ['reference' as const] : (['reference', selected] as const)) {
    const label = `layerwise-${setBackend(backend).name}`;
    fwd[label] = await timeMs(() => convForward(x, w, b, param), { reps: 5 });
    both[label] = await timeMs(() => convBackward(dout, convForward(x, w, b, param).cache), { reps: 5 });
  }
  setBackend(selected);

  // The naive loops on a slice of the batch, once, scaled to N (they are linear in N).
  const n = Math.max(1, Math.floor(N / 8));
  const xs = new Tensor(x.data.slice(0, n * C * H * W), [n, C, H, W]);
  const ds = new Tensor(dout.data.slice(0, n * F * Hout * Wout), [n, F, Hout, Wout]);
  const naiveFwd = ((await timeMs(() => convForwardNaive(xs, w, b, param), { warmup: 1, reps: 1, minMs: 0 })) * N) / n;
  const naiveBoth =
    ((await timeMs(() => convBackwardNaive(ds, convForwardNaive(xs, w, b, param).cache), { warmup: 1, reps: 1, minMs: 0 })) * N) / n;

  const tf = await loadTf('cpu');
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js'); // tf.grads needs them
  const tx = tf.tensor4d(toNHWC(x.data as Float32Array, N, C, H, W), [N, H, W, C]);
  const tw = tf.tensor4d(toHWCF(w.data as Float32Array, F, C, K, K), [K, K, C, F]);
  const tb = tf.tensor1d(b.data as Float32Array);
  const tdy = tf.tensor4d(toNHWC(dout.data as Float32Array, N, F, Hout, Wout), [N, Hout, Wout, F]);
  const conv = (a: typeof tx, f: typeof tw, bias: typeof tb) => tf.add(tf.conv2d(a, f, 1, pad), bias);
  const grads = tf.grads((a, f, bias) => conv(a as typeof tx, f as typeof tw, bias as typeof tb));
  // The callbacks return nothing: tidy walks whatever is returned looking for tensors, which
  // for a large typed array costs more than the convolution.
  const tfFwd = await timeMs(() => tf.tidy(() => void conv(tx, tw, tb).dataSync()), { reps: 5 });
  const tfBoth = await timeMs(() => tf.tidy(() => grads([tx, tw, tb], tdy).forEach((g) => g.dataSync())), { reps: 3 });
  for (const t of [tx, tw, tb, tdy]) t.dispose();

  const name = `f32 ${N}x${C}x${H}x${W} ${F}x${K}x${K} p${pad}`;
  const row = (what: string, tfMs: number, ours: Record<string, number>, naiveMs: number): BenchRow => ({
    section: 'conv',
    name: `${what} ${name}`,
    unit: 'ms',
    values: { 'tfjs-cpu': tfMs, ...ours, 'layerwise-naive': naiveMs },
    baseline: 'tfjs-cpu',
    higherIsBetter: false,
  });
  return [row('fwd', tfFwd, fwd, naiveFwd), row('fwd+bwd', tfBoth, both, naiveBoth)];
}
