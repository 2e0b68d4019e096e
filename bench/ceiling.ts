// bench/ceiling.ts: the machine's WASM SIMD multiply-add ceiling (bench/assembly/ceiling.ts,
// compiled here with the assemblyscript devDependency): the GFLOP/s of the library's register
// tile on data in L1, i.e. the most any gemm built on it can reach on one thread. On the bench
// machine plain f32x4 (a multiply and an add) tops out at ~33 GFLOP/s and the relaxed-SIMD
// fused multiply-add at ~42, whatever the blocking around it.
import { fileURLToPath } from 'node:url';
import { loadWasm } from '../src/kernels/wasm/index.js';

/** The compiler's entry (imported by a computed name: its typings redeclare globals such as console). */
interface Asc {
  main(
    argv: string[],
    options: { writeFile(name: string, contents: Uint8Array | string): void },
  ): Promise<{ error: Error | null; stderr: { toString(): string } }>;
}
const ASC_MODULE = 'assemblyscript/asc';

export type SimdBuild = 'simd' | 'relaxed';

// The WebAssembly JS API members used here (the project's lib has no DOM/WebAssembly types).
const wasm = (
  globalThis as unknown as {
    WebAssembly: {
      validate(bytes: Uint8Array): boolean;
      Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
      Module: new (bytes: Uint8Array) => object;
      Instance: new (m: object, imports: object) => { exports: object };
    };
  }
).WebAssembly;

async function compile(build: SimdBuild): Promise<Uint8Array> {
  const source = fileURLToPath(new URL('../../bench/assembly/ceiling.ts', import.meta.url));
  const asc = ((await import(ASC_MODULE)) as { default: Asc }).default;
  let binary: Uint8Array | null = null;
  const { error, stderr } = await asc.main(
    [
      source,
      '-O3',
      '--runtime',
      'stub',
      '--noAssert',
      '--use',
      'abort=',
      '--importMemory',
      '--enable',
      'simd',
      ...(build === 'relaxed' ? ['--enable', 'relaxed-simd'] : []),
      '--outFile',
      'ceiling.wasm',
    ],
    {
      writeFile: (_name, contents) => {
        if (contents instanceof Uint8Array) binary = contents;
      },
    },
  );
  if (error || !binary) throw new Error(`bench/ceiling: asc failed: ${stderr.toString()}`);
  return binary;
}

/**
 * GFLOP/s of the 4x8 register tile on one thread (best of 15), or null when this runtime does not
 * validate the build (relaxed SIMD where the wasm backend does not run it: LAYERWISE_WASM_SIMD=simd
 * on Node 20, whose V8 takes it only once the backend has set its flag; see kernels/wasm/load.ts).
 */
export async function ceilingGflops(build: SimdBuild): Promise<number | null> {
  loadWasm(); // on Node 20 this is what sets V8's relaxed-SIMD flag
  const bytes = await compile(build);
  if (!wasm.validate(bytes)) return null;
  const memory = new wasm.Memory({ initial: 1 });
  const { tile } = new wasm.Instance(new wasm.Module(bytes), { env: { memory } }).exports as {
    tile(Ap: number, Bp: number, kc: number, C: number): void;
  };
  const f = new Float32Array(memory.buffer);
  for (let i = 0; i < 12 * 256; i++) f[1024 + i] = Math.random();
  const kc = 256,
    calls = 20000; // panels of 4 KiB + 8 KiB at 4096 and 8192: in L1
  // V8 tiers a WASM function up to its optimising compiler (in the background) after enough calls
  for (let i = 0; i < 5000; i++) tile(4096, 8192, kc, 0);
  await new Promise((resolve) => setTimeout(resolve, 200));
  let best = 0;
  for (let r = 0; r < 15; r++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) tile(4096, 8192, kc, 0);
    best = Math.max(best, (64 * kc * calls) / (performance.now() - t0) / 1e6);
  }
  return best;
}
