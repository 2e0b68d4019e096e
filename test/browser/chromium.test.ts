// test/browser/chromium.test.ts: the demo page (examples/browser/) in a real Chromium, driven by
// playwright-core against the system browser (no browser download), served by serve.mjs on
// 127.0.0.1. Cross-origin isolated: the default conv net trains 2 epochs (226 iterations) in the
// Worker with 2 kernel threads while requestAnimationFrame keeps >= 30/s, its loss history equals
// a Node run with the same seed and kernels bit for bit, a drawn digit gets a prediction, and a
// screenshot is written to out/browser/. Without the isolation headers: one thread, a one-time
// notice, the same losses. Run with `npm run test:browser`; `npm test` skips it (rAF rates and
// a second browser do not mix with a parallel suite on 2 cores).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { startServer } from '../../examples/browser/serve.mjs';
import { resolveModelSpec } from '../../src/cli/modelSpec.js';
import { data, io, models, setBackend, Solver, vis } from '../../src/index.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ENABLED = process.env.LAYERWISE_BROWSER_TESTS === '1';
const OUT = fileURLToPath(new URL('../../out/browser/', import.meta.url));
const EPOCHS = 2;

/** What the page keeps in window.__demo (examples/browser/digits.ts: DemoState), as JSON. */
interface Demo {
  status: string;
  error: string | null;
  spec: { model: { type: string; options: Record<string, unknown> }; solver: object } | null;
  backend: {
    name: string;
    wasm: { simd: string; shared: boolean; threads: number } | null;
    threadsReady: number;
    crossOriginIsolated: boolean | null;
  } | null;
  crossOriginIsolated: boolean;
  losses: number[];
  valAcc: number[];
  frames: number[];
  trainingFrom: number;
  trainingTo: number;
  samplesPerSecond: number;
  testAccuracy: number | null;
  workerBeats: number[];
  modelDigest: string | null;
  prediction: { digit: number; probs: number[] } | null;
  saliency: { digit: number; input: number[]; map: number[]; max: number } | null;
}

const readDemo = (page: Page): Promise<Demo> =>
  page.evaluate(() =>
    JSON.parse(JSON.stringify((globalThis as unknown as { __demo: Demo }).__demo)),
  );

/** Opens the demo with `query`, waits until training and the test accuracy are done. */
async function trainPage(
  browser: Browser,
  isolated: boolean,
  query: string,
): Promise<{ page: Page; demo: Demo; console: string[]; close: () => Promise<void> }> {
  const { server, url } = await startServer({ isolated });
  const page = await browser.newPage({ viewport: { width: 1180, height: 1000 } });
  const console: string[] = [];
  page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console.push(`pageerror: ${e.message}`));
  await page.goto(`${url}/examples/browser/?${query}`);
  await page.waitForFunction(
    () =>
      ['done', 'error'].includes((globalThis as unknown as { __demo?: Demo }).__demo?.status ?? ''),
    null,
    { timeout: 150_000 },
  );
  const demo = await readDemo(page);
  expect(demo.error).toBeNull();
  const close = async () => {
    await page.close();
    await new Promise((resolve) => server.close(resolve));
  };
  return { page, demo, console, close };
}

/** The RGBA pixels of the canvas #id (its own pixels, whatever the device pixel ratio). */
function canvasPixels(page: Page, id: string): Promise<{ width: number; data: number[] }> {
  return page.evaluate((id) => {
    type C = {
      width: number;
      height: number;
      getContext(k: '2d'): { getImageData(...a: number[]): { data: Uint8ClampedArray } };
    };
    const doc = (globalThis as unknown as { document: { getElementById(id: string): C } }).document;
    const c = doc.getElementById(id);
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    return { width: c.width, data: Array.from(d) };
  }, id);
}

/**
 * The 28x28 cells of a saliency canvas read back as saliency / its largest value: the colour at
 * each cell's centre, matched to the nearest of 1,001 samples of vis.INFERNO.
 */
function saliencyCells(px: { width: number; data: number[] }): number[] {
  const samples = Array.from({ length: 1001 }, (_, i) => vis.INFERNO(i / 1000));
  const s = px.width / 28,
    out: number[] = [];
  for (let q = 0; q < 784; q++) {
    const x = Math.floor((q % 28) * s + s / 2),
      y = Math.floor(Math.floor(q / 28) * s + s / 2);
    const o = 4 * (y * px.width + x);
    let best = 0,
      bestD = Infinity;
    samples.forEach(([r, g, b], i) => {
      const d = (r - px.data[o]) ** 2 + (g - px.data[o + 1]) ** 2 + (b - px.data[o + 2]) ** 2;
      if (d < bestD) [best, bestD] = [i, d];
    });
    out.push(best / 1000);
  }
  return out;
}

