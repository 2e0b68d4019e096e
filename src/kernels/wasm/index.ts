// src/kernels/wasm/index.ts: the WASM SIMD backend (float32). Loads the AssemblyScript kernels
// (./assembly/kernels.ts, embedded by scripts/build-wasm.mjs in ./build/modules.ts) synchronously,
// and splits large matrix products across worker threads that share its memory. float64 stays on
// the reference kernels.
//
// Where operands live: a Float32Array that is a view of this backend's memory (a block lent by
// residentBlock, which StepMemory hands out as the storage of a training step's tensors) is used
// in place. Any other operand is copied into a staging area inside WASM memory and, if written,
// back. Blocks are never freed behind the caller's back (JS has no destructors, and freeing on
// garbage collection would be unsafe: a subarray keeps the memory alive but not the parent view);
// they come back only through releaseBlock. Copies cost O(MK + KN + MN) beside O(MNK) work (6% of a
// 128³ product, under 1% from 512³; bench/wasm.ts measures it) but dominate the elementwise kernels.
//
// SIMD: the relaxed-SIMD build (fused multiply-add: one instruction per multiply-add instead of
// two, so ~1.3x the GFLOP/s of plain f32x4 on the bench machine: 43.7 against 33.2 at the
// register tile's ceiling, bench/ceiling.ts) is used wherever the runtime validates it (feature
// detection by WebAssembly.validate), else the plain f32x4 build. Node 22+
// and current browsers ship relaxed SIMD; Node 20-21 have it only when started with V8's
// --experimental-wasm-relaxed-simd (a library does not flip V8 flags behind its user's back).
// createWasmKernels({ simd: 'simd' }) forces the plain build.
//
// Threads: Node (>= 20.16, for process.getBuiltinModule) starts one worker per extra core on the
// first large job: a product of THREAD_MIN_WORK multiply-adds or more, or a memory-bound kernel
// (relu, pooling, im2col/col2im, batch norm's sweeps) that moves PARALLEL_MIN_BYTES or more. A
// job is cut into chunks of its outer unit that the threads take from a shared counter (runJob
// in kernels.ts); each chunk writes only its own part, so the split never changes a result.
// Threads spin SPIN_MS before they sleep. A worker that dies or hangs mid-job cannot hang the
// caller: the waiting thread watches each worker's heartbeat (a counter bumped per packed block
// of gemm and per chunk of the other kernels) and, after workerTimeoutMs without one, stops the
// workers, warns once and redoes the job on the calling thread. In a browser page the main thread
// may not block in Atomics.wait, so jobs run on the calling thread there (and without
// cross-origin isolation the memory is not shared either: the unshared build is used).
import { DTypeError, ShapeError, type DType } from '../../tensor/index.js';
import type { AdamHypers, Buf, ConvGeometry, GemmOpts, Kernels } from '../types.js';
import * as modules from './build/modules.js';

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
  /** 'simd' forces the plain f32x4 build; 'auto' (default) takes relaxed SIMD where it validates. */
  readonly simd?: 'auto' | 'simd';
  /** A worker without a heartbeat for this long mid-product counts as dead (default 10 s). */
  readonly workerTimeoutMs?: number;
}

/** The wasm backend: the Kernels, plus how it loaded, a way to start its workers early, and to stop them. */
export interface WasmKernels extends Kernels {
  readonly info: WasmInfo;
  /** Bytes copied into and out of WASM memory so far (operands that were not resident; see StepMemory). */
  readonly copiedBytes: number;
  residentBlock(length: number): Float32Array | null;
  releaseBlock(block: Float32Array): void;
  /** Starts the workers now and waits (at most timeoutMs) until they are ready; returns the thread count. */
  warmUp(timeoutMs?: number): number;
  close(): void;
}

/** The exports of kernels.ts (pointers are byte offsets into the memory). */
interface Exports {
  gemmScratchBytes(): number;
  gemm(
    out: number,
    a: number,
    b: number,
    M: number,
    K: number,
    N: number,
    rsA: number,
    csA: number,
    rsB: number,
    csB: number,
    ldc: number,
    scratch: number,
  ): void;
  runJob(job: number, scratch: number, counter: number): void;
  addRowVector(x: number, v: number, M: number, N: number): void;
  sumRows(out: number, x: number, M: number, N: number): void;
  reluForward(out: number, x: number, lo: number, hi: number): void;
  reluBackward(dx: number, dout: number, x: number, lo: number, hi: number): void;
  sgdStep(w: number, dw: number, lo: number, hi: number, lr: number, wd: number): void;
  adamStep(
    w: number,
    dw: number,
    m: number,
    v: number,
    lo: number,
    hi: number,
    beta1: number,
    beta2: number,
    stepSize: number,
    invBc2Sqrt: number,
    eps: number,
    l2: number,
  ): void;
  zero(ptr: number, bytes: number): void;
}

