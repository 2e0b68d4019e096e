// test/kernels/backend.test.ts: backend selection (setBackend, LAYERWISE_BACKEND, auto with
// fallback) and that the worker threads of the WASM backend never keep a process alive.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  currentBackend,
  kernelsFor,
  reference,
  setBackend,
  type BackendName,
} from '../../src/kernels/index.js';

describe('setBackend', () => {
  afterAll(() => setBackend('auto'));

  it("'auto' picks the wasm backend here (Node has WebAssembly SIMD)", () => {
    expect(setBackend('auto').name).toBe('wasm');
    expect(kernelsFor('float32').name).toBe('wasm');
    expect(currentBackend().name).toBe('wasm');
  });

  it('float64 always runs the reference kernels', () => {
    setBackend('wasm');
    expect(kernelsFor('float64')).toBe(reference);
    expect(kernelsFor('float32').name).toBe('wasm');
  });

  it("'reference' forces the reference kernels for float32 too", () => {
    setBackend('reference');
    expect(kernelsFor('float32')).toBe(reference);
    expect(currentBackend()).toBe(reference);
  });

  it('rejects an unknown name', () => {
    expect(() => setBackend('gpu' as BackendName)).toThrow(
      "setBackend: unknown backend 'gpu' (known: auto, reference, wasm)",
    );
  });
});

// These run a fresh node on the built library (dist/, made by `npm run build`, which `npm ci`
// runs through the prepare script).
const root = fileURLToPath(new URL('../../', import.meta.url));
const built = `${root}dist/src/index.js`;
const major = Number(process.versions.node.split('.')[0]);

