// bench/convTranspose.ts: float32 transposed convolution, forward+backward, on the DCGAN
// generator's hot layer (64 images, 64 channels of 7x7 -> 32 channels of 14x14, 4x4 filters,
// stride 2, pad 1): layerwise's gemm + col2im / im2col + gemm path beside tfjs-cpu's
// conv2dTranspose and its gradients (conv2d for dx, Conv2DBackpropFilter for dw).
import { currentBackend, reference, setBackend, type BackendName } from '../src/kernels/index.js';
import { convTransposeBackward, convTransposeForward } from '../src/layers/index.js';
import { Tensor } from '../src/tensor/index.js';
import { timeMs, type BenchRow } from './common.js';
import { loadTf } from './tf.js';

export interface ConvTransposeBenchSize {
  readonly N: number;
  readonly C: number; // input channels
  readonly H: number;
  readonly W: number;
  readonly F: number; // output channels
  readonly K: number; // square filter size
  readonly stride: number;
  readonly pad: number;
}

export const DCGAN_UP: ConvTransposeBenchSize = {
  N: 64,
  C: 64,
  H: 7,
  W: 7,
  F: 32,
  K: 4,
  stride: 2,
  pad: 1,
};

/** x (N, C, H, W) as NHWC, tfjs's layout; the layout change is not timed. */
function toNHWC(x: Float32Array, N: number, C: number, H: number, W: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let p = 0; p < H * W; p++) out[(n * H * W + p) * C + c] = x[(n * C + c) * H * W + p];
  return out;
}

/** w (C, F, HH, WW) as the filter of tfjs's conv2dTranspose, (HH, WW, F, C). */
function toHWFC(w: Float32Array, C: number, F: number, K: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let c = 0; c < C; c++)
    for (let f = 0; f < F; f++)
      for (let p = 0; p < K * K; p++) out[(p * F + f) * C + c] = w[(c * F + f) * K * K + p];
  return out;
}

/** Throws unless tfjs's out, dx, dw, db equal ours: both sides must do the same work. */
function checkSame(theirs: Float32Array[], mine: Float32Array[]): void {
  ['out', 'dx', 'dw', 'db'].forEach((name, k) => {
    let diff = 0,
      scale = 0;
    for (let i = 0; i < mine[k].length; i++) {
      diff = Math.max(diff, Math.abs(theirs[k][i] - mine[k][i]));
      scale = Math.max(scale, Math.abs(mine[k][i]));
    }
    if (theirs[k].length !== mine[k].length || diff > 1e-4 * scale) {
      throw new Error(
        `bench convTranspose: tfjs-cpu's ${name} differs from layerwise's (max diff ${diff}, scale ${scale})`,
      );
    }
  });
}

export async function benchConvTranspose(
  s: ConvTransposeBenchSize = DCGAN_UP,
): Promise<BenchRow[]> {
  const { N, C, H, W, F, K, stride, pad } = s;
  const Hout = (H - 1) * stride - 2 * pad + K,
    Wout = (W - 1) * stride - 2 * pad + K;
  const x = Tensor.randn([N, C, H, W], { seed: 1 }),
    w = Tensor.randn([C, F, K, K], { seed: 2, std: 0.1 });
  const b = Tensor.randn([F], { seed: 3 }),
    dout = Tensor.randn([N, F, Hout, Wout], { seed: 4 });
  const param = { stride, pad };

  const selected: BackendName = currentBackend() === reference ? 'reference' : 'wasm';
  const both: Record<string, number> = {};
  for (const backend of selected === 'reference'
    ? ['reference' as const]
    : (['reference', selected] as const)) {
    const label = `layerwise-${setBackend(backend).name}`;
    both[label] = await timeMs(
      () => convTransposeBackward(dout, convTransposeForward(x, w, b, param).cache),
      { reps: 5 },
    );
  }
  setBackend(selected);

  const tf = await loadTf('cpu');
  const tx = tf.tensor4d(toNHWC(x.data as Float32Array, N, C, H, W), [N, H, W, C]);
  const tw = tf.tensor4d(toHWFC(w.data as Float32Array, C, F, K), [K, K, F, C]);
  const tb = tf.tensor1d(b.data as Float32Array);
  const tdy = tf.tensor4d(toNHWC(dout.data as Float32Array, N, F, Hout, Wout), [N, Hout, Wout, F]);
  const forward = () => tf.add(tf.conv2dTranspose(tx, tw, [N, Hout, Wout, F], stride, pad), tb);
  // Conv2DBackpropInput's registered gradients, called directly (as bench/conv.ts does): the
  // input gradient is the conv of dy, the filter gradient Conv2DBackpropFilter with x = dy.
  const backward = () => [
    tf.conv2d(tdy, tw, stride, pad), // dx
    tf
      .engine()
      .runKernel(
        'Conv2DBackpropFilter',
        { x: tdy, dy: tx },
        { strides: stride, pad, dataFormat: 'NHWC', filterShape: [K, K, F, C] },
      ) as typeof tw,
    tf.sum(tdy, [0, 1, 2]), // db
  ];
  const ref = convTransposeForward(x, w, b, param);
  const grads = convTransposeBackward(dout, ref.cache);
  const theirs = [forward(), ...backward()];
  checkSame(
    theirs.map((t) => t.dataSync() as Float32Array),
    [
      toNHWC(ref.out.data as Float32Array, N, F, Hout, Wout),
      toNHWC(grads.dx.data as Float32Array, N, C, H, W),
      toHWFC(grads.dw.data as Float32Array, C, F, K),
      grads.db.data as Float32Array,
    ],
  );
  for (const t of theirs) t.dispose();
  const tfBoth = await timeMs(
    () => tf.tidy(() => [forward(), ...backward()].forEach((t) => t.dataSync())),
    { reps: 3 },
  );
  for (const t of [tx, tw, tb, tdy]) t.dispose();
  return [
    {
      section: 'conv',
      name: `convTranspose fwd+bwd f32 ${N}x${C}x${H}x${W} -> ${F}x${Hout}x${Wout} ${K}x${K} s${stride} p${pad}`,
      unit: 'ms',
      values: { 'tfjs-cpu': tfBoth, ...both },
      baseline: 'tfjs-cpu',
      higherIsBetter: false,
    },
  ];
}