// The few WebAssembly JS API members used here (the project's lib has no DOM/WebAssembly types).
interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
type WasmModule = object;
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { readonly exports: object };
  Memory: new (desc: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

const PAGE = 65536;
const MAX_PAGES = 32768; // 2 GiB: pointers stay positive int32
const RESERVED = PAGE; // below this: AssemblyScript's own (static) area, and the thread control block
const JOB = 1024; // byte offset of the shared job (int32 slots, see runJob in kernels.ts)
const SLOTS = JOB + 256; // then per worker SLOT_BYTES: int32 0 go generation, 1 done generation, 2 error, 3 ready, 4 heartbeat
const SLOT_BYTES = 32;
const MAX_WORKERS = 15;
const CHUNKS_PER_THREAD = 3;
/**
 * How long a thread spins on a shared flag before it sleeps in Atomics.wait (ms): measured on the
 * bench machine, 0.1 ms makes a batch-norm CNN step ~8% faster than sleeping at once.
 */
const SPIN_MS = 0.1;
/** Kernels other than gemm that move fewer bytes than this run on the calling thread. */
const PARALLEL_MIN_BYTES = 1 << 20;
// The kernels of a job (runJob in kernels.ts).
const JOB_GEMM_ROWS = 0,
  JOB_GEMM_COLS = 1,
  JOB_RELU_FWD = 2,
  JOB_RELU_BWD = 3,
  JOB_IM2COL = 4,
  JOB_COL2IM = 5;
const JOB_SWAP = 6,
  JOB_POOL_FWD = 7,
  JOB_POOL_BWD = 8,
  JOB_MOMENTS = 9,
  JOB_DOTS = 10,
  JOB_NORMALIZE = 11;
const JOB_COMBINE = 12,
  JOB_CONV_DIRECT = 13,
  JOB_CONV_DW = 14;

/** One job for runJob: the kernel, its range of units (split at multiples of `unit`) and its integer arguments. */
interface Job {
  readonly kind: number;
  readonly total: number;
  readonly unit: number;
  readonly ints: readonly number[];
}

/**
 * Products with fewer multiply-adds than this (M·N·K) stay on the calling thread: below it the
 * wake-up of a worker and the second packing of b cost more than half of the work saves.
 * Measured on the 2-core Xeon of the bench (square n: 2 threads lose at 96, tie at 128, win by
 * 1.3x at 192 and 1.7x at 256).
 */
export const THREAD_MIN_WORK = 128 * 128 * 128;

/** Decodes base64 without Buffer, so that browsers and bundlers work too. */
function decode(b64: string): Uint8Array {
  const s = atob(b64),
    bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

/** Whether this runtime validates the relaxed-SIMD build (feature detection, no flags set). */
function relaxedSimdWorks(wasm: WasmApi, bytes: Uint8Array): boolean {
  return wasm.validate(bytes);
}

function sharedMemoryWorks(): boolean {
  if (typeof SharedArrayBuffer === 'undefined' || !wasmApi) return false;
  try {
    return (
      new wasmApi!.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof
      SharedArrayBuffer
    );
  } catch {
    return false;
  }
}

/** Whether this thread may block in Atomics.wait (Node's main thread may; a browser page's may not). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

interface WorkerHandle {
  unref(): void;
  terminate(): Promise<number>;
  on(event: 'error' | 'exit', fn: (e: unknown) => void): void;
}
type WorkerCtor = new (code: string, opts: { eval: true; workerData: unknown }) => WorkerHandle;

/** node:worker_threads and the core count, if this is Node with process.getBuiltinModule (>= 20.16). */
function nodeThreads(): { Worker: WorkerCtor; cores: number } | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== 'function') return null;
  const wt = proc.getBuiltinModule('node:worker_threads') as { Worker: WorkerCtor } | undefined;
  const os = proc.getBuiltinModule('node:os') as
    { availableParallelism?: () => number; cpus(): unknown[] } | undefined;
  if (!wt || !os) return null;
  return { Worker: wt.Worker, cores: os.availableParallelism?.() ?? os.cpus().length };
}

// The worker: instantiates the same module over the same memory, then loops: wait for a new
// generation in its go slot, take chunks of the shared job (runJob) until none are left,
// publish the generation as done. Written with import() so that it runs as a CommonJS script and
// as a module alike (workers inherit execArgv, e.g. --input-type=module).
const WORKER_SOURCE = `
import('node:worker_threads').then(({ workerData }) => {
  const { module, memory, slots, scratch } = workerData;
  const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const c = new Int32Array(memory.buffer, slots, 5);
  let seen = Atomics.load(c, 0); // read before announcing ready, so no generation is missed
  Atomics.store(c, 3, 1);
  for (;;) {
    // spin briefly before sleeping: a training step sends jobs back to back, and a futex
    // wake-up costs tens of microseconds (OpenMP runtimes spin likewise)
    const spinUntil = performance.now() + ${SPIN_MS};
    while (Atomics.load(c, 0) === seen && performance.now() < spinUntil);
    Atomics.wait(c, 0, seen);
    seen = Atomics.load(c, 0);
    Atomics.add(c, 4, 1);
    try {
      ex.runJob(${JOB}, scratch, slots + 16);
    } catch (e) {
      Atomics.store(c, 2, 1);
    }
    Atomics.store(c, 1, seen);
    Atomics.notify(c, 1);
  }
});
`;

