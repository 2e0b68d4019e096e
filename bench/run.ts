// bench/run.ts: `npm run bench`. Runs every section against TensorFlow.js in this one process,
// prints ratios and writes bench/results/latest.json for later comparison.
import { fileURLToPath } from 'node:url';
import { machineName, printRows, writeJson, type BenchRow } from './common.js';
import { benchGemm } from './gemm.js';

const sections: Array<[string, () => Promise<BenchRow[]>]> = [
  ['gemm', () => benchGemm()],
  // -- issue 4: conv --
  ['conv', async () => (await import('./conv.js')).benchConv()],
  // -- issue 8: wasm gemm, conv, training steps --
  ['wasm', async () => (await import('./wasm.js')).benchWasm()],
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  console.log(`layerwise bench on ${machineName()}`);
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
