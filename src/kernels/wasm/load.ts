// src/kernels/wasm/load.ts: finds out what this runtime can run and loads the matching build of
// the AssemblyScript kernels (embedded by scripts/build-wasm.mjs in ./build/modules.ts)
// synchronously, over a memory of its own.
//
// SIMD: the relaxed-SIMD build (fused multiply-add: one instruction per multiply-add instead of
// two, so ~1.3x the GFLOP/s of plain f32x4 on the bench machine: 43.7 against 33.2 at the
// register tile's ceiling, bench/ceiling.ts) is used wherever the runtime validates it (feature
// detection by WebAssembly.validate), else the plain f32x4 build. Node 22+ and current browsers
// ship relaxed SIMD. Node 20's V8 (11.3) has it complete but behind the flag
// --experimental-wasm-relaxed-simd, which only makes the relaxed-SIMD instructions valid
// WebAssembly; there the backend sets that one flag (node:v8 setFlagsFromString) before it
// compiles its module, as the README says. LAYERWISE_WASM_SIMD=simd (or simd: 'simd') keeps the
// plain build and leaves V8's flags alone.
// Without shared memory (a browser page without cross-origin isolation) the unshared build runs.
import * as modules from './build/modules.js';
import { jobDigest } from './jobs.js';

/** The exports of assembly/index.ts (pointers are byte offsets into the memory). */
export interface Exports {
  /** Runs chunks of the job at `job` until none are left (see workers.ts). */
  runJob(job: number, scratch: number, counter: number, done: number): void;
  gemmScratchBytes(): number;
  jobDigest(): number;
  zero(ptr: number, bytes: number): void;
}

// The few WebAssembly JS API members used here (the project's lib has no DOM/WebAssembly types).
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
export type WasmModule = object;
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { readonly exports: object };
  Memory: new (desc: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

export const PAGE = 65536;
export const MAX_PAGES = 32768; // 2 GiB: pointers stay positive int32

/** The loaded module: its instance on this thread, and what the workers need to join it. */
export interface Loaded {
  readonly module: WasmModule;
  readonly memory: WasmMemory;
  readonly exports: Exports;
  /** 'relaxed' uses the relaxed-SIMD fused multiply-add; 'simd' plain f32x4 multiply and add. */
  readonly simd: 'relaxed' | 'simd';
  /** Whether the memory is a SharedArrayBuffer (needed for threads and resident blocks). */
  readonly shared: boolean;
}

/**
 * Loads the best build this runtime validates ('simd' forces the plain f32x4 one); throws if
 * there is no WebAssembly or no SIMD, or if the build is stale (made from another job table).
 */
export function loadModule(simd: 'auto' | 'simd' = 'auto'): Loaded {
  const wasm = wasmApi;
  if (!wasm) throw new Error('wasm backend: WebAssembly is not available');
  const shared = sharedMemoryWorks(wasm);
  const relaxedBytes = decode(modules.relaxed);
  const wantRelaxed = shared && simd !== 'simd' && envSimd() !== 'simd';
  const useRelaxed =
    wantRelaxed && (wasm.validate(relaxedBytes) || relaxedUnderFlag(wasm, relaxedBytes));
  const bytes = useRelaxed ? relaxedBytes : decode(shared ? modules.simd : modules.simdUnshared);
  if (!wasm.validate(bytes)) throw new Error('wasm backend: this runtime has no WebAssembly SIMD');
  const module = new wasm.Module(bytes);
  const memory = new wasm.Memory({ initial: 64, maximum: MAX_PAGES, shared });
  const exports = new wasm.Instance(module, { env: { memory } }).exports as unknown as Exports;
  if (exports.jobDigest() !== jobDigest()) {
    throw new Error(
      'wasm backend: build/modules.ts was built from another job table than src/kernels/wasm/jobs.ts (run npm run build:wasm)',
    );
  }
  return { module, memory, exports, simd: useRelaxed ? 'relaxed' : 'simd', shared };
}

/**
 * LAYERWISE_WASM_SIMD from the environment (Node): 'simd' asks for the plain build; default
 * 'auto'. An unknown value is an error (kernels/index.ts checks it before it may fall back).
 */
export function envSimd(): 'auto' | 'simd' {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env;
  const v = env?.LAYERWISE_WASM_SIMD;
  if (v === undefined || v === '' || v === 'auto') return 'auto';
  if (v === 'simd') return 'simd';
  throw new Error(`LAYERWISE_WASM_SIMD: unknown value '${v}' (known: auto, simd)`);
}

/** The V8 flag under which Node 20's V8 (11.x) validates relaxed SIMD. */
const RELAXED_SIMD_FLAG = '--experimental-wasm-relaxed-simd';

/**
 * On Node with V8 11 (Node 20), whose relaxed SIMD is implemented but flagged: sets
 * RELAXED_SIMD_FLAG and says whether `bytes` validates now. Elsewhere (browsers, other V8s,
 * where the flag is gone or means nothing) false, and nothing is touched.
 */
function relaxedUnderFlag(wasm: WasmApi, bytes: Uint8Array): boolean {
  const proc = (
    globalThis as {
      process?: { versions?: { v8?: string }; getBuiltinModule?: (id: string) => unknown };
    }
  ).process;
  if (!proc?.versions?.v8?.startsWith('11.') || typeof proc.getBuiltinModule !== 'function')
    return false;
  const v8 = proc.getBuiltinModule('node:v8') as
    { setFlagsFromString?: (flags: string) => void } | undefined;
  if (typeof v8?.setFlagsFromString !== 'function') return false;
  v8.setFlagsFromString(RELAXED_SIMD_FLAG);
  return wasm.validate(bytes);
}

/** Decodes base64 without Buffer, so that browsers and bundlers work too. */
function decode(b64: string): Uint8Array {
  const s = atob(b64),
    bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

function sharedMemoryWorks(wasm: WasmApi): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  try {
    return (
      new wasm.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer
    );
  } catch {
    return false;
  }
}

/** Whether this thread may block in Atomics.wait (Node's main thread may; a browser page's may not). */
export function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

export interface WorkerHandle {
  unref(): void;
  terminate(): Promise<number>;
  on(event: 'error' | 'exit', fn: (e: unknown) => void): void;
}
export type WorkerCtor = new (
  code: string,
  opts: { eval: true; workerData: unknown },
) => WorkerHandle;

/** node:worker_threads and the core count, if this is Node with process.getBuiltinModule (>= 20.16). */
export function nodeThreads(): { Worker: WorkerCtor; cores: number } | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== 'function') return null;
  const wt = proc.getBuiltinModule('node:worker_threads') as { Worker: WorkerCtor } | undefined;
  const os = proc.getBuiltinModule('node:os') as
    { availableParallelism?: () => number; cpus(): unknown[] } | undefined;
  if (!wt || !os) return null;
  return { Worker: wt.Worker, cores: os.availableParallelism?.() ?? os.cpus().length };
}