class WasmBackend implements WasmKernels {
  readonly name = 'wasm';
  info: WasmInfo;
  private readonly ex: Exports;
  private readonly memory: WasmMemory;
  private readonly module: WasmModule;
  private readonly scratchBytes: number;
  private f32: Float32Array;
  /** End of the memory handed out so far (bytes): staging areas and resident blocks lie below it. */
  private top: number;
  /** Where operands that are not resident are copied for one kernel call. */
  private staging = { base: 0, bytes: 0 };
  /** Regions given back (released blocks, outgrown staging areas), reused first-fit. */
  private readonly free: Array<{ base: number; bytes: number }> = [];
  /** Every ArrayBuffer object that views this memory (shared memory gives a new one per growth). */
  private readonly residentBuffers = new WeakSet<object>();
  copiedBytes = 0;
  private maxThreads: number;
  private readonly threadApi: { Worker: WorkerCtor; cores: number } | null;
  private workersStarted = false;
  private workers: WorkerHandle[] = [];
  private generation = 0;
  private readonly workerTimeoutMs: number;

  constructor(opts: WasmOptions = {}) {
    const wasm = wasmApi;
    if (!wasm) throw new Error('wasm backend: WebAssembly is not available');
    const shared = sharedMemoryWorks();
    const relaxedBytes = decode(modules.relaxed);
    const useRelaxed = shared && opts.simd !== 'simd' && relaxedSimdWorks(wasm, relaxedBytes);
    this.workerTimeoutMs = opts.workerTimeoutMs ?? 10_000;
    const bytes = useRelaxed ? relaxedBytes : decode(shared ? modules.simd : modules.simdUnshared);
    if (!wasm.validate(bytes))
      throw new Error('wasm backend: this runtime has no WebAssembly SIMD');
    this.module = new wasm.Module(bytes);
    this.memory = new wasm.Memory({ initial: 64, maximum: MAX_PAGES, shared });
    this.ex = new wasm.Instance(this.module, { env: { memory: this.memory } })
      .exports as unknown as Exports;
    this.scratchBytes = align(this.ex.gemmScratchBytes());
    this.threadApi = shared && canBlock() ? nodeThreads() : null;
    const cores = this.threadApi?.cores ?? 1;
    this.maxThreads = Math.max(1, Math.min(opts.threads ?? cores, cores, MAX_WORKERS + 1));
    this.top = RESERVED + this.scratchBytes * this.maxThreads;
    this.f32 = new Float32Array(0);
    this.grow(this.top);
    this.info = { simd: useRelaxed ? 'relaxed' : 'simd', shared, threads: this.maxThreads };
  }

  supports(dtype: DType): boolean {
    return dtype === 'float32';
  }

