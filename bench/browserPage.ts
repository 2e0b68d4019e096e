// bench/browserPage.ts: the script of bench/browser.html. One training step of the default conv
// net (conv 16 5x5 pad 2, batch norm, relu, 2x2 max pool, affine 100, batch norm, relu, dropout
// 0.3, affine 10, softmax loss, Adam, batches of 64) timed in layerwise (in a Worker, through
// layerwise/worker, as the demo trains) and in TF.js (tfjs-core ops + its wasm backend, on this
// page), both with ?threads=N threads, on the same random 28x28 inputs. Samples/s in
// window.__bench; the first WARMUP steps are not timed.
import type * as TF from '@tensorflow/tfjs-core';
import { createTrainingWorker, trainInWorker } from '../src/worker/index.js';

interface TfWasm {
  setWasmPaths(prefix: string): void;
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}
const g = globalThis as unknown as {
  tf: typeof TF & { wasm: TfWasm };
  location: { search: string };
  document: { getElementById(id: string): { textContent: string } };
  crossOriginIsolated?: boolean;
  __bench?: unknown;
};
const threads = Number(new URLSearchParams(g.location.search).get('threads') ?? 1);
const B = 64,
  STEPS = 40,
  WARMUP = 5;

/** N random images (N, 1, 28, 28) in [0, 1) and labels, from a small LCG (same for both). */
function inputs(N: number): { X: Float32Array; y: Int32Array } {
  let s = 12345;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  return {
    X: Float32Array.from({ length: N * 784 }, next),
    y: Int32Array.from({ length: N }, () => Math.floor(next() * 10)),
  };
}

async function layerwise(): Promise<{ samplesPerSecond: number; threadsReady: number }> {
  const { X, y } = inputs(B * STEPS);
  const times: number[] = [];
  const run = trainInWorker(
    createTrainingWorker(),
    {
      model: {
        type: 'ThreeLayerConvNet',
        options: {
          inputDim: [1, 28, 28],
          numFilters: 16,
          filterSize: 5,
          hiddenDim: 100,
          weightScale: 0.05,
          normalization: 'batchnorm',
          dropout: 0.3,
          numClasses: 10,
          seed: 0,
        },
      },
      data: { XTrain: { data: X, shape: [B * STEPS, 1, 28, 28] }, yTrain: y },
      solver: {
        updateRule: 'adam',
        optimConfig: { learningRate: 2e-3 },
        batchSize: B,
        numEpochs: 1,
        seed: 0,
        metric: 'none',
      },
      backend: { threads },
    },
    { onProgress: () => times.push(performance.now()) },
  );
  const ready = await run.ready;
  await run.done;
  const dt = (times[STEPS - 1] - times[WARMUP - 1]) / 1000;
  return { samplesPerSecond: ((STEPS - WARMUP) * B) / dt, threadsReady: ready.threadsReady };
}

/**
 * conv2d ('same', stride 1) with gradients. tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter
 * kernel, so dw is its own conv2d of x read as (C, H, W, N) by dy read as (Hout, Wout, N, F), as
 * bench/wasm.ts (tfConv) does for the Node bench.
 */
function tfConv(tf: typeof TF): (x: TF.Tensor4D, w: TF.Tensor4D) => TF.Tensor4D {
  const conv = tf.customGrad((...args: Array<TF.Tensor | ((ts: TF.Tensor[]) => void)>) => {
    const [x4, w4, save] = args as [TF.Tensor4D, TF.Tensor4D, (ts: TF.Tensor[]) => void];
    save([x4, w4]);
    return {
      value: tf.conv2d(x4, w4, 1, 'same'),
      gradFunc: (dy: TF.Tensor4D, saved: TF.Tensor[]) => {
        const [xs, ws] = saved as [TF.Tensor4D, TF.Tensor4D];
        const pad = (ws.shape[0] - 1) / 2;
        const dx = tf.conv2dTranspose(dy, ws, xs.shape, 1, 'same');
        const dw = tf.transpose(
          tf.conv2d(tf.transpose(xs, [3, 1, 2, 0]), tf.transpose(dy, [1, 2, 0, 3]), 1, pad),
          [1, 2, 0, 3],
        );
        return [dx, dw];
      },
    };
  });
  return (x, w) => conv(x, w) as TF.Tensor4D;
}

