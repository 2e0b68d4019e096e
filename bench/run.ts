// bench/run.ts: `npm run bench`. Runs every section against TensorFlow.js in this one process
// (and PyTorch in a child process, bench/torch.ts),
// prints ratios and writes bench/results/latest.json for later comparison.
import { fileURLToPath } from 'node:url';
import { machineName, printRows, writeJson, type BenchRow } from './common.js';
import { loadWasm } from '../src/kernels/wasm/index.js';
import { benchGemm } from './gemm.js';

const sections: Array<[string, () => Promise<BenchRow[]>]> = [
  ['gemm', () => benchGemm()],
  // -- issue 4: conv --
  ['conv', async () => (await import('./conv.js')).benchConv()],
  // -- issue 8: wasm gemm, conv, training steps --
  ['wasm', async () => (await import('./wasm.js')).benchWasm()],
  // -- issue 19: the same training steps, and the main job's, beside PyTorch (1 and 2 threads) --
  ['torch', async () => (await import('./torch.js')).benchTorch()],
  // -- issue 15: transposed conv (the DCGAN generator's layer) --
  ['convTranspose', async () => (await import('./convTranspose.js')).benchConvTranspose()],
  // -- issue 13: attention, ViT training step --
  ['attention', async () => (await import('./attention.js')).benchAttention()],
];

/** Which runtime and which build of the wasm kernels this run measures. */
function runtimeLine(): string {
  try {
    const { simd, threads, shared } = loadWasm().info;
    const build = simd === 'relaxed' ? 'relaxed-SIMD (fused multiply-add)' : 'plain SIMD (f32x4)';
    const memory = shared ? 'shared memory' : 'unshared memory';
    return `Node ${process.version}; wasm backend: ${build} build, ${threads} thread(s), ${memory}`;
  } catch (e) {
    return `Node ${process.version}; wasm backend: cannot load (${(e as Error).message})`;
  }
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  console.log(`layerwise bench on ${machineName()}`);
  console.log(runtimeLine());
  const rows: BenchRow[] = [];
  for (const [name, run] of sections) {
    if (only.length > 0 && !only.includes(name)) continue;
    const r = await run();
    printRows(r);
    rows.push(...r);
  }
  const out = fileURLToPath(new URL('../../bench/results/latest.json', import.meta.url));
  writeJson(out, rows);
  console.log(`results written to ${out}`);
}

await main();