  /** Grows the memory to at least `bytes` and refreshes the view (growth gives a new, longer buffer). */
  private grow(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) {
      const pages = Math.ceil((bytes - have) / PAGE);
      if (have / PAGE + pages > MAX_PAGES) {
        throw new RangeError(
          `wasm backend: needs ${bytes} bytes of WASM memory, more than the ${MAX_PAGES * PAGE} allowed`,
        );
      }
      this.memory.grow(pages);
    }
    if (this.f32.buffer !== this.memory.buffer) {
      this.f32 = new Float32Array(this.memory.buffer);
      this.residentBuffers.add(this.memory.buffer);
    }
  }

  /** A region of `bytes` (64-byte aligned): the front of a free one that fits, else new memory at the top. */
  private region(bytes: number): number {
    bytes = align(bytes);
    const i = this.free.findIndex((r) => r.bytes >= bytes);
    if (i >= 0) {
      const r = this.free.splice(i, 1)[0];
      if (r.bytes > bytes) this.free.push({ base: r.base + bytes, bytes: r.bytes - bytes }); // the rest stays free
      return r.base;
    }
    this.grow(this.top + bytes);
    const base = this.top;
    this.top += bytes;
    return base;
  }

  /**
   * A zeroed block of `length` float32s in WASM memory, which the kernels use in place (see
   * StepMemory). Only with shared memory: growing unshared memory detaches every view of it.
   * null when the memory is full (the caller then uses an ordinary array).
   */
  residentBlock(length: number): Float32Array | null {
    if (!this.info.shared) return null;
    try {
      const base = this.region(length * 4);
      // After a growth, V8 may replace memory.buffer by a new object (same memory) at any later
      // interrupt, so every object a block is made on is recorded here, not only those grow() saw.
      const buffer = this.memory.buffer;
      this.residentBuffers.add(buffer);
      const block = new Float32Array(buffer, base, length);
      this.ex.zero(base, block.byteLength);
      return block;
    } catch (e) {
      if (e instanceof RangeError) return null;
      throw e;
    }
  }

  releaseBlock(block: Float32Array): void {
    if (this.residentPtr(block) < 0)
      throw new Error('wasm.releaseBlock: the block is not the memory of this backend');
    this.free.push({ base: block.byteOffset, bytes: align(block.byteLength) });
  }

  /** The byte address of buf when it lies in this memory (a resident block or a view of one), else −1. */
  private residentPtr(buf: Buf): number {
    if (!(buf instanceof Float32Array)) return -1;
    if (this.residentBuffers.has(buf.buffer)) return buf.byteOffset;
    if (buf.buffer !== this.memory.buffer) return -1;
    this.residentBuffers.add(buf.buffer); // a view made on memory.buffer by the caller
    return buf.byteOffset;
  }

  /**
   * Addresses of one call's operands: resident ones in place, the others copied into the staging
   * area ('in' and 'inout' are copied in). An output that overlaps another operand is staged too:
   * the kernels read their inputs while they write. finish() copies staged outputs back.
   */
  private place(ops: readonly Operand[]): Placed {
    const ptrs = ops.map((op) => this.residentPtr(op.buf));
    const staged = ptrs.map(
      (p, i) => p < 0 || (ops[i].role !== 'in' && overlapsAnother(ops, ptrs, i)),
    );
    let bytes = 0;
    for (let i = 0; i < ops.length; i++) if (staged[i]) bytes += align(byteLength(ops[i]));
    if (bytes > this.staging.bytes) {
      if (this.staging.bytes > 0) this.free.push(this.staging);
      const want = Math.max(bytes, 2 * this.staging.bytes);
      this.staging = { base: this.region(want), bytes: align(want) };
    }
    let off = this.staging.base;
    for (let i = 0; i < ops.length; i++) {
      if (!staged[i]) continue;
      ptrs[i] = off;
      off += align(byteLength(ops[i]));
      const { buf, n, role } = ops[i];
      if (role === 'out') continue;
      this.view(buf, ptrs[i], n).set(n === buf.length ? buf : buf.subarray(0, n));
      this.copiedBytes += byteLength(ops[i]);
    }
    return { ops, ptrs, staged };
  }

  /** A view of n elements at byte address ptr, of buf's element type. */
  private view(buf: Buf, ptr: number, n: number): Buf {
    return buf instanceof Float32Array
      ? this.f32.subarray(ptr >> 2, (ptr >> 2) + n)
      : new Float64Array(this.memory.buffer, ptr, n);
  }

  /** Copies the staged outputs of a call back to their buffers. */
  private finish({ ops, ptrs, staged }: Placed): void {
    for (let i = 0; i < ops.length; i++) {
      if (!staged[i] || ops[i].role === 'in') continue;
      ops[i].buf.set(this.view(ops[i].buf, ptrs[i], ops[i].n));
      this.copiedBytes += byteLength(ops[i]);
    }
  }

  gemm(out: Buf, a: Buf, b: Buf, M: number, K: number, N: number, opts: GemmOpts = {}): void {
    f32Only('gemm', out, a, b);
    fits('gemm', 'out', out, M * N);
    fits('gemm', 'a', a, M * K);
    fits('gemm', 'b', b, K * N);
    if (M === 0 || N === 0) return;
    const placed = this.place([
      { buf: a, n: M * K, role: 'in' },
      { buf: b, n: K * N, role: 'in' },
      { buf: out, n: M * N, role: 'out' },
    ]);
    const [pa, pb, pout] = placed.ptrs;
    // op(a)[i, k] = a[i·rsA + k·csA], op(b)[k, j] = b[k·rsB + j·csB] (element strides)
    const rsA = opts.transA ? 1 : K,
      csA = opts.transA ? M : 1;
    const rsB = opts.transB ? 1 : N,
      csB = opts.transB ? K : 1;
    const workers = M * N * K >= THREAD_MIN_WORK ? this.readyWorkers() : 0;
    const byRows = M >= N,
      total = byRows ? M : N,
      unit = byRows ? 4 : 8; // chunks of whole micro-tiles
    const job: Job = {
      kind: byRows ? JOB_GEMM_ROWS : JOB_GEMM_COLS,
      total,
      unit,
      ints: [pout, pa, pb, M, K, N, rsA, csA, rsB, csB, N],
    };
    if (workers === 0 || !this.runShared(workers, job)) {
      this.ex.gemm(pout, pa, pb, M, K, N, rsA, csA, rsB, csB, N, RESERVED);
    }
    this.finish(placed);
  }

  /**
   * Runs one job (a product, or another kernel over its unit range: see runJob in kernels.ts) on
   * this thread and `workers` workers: the range is cut into chunks of whole units that the
   * threads take from a shared counter; then this thread blocks (Atomics.wait) until every worker
   * it woke has finished. Returns false when a worker stopped beating mid-job: the workers are
   * then stopped and the caller redoes the job alone (every job overwrites its outputs, so the
   * partial result does no harm; terminate() stops a hung worker's WebAssembly at its next loop
   * iteration, long before the redo is done).
   */
  private runShared(workers: number, { kind, total, unit, ints }: Job): boolean {
    const T = workers + 1;
    const chunk = Math.max(unit, Math.ceil(total / (CHUNKS_PER_THREAD * T) / unit) * unit);
    this.i32(JOB, 5 + ints.length).set([0, Math.ceil(total / chunk), kind, chunk, total, ...ints]);
    const gen = ++this.generation;
    for (let w = 0; w < workers; w++) {
      const slot = this.slot(w);
      Atomics.store(slot, 0, gen);
      Atomics.notify(slot, 0);
    }
    this.ex.runJob(JOB, RESERVED, 0);
    let failed = false;
    for (let w = 0; w < workers; w++) {
      const slot = this.slot(w);
      if (!this.awaitWorker(slot, gen)) {
        this.workerDied(w);
        return false;
      }
      if (Atomics.exchange(slot, 2, 0) !== 0) failed = true;
    }
    if (failed) throw new Error('wasm backend: a kernel worker failed');
    return true;
  }

  /**
   * Runs a kernel job: split across the workers when it moves at least PARALLEL_MIN_BYTES (the
   * memory-bound kernels run at one core's bandwidth each, and both cores' add up), else (or
   * when a worker died) in one chunk on this thread.
   */
  private runKernel(job: Job, bytes: number): void {
    const workers = bytes >= PARALLEL_MIN_BYTES && job.total > job.unit ? this.readyWorkers() : 0;
    if (workers > 0 && this.runShared(workers, job)) return;
    this.i32(JOB, 5 + job.ints.length).set([
      0,
      1,
      job.kind,
      Math.max(job.total, 1),
      job.total,
      ...job.ints,
    ]);
    this.ex.runJob(JOB, RESERVED, 0);
  }

  /** Waits until the worker publishes generation gen; false after workerTimeoutMs without a heartbeat. */
  private awaitWorker(slot: Int32Array, gen: number): boolean {
    const spinUntil = performance.now() + SPIN_MS; // the worker is usually done within microseconds
    while (Atomics.load(slot, 1) !== gen && performance.now() < spinUntil);
    let beat = Atomics.load(slot, 4),
      last = Date.now();
    for (let done = Atomics.load(slot, 1); done !== gen; done = Atomics.load(slot, 1)) {
      Atomics.wait(slot, 1, done, 20);
      const now = Date.now(),
        b = Atomics.load(slot, 4);
      if (b !== beat) {
        beat = b;
        last = now;
      } else if (now - last > this.workerTimeoutMs) {
        return false;
      }
    }
    return true;
  }

  /** A worker stopped beating mid-product: stop them all (later products run here) and say so once. */
  private workerDied(w: number): void {
    this.close();
    console.warn(
      `wasm backend: gemm worker ${w + 1} made no progress for ${this.workerTimeoutMs} ms (it died or hung); ` +
        'the workers are stopped and products now run on the calling thread',
    );
  }

  /** Worker w's int32 control slots (see SLOTS). */
  private slot(w: number): Int32Array {
    return this.i32(SLOTS + SLOT_BYTES * w, 5);
  }

  /** An int32 view of the control area (below RESERVED, so any view of the memory covers it). */
  private i32(byteOffset: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, byteOffset, length);
  }

  /** Starts the workers once, on the first large product; they run unref'd so the process can exit. */
  private startWorkers(): void {
    if (this.workersStarted || !this.threadApi) return;
    this.workersStarted = true;
    for (let w = 0; w + 1 < this.maxThreads; w++) {
      const slots = SLOTS + SLOT_BYTES * w,
        scratch = RESERVED + (w + 1) * this.scratchBytes;
      this.i32(slots, 5).set([this.generation, this.generation, 0, 0, 0]);
      const worker = new this.threadApi.Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module: this.module, memory: this.memory, slots, scratch },
      });
      worker.on('error', () => {}); // a worker that fails to start never turns ready: its chunks run here
      worker.on('exit', () => Atomics.store(this.i32(slots, 5), 3, 0)); // seen between products: not woken again
      worker.unref();
      this.workers.push(worker);
    }
  }

  /** Stops the workers; later products run on the calling thread only. */
  close(): void {
    for (const w of this.workers) void w.terminate();
    this.workers = [];
    this.maxThreads = 1;
    this.info = { ...this.info, threads: 1 };
  }

  /** Workers ready to take chunks (starting them on first use; until then this thread does all). */
  private readyWorkers(): number {
    this.startWorkers();
    let n = 0;
    while (
      n + 1 < this.maxThreads &&
      n < this.workers.length &&
      Atomics.load(this.slot(n), 3) === 1
    )
      n++;
    return n;
  }

  /** Blocks until the workers have started (at most timeoutMs); for benchmarks and tests. */
  warmUp(timeoutMs = 5000): number {
    this.startWorkers();
    const t0 = Date.now();
    while (this.readyWorkers() < this.maxThreads - 1 && Date.now() - t0 < timeoutMs) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
    return 1 + this.readyWorkers();
  }

  addRowVector(x: Buf, v: Buf, M: number, N: number): void {
    f32Only('addRowVector', x, v);
    fits('addRowVector', 'x', x, M * N);
    fits('addRowVector', 'v', v, N);
    const placed = this.place([
      { buf: x, n: M * N, role: 'inout' },
      { buf: v, n: N, role: 'in' },
    ]);
    const [px, pv] = placed.ptrs;
    this.ex.addRowVector(px, pv, M, N);
    this.finish(placed);
  }

  sumRows(out: Buf, x: Buf, M: number, N: number): void {
    f32Only('sumRows', out, x);
    fits('sumRows', 'out', out, N);
    fits('sumRows', 'x', x, M * N);
    const placed = this.place([
      { buf: out, n: N, role: 'out' },
      { buf: x, n: M * N, role: 'in' },
    ]);
    const [pout, px] = placed.ptrs;
    this.ex.sumRows(pout, px, M, N);
    this.finish(placed);
  }

  im2col(cols: Buf, x: Buf, g: ConvGeometry, N = 1): void {
    this.lowering('im2col', JOB_IM2COL, ['cols', cols], ['x', x], g, N);
  }

  col2im(dx: Buf, cols: Buf, g: ConvGeometry, N = 1): void {
    this.lowering('col2im', JOB_COL2IM, ['dx', dx], ['cols', cols], g, N);
  }

  /** im2col or col2im of N images (the output named first), split over (channel, image) pairs. */
  private lowering(
    fn: string,
    kind: number,
    [outName, out]: [string, Buf],
    [inName, inp]: [string, Buf],
    g: ConvGeometry,
    N: number,
  ): void {
    f32Only(fn, out, inp);
    const xLen = N * g.C * g.H * g.W,
      colsLen = N * g.C * g.HH * g.WW * g.Hout * g.Wout;
    const [outLen, inLen] = kind === JOB_IM2COL ? [colsLen, xLen] : [xLen, colsLen];
    fits(fn, inName, inp, inLen);
    fits(fn, outName, out, outLen);
    const placed = this.place([
      { buf: out, n: outLen, role: 'out' },
      { buf: inp, n: inLen, role: 'in' },
    ]);
    const [pout, pin] = placed.ptrs;
    const ints = [pout, pin, g.C, g.H, g.W, g.HH, g.WW, g.stride, g.pad, g.Hout, g.Wout, N];
    this.runKernel({ kind, total: g.C * N, unit: 1, ints }, 4 * (colsLen + xLen));
    this.finish(placed);
  }

  reluForward(out: Buf, x: Buf): void {
    f32Only('reluForward', out, x);
    fits('reluForward', 'out', out, x.length);
    const n = x.length,
      placed = this.place([
        { buf: out, n, role: 'out' },
        { buf: x, n, role: 'in' },
      ]);
    const [pout, px] = placed.ptrs;
    this.runKernel({ kind: JOB_RELU_FWD, total: n, unit: 1024, ints: [pout, px] }, 8 * n);
    this.finish(placed);
  }

  reluBackward(dx: Buf, dout: Buf, x: Buf): void {
    f32Only('reluBackward', dx, dout, x);
    fits('reluBackward', 'dx', dx, x.length);
    fits('reluBackward', 'dout', dout, x.length);
    const n = x.length;
    const placed = this.place([
      { buf: dx, n, role: 'out' },
      { buf: dout, n, role: 'in' },
      { buf: x, n, role: 'in' },
    ]);
    const [pdx, pdout, px] = placed.ptrs;
    this.runKernel({ kind: JOB_RELU_BWD, total: n, unit: 1024, ints: [pdx, pdout, px] }, 12 * n);
    this.finish(placed);
  }
  maxPool2x2Forward(out: Buf, x: Buf, planes: number, H: number, W: number): void {
    f32Only('maxPool2x2Forward', out, x);
    const xLen = planes * H * W,
      outLen = planes * (H >> 1) * (W >> 1);
    fits('maxPool2x2Forward', 'x', x, xLen);
    fits('maxPool2x2Forward', 'out', out, outLen);
    const placed = this.place([
      { buf: out, n: outLen, role: 'out' },
      { buf: x, n: xLen, role: 'in' },
    ]);
    const [pout, px] = placed.ptrs;
    this.runKernel(
      { kind: JOB_POOL_FWD, total: planes, unit: 1, ints: [pout, px, H, W] },
      4 * (xLen + outLen),
    );
    this.finish(placed);
  }

  maxPool2x2Backward(dx: Buf, dout: Buf, x: Buf, planes: number, H: number, W: number): void {
    f32Only('maxPool2x2Backward', dx, dout, x);
    const xLen = planes * H * W,
      outLen = planes * (H >> 1) * (W >> 1);
    fits('maxPool2x2Backward', 'x', x, xLen);
    fits('maxPool2x2Backward', 'dx', dx, xLen);
    fits('maxPool2x2Backward', 'dout', dout, outLen);
    const placed = this.place([
      { buf: dx, n: xLen, role: 'out' },
      { buf: dout, n: outLen, role: 'in' },
      { buf: x, n: xLen, role: 'in' },
    ]);
    const [pdx, pdout, px] = placed.ptrs;
    this.runKernel(
      { kind: JOB_POOL_BWD, total: planes, unit: 1, ints: [pdx, pdout, px, H, W] },
      4 * (2 * xLen + outLen),
    );
    this.finish(placed);
  }

  swapOuterAxes(out: Buf, x: Buf, A: number, B: number, P: number): void {
    f32Only('swapOuterAxes', out, x);
    const n = A * B * P;
    fits('swapOuterAxes', 'x', x, n);
    fits('swapOuterAxes', 'out', out, n);
    const placed = this.place([
      { buf: out, n, role: 'out' },
      { buf: x, n, role: 'in' },
    ]);
    const [pout, px] = placed.ptrs;
    this.runKernel({ kind: JOB_SWAP, total: A, unit: 1, ints: [pout, px, A, B, P] }, 8 * n);
    this.finish(placed);
  }

  channelMoments(sums: Float64Array, x: Buf, A: number, C: number, B: number): void {
    f32Only('channelMoments', x);
    fits('channelMoments', 'x', x, A * C * B);
    fits('channelMoments', 'sums', sums, 2 * C);
    const placed = this.place([
      { buf: sums, n: 2 * C, role: 'out' },
      { buf: x, n: A * C * B, role: 'in' },
    ]);
    const [ps, px] = placed.ptrs;
    this.runKernel(
      { kind: JOB_MOMENTS, total: C, unit: 1, ints: [ps, px, A, C, B] },
      4 * A * C * B,
    ); // channels
    this.finish(placed);
  }

  channelDots(
    sums: Float64Array,
    u: Buf,
    v: Buf,
    mean: Float64Array,
    A: number,
    C: number,
    B: number,
  ): void {
    f32Only('channelDots', u, v);
    const n = A * C * B;
    fits('channelDots', 'u', u, n);
    fits('channelDots', 'v', v, n);
    fits('channelDots', 'mean', mean, C);
    fits('channelDots', 'sums', sums, 2 * C);
    const placed = this.place([
      { buf: sums, n: 2 * C, role: 'out' },
      { buf: u, n, role: 'in' },
      { buf: v, n, role: 'in' },
      { buf: mean, n: C, role: 'in' },
    ]);
    const [ps, pu, pv, pm] = placed.ptrs;
    this.runKernel({ kind: JOB_DOTS, total: C, unit: 1, ints: [ps, pu, pv, pm, A, C, B] }, 8 * n); // channels
    this.finish(placed);
  }

  channelNormalize(
    out: Buf,
    x: Buf,
    mean: Float64Array,
    scale: Float64Array,
    shift: Float64Array,
    A: number,
    C: number,
    B: number,
  ): void {
    f32Only('channelNormalize', out, x);
    const n = A * C * B;
    fits('channelNormalize', 'x', x, n);
    fits('channelNormalize', 'out', out, n);
    for (const [name, t] of [
      ['mean', mean],
      ['scale', scale],
      ['shift', shift],
    ] as const)
      fits('channelNormalize', name, t, C);
    const placed = this.place([
      { buf: out, n, role: 'out' },
      { buf: x, n, role: 'in' },
      { buf: mean, n: C, role: 'in' },
      { buf: scale, n: C, role: 'in' },
      { buf: shift, n: C, role: 'in' },
    ]);
    const [po, px, pm, pk, ps] = placed.ptrs;
    this.runKernel(
      { kind: JOB_NORMALIZE, total: A, unit: 1, ints: [po, px, pm, pk, ps, C, B] },
      8 * n,
    ); // images
    this.finish(placed);
  }

  channelCombine(
    out: Buf,
    u: Buf,
    v: Buf,
    mean: Float64Array,
    coef: Float64Array,
    A: number,
    C: number,
    B: number,
  ): void {
    f32Only('channelCombine', out, u, v);
    const n = A * C * B;
    fits('channelCombine', 'u', u, n);
    fits('channelCombine', 'v', v, n);
    fits('channelCombine', 'out', out, n);
    fits('channelCombine', 'mean', mean, C);
    fits('channelCombine', 'coef', coef, 3 * C);
    const placed = this.place([
      { buf: out, n, role: 'out' },
      { buf: u, n, role: 'in' },
      { buf: v, n, role: 'in' },
      { buf: mean, n: C, role: 'in' },
      { buf: coef, n: 3 * C, role: 'in' },
    ]);
    const [po, pu, pv, pm, pc] = placed.ptrs;
    this.runKernel(
      { kind: JOB_COMBINE, total: A, unit: 1, ints: [po, pu, pv, pm, pc, C, B] },
      12 * n,
    ); // images
    this.finish(placed);
  }

  sgdStep(w: Buf, dw: Buf, lr: number, weightDecay: number): void {
    f32Only('sgdStep', w, dw);
    const n = w.length;
    fits('sgdStep', 'dw', dw, n);
    const placed = this.place([
      { buf: w, n, role: 'inout' },
      { buf: dw, n, role: 'in' },
    ]);
    const [pw, pdw] = placed.ptrs;
    this.ex.sgdStep(pw, pdw, 0, n, lr, weightDecay); // in place: one thread (a redone partial step would update twice)
    this.finish(placed);
  }

  adamStep(w: Buf, dw: Buf, m: Buf, v: Buf, h: AdamHypers): void {
    f32Only('adamStep', w, dw, m, v);
    const n = w.length;
    for (const [name, b] of [
      ['dw', dw],
      ['m', m],
      ['v', v],
    ] as const)
      fits('adamStep', name, b, n);
    const placed = this.place([
      { buf: w, n, role: 'inout' },
      { buf: dw, n, role: 'in' },
      { buf: m, n, role: 'inout' },
      { buf: v, n, role: 'inout' },
    ]);
    const [pw, pdw, pm, pv] = placed.ptrs;
    this.ex.adamStep(
      pw,
      pdw,
      pm,
      pv,
      0,
      n,
      h.beta1,
      h.beta2,
      h.stepSize,
      h.invBc2Sqrt,
      h.eps,
      h.l2,
    ); // one thread, as sgdStep
    this.finish(placed);
  }

  /** Whether convDirect's padded image (plus its float64 sums) fits this backend's per-thread scratch. */
  convDirectFits(C: number, H: number, W: number, pad: number): boolean {
    return (
      (C * (H + 2 * pad) * (W + 2 * pad) + (W + 2 * pad) + 16) * 4 + 8 + 64 * 1024 <=
      this.scratchBytes
    );
  }

  convDirect(
    out: Buf,
    x: Buf,
    w: Buf,
    b: Buf,
    N: number,
    C: number,
    H: number,
    W: number,
    F: number,
    HH: number,
    WW: number,
    pad: number,
  ): void {
    const { xLen, outLen } = directConvLengths(
      'convDirect',
      ['out', out],
      x,
      ['w', w],
      ['b', b],
      [N, C, H, W, F, HH, WW, pad],
    );
    if (!this.convDirectFits(C, H, W, pad))
      throw new ShapeError(
        `wasm.convDirect: a padded ${C}x${H}x${W} image does not fit the scratch`,
      );
    const placed = this.place([
      { buf: out, n: outLen, role: 'out' },
      { buf: x, n: xLen, role: 'in' },
      { buf: w, n: F * C * HH * WW, role: 'in' },
      { buf: b, n: F, role: 'in' },
    ]);
    const [po, px, pw, pb] = placed.ptrs;
    this.runKernel(
      { kind: JOB_CONV_DIRECT, total: N, unit: 1, ints: [po, px, pw, pb, C, H, W, F, HH, WW, pad] },
      4 * (xLen + outLen),
    ); // images
    this.finish(placed);
  }

  convDirectWeightGrad(
    dw: Buf,
    db: Buf,
    dout: Buf,
    x: Buf,
    N: number,
    C: number,
    H: number,
    W: number,
    F: number,
    HH: number,
    WW: number,
    pad: number,
  ): void {
    const dims = [N, C, H, W, F, HH, WW, pad] as const;
    const { xLen, outLen } = directConvLengths(
      'convDirectWeightGrad',
      ['dout', dout],
      x,
      ['dw', dw],
      ['db', db],
      dims,
    );
    const K = C * HH * WW;
    if (
      !this.convDirectFits(C, H, W, pad) ||
      (C * (H + 2 * pad) * (W + 2 * pad) + (W + 2 * pad) + 18) * 4 + F * (K + 1) * 8 >
        this.scratchBytes
    ) {
      throw new ShapeError(
        `wasm.convDirectWeightGrad: a padded ${C}x${H}x${W} image and ${F}x${K + 1} sums do not fit the scratch`,
      );
    }
    const placed = this.place([
      { buf: dw, n: F * K, role: 'out' },
      { buf: db, n: F, role: 'out' },
      { buf: dout, n: outLen, role: 'in' },
      { buf: x, n: xLen, role: 'in' },
    ]);
    const [pdw, pdb, pdout, px] = placed.ptrs;
    // filters split across threads: each sums all images for its own filters (no cross-thread sums)
    this.runKernel(
      {
        kind: JOB_CONV_DW,
        total: F,
        unit: 1,
        ints: [pdw, pdb, pdout, px, N, C, H, W, F, HH, WW, pad],
      },
      4 * (xLen + outLen),
    );
    this.finish(placed);
  }

  /** buf.fill(0); a resident buf with WASM's memory.fill (over twice as fast on shared memory). */
  zero(buf: Float32Array): void {
    const p = this.residentPtr(buf);
    if (p < 0) buf.fill(0);
    else this.ex.zero(p, buf.byteLength);
  }
}