function runNode(
  code: string,
  env: Record<string, string> = {},
  flags: string[] = [],
): { status: number | null; stdout: string; stderr: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', code], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

describe('the built library in a fresh process', () => {
  it('is built', () => {
    expect(existsSync(built), `${built} is missing: run npm run build`).toBe(true);
  });

  it("exits promptly after a large threaded gemm (workers are unref'd)", () => {
    const code = `
      import { kernelsFor } from ${JSON.stringify(`${root}dist/src/kernels/index.js`)};
      const k = kernelsFor('float32'), n = 384;
      const a = new Float32Array(n * n).fill(1), b = new Float32Array(n * n).fill(2), out = new Float32Array(n * n);
      k.warmUp?.();
      for (let r = 0; r < 3; r++) k.gemm(out, a, b, n, n, n);
      console.log(k.name, k.info.threads, out[0], out[n * n - 1]);
    `;
    const r = runNode(code);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^wasm \d+ 768 768$/);
    expect(r.ms).toBeLessThan(5000); // a leaked worker would hold the process until the 20 s timeout
  });

  it('LAYERWISE_BACKEND=reference selects the reference; an unknown value is an error', () => {
    const code = `
      import { kernelsFor } from ${JSON.stringify(`${root}dist/src/kernels/index.js`)};
      try { console.log(kernelsFor('float32').name); } catch (e) { console.log(e.message); }
    `;
    expect(runNode(code, { LAYERWISE_BACKEND: 'reference' }).stdout.trim()).toBe('reference');
    expect(runNode(code, { LAYERWISE_BACKEND: 'wasm' }).stdout.trim()).toBe('wasm');
    expect(runNode(code, { LAYERWISE_BACKEND: 'fast' }).stdout.trim()).toBe(
      "LAYERWISE_BACKEND: unknown backend 'fast' (known: auto, reference, wasm)",
    );
  });

  it('the relaxed-SIMD build (fused multiply-add) agrees with the reference where the runtime has it (gemm, direct conv)', () => {
    const code = `
      import { loadWasm } from ${JSON.stringify(`${root}dist/src/kernels/wasm/index.js`)};
      import { reference } from ${JSON.stringify(`${root}dist/src/kernels/index.js`)};
      const k = loadWasm();
      let worst = 0, seed = 1;
      const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
      for (const [M, K, N] of [[5, 300, 17], [65, 129, 63], [130, 257, 200]]) {
        for (const transA of [false, true]) for (const transB of [false, true]) {
          const a = Float32Array.from({ length: M * K }, rnd), b = Float32Array.from({ length: K * N }, rnd);
          const got = new Float32Array(M * N), want = new Float32Array(M * N);
          k.gemm(got, a, b, M, K, N, { transA, transB });
          reference.gemm(want, a, b, M, K, N, { transA, transB });
          for (let i = 0; i < M * N; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (Math.sqrt(K) + Math.abs(want[i])));
        }
      }
      // the direct convolution's register tiles (forward and weight gradient), odd sizes
      for (const [N, C, H, W, F, HH, WW, pad] of [[3, 1, 28, 28, 7, 5, 5, 2], [2, 3, 9, 11, 5, 3, 3, 1], [2, 2, 6, 5, 3, 2, 2, 0]]) {
        const Hout = H + 2 * pad - HH + 1, Wout = W + 2 * pad - WW + 1, K = C * HH * WW, P = N * Hout * Wout;
        const x = Float32Array.from({ length: N * C * H * W }, rnd), w = Float32Array.from({ length: F * K }, rnd);
        const b = Float32Array.from({ length: F }, rnd), dout = Float32Array.from({ length: N * F * Hout * Wout }, rnd);
        const got = new Float32Array(N * F * Hout * Wout), want = new Float32Array(got.length);
        k.convDirect(got, x, w, b, N, C, H, W, F, HH, WW, pad);
        reference.convDirect(want, x, w, b, N, C, H, W, F, HH, WW, pad);
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (Math.sqrt(K) + Math.abs(want[i])));
        const dw = new Float32Array(F * K), db = new Float32Array(F), dwR = new Float32Array(F * K), dbR = new Float32Array(F);
        k.convDirectWeightGrad(dw, db, dout, x, N, C, H, W, F, HH, WW, pad);
        reference.convDirectWeightGrad(dwR, dbR, dout, x, N, C, H, W, F, HH, WW, pad);
        for (let i = 0; i < dw.length; i++) worst = Math.max(worst, Math.abs(dw[i] - dwR[i]) / (Math.sqrt(P) + Math.abs(dwR[i])));
        for (let i = 0; i < db.length; i++) worst = Math.max(worst, Math.abs(db[i] - dbR[i]) / (Math.sqrt(P) + Math.abs(dbR[i])));
      }
      console.log(k.info.simd, worst < 1e-5 ? 'agrees' : 'differs by ' + worst);
    `;
    const r = runNode(code); // relaxed by itself: shipped on Node 22+, V8's flag set on Node 20
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('relaxed agrees');
  });

  it(`picks the relaxed-SIMD build by itself (here Node ${major}, V8 ${process.versions.v8}); LAYERWISE_WASM_SIMD=simd keeps the plain one and V8's flags`, () => {
    // relaxedValid: whether the relaxed build validates in this process after loading
    const code = `
      import { loadWasm } from ${JSON.stringify(`${root}dist/src/kernels/wasm/index.js`)};
      import * as modules from ${JSON.stringify(`${root}dist/src/kernels/wasm/build/modules.js`)};
      const info = loadWasm().info;
      const relaxedValid = WebAssembly.validate(Buffer.from(modules.relaxed, 'base64'));
      console.log(info.simd, relaxedValid);
    `;
    const auto = runNode(code);
    expect(auto.stderr).toBe('');
    expect(auto.stdout.trim()).toBe('relaxed true');
    const plain = runNode(code, { LAYERWISE_WASM_SIMD: 'simd' });
    expect(plain.stderr).toBe('');
    // Node 20 (V8 11) validates relaxed SIMD only under the flag, which stays unset here
    expect(plain.stdout.trim()).toBe(`simd ${!process.versions.v8.startsWith('11.')}`);
    const typo = runNode(
      `${code.replace('const info = loadWasm().info;', 'try { loadWasm(); } catch (e) { console.log(e.message); process.exit(0); }')}`,
      { LAYERWISE_WASM_SIMD: 'fast' },
    );
    expect(typo.stdout.trim()).toBe(
      "LAYERWISE_WASM_SIMD: unknown value 'fast' (known: auto, simd)",
    );
    // through the default selection too: an error, not a fall-back to the reference kernels
    const viaAuto = runNode(
      `import { kernelsFor } from ${JSON.stringify(`${root}dist/src/kernels/index.js`)};
      try { console.log(kernelsFor('float32').name); } catch (e) { console.log(e.message); }`,
      { LAYERWISE_WASM_SIMD: 'fast' },
    );
    expect(viaAuto.stdout.trim()).toBe(
      "LAYERWISE_WASM_SIMD: unknown value 'fast' (known: auto, simd)",
    );
    expect(viaAuto.stderr).toBe('');
  });

  it("without WebAssembly, 'auto' falls back with one notice and a forced 'wasm' throws", () => {
    const code = `
      globalThis.WebAssembly = undefined;
      const { kernelsFor, setBackend } = await import(${JSON.stringify(`${root}dist/src/kernels/index.js`)});
      console.log(kernelsFor('float32').name, setBackend('auto').name);
      try { setBackend('wasm'); } catch (e) { console.log(e.message); }
    `;
    const r = runNode(code);
    expect(r.stdout.trim().split('\n')).toEqual([
      'reference reference',
      "setBackend: backend 'wasm' cannot load here: wasm backend: WebAssembly is not available",
    ]);
    expect(r.stderr.trim().split('\n')).toEqual([
      'layerwise: the wasm kernels cannot load here (wasm backend: WebAssembly is not available); using the reference kernels',
    ]);
  });
});
