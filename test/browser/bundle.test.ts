// test/browser/bundle.test.ts: the browser entry bundles for platform 'browser' without any
// Node builtin, and the bundle trains a network in a fresh vm context that has only what a
// browser page has (no process, require, Buffer, fs); 'auto' falls back where WebAssembly or
// SharedArrayBuffer is missing.
import { beforeAll, describe, expect, it } from 'vitest';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as vm from 'node:vm';

const root = fileURLToPath(new URL('../../', import.meta.url));
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

interface Metafile {
  inputs: Record<string, { imports: { path: string; kind: string; external?: boolean }[] }>;
  outputs: Record<string, { imports: { path: string }[] }>;
}

/** Bundles `entry` (relative to the repository root) for browsers; returns the code and metafile. */
async function bundle(
  entry: string,
  format: 'esm' | 'iife',
): Promise<{ code: string; metafile: Metafile }> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [entry],
    absWorkingDir: root,
    bundle: true,
    platform: 'browser',
    format,
    globalName: format === 'iife' ? '__layerwise' : undefined,
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return { code: result.outputFiles[0].text, metafile: result.metafile as Metafile };
}

interface Driver {
  trainSpirals(steps: number): string;
  gradchecks(): string;
  trySetBackend(name: string): string;
  codecs(): string;
}

/** What a page has; the library must not need more. */
function browserGlobals(warnings: string[]): Record<string, unknown> {
  const quiet = (): void => {};
  return {
    console: {
      log: quiet,
      info: quiet,
      debug: quiet,
      error: quiet,
      warn: (...a: unknown[]) => warnings.push(a.map(String).join(' ')),
    },
    TextEncoder,
    TextDecoder,
    atob,
    btoa,
    setTimeout,
    clearTimeout,
    queueMicrotask,
    performance: { now: () => performance.now() },
    crypto: {
      getRandomValues: (a: Uint8Array | Uint32Array) => globalThis.crypto.getRandomValues(a),
    },
  };
}

/** A fresh context with browser globals (minus `remove`), the driver bundle evaluated in it. */
function page(
  code: string,
  remove: string[] = [],
): { driver: Driver; warnings: string[]; context: vm.Context } {
  const warnings: string[] = [];
  const context = vm.createContext(browserGlobals(warnings));
  vm.runInContext('globalThis.window = globalThis.self = globalThis;', context);
  for (const name of remove) vm.runInContext(`delete globalThis.${name};`, context);
  vm.runInContext(code, context, { filename: 'layerwise-browser-driver.js' });
  return { driver: (context as { __layerwise: Driver }).__layerwise, warnings, context };
}

interface Training {
  backend: string;
  info: { simd: string; shared: boolean; threads: number } | null;
  losses: number[];
  trainAcc: number;
  testAcc: number;
}

const STEPS = 300;

