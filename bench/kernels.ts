// bench/kernels.ts: where a CNN training step's time goes on the wasm backend. (1) The GFLOP/s
// of the kernels that do its arithmetic, side by side with operands in WASM memory (as a step's
// tensors are, in StepMemory): the gemm of the first affine layer (64 x 6272 x 100), and the
// direct convolution forward and weight gradient of the first layer (64x1x28x28 * 32x5x5, pad 2),
// on 1 and 2 threads; the ratio to the gemm says how close the conv kernels are to its efficiency.
// (2) The thread share of a step: the 1- and 2-thread step rates, and how the 2-thread step's
// wall time splits into the calling thread's jobs, its waiting for the worker, and the worker's
// jobs (the rest of the calling thread's time is JavaScript and copies, which run on it alone).
import { setBackend, stepMemory, currentBackend } from '../src/kernels/index.js';
import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/index.js';
import { ThreeLayerConvNet, type ThreeLayerConvNetOptions } from '../src/models/index.js';
import { sgd } from '../src/optim/index.js';
import { Tensor } from '../src/tensor/index.js';
import { timeMs, type BenchRow } from './common.js';

const N = 64;

/** GFLOP/s of gemm, conv forward and conv dW per thread count ('1t', '2t'); simd: the build that ran. */
export async function residentKernels(
  simd: 'auto' | 'simd',
): Promise<{ simd: string; gflops: Record<string, Record<string, number>> }> {
  const gflops: Record<string, Record<string, number>> = {};
  let build = '';
  for (const threads of [1, 2]) {
    const k = createWasmKernels({ threads, simd });
    k.warmUp();
    build = k.info.simd;
    gflops[`${k.info.threads}t`] = await kernelRates(k);
    k.close();
  }
  return { simd: build, gflops };
}

/** A resident block of n floats holding seeded normals. */
function block(k: WasmKernels, n: number, seed: number): Float32Array {
  const b = k.residentBlock(n);
  if (!b) throw new Error('bench: this runtime gives no resident blocks (no shared memory)');
  b.set(Tensor.randn([n], { seed }).data as Float32Array);
  return b;
}

/** The three kernels' GFLOP/s on k (best of 9 runs each, the least disturbed on a shared machine). */
async function kernelRates(k: WasmKernels): Promise<Record<string, number>> {
  const [C, H, W, F, HH, pad] = [1, 28, 28, 32, 5, 2],
    P = H * W,
    K = C * HH * HH,
    D = F * 14 * 14,
    hidden = 100;
  const x = block(k, N * C * H * W, 1),
    w = block(k, F * K, 2),
    b = block(k, F, 3);
  const out = block(k, N * F * P, 4),
    dout = block(k, N * F * P, 5),
    dw = block(k, F * K, 6),
    db = block(k, F, 7);
  const a = block(k, N * D, 8),
    w2 = block(k, D * hidden, 9),
    h = block(k, N * hidden, 10);
  const opts = { reps: 9, stat: 'min' as const };
  const convFlops = 2 * N * F * P * K;
  const rates = {
    [`gemm ${N}x${D}x${hidden}`]:
      (2 * N * D * hidden) / (await timeMs(() => k.gemm(h, a, w2, N, D, hidden), opts)) / 1e6,
    'conv fwd 32x5x5':
      convFlops /
      (await timeMs(() => k.convDirect(out, x, w, b, N, C, H, W, F, HH, HH, pad), opts)) /
      1e6,
    'conv dW 32x5x5':
      convFlops /
      (await timeMs(
        () => k.convDirectWeightGrad(dw, db, dout, x, N, C, H, W, F, HH, HH, pad),
        opts,
      )) /
      1e6,
  };
  for (const blk of [x, w, b, out, dout, dw, db, a, w2, h]) k.releaseBlock(blk);
  return rates;
}

type KernelRun = { simd: string; gflops: Record<string, Record<string, number>> };

/**
 * The kernel rows of the build this runtime picks and, when that is the relaxed-SIMD one (as in
 * Node and current browsers), of the plain f32x4 build beside it.
 */
export async function benchKernels(): Promise<BenchRow[]> {
  const runs: KernelRun[] = [await residentKernels('auto')];
  if (runs[0].simd === 'relaxed') runs.push(await residentKernels('simd'));
  return kernelRows(runs);
}

