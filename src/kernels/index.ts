// src/kernels/index.ts: picks the backend. Layers call kernelsFor(dtype) and never import a
// backend; float64 (what gradient checks use) always lands on the reference.
import type { DType, Tensor } from '../tensor/index.js';
import { reference } from './reference/index.js';
import type { Kernels } from './types.js';
import { allocatorInstalled } from '../tensor/internal.js';
import { makeResidentOn, residentCopyOn, residentZerosOn } from './resident.js';
import { StepMemory, type StepMemoryOptions } from './stepMemory.js';
import { envSimd, loadWasm, reloadWasm, type WasmOptions } from './wasm/index.js';

export type { AdamHypers, Buf, ConvGeometry, GemmBatchedOpts, GemmOpts, Kernels } from './types.js';
export { reference } from './reference/index.js';
export { StepMemory, type StepMemoryOptions } from './stepMemory.js';
export type { WasmInfo, WasmKernels, WasmOptions } from './wasm/index.js';

export type BackendName = 'auto' | 'reference' | 'wasm';
const NAMES: readonly BackendName[] = ['auto', 'reference', 'wasm'];

/** The selected backend; null until first use, when LAYERWISE_BACKEND (default 'auto') decides. */
let preferred: Kernels | null = null;
let warned = false;

/** The kernels that run `dtype`: the selected backend when it supports it, else the reference. */
export function kernelsFor(dtype: DType): Kernels {
  const k = preferred ?? select(envBackend());
  return k.supports(dtype) ? k : reference;
}

/** The backend selected for float32 work. */
export function currentBackend(): Kernels {
  return preferred ?? select(envBackend());
}

/**
 * Selects a backend. 'wasm' forces the WebAssembly SIMD kernels and throws if this runtime
 * cannot load them; 'reference' forces the plain TypeScript kernels; 'auto' (the default) takes
 * the fastest that loads, falling back to the reference with a one-time console.warn.
 * `wasm` (options of 'wasm' and 'auto') makes a new wasm instance with at most `threads`
 * threads and/or the plain-SIMD build (`simd: 'simd'`), replacing the default one.
 */
export function setBackend(name: BackendName, wasm?: WasmOptions): Kernels {
  if (!NAMES.includes(name)) {
    throw new Error(`setBackend: unknown backend '${String(name)}' (known: ${NAMES.join(', ')})`);
  }
  return select(name, wasm);
}

function select(name: BackendName, wasm?: WasmOptions): Kernels {
  if (name === 'reference') return (preferred = reference);
  envSimd(); // a mistyped LAYERWISE_WASM_SIMD is an error, not a reason to fall back
  try {
    return (preferred = wasm === undefined ? loadWasm() : reloadWasm(wasm));
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (name === 'wasm')
      throw new Error(`setBackend: backend 'wasm' cannot load here: ${why}`, { cause: e });
    if (!warned) {
      warned = true;
      console.warn(
        `layerwise: the wasm kernels cannot load here (${why}); using the reference kernels`,
      );
    }
    return (preferred = reference);
  }
}

/** LAYERWISE_BACKEND from the environment (Node), else 'auto'. */
function envBackend(): BackendName {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env;
  const v = env?.LAYERWISE_BACKEND;
  if (v === undefined || v === '') return 'auto';
  if (!(NAMES as readonly string[]).includes(v)) {
    throw new Error(`LAYERWISE_BACKEND: unknown backend '${v}' (known: ${NAMES.join(', ')})`);
  }
  return v as BackendName;
}

/**
 * A StepMemory whose blocks come from the float32 backend selected when a block is needed (WASM
 * memory for the wasm backend, so its kernels work on the step's tensors in place).
 */
export function stepMemory(options: StepMemoryOptions = {}): StepMemory {
  return new StepMemory(currentBackend, options);
}

/** The switches of this module (setAutoStepMemory, setResidentParams), both on by default. */
const switches = { autoStepMemory: true, residentParams: true };

/** Sets one switch after checking the value; returns its previous setting. */
function setSwitch(fn: string, name: keyof typeof switches, enabled: boolean): boolean {
  if (typeof enabled !== 'boolean')
    throw new TypeError(`${fn}: enabled must be a boolean, got ${typeof enabled}`);
  const previous = switches[name];
  switches[name] = enabled;
  return previous;
}

