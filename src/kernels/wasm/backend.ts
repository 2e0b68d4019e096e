// src/kernels/wasm/backend.ts: the Kernels of the WASM backend, one method per entry of the job
// table (jobs.ts), all run the same way (run): check the operands (float32, long enough) and the
// scratch, place them in WASM memory (arena.ts), run the job on the calling thread or split
// across the workers (workers.ts), and copy staged outputs back. float64 stays on the reference.
import { DTypeError, ShapeError, type DType } from '../../tensor/index.js';
import type { Buf, Kernels } from '../types.js';
import { Arena, align, RESERVED } from './arena.js';
import { convDirectScratch, JOB_IDS, JOB_NAMES, JOBS, type JobName } from './jobs.js';
import { threadsPay, type Operand, type Plan } from './plan.js';
import { loadModule, type Loaded } from './load.js';
import { MAX_WORKERS, threadApiFor, WorkerPool, type BusyTimes } from './workers.js';

/** How the backend was loaded, for reports and the bench. */
export interface WasmInfo {
  /** 'relaxed' uses the relaxed-SIMD fused multiply-add; 'simd' plain f32x4 multiply and add. */
  readonly simd: 'relaxed' | 'simd';
  /** Whether the memory is a SharedArrayBuffer (needed for threads). */
  readonly shared: boolean;
  /** Threads a large product is split over, the calling thread included (1 = no workers). */
  readonly threads: number;
}

/** Options of createWasmKernels. */
export interface WasmOptions {
  /** At most this many threads, the calling one included (default: every core). */
  readonly threads?: number;
  /**
   * 'simd' forces the plain f32x4 build; 'auto' (default) takes relaxed SIMD where it validates
   * (on Node 20 after setting V8's flag for it, see load.ts), unless LAYERWISE_WASM_SIMD=simd.
   */
  readonly simd?: 'auto' | 'simd';
  /** A worker without a heartbeat for this long mid-product counts as dead (default 10 s). */
  readonly workerTimeoutMs?: number;
}

/** The wasm backend: the Kernels, plus how it loaded, a way to start its workers early, and to stop them. */
export interface WasmKernels extends Kernels {
  readonly info: WasmInfo;
  /** Bytes copied into and out of WASM memory so far (operands that were not resident; see StepMemory). */
  readonly copiedBytes: number;
  /** Bytes of WASM memory this instance holds (it grows, never shrinks; released blocks are reused). */
  readonly memoryBytes: number;
  residentBlock(length: number): Float32Array | null;
  releaseBlock(block: Float32Array): void;
  isResident(buf: Buf): boolean;
  /** Starts the workers now and waits (at most timeoutMs) until they are ready; returns the thread count. */
  warmUp(timeoutMs?: number): number;
  /** Starts the workers if need be and returns the threads ready now (calling one included); never blocks. */
  readyThreads(): number;
  /** Per worker, its heartbeat count: above 0 once it has run a job. */
  workerBeats(): number[];
  /** Where each thread's time went so far (cumulative ms): the bench's thread-share line. */
  busyTimes(): BusyTimes;
  close(): void;
}

/** Everything of the backend but the job methods, which createWasmKernels adds from the table. */
class WasmBackend {
  readonly name = 'wasm';
  private readonly loaded: Loaded;
  private readonly scratchBytes: number;
  private readonly arena: Arena;
  private readonly pool: WorkerPool;

  constructor(opts: WasmOptions) {
    this.loaded = loadModule(opts.simd);
    const { exports, memory, shared } = this.loaded;
    this.scratchBytes = align(exports.gemmScratchBytes());
    const threadApi = threadApiFor(shared);
    const cores = threadApi?.cores ?? 1;
    const threads = Math.max(1, Math.min(opts.threads ?? cores, cores, MAX_WORKERS + 1));
    const top = RESERVED + this.scratchBytes * threads;
    this.arena = new Arena(memory, shared, top, (ptr, bytes) => exports.zero(ptr, bytes));
    const timeoutMs = opts.workerTimeoutMs ?? 10_000;
    this.pool = new WorkerPool(this.loaded, threadApi, threads, this.scratchBytes, timeoutMs);
  }

