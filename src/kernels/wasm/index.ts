// src/kernels/wasm/index.ts: the WASM SIMD backend (float32): AssemblyScript kernels on worker
// threads that share its memory. float64 stays on the reference kernels. The files, one job each:
//   jobs.ts      the table of every kernel job: operands, arguments, how it splits across threads
//   plan.ts      what a job's plan is, and when a job is worth splitting across the threads
//   backend.ts   the Kernels methods, derived from the table, and the one path every call takes
//   load.ts      feature detection (relaxed SIMD, shared memory, threads) and loading the module
//   arena.ts     the memory map, resident blocks, and staging of operands that are not resident
//   workers.ts   the worker pool: chunked jobs, spin-then-sleep, heartbeat and timeout
//   assembly/    the AssemblyScript kernels, one file per family, and the dispatcher (index.ts);
//                assembly/jobs.ts (ids and dispatch) is generated from jobs.ts by the build
//   build/       the compiled modules, embedded as base64 by scripts/build-wasm.mjs
import { createWasmKernels, type WasmKernels, type WasmOptions } from './backend.js';

export { createWasmKernels, type WasmInfo, type WasmKernels, type WasmOptions } from './backend.js';
export { envSimd } from './load.js';
export { THREAD_MIN_WORK } from './plan.js';
export type { BusyTimes } from './workers.js';

let instance: WasmKernels | null = null;

/**
 * The WASM backend, loaded (synchronously) on first use; throws if this runtime cannot run it
 * (no WebAssembly or no SIMD). Threads: in Node (>= 20.16, for process.getBuiltinModule) large
 * jobs use every core; in a browser page the main thread may not block in Atomics.wait, so
 * jobs run on one thread there.
 */
export function loadWasm(): WasmKernels {
  instance ??= createWasmKernels();
  return instance;
}

/**
 * Replaces the default instance by a new one made with `opts` (e.g. { threads: 1 }, or
 * { simd: 'simd' } to reproduce a run of a runtime without relaxed SIMD); the old one's workers
 * stop. Tensors in the old instance's memory (StepMemory blocks) must not be used with the new one.
 */
export function reloadWasm(opts: WasmOptions): WasmKernels {
  const next = createWasmKernels(opts);
  instance?.close();
  instance = next;
  return instance;
}
