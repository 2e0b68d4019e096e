// bench/conv.ts: float32 convolution, forward and forward+backward, on a batch of 64 MNIST-sized
// images (1x28x28, 32 filters 5x5, pad 2), layerwise's im2col + gemm path beside tfjs-cpu's
// conv2d and its gradients, plus the naive loops (timed once on a smaller batch and scaled).
import { currentBackend, reference, setBackend, type BackendName } from '../src/kernels/index.js';
import {
  convBackward,
  convBackwardNaive,
  convForward,
  convForwardNaive,
} from '../src/layers/index.js';
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

/** Throws unless tfjs's out, dx, dw, db (NHWC, HWCF) equal ours: both sides must do the same work. */
function checkTf(
  [out, dx, dw, db]: Float32Array[],
  ours: { out: Tensor; dx: Tensor; dw: Tensor; db: Tensor },
  { N, C, H, W, F, K }: ConvBenchSize,
  Hout: number,
  Wout: number,
): void {
  const pairs: Array<[string, Float32Array, Float32Array]> = [
    ['out', out, toNHWC(ours.out.data as Float32Array, N, F, Hout, Wout)],
    ['dx', dx, toNHWC(ours.dx.data as Float32Array, N, C, H, W)],
    ['dw', dw, toHWCF(ours.dw.data as Float32Array, F, C, K, K)],
    ['db', db, ours.db.data as Float32Array],
  ];
  for (const [name, theirs, mine] of pairs) {
    let diff = 0,
      scale = 0;
    for (let i = 0; i < mine.length; i++) {
      diff = Math.max(diff, Math.abs(theirs[i] - mine[i]));
      scale = Math.max(scale, Math.abs(mine[i]));
    }
    if (theirs.length !== mine.length || diff > 1e-4 * scale) {
      throw new Error(
        `bench conv: tfjs-cpu's ${name} differs from layerwise's (max diff ${diff}, scale ${scale})`,
      );
    }
  }
}

export async function benchConv(s: ConvBenchSize = MNIST_CONV): Promise<BenchRow[]> {
  const { N, C, H, W, F, K, pad } = s;
  const Hout = H + 2 * pad - K + 1,
    Wout = W + 2 * pad - K + 1;
  const x = Tensor.randn([N, C, H, W], { seed: 1 }),
    w = Tensor.randn([F, C, K, K], { seed: 2, std: 0.1 });
  const b = Tensor.randn([F], { seed: 3 }),
    dout = Tensor.randn([N, F, Hout, Wout], { seed: 4 });
  const param = { stride: 1, pad };

  // The reference kernels (the goal: at least tfjs-cpu's speed), then the selected fast backend
  // if there is one; the selection is restored afterwards.
  const selected: BackendName = currentBackend() === reference ? 'reference' : 'wasm';
  const fwd: Record<string, number> = {},
    both: Record<string, number> = {};
  for (const backend of selected === 'reference'
    ? ['reference' as const]
    : (['reference', selected] as const)) {
    const label = `layerwise-${setBackend(backend).name}`;
    fwd[label] = await timeMs(() => convForward(x, w, b, param), { reps: 5 });
    both[label] = await timeMs(() => convBackward(dout, convForward(x, w, b, param).cache), {
      reps: 5,
    });
  }
  setBackend(selected);

  // The naive loops on a slice of the batch, once, scaled to N (they are linear in N).
  const n = Math.max(1, Math.floor(N / 8));
  const xs = new Tensor(x.data.slice(0, n * C * H * W), [n, C, H, W]);
  const ds = new Tensor(dout.data.slice(0, n * F * Hout * Wout), [n, F, Hout, Wout]);
  const naiveFwd =
    ((await timeMs(() => convForwardNaive(xs, w, b, param), { warmup: 1, reps: 1, minMs: 0 })) *
      N) /
    n;
  const naiveBoth =
    ((await timeMs(() => convBackwardNaive(ds, convForwardNaive(xs, w, b, param).cache), {
      warmup: 1,
      reps: 1,
      minMs: 0,
    })) *
      N) /
    n;

  const tf = await loadTf('cpu');
  const tx = tf.tensor4d(toNHWC(x.data as Float32Array, N, C, H, W), [N, H, W, C]);
  const tw = tf.tensor4d(toHWCF(w.data as Float32Array, F, C, K, K), [K, K, C, F]);
  const tb = tf.tensor1d(b.data as Float32Array);
  const tdy = tf.tensor4d(toNHWC(dout.data as Float32Array, N, F, Hout, Wout), [N, Hout, Wout, F]);
  const forward = () => tf.add(tf.conv2d(tx, tw, 1, pad), tb);
  // The backward kernels that tf.grads dispatches for conv2d + bias (Conv2D's registered gradient),
  // called directly: the gradient registry is not in tfjs-core's Node bundle, and its ESM files
  // do not load in plain Node without a resolve hook.
  const backward = () => [
    tf.conv2dTranspose(tdy, tw, [N, H, W, C], 1, pad), // dx: Conv2DBackpropInput
    tf
      .engine()
      .runKernel(
        'Conv2DBackpropFilter',
        { x: tx, dy: tdy },
        { strides: 1, pad, dataFormat: 'NHWC', filterShape: [K, K, C, F] },
      ) as typeof tw,
    tf.sum(tdy, [0, 1, 2]), // db
  ];
  const ref = convForward(x, w, b, param);
  const theirs = [forward(), ...backward()];
  checkTf(
    theirs.map((t) => t.dataSync() as Float32Array),
    { out: ref.out, ...convBackward(dout, ref.cache) },
    s,
    Hout,
    Wout,
  );
  for (const t of theirs) t.dispose();
  // The callbacks return nothing: tidy walks whatever is returned looking for tensors, which
  // for a large typed array costs more than the convolution.
  const tfFwd = await timeMs(() => tf.tidy(() => void forward().dataSync()), { reps: 5 });
  const tfBoth = await timeMs(
    () => tf.tidy(() => [forward(), ...backward()].forEach((t) => t.dataSync())),
    { reps: 3 },
  );
  for (const t of [tx, tw, tb, tdy]) t.dispose();

  const name = `f32 ${N}x${C}x${H}x${W} ${F}x${K}x${K} p${pad}`;
  const row = (
    what: string,
    tfMs: number,
    ours: Record<string, number>,
    naiveMs: number,
  ): BenchRow => ({
    section: 'conv',
    name: `${what} ${name}`,
    unit: 'ms',
    values: { 'tfjs-cpu': tfMs, ...ours, 'layerwise-naive': naiveMs },
    baseline: 'tfjs-cpu',
    higherIsBetter: false,
  });
  return [row('fwd', tfFwd, fwd, naiveFwd), row('fwd+bwd', tfBoth, both, naiveBoth)];
}