/** requestAnimationFrame callbacks per second while the Worker trained. */
function frameRate(d: Demo): number {
  const during = d.frames.filter((t) => t >= d.trainingFrom && t <= d.trainingTo).length;
  return during / ((d.trainingTo - d.trainingFrom) / 1000);
}

/** FNV-1a as in examples/browser/digits.ts. */
function fnv1a(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** The same run in Node: the CLI's default net and options, wasm plain SIMD on 2 threads. */
function nodeRun(
  solverOptions: object,
  options: Record<string, unknown>,
): { losses: number[]; digest: string } {
  setBackend('wasm', { threads: 2, simd: 'simd' });
  const d = data.loadEmbeddedMnist();
  const model = new models.ThreeLayerConvNet(options as never);
  const solver = new Solver(
    model,
    { XTrain: d.XTrain, yTrain: d.yTrain, XVal: d.XVal, yVal: d.yVal },
    {
      ...(solverOptions as object),
      augment: (X, rng) => data.randomShift(X, rng, 2),
    },
  );
  solver.train();
  return { losses: solver.lossHistory, digest: fnv1a(io.encodeModel(model)) };
}

/**
 * Compares the browser's float64 losses with Node's: returns how many differ, and checks each
 * differing one is within 2 ulps (the float64 loss, -mean log p, goes through Math.log and
 * Math.exp, whose last bit differs between V8 builds; the float32 training does not).
 */
function lossDifferences(browser: readonly number[], node: readonly number[]): number {
  expect(browser).toHaveLength(node.length);
  let differ = 0;
  for (let i = 0; i < node.length; i++) {
    if (Object.is(browser[i], node[i])) continue;
    differ++;
    expect(Math.abs(browser[i] - node[i]), `loss ${i}`).toBeLessThanOrEqual(
      2 * Number.EPSILON * Math.abs(node[i]),
    );
  }
  return differ;
}

/**
 * The saliency view of the drawn digit: the page's map is for the predicted class, its label
 * says so, the canvas shows that map (read back through the colour map), it is not blank, and
 * most of it lies on the stroke. The map is gradient x input (as `layerwise visualize saliency`;
 * the plain gradient of this net is a speckle over the whole field, README "Saliency"), so it is
 * zero where the pixel is 0: the share on the pixels above 0.5 is what is checked.
 */
async function checkSaliency(page: Page, digit: number): Promise<void> {
  const { saliency: sal } = await readDemo(page);
  if (sal === null) throw new Error('the page drew no saliency map');
  expect(sal.digit).toBe(digit);
  expect(await page.locator('#saliency-label').textContent()).toMatch(
    new RegExp(`^saliency for class ${digit}:\\s`),
  );
  expect(sal.max).toBeGreaterThan(0);
  const cells = saliencyCells(await canvasPixels(page, 'saliency'));
  cells.forEach((v, q) =>
    expect(Math.abs(v - sal.map[q] / sal.max), `cell ${q}`).toBeLessThan(0.02),
  );
  expect(cells.filter((v) => v > 0.1).length).toBeGreaterThan(20); // not blank, not one dot
  let on = 0,
    off = 0,
    nOn = 0;
  sal.map.forEach((v, q) => (sal.input[q] > 0.5 ? ((on += v), nOn++) : (off += v)));
  const nOff = 784 - nOn;
  expect(on / (on + off)).toBeGreaterThan(0.6); // the drawn stroke, not the faint anti-aliased rim
  console.log(
    `saliency for class ${digit}: ${nOn} stroke pixels hold ${((100 * on) / (on + off)).toFixed(1)}% of the mass, ` +
      `mean ${(on / nOn / sal.max).toFixed(3)} vs ${(off / nOff / sal.max).toFixed(3)} elsewhere (of the max ${sal.max.toPrecision(3)})`,
  );
}

describe.runIf(ENABLED)('the demo page in Chromium (npm run test:browser)', () => {
  let browser: Browser;
  let node: { losses: number[]; digest: string } | null = null;
  let isolatedRun: Demo;
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `no Chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`,
      );
    }
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('trains the default conv net in a Worker on 2 kernel threads, the page drawing at >= 30 frames/s', async () => {
    const run = await trainPage(browser, true, `epochs=${EPOCHS}&threads=2&simd=simd`);
    const d = (isolatedRun = run.demo);
    expect(d.crossOriginIsolated).toBe(true);
    expect(d.backend).toEqual({
      name: 'wasm',
      wasm: { simd: 'simd', shared: true, threads: 2 },
      threadsReady: 2,
      crossOriginIsolated: true,
    });
    expect(d.workerBeats).toHaveLength(1);
    expect(d.workerBeats[0]).toBeGreaterThan(0); // the second thread ran kernel jobs
    expect(d.losses).toHaveLength(EPOCHS * 113);
    expect(d.valAcc[EPOCHS - 1]).toBeGreaterThan(0.9);
    expect(d.testAccuracy).toBeGreaterThan(0.9);
    const fps = frameRate(d);
    console.log(
      `chromium, isolated: ${d.losses.length} iterations in ${((d.trainingTo - d.trainingFrom) / 1000).toFixed(1)} s, ` +
        `${Math.round(d.samplesPerSecond)} samples/s, rAF ${fps.toFixed(1)}/s, val acc ${d.valAcc.join(', ')}, test acc ${d.testAccuracy}`,
    );
    expect(fps).toBeGreaterThanOrEqual(30);
    // the page trains what `layerwise train` trains
    const cli = resolveModelSpec('test', 'cnn', {
      inputShape: [1, 28, 28],
      numClasses: 10,
      seed: 0,
    });
    expect(d.spec?.model).toEqual(cli);

    // draw a "7" with the mouse: a bar and a stroke down to the left
    const box = await run.page.locator('#draw').boundingBox();
    if (box === null) throw new Error('no #draw canvas');
    const at = (x: number, y: number) => [box.x + x * box.width, box.y + y * box.height] as const;
    await run.page.mouse.move(...at(0.25, 0.2));
    await run.page.mouse.down();
    for (const [x, y] of [
      [0.5, 0.2],
      [0.75, 0.2],
      [0.65, 0.5],
      [0.5, 0.85],
    ] as const)
      await run.page.mouse.move(...at(x, y), { steps: 8 });
    await run.page.mouse.up();
    await run.page.waitForFunction(
      () => (globalThis as unknown as { __demo: Demo }).__demo.prediction,
    );
    const { prediction } = await readDemo(run.page);
    expect(prediction?.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    console.log(
      `drawn 7 -> predicted ${prediction?.digit}, p = ${prediction?.probs.map((p) => p.toFixed(3)).join(' ')}`,
    );
    expect(prediction?.digit).toBe(7);
    await checkSaliency(run.page, 7);
    mkdirSync(OUT, { recursive: true });
    await run.page.screenshot({ path: `${OUT}demo-isolated.png`, fullPage: true });
    expect(run.console.filter((m) => /^(error|pageerror)/.test(m))).toEqual([]);
    await run.close();
  });

  it('ends with the model of a Node run with the same seed and kernels, bit for bit', () => {
    expect(isolatedRun?.spec).not.toBeNull();
    const spec = isolatedRun.spec!;
    node = nodeRun(spec.solver, spec.model.options);
    expect(isolatedRun.modelDigest).toBe(node.digest); // every float32 param and buffer
    const differ = lossDifferences(isolatedRun.losses, node.losses);
    console.log(
      `loss history vs Node: ${node.losses.length - differ} of ${node.losses.length} bit-identical, ${differ} differ in the last bit (Math.log/exp)`,
    );
  });

  it('falls back to one thread without the isolation headers, says so once, and trains the same run', async () => {
    const run = await trainPage(browser, false, `epochs=${EPOCHS}&simd=simd`);
    const d = run.demo;
    expect(d.crossOriginIsolated).toBe(false);
    expect(d.backend?.wasm).toEqual({ simd: 'simd', shared: false, threads: 1 });
    expect(d.workerBeats).toEqual([]);
    const notices = run.console.filter((m) => m.includes('the wasm kernels run on one thread'));
    expect(notices).toEqual([
      'info: layerwise: the wasm kernels run on one thread: this page is not cross-origin isolated, so there is no SharedArrayBuffer (serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)',
    ]);
    expect(d.valAcc[EPOCHS - 1]).toBeGreaterThan(0.9);
    console.log(
      `chromium, not isolated: ${Math.round(d.samplesPerSecond)} samples/s, rAF ${frameRate(d).toFixed(1)}/s`,
    );
    // the unshared build does the same arithmetic on one thread: the same model again
    if (node !== null) {
      expect(d.modelDigest).toBe(node.digest);
      lossDifferences(d.losses, node.losses);
    }
    expect(d.losses).toEqual(isolatedRun.losses); // the same browser: the same bits
    await run.page.screenshot({ path: `${OUT}demo-not-isolated.png`, fullPage: true });
    await run.close();
  });
});

describe.skipIf(ENABLED)('the demo page in Chromium', () => {
  it.skip(
    existsSync(CHROMIUM)
      ? `runs with npm run test:browser (Chromium found at ${CHROMIUM})`
      : `needs Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH), then npm run test:browser`,
    () => {},
  );
});