/** The kernel rows: one per build and thread count, the kernels side by side (ratios to the gemm). */
function kernelRows(runs: readonly KernelRun[]): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const { simd, gflops } of runs) {
    for (const [threads, values] of Object.entries(gflops)) {
      rows.push({
        section: 'wasm',
        name: `kernels GFLOP/s, resident, ${threads} (${simd})`,
        unit: 'GFLOP/s',
        values,
        baseline: Object.keys(values)[0],
        higherIsBetter: true,
      });
    }
  }
  return rows;
}

/** The bench CNN (bench/wasm.ts) and the main job's network (`layerwise train` defaults, cli/modelSpec.ts). */
const NETS: ReadonlyArray<[string, ThreeLayerConvNetOptions]> = [
  [
    'CNN 32c5-pool-100-10',
    {
      inputDim: [1, 28, 28],
      numFilters: 32,
      filterSize: 5,
      hiddenDim: 100,
      weightScale: 0.01,
      seed: 1,
    },
  ],
  [
    'main job CNN 16c5-bn-pool-100-bn-drop-10',
    {
      inputDim: [1, 28, 28],
      numFilters: 16,
      filterSize: 5,
      hiddenDim: 100,
      weightScale: 0.05,
      normalization: 'batchnorm',
      dropout: 0.3,
      seed: 1,
    },
  ],
];

/**
 * Per network: samples/s of a training step (loss and gradients in step memory, then SGD) on 1
 * and 2 threads, measured in alternating rounds (a shared machine's load changes slowly), and the
 * 2-thread step's thread share (percent of its wall time).
 */
export async function benchThreadShare(): Promise<BenchRow[]> {
  const X = Tensor.randn([N, 1, 28, 28], { seed: 6 });
  const y = Array.from({ length: N }, (_, i) => (i * 7) % 10);
  const rows: BenchRow[] = [];
  for (const [label, options] of NETS) {
    const best: Record<number, number> = {};
    let share: Record<string, number> = {};
    for (let round = 0; round < 3; round++) {
      for (const threads of [1, 2]) {
        setBackend('wasm', { threads });
        const k = currentBackend() as WasmKernels;
        k.warmUp();
        const model = new ThreeLayerConvNet(options),
          mem = stepMemory();
        const step = (): void => {
          const { grads } = mem.run(() => model.loss(X, y));
          for (const key of Object.keys(model.params))
            sgd(model.params[key], grads[key], { learningRate: 1e-3 });
        };
        const t0 = k.busyTimes(),
          w0 = performance.now();
        const ms = await timeMs(step, { warmup: 2, reps: 10, minMs: 500 });
        const wall = performance.now() - w0,
          t1 = k.busyTimes();
        if (ms < (best[threads] ?? Infinity)) {
          best[threads] = ms;
          if (threads === 2) share = shareOf(t0, t1, wall);
        }
        mem.release();
      }
    }
    setBackend('auto');
    const rate = (ms: number): number => (N * 1000) / ms;
    rows.push(
      {
        section: 'wasm',
        name: `train step ${label} b64, 1 vs 2 threads`,
        unit: 'samples/s',
        values: { 'layerwise-wasm-1t': rate(best[1]), 'layerwise-wasm-2t': rate(best[2]) },
        baseline: 'layerwise-wasm-1t',
        higherIsBetter: true,
      },
      {
        section: 'wasm',
        name: `train step ${label} b64, 2-thread share of the step`,
        unit: '% of wall',
        values: share,
        baseline: 'worker-in-jobs',
        higherIsBetter: true,
        ratios: false,
      },
    );
  }
  return rows;
}

type Busy = ReturnType<WasmKernels['busyTimes']>;

/** Percent of `wall` ms each thread spent in jobs (and the calling thread waiting), between two readings. */
function shareOf(t0: Busy, t1: Busy, wall: number): Record<string, number> {
  const pct = (ms: number): number => (100 * ms) / wall;
  const main = t1.alone - t0.alone + (t1.shared - t0.shared);
  const values: Record<string, number> = {
    'worker-in-jobs': pct((t1.workers[0] ?? 0) - (t0.workers[0] ?? 0)),
    'main-in-jobs': pct(main),
    'main-waiting': pct(t1.waiting - t0.waiting),
  };
  values['main-outside-jobs'] = 100 - values['main-in-jobs'] - values['main-waiting'];
  return values;
}