describe('browser entry (src/browser.ts)', () => {
  let entry: { code: string; metafile: Metafile };
  let driverCode: string;
  beforeAll(async () => {
    entry = await bundle('src/browser.ts', 'esm');
    driverCode = (await bundle('test/browser/driver.ts', 'iife')).code;
  });

  it('bundles for platform browser with no Node builtin among its inputs or imports', () => {
    const inputs = Object.keys(entry.metafile.inputs);
    expect(inputs).toContain('src/browser.ts');
    expect(inputs.filter((p) => !p.startsWith('src/'))).toEqual([]);
    const records = Object.values(entry.metafile.inputs).flatMap((i) => i.imports);
    expect(
      records.filter((r) => r.external || builtins.has(r.path) || r.path.startsWith('node:')),
    ).toEqual([]);
    expect(Object.values(entry.metafile.outputs).flatMap((o) => o.imports)).toEqual([]);
    // The file access and the CLI stay out (they import node: builtins at load time); the codecs
    // come in; the Solver brings its checkpoint files, which reach node:fs only when called
    // (io/node.ts).
    expect(
      inputs.filter((p) =>
        /^src\/cli\/|^src\/(data|io)\/index\.ts$|^src\/io\/files\.ts$|^src\/data\/(mnist|files|\w+Files)\.ts$/.test(
          p,
        ),
      ),
    ).toEqual([]);
    for (const codec of ['io/png', 'io/zlib', 'io/plot', 'data/idx', 'data/npy', 'data/cifar10'])
      expect(inputs).toContain(`src/${codec}.ts`);
    expect(inputs).toContain('src/io/node.ts');
  });

  it('leaves in the code no require() and no node: specifier except the guarded thread probes', () => {
    const { code } = entry;
    expect(code).not.toMatch(/\brequire\s*\(/);
    expect(code).not.toMatch(/^\s*import\s/m);
    // The wasm kernels look up node:worker_threads / node:os (and node:v8 on Node 20, for the
    // relaxed-SIMD flag) through process.getBuiltinModule (absent in a browser) and embed a worker's source as a string; io/node.ts looks up node:fs
    // and node:path the same way when a file function runs; nothing else may name node:.
    const rest = code
      .replace(/getBuiltinModule\("node:[a-z0-9_/]+"\)/g, '')
      .replace(/builtin\(fn, "node:(fs|path)"\)/g, '')
      .replace(/`\s*import\('node:worker_threads'\)\.then/g, '');
    expect(rest.match(/.{0,60}node:.{0,40}/g) ?? []).toEqual([]);
  });

  it('exports the namespaces of the Node entry, with data and io lacking only their file access', async () => {
    const browser = await import('../../src/browser.js');
    const node = await import('../../src/index.js');
    expect(Object.keys(browser).sort()).toEqual(Object.keys(node).sort());
    for (const name of [
      'tensor',
      'kernels',
      'layers',
      'nn',
      'models',
      'optim',
      'gradcheck',
    ] as const)
      expect(browser[name], name).toBe(node[name]); // the same module objects, not copies
    const fileAccess = [
      'loadEmbeddedMnist',
      'EMBEDDED_MNIST_COUNTS',
      'readIdx',
      'loadMnistIdx',
      'findMnistIdxFiles',
      'loadCifar10',
      'readNpy',
      'loadNpyDataset',
      'writeFileAtomic',
      'removeStaleTempFiles',
      'writeSafetensors',
      'readSafetensors',
      'readPng',
      'writeNpy',
      'saveModel',
      'loadModelInto',
      'loadModel',
      'readModelInfo',
      'registerModel',
      'FORMAT_VERSION',
    ];
    const missing = [...Object.keys(node.data), ...Object.keys(node.io)].filter(
      (k) => !(k in browser.data) && !(k in browser.io),
    );
    expect(missing.sort()).toEqual([...fileAccess].sort());
    for (const k of Object.keys(browser.data))
      expect(browser.data[k as keyof typeof browser.data]).toBe(
        node.data[k as keyof typeof node.data],
      );
    for (const codec of ['parseIdx', 'parseNpy', 'npyToTensor', 'parseCifar10', 'splitValidation'])
      expect(typeof (browser.data as Record<string, unknown>)[codec], codec).toBe('function');
    for (const codec of [
      'encodeSafetensors',
      'decodeSafetensors',
      'encodePng',
      'decodePng',
      'linePlotPng',
      'imageGridPng',
    ])
      expect(typeof (browser.io as Record<string, unknown>)[codec], codec).toBe('function');
    // plumbing stays private in both entries
    for (const k of [
      'restoreModel',
      'modelTensors',
      'checkModelFits',
      'saveTrainingCheckpoint',
      'readTrainingCheckpoint',
    ])
      expect(k in node.io, k).toBe(false);
    expect('addL2' in node.nn).toBe(false);
  });

  it('runs the byte codecs in a context with no process, Buffer or fs: PNG, plots, safetensors, IDX, .npy, CIFAR-10', () => {
    const r = JSON.parse(page(driverCode).driver.codecs()) as Record<string, unknown>;
    expect(r).toEqual({
      png: { width: 3, height: 2, channels: 3, same: true },
      plot: { width: 160, height: 100, channels: 3 },
      safetensors: { shape: [2, 2], data: [1, 2, 3, 4], meta: 'yes' },
      idx: { dtype: 'uint8', shape: [2, 2], data: [1, 2, 3, 4] },
      npy: { dtype: 'float32', shape: [2], data: [0.5, -1] },
      cifar: { shape: [1, 3, 32, 32], label: 7 },
    });
  });

  it('trains the spirals net in a context with no process, require, Buffer or fs (wasm kernels, one thread)', () => {
    const { driver, warnings, context } = page(driverCode);
    expect(
      vm.runInContext(
        '[typeof process, typeof require, typeof Buffer, typeof fs, typeof module].join()',
        context,
      ),
    ).toBe('undefined,undefined,undefined,undefined,undefined');
    const run = JSON.parse(driver.trainSpirals(STEPS)) as Training;
    expect(run.backend).toBe('wasm');
    expect(run.info?.shared).toBe(true);
    expect(run.info?.threads).toBe(1); // workers need Node's worker_threads
    expect(run.losses).toHaveLength(STEPS);
    expect(run.losses[0]).toBeGreaterThan(1.0); // about ln 3 at the start
    expect(run.losses[STEPS - 1]).toBeLessThan(0.25 * run.losses[0]);
    expect(run.trainAcc).toBeGreaterThan(0.95);
    expect(run.testAcc).toBeGreaterThan(0.9);
    expect(warnings).toEqual([]);
  });

  it('runs the float64 gradient checks of the demo there', () => {
    const rows = JSON.parse(page(driverCode).driver.gradchecks()) as {
      layer: string;
      grad: string;
      relError: number;
      bound: number;
    }[];
    expect(rows.map((r) => `${r.layer} ${r.grad}`)).toEqual([
      'affine dx',
      'affine dw',
      'affine db',
      'relu dx',
      'softmax loss dx',
      'batch norm dx',
      'batch norm dgamma',
      'conv dx',
      'conv dw',
      'LSTM step dx',
      'LSTM step dWh',
    ]);
    for (const r of rows) expect(r.relError, `${r.layer} ${r.grad}`).toBeLessThan(r.bound);
  });

  it('uses the unshared wasm build where SharedArrayBuffer is missing (a page without cross-origin isolation)', () => {
    const { driver, warnings } = page(driverCode, ['SharedArrayBuffer']);
    const run = JSON.parse(driver.trainSpirals(50)) as Training;
    expect(run.backend).toBe('wasm');
    expect(run.info?.shared).toBe(false);
    expect(run.info?.threads).toBe(1);
    expect(run.losses[49]).toBeLessThan(run.losses[0]);
    expect(warnings).toEqual([]);
  });

  it("falls back to the reference kernels with one warning where WebAssembly is missing; 'wasm' then throws", () => {
    const { driver, warnings } = page(driverCode, ['WebAssembly']);
    const run = JSON.parse(driver.trainSpirals(STEPS)) as Training;
    expect(run.backend).toBe('reference');
    expect(run.info).toBeNull();
    expect(run.losses[STEPS - 1]).toBeLessThan(0.25 * run.losses[0]);
    expect(run.trainAcc).toBeGreaterThan(0.95);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^layerwise: the wasm kernels cannot load here \(.*WebAssembly is not available\); using the reference kernels$/,
    );
    expect(driver.trySetBackend('wasm')).toMatch(
      /^error: setBackend: backend 'wasm' cannot load here: /,
    );
    expect(driver.trySetBackend('reference')).toBe('reference');
  });
});
