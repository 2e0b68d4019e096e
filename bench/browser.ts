// bench/browser.ts: `npm run bench:browser`: training samples/s of the default conv net in
// Chromium (the system browser, driven by playwright-core; CHROMIUM_PATH overrides
// /usr/bin/chromium), layerwise in a Worker vs TF.js's WebAssembly backend, on 1 and 2 threads,
// each pair measured in one page (bench/browser.html) served cross-origin isolated by
// examples/browser/serve.mjs. Prints a table with the ratios.
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type * as Serve from '../examples/browser/serve.mjs';

// serve.mjs stays in examples/ (tsc does not copy .mjs into dist/): found from the repository root
const { startServer } = (await import(
  new URL('../../examples/browser/serve.mjs', import.meta.url).href
)) as typeof Serve;

interface Result {
  threads: number;
  crossOriginIsolated: boolean;
  layerwise: { samplesPerSecond: number; threadsReady: number };
  tfjs: { samplesPerSecond: number; threads: number; multithread: unknown };
  error?: string;
}

/**
 * TF.js for the page: tfjs-core with its gradients (not in its UMD build) and the wasm backend,
 * bundled by esbuild into dist/bench/tf-bundle.js, which sets globalThis.tf.
 */
async function bundleTf(): Promise<void> {
  const esbuild = await import('esbuild');
  await esbuild.build({
    stdin: {
      contents: [
        "import * as core from '@tensorflow/tfjs-core';",
        "import '@tensorflow/tfjs-core/dist/register_all_gradients';",
        "import * as wasm from '@tensorflow/tfjs-backend-wasm';",
        'globalThis.tf = { ...core, wasm };',
      ].join('\n'),
      resolveDir: fileURLToPath(new URL('../../', import.meta.url)),
    },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    outfile: fileURLToPath(new URL('./tf-bundle.js', import.meta.url)),
    logLevel: 'error',
  });
}

await bundleTf();
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const { server, url } = await startServer({ isolated: true });
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
console.log(`Chromium ${browser.version()}, default conv net, batch 64, 35 timed steps after 5`);
console.log('threads  layerwise samples/s  TF.js wasm samples/s  layerwise / TF.js');
try {
  for (const threads of [1, 2]) {
    const page = await browser.newPage();
    await page.goto(`${url}/bench/browser.html?threads=${threads}`);
    await page.waitForFunction(() => (globalThis as { __bench?: unknown }).__bench, null, {
      timeout: 300_000,
    });
    const r = (await page.evaluate(() => (globalThis as { __bench?: unknown }).__bench)) as Result;
    if (r.error) throw new Error(`bench page: ${r.error}`);
    const ours = r.layerwise.samplesPerSecond,
      theirs = r.tfjs.samplesPerSecond;
    console.log(
      `${String(threads).padStart(7)}  ${ours.toFixed(0).padStart(19)}  ${theirs.toFixed(0).padStart(20)}  ${(ours / theirs).toFixed(2).padStart(17)}` +
        `   (threads running: layerwise ${r.layerwise.threadsReady}, TF.js ${r.tfjs.threads}, its threaded build ${r.tfjs.multithread ? 'available' : 'unavailable'})`,
    );
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