async function tfjs(): Promise<{
  samplesPerSecond: number;
  threads: number;
  multithread: unknown;
}> {
  const tf = g.tf;
  tf.wasm.setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
  tf.wasm.setThreadsCount(threads);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not start');
  await tf.ready();
  const { X, y } = inputs(B * STEPS);
  const normal = (shape: number[], std: number) =>
    tf.variable(tf.randomNormal(shape, 0, std, 'float32', 0));
  const v = {
    W1: normal([5, 5, 1, 16], 0.05),
    b1: tf.variable(tf.zeros([16])),
    g1: tf.variable(tf.ones([16])),
    be1: tf.variable(tf.zeros([16])),
    W2: normal([14 * 14 * 16, 100], 0.05),
    b2: tf.variable(tf.zeros([100])),
    g2: tf.variable(tf.ones([100])),
    be2: tf.variable(tf.zeros([100])),
    W3: normal([100, 10], 0.05),
    b3: tf.variable(tf.zeros([10])),
  };
  const norm = (h: TF.Tensor, axes: number[], gamma: TF.Tensor, beta: TF.Tensor) => {
    const { mean, variance } = tf.moments(h, axes);
    return tf.add(tf.mul(tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta);
  };
  const opt = tf.train.adam(2e-3);
  const conv = tf.getKernel('Conv2DBackpropFilter', 'wasm')
    ? (x: TF.Tensor4D, w: TF.Tensor4D) => tf.conv2d(x, w, 1, 'same')
    : tfConv(tf);
  const step = async (s: number) => {
    const x = tf.tensor4d(X.subarray(s * B * 784, (s + 1) * B * 784), [B, 28, 28, 1]);
    const labels = tf.oneHot(tf.tensor1d(y.subarray(s * B, (s + 1) * B), 'int32'), 10);
    const loss = opt.minimize(() => {
      let h: TF.Tensor = tf.add(conv(x, v.W1 as TF.Tensor4D), v.b1);
      h = tf.relu(norm(h, [0, 1, 2], v.g1, v.be1));
      h = tf.reshape(tf.maxPool(h as TF.Tensor4D, 2, 2, 'valid'), [B, 14 * 14 * 16]);
      h = tf.add(tf.matMul(h as TF.Tensor2D, v.W2 as TF.Tensor2D), v.b2);
      h = tf.dropout(tf.relu(norm(h, [0], v.g2, v.be2)), 0.3);
      const logits = tf.add(tf.matMul(h as TF.Tensor2D, v.W3 as TF.Tensor2D), v.b3);
      return tf.losses.softmaxCrossEntropy(labels, logits) as TF.Scalar;
    }, true);
    await loss?.data();
    tf.dispose([x, labels, loss as TF.Tensor]);
  };
  let t0 = 0;
  for (let s = 0; s < STEPS; s++) {
    if (s === WARMUP) t0 = performance.now();
    await step(s);
  }
  const dt = (performance.now() - t0) / 1000;
  const multithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  return {
    samplesPerSecond: ((STEPS - WARMUP) * B) / dt,
    threads: tf.wasm.getThreadsCount(),
    multithread,
  };
}

async function main(): Promise<void> {
  const ours = await layerwise();
  const theirs = await tfjs();
  const result = {
    threads,
    crossOriginIsolated: g.crossOriginIsolated === true,
    layerwise: ours,
    tfjs: theirs,
  };
  g.__bench = result;
  g.document.getElementById('out').textContent = JSON.stringify(result, null, 2);
}
main().catch((e: unknown) => {
  g.__bench = { error: e instanceof Error ? e.message : String(e) };
  g.document.getElementById('out').textContent = String(e);
});
