// bench/gemm.ts: float32 matrix products, GFLOP/s of layerwise's kernels beside tfjs-cpu.
import { reference } from '../src/kernels/index.js';
import { Tensor } from '../src/tensor/index.js';
import { timeMs, type BenchRow } from './common.js';
import { loadTf } from './tf.js';

export async function benchGemm(sizes: readonly number[] = [256, 512, 1024]): Promise<BenchRow[]> {
  const tf = await loadTf('cpu');
  const rows: BenchRow[] = [];
  for (const n of sizes) {
    const a = Tensor.randn([n, n], { seed: 1 }),
      b = Tensor.randn([n, n], { seed: 2 });
    const out = new Float32Array(n * n);
    const flops = 2 * n * n * n;
    const ref = await timeMs(() => reference.gemm(out, a.data, b.data, n, n, n), {
      reps: n >= 1024 ? 2 : 3,
    });
    const ta = tf.tensor2d(a.data as Float32Array, [n, n]),
      tb = tf.tensor2d(b.data as Float32Array, [n, n]);
    const tfCpu = await timeMs(() => tf.tidy(() => void tf.matMul(ta, tb).dataSync()), {
      reps: n >= 1024 ? 2 : 3,
    });
    ta.dispose();
    tb.dispose();
    rows.push({
      section: 'gemm',
      name: `f32 n=${n}`,
      unit: 'GFLOP/s',
      values: { 'tfjs-cpu': flops / tfCpu / 1e6, 'layerwise-reference': flops / ref / 1e6 },
      baseline: 'tfjs-cpu',
      higherIsBetter: true,
    });
  }
  return rows;
}
