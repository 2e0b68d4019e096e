// bench/sgemm.ts: layerwise's SGEMM on 1 and 2 threads with operands in WASM memory, as a training
// step's tensors are (StepMemory), so that no copy is timed.
import { createWasmKernels } from '../src/kernels/wasm/index.js';
import { Tensor } from '../src/tensor/index.js';
import { timeMs } from './common.js';

/** GFLOP/s at each n for 1 and 2 threads; simd: which build ran ('relaxed' or plain 'simd'). */
export async function residentSgemm(
  sizes: readonly number[],
  simd: 'auto' | 'simd',
): Promise<{ simd: string; gflops: Record<number, Record<string, number>> }> {
  const one = createWasmKernels({ threads: 1, simd }),
    two = createWasmKernels({ threads: 2, simd });
  two.warmUp();
  const gflops: Record<number, Record<string, number>> = {};
  for (const n of sizes) {
    gflops[n] = {};
    const a = Tensor.randn([n, n], { seed: 1 }).data,
      b = Tensor.randn([n, n], { seed: 2 }).data;
    for (const [label, k] of [
      ['1t', one],
      [`${two.info.threads}t`, two],
    ] as const) {
      const [ra, rb, out] = [
        k.residentBlock(n * n),
        k.residentBlock(n * n),
        k.residentBlock(n * n),
      ];
      if (!ra || !rb || !out)
        throw new Error('bench: this runtime gives no resident blocks (no shared memory)');
      ra.set(a);
      rb.set(b);
      const ms = await timeMs(() => k.gemm(out, ra, rb, n, n, n), {
        reps: n >= 1024 ? 5 : 9,
        stat: 'min',
      });
      gflops[n][label] = (2 * n ** 3) / ms / 1e6;
      for (const block of [ra, rb, out]) k.releaseBlock(block);
    }
  }
  two.close();
  one.close();
  return { simd: one.info.simd, gflops };
}