/**
 * Whether a model's training call outside any StepMemory run uses the model's own
 * (inOwnStepMemory; default true). false gives every training call fresh arrays, valid for as
 * long as they are referenced, at the cost of the speed a step memory brings. Returns the
 * previous setting.
 */
export function setAutoStepMemory(enabled: boolean): boolean {
  return setSwitch('setAutoStepMemory', 'autoStepMemory', enabled);
}

/** The StepMemory of each model that trains in one of its own (inOwnStepMemory). */
const ownMemories = new WeakMap<object, StepMemory>();
/** Gives a collected model's blocks back to the backend. */
const releaseWhenCollected = new FinalizationRegistry<StepMemory>((mem) => mem.release());

/**
 * Runs fn, a training call of `owner` (a model's loss(X, y)), in the owner's own StepMemory,
 * made on its first use, when the owner declares reusesStepMemory (see nn/model.ts); inside a
 * StepMemory run already (the Solver's, or the caller's mem.run), fn simply runs in that one.
 * Such an owner's params are made resident first (makeResident; a no-op once they are). This is
 * what makes a plain user loop as fast as the Solver: the step allocates nothing after the
 * first and the wasm kernels work in place. The rule it brings: what one training call returns
 * (grads, caches) is valid until the next training call of the same model; clone a tensor to
 * keep it longer.
 */
export function inOwnStepMemory<T>(owner: object, fn: () => T): T {
  const declared = (owner as { reusesStepMemory?: unknown }).reusesStepMemory === true;
  if (declared) makeParamsResident(owner);
  if (!switches.autoStepMemory || !declared || allocatorInstalled()) return fn();
  let mem = ownMemories.get(owner);
  if (mem === undefined) {
    mem = stepMemory();
    ownMemories.set(owner, mem);
    releaseWhenCollected.register(owner, mem, owner);
  }
  return mem.run(fn);
}

/**
 * Gives back the memory of `owner`'s training calls (inOwnStepMemory) now, rather than when the
 * model is collected; what its last training call returned is then no longer valid.
 */
export function releaseStepMemory(owner: object): void {
  const mem = ownMemories.get(owner);
  if (mem === undefined) return;
  mem.release();
  ownMemories.delete(owner);
  releaseWhenCollected.unregister(owner);
}

/**
 * Whether training moves params and optimizer state into the backend's memory (makeResident,
 * residentZeros; default true), so that the wasm kernels use them in place instead of copying
 * them in and out on every call. false leaves them ordinary arrays (what is resident already
 * stays). Returns the previous setting.
 */
export function setResidentParams(enabled: boolean): boolean {
  return setSwitch('setResidentParams', 'residentParams', enabled);
}

/**
 * Moves each float32 tensor's storage into the memory of the float32 backend in use, when that
 * backend lends blocks of it (wasm with shared memory; otherwise nothing happens): its values
 * are copied and `tensor.data` becomes the new array, so read `.data` afresh afterwards. Tensors
 * already there are left alone, so calling it every step is cheap. The Solver and the built-in
 * models' training calls do it for their params. Returns how many tensors moved.
 */
export function makeResident(tensors: Iterable<Tensor>): number {
  return switches.residentParams ? makeResidentOn(currentBackend(), tensors) : 0;
}

/** n float32 zeros in the backend's memory when makeResident would move tensors there, else a plain array. */
export function residentZeros(n: number): Float32Array {
  return switches.residentParams ? residentZerosOn(currentBackend(), n) : new Float32Array(n);
}

/** `a` when it is in the backend's memory or makeResident would not move it, else a copy there. */
export function residentArray(a: Float32Array): Float32Array {
  return switches.residentParams ? residentCopyOn(currentBackend(), a) : a;
}

/** makeResident for owner.params, when it has a params record of tensors. */
function makeParamsResident(owner: object): void {
  const params = (owner as { params?: unknown }).params;
  if (typeof params === 'object' && params !== null)
    makeResident(Object.values(params as Record<string, Tensor>));
}