  get info(): WasmInfo {
    return { simd: this.loaded.simd, shared: this.loaded.shared, threads: this.pool.threads };
  }

  get copiedBytes(): number {
    return this.arena.copiedBytes;
  }

  get memoryBytes(): number {
    return this.loaded.memory.buffer.byteLength;
  }

  supports(dtype: DType): boolean {
    return dtype === 'float32';
  }

  /**
   * Runs kernel `name` of the job table on `args` (the Kernels method's arguments). A job whose
   * outputs are all empty has nothing to write and does not run.
   */
  run(name: JobName, args: readonly unknown[]): void {
    const plan = (JOBS[name].plan as (...a: readonly unknown[]) => Plan)(...args);
    checkOperands(name, plan.operands);
    if (plan.scratch && plan.scratch.bytes > this.scratchBytes)
      throw new ShapeError(`wasm.${name}: ${plan.scratch.reason}`);
    if (plan.operands.every((op) => op.role === 'in' || op.n === 0)) return;
    const placed = this.arena.place(plan.operands);
    const { total, unit = 1, chunksPerThread } = plan.split;
    const ints = [...placed.ptrs, ...(plan.ints ?? [])],
      floats = plan.floats ?? [];
    const job = {
      id: JOB_IDS[name],
      total,
      unit,
      chunksPerThread,
      ints,
      floats,
      inPlace: plan.inPlace,
    };
    this.pool.run(job, threadsPay(plan.split));
    this.arena.finish(placed);
  }

  /** Whether convDirect's padded image (plus its float64 sums) fits this backend's per-thread scratch. */
  convDirectFits(C: number, H: number, W: number, pad: number): boolean {
    return convDirectScratch(C, H, W, pad) <= this.scratchBytes;
  }

  residentBlock(length: number): Float32Array | null {
    return this.arena.residentBlock(length);
  }

  releaseBlock(block: Float32Array): void {
    this.arena.releaseBlock(block);
  }

  isResident(buf: Buf): boolean {
    return this.arena.residentPtr(buf) >= 0;
  }

  warmUp(timeoutMs?: number): number {
    return this.pool.warmUp(timeoutMs);
  }

  readyThreads(): number {
    return this.pool.readyThreads();
  }

  workerBeats(): number[] {
    return this.pool.beats();
  }

  busyTimes(): BusyTimes {
    return this.pool.busyTimes();
  }

  /** Stops the workers; later products run on the calling thread only. */
  close(): void {
    this.pool.close();
  }
}

/** Float32 operands must be Float32Arrays and float64 ones Float64Arrays, each long enough for the call. */
function checkOperands(fn: string, ops: readonly Operand[]): void {
  for (const { buf, f64 } of ops) {
    if (!(buf instanceof (f64 ? Float64Array : Float32Array))) {
      const want = f64 ? 'takes a Float64Array there' : 'runs float32 only';
      throw new DTypeError(`wasm.${fn}: the wasm backend ${want}, got a ${buf.constructor.name}`);
    }
  }
  for (const { name, buf, n } of ops) {
    if (buf.length < n)
      throw new ShapeError(`wasm.${fn}: ${name} has ${buf.length} elements but needs ${n}`);
  }
}

type JobMethods = Pick<Kernels, JobName>;

/** The Kernels methods of the job table, each a call of backend.run. */
function jobMethods(backend: WasmBackend): JobMethods {
  const methods: Partial<Record<JobName, (...args: unknown[]) => void>> = {};
  for (const name of JOB_NAMES) methods[name] = (...args) => backend.run(name, args);
  return methods as JobMethods;
}

/**
 * A backend instance with its own memory and at most `threads` threads (the default instance
 * is loadWasm's; the bench and the tests make others); close() stops its workers.
 */
export function createWasmKernels(opts: WasmOptions = {}): WasmKernels {
  const backend = new WasmBackend(opts);
  return Object.assign(backend, jobMethods(backend));
}
