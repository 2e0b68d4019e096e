// bench/relaxed.ts: the SGEMM rows with the relaxed-SIMD build (fused multiply-add), which Node 22+
// and current browsers run by default. On Node 20 bench/wasm.ts runs this file in a child process
// started with --experimental-wasm-relaxed-simd (the library itself never sets V8 flags). Prints
// one JSON object: { ceiling, sgemm: { n: { '1t', '2t' } } } in GFLOP/s; with the argument
// 'kernels', bench/kernels.ts's { simd, gflops: { '1t': { kernel: GFLOP/s }, '2t': ... } } instead.
import { ceilingGflops } from './ceiling.js';
import { residentKernels } from './kernels.js';
import { residentSgemm } from './sgemm.js';

if (process.argv[2] === 'kernels') {
  console.log(JSON.stringify(await residentKernels('auto')));
} else {
  const sizes = process.argv.slice(2).map(Number);
  const sgemm = await residentSgemm(sizes, 'auto');
  console.log(
    JSON.stringify({
      ceiling: await ceilingGflops('relaxed'),
      simd: sgemm.simd,
      sgemm: sgemm.gflops,
    }),
  );
}