const align = (bytes: number): number => Math.ceil(bytes / 64) * 64;

/** One operand of a kernel call: its buffer, the elements the call uses, and whether it is read, written or both. */
interface Operand {
  readonly buf: Buf;
  readonly n: number;
  readonly role: 'in' | 'out' | 'inout';
}

/** Where place() put a call's operands, and which of them it copied. */
interface Placed {
  readonly ops: readonly Operand[];
  readonly ptrs: number[];
  readonly staged: boolean[];
}

/** Bytes of the elements of an operand that a call uses. */
const byteLength = (op: Operand): number => op.n * op.buf.BYTES_PER_ELEMENT;

/** Whether resident operand i overlaps another resident operand (byte ranges at ptrs). */
function overlapsAnother(ops: readonly Operand[], ptrs: readonly number[], i: number): boolean {
  const lo = ptrs[i],
    hi = lo + byteLength(ops[i]);
  return ops.some(
    (op, j) => j !== i && ptrs[j] >= 0 && ptrs[j] < hi && lo < ptrs[j] + byteLength(op),
  );
}

/**
 * Checks the operands of convDirect / convDirectWeightGrad against the geometry (out or dout, x,
 * w or dw, b or db, named as the caller names them) and returns the lengths of x and out.
 */
function directConvLengths(
  fn: string,
  [outName, out]: [string, Buf],
  x: Buf,
  [wName, w]: [string, Buf],
  [bName, b]: [string, Buf],
  [N, C, H, W, F, HH, WW, pad]: readonly number[],
): { xLen: number; outLen: number } {
  f32Only(fn, out, x, w, b);
  const xLen = N * C * H * W,
    outLen = N * F * (H + 2 * pad - HH + 1) * (W + 2 * pad - WW + 1);
  fits(fn, 'x', x, xLen);
  fits(fn, outName, out, outLen);
  fits(fn, wName, w, F * C * HH * WW);
  fits(fn, bName, b, F);
  return { xLen, outLen };
}

function f32Only(fn: string, ...bufs: Buf[]): void {
  for (const b of bufs) {
    if (!(b instanceof Float32Array))
      throw new DTypeError(
        `wasm.${fn}: the wasm backend runs float32 only, got a ${b.constructor.name}`,
      );
  }
}

function fits(fn: string, arg: string, b: Buf, n: number): void {
  if (b.length < n)
    throw new ShapeError(`wasm.${fn}: ${arg} has ${b.length} elements but needs ${n}`);
}

let instance: WasmBackend | null = null;

/**
 * The WASM backend, loaded (synchronously) on first use; throws if this runtime cannot run it
 * (no WebAssembly or no SIMD). Threads: in Node (>= 20.16, for process.getBuiltinModule) large
 * products use every core; in a browser page the main thread may not block in Atomics.wait, so
 * products run on one thread there.
 */
export function loadWasm(): WasmKernels {
  instance ??= new WasmBackend();
  return instance;
}

/**
 * A separate instance with its own memory and at most `threads` threads (for the bench's 1- vs
 * 2-thread rows and the tests); close() stops its workers.
 */
export function createWasmKernels(opts: WasmOptions = {}): WasmKernels {
  return new WasmBackend(opts);
}
