// src/kernels/wasm/workers.ts: the threads of the WASM backend. In Node (>= 20.16, for
// process.getBuiltinModule) one worker per extra core starts on the first job worth threads
// (plan.ts: threadsPay), instantiates the same module over the same shared memory and waits for
// jobs. A job is cut into chunks of its outer unit that the threads take from a shared counter
// (assembly/index.ts: runJob); each chunk writes only its own part, so the split never changes a
// result. Threads spin SPIN_MS before they sleep. A worker that dies or hangs mid-job cannot hang
// the caller: the waiting thread watches each worker's heartbeat (a counter bumped per packed
// block of gemm and per chunk of the other kernels) and, after timeoutMs without one, stops the
// workers, warns once and redoes the job on the calling thread. In a browser the workers are Web
// Workers started by a thread that may block (a dedicated Worker such as layerwise/worker's
// training worker) in a cross-origin-isolated page; a page's main thread may not block in
// Atomics.wait, and a page without isolation has no shared memory, so jobs run on the calling
// thread there (threadApiFor says so once).
import { BOUNDS_AT, DONE_AT, JOB_AT, RESERVED, SLOT_BYTES, SLOTS_AT } from './arena.js';
import { JOB_LAYOUT } from './jobs.js';
import { canBlock, nodeThreads, type Loaded, type WorkerHandle } from './load.js';

/** At most this many workers (their control slots lie below RESERVED). */
export const MAX_WORKERS = 15;
/**
 * How long a thread spins on a shared flag before it sleeps in Atomics.wait (ms): measured on the
 * bench machine, 0.1 ms makes a batch-norm CNN step ~8% faster than sleeping at once.
 */
const SPIN_MS = 0.1;

/** One job for runJob: its id, its range of units (split at multiples of `unit`) and its arguments. */
export interface JobRun {
  readonly id: number;
  readonly total: number;
  readonly unit: number;
  /** Chunks per thread when split (plan.ts: Split); without it, guided chunks (chunkBounds). */
  readonly chunksPerThread?: number;
  readonly ints: readonly number[];
  readonly floats: readonly number[];
  /**
   * The job updates a buffer in place (reads what it writes), so a chunk cannot be redone: after
   * a worker dies, only the chunks nobody took are run here (see finishAfterDeath).
   */
  readonly inPlace?: boolean;
}

// The worker: instantiates the same module over the same memory, then loops: wait for a new
// generation in its go slot, take chunks of the shared job (runJob) until none are left,
// publish the generation as done. Its int32 slots (SLOT_BYTES at SLOTS_AT + w·SLOT_BYTES): 0 go
// generation, 1 done generation, 2 error, 3 ready, 4 heartbeat, 5 microseconds spent in jobs so
// far (modulo 2^31; WorkerPool.busyTimes reads it). The loop is one text for both runtimes; only
// how the worker receives { module, memory, slots, scratch } differs.
const WORKER_LOOP = `
  const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const c = new Int32Array(memory.buffer, slots, 6);
  let busy = 0; // ms in runJob
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
    const t0 = performance.now();
    try {
      ex.runJob(${JOB_AT}, scratch, slots + 16, ${DONE_AT});
    } catch (e) {
      Atomics.store(c, 2, 1);
    }
    busy += performance.now() - t0;
    Atomics.store(c, 5, (busy * 1000) | 0);
    Atomics.store(c, 1, seen);
    Atomics.notify(c, 1);
  }
`;
// Node: workerData. Written with import() so that it runs as a CommonJS script and as a module
// alike (workers inherit execArgv, e.g. --input-type=module).
const NODE_WORKER_SOURCE = `
import('node:worker_threads').then(({ workerData }) => {
  const { module, memory, slots, scratch } = workerData;${WORKER_LOOP}});
`;
// A browser: the first message (a WebAssembly.Module and a shared Memory are cloneable between
// the threads of a cross-origin-isolated agent cluster); the loop then never returns to the
// event loop, which terminate() ends.
const BROWSER_WORKER_SOURCE = `
self.onmessage = (event) => {
  self.onmessage = null;
  const { module, memory, slots, scratch } = event.data;${WORKER_LOOP}};
`;

/** What a kernel worker is started with: the module, the memory and its own two offsets. */
export interface KernelWorkerData {
  readonly module: Loaded['module'];
  readonly memory: Loaded['memory'];
  /** Byte offset of its control slots. */
  readonly slots: number;
  /** Byte offset of its gemm scratch. */
  readonly scratch: number;
}

/** How this runtime starts a kernel worker, and how many cores it has. */
export interface ThreadApi {
  readonly cores: number;
  start(data: KernelWorkerData): WorkerHandle;
}

/** Node's worker_threads (>= 20.16), each worker evaluating NODE_WORKER_SOURCE. */
function nodeThreadApi(): ThreadApi | null {
  const node = nodeThreads();
  if (node === null) return null;
  return {
    cores: node.cores,
    start: (workerData) => new node.Worker(NODE_WORKER_SOURCE, { eval: true, workerData }),
  };
}

// The few Web Worker members used here (the project's lib has no DOM types).
interface WebWorker {
  postMessage(data: unknown): void;
  terminate(): void;
  addEventListener(type: 'error', fn: (e: unknown) => void): void;
}
interface WebGlobals {
  Worker?: new (url: string) => WebWorker;
  Blob?: new (parts: string[], opts: { type: string }) => object;
  URL?: { createObjectURL?(blob: object): string };
  navigator?: { hardwareConcurrency?: number };
}

/**
 * Web Workers started from a Blob of BROWSER_WORKER_SOURCE, where this thread may block in
 * Atomics.wait (a dedicated Worker, not a page's main thread). A worker never exits on its own in
 * a browser; one whose script fails fires 'error', which counts as its exit.
 */
function browserThreadApi(): ThreadApi | null {
  const g = globalThis as WebGlobals;
  const { Worker: WebWorkerCtor, Blob: BlobCtor, URL: url, navigator: nav } = g;
  if (!WebWorkerCtor || !BlobCtor || typeof url?.createObjectURL !== 'function' || !nav)
    return null;
  let source: string | null = null; // one Blob URL for all workers, made on the first start
  return {
    cores: nav.hardwareConcurrency ?? 1,
    start(data) {
      source ??= url.createObjectURL!(
        new BlobCtor([BROWSER_WORKER_SOURCE], { type: 'text/javascript' }),
      );
      const worker = new WebWorkerCtor(source);
      worker.postMessage(data);
      return {
        unref() {},
        terminate: async () => {
          worker.terminate();
          return 0;
        },
        on: (_event, fn) => worker.addEventListener('error', fn),
      };
    },
  };
}

let noticeGiven = false;

/**
 * The way to start kernel workers here, or null for one thread: Node's worker_threads, else Web
 * Workers. Threads need shared memory and a thread that may block in Atomics.wait (Node's main
 * thread, a Worker; not a page's main thread). In a browser that leaves threads unused on a
 * multi-core machine, a one-time console.info says why and what to do.
 */
export function threadApiFor(shared: boolean): ThreadApi | null {
  const blocks = shared && canBlock();
  const api = blocks ? (nodeThreadApi() ?? browserThreadApi()) : null;
  const nav = (globalThis as WebGlobals).navigator;
  const browser = nav !== undefined && nodeThreads() === null;
  if (api === null && browser && (nav.hardwareConcurrency ?? 1) > 1 && !noticeGiven) {
    noticeGiven = true;
    const why = !shared
      ? 'this page is not cross-origin isolated, so there is no SharedArrayBuffer (serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)'
      : "a page's main thread may not block in Atomics.wait (train in a Worker: layerwise/worker)";
    console.info(`layerwise: the wasm kernels run on one thread: ${why}`);
  }
  return api;
}

/** WorkerPool.busyTimes: cumulative ms. */
export interface BusyTimes {
  /** The calling thread in jobs it ran alone (too small to split, or no workers). */
  readonly alone: number;
  /** The calling thread in its share of split jobs. */
  readonly shared: number;
  /** The calling thread waiting for the workers to finish their shares. */
  readonly waiting: number;
  /** Each worker in jobs. */
  readonly workers: readonly number[];
}

/** At most this many chunks a job (their bounds and flags lie below RESERVED: arena.ts). */
export const MAX_CHUNKS = 256;

/**
 * Where the chunks of a job for T threads start and end (n + 1 element offsets, 0 first and
 * total last; runJob reads them from BOUNDS_AT), in whole units of `unit`:
 * - a job that names its chunks per thread (a gemm, whose every chunk packs an operand again:
 *   jobs.ts) gets that many, as even as integers allow, equal where chunkCount finds a way;
 * - any other takes guided chunks (as OpenMP's schedule(guided)): each a 1/(2T) share of the units
 *   left, down to 1/(8T) of all of them. The threads start on large chunks and end on small ones,
 *   so one that starts late or runs slower keeps the other waiting a small chunk at most.
 */
export function chunkBounds(
  total: number,
  unit: number,
  T: number,
  chunksPerThread?: number,
): number[] {
  const u = Math.max(unit, 1),
    units = Math.ceil(total / u);
  const at = (k: number): number => Math.min(total, k * u);
  if (chunksPerThread !== undefined) {
    const n = Math.min(MAX_CHUNKS, chunkCount(units, chunksPerThread * T, T));
    return Array.from({ length: n + 1 }, (_, i) => at(Math.floor((i * units) / n)));
  }
  const least = Math.max(1, Math.ceil(units / (8 * T)), Math.ceil(units / MAX_CHUNKS));
  const bounds = [0];
  for (let done = 0; done < units;) {
    done = Math.min(units, done + Math.max(least, Math.ceil((units - done) / (2 * T))));
    bounds.push(at(done));
  }
  if (bounds.length === 1) bounds.push(total); // no units: one empty chunk
  return bounds;
}

/**
 * How many chunks `units` units make for T threads, aiming at `wanted`: with few units per chunk
 * (under 8), chunks one unit apart in size leave a thread idle at the end (8 tiles in 6 chunks:
 * 1, 1, 2, 1, 1, 2), so the count drops to the nearest that divides the units into equal chunks,
 * as many for each thread (8 tiles: 4 chunks of 2), where there is one.
 */
export function chunkCount(units: number, wanted: number, T: number): number {
  const n = Math.max(1, Math.min(units, wanted));
  if (units % n === 0 || units >= 8 * n) return n;
  for (let m = n - 1; m >= T; m--) if (units % m === 0 && m % T === 0) return m;
  return n;
}

export class WorkerPool {
  private started = false;
  private readonly times = { alone: 0, shared: 0, waiting: 0 };
  private workers: WorkerHandle[] = [];
  private generation = 0;

  /**
   * @param threads at most this many threads, the calling one included
   * @param threadApi how to start workers (threadApiFor), or null where they cannot run (one thread)
   * @param timeoutMs a worker without a heartbeat for this long mid-job counts as dead
   */
  constructor(
    private readonly loaded: Loaded,
    private readonly threadApi: ThreadApi | null,
    private maxThreads: number,
    private readonly scratchBytes: number,
    private readonly timeoutMs: number,
  ) {}

  /** Threads a large job is split over, the calling thread included (1 after close()). */
  get threads(): number {
    return this.maxThreads;
  }

  /**
   * Runs a job: split across the ready workers when `parallel` (see plan.ts: threadsPay), else
   * (or when a worker died) in one chunk on this thread.
   */
  run(job: JobRun, parallel: boolean): void {
    const workers = parallel ? this.readyWorkers() : 0;
    if (workers > 0 && this.runShared(workers, job)) return;
    this.writeJob(job, [0, job.total]);
    const t0 = performance.now();
    this.loaded.exports.runJob(JOB_AT, RESERVED, 0, 0);
    this.times.alone += performance.now() - t0;
  }

  /**
   * Where the threads' time went so far (ms, cumulative; the bench differences two readings):
   * the calling thread's in jobs it ran alone, in its share of split jobs and waiting for the
   * workers to finish theirs, and each worker's time in jobs.
   */
  busyTimes(): BusyTimes {
    const workers = this.workers.map((_, w) => Atomics.load(this.slot(w), 5) / 1000);
    return { ...this.times, workers };
  }

  /** Writes the job block (jobs.ts: JOB_LAYOUT) with the counter at 0. */
  private writeJob(job: JobRun, bounds: readonly number[]): void {
    const { ints, maxInts, floats, maxFloats } = JOB_LAYOUT;
    if (job.ints.length > maxInts || job.floats.length > maxFloats)
      throw new Error(`wasm backend: job ${job.id} has more arguments than the job block holds`);
    this.i32(BOUNDS_AT, bounds.length).set(bounds);
    this.i32(JOB_AT, 5).set([0, bounds.length - 1, job.id, BOUNDS_AT, job.total]);
    this.i32(JOB_AT + ints, job.ints.length).set(job.ints);
    if (job.floats.length > 0)
      new Float64Array(this.loaded.memory.buffer, JOB_AT + floats, job.floats.length).set(
        job.floats,
      );
  }

  /**
   * Runs one job on this thread and `workers` workers: the range is cut into chunks of whole
   * units that the threads take from a shared counter; then this thread blocks (Atomics.wait)
   * until every worker it woke has finished. Returns false when a worker stopped beating mid-job:
   * the workers are then stopped and the caller redoes the job alone (every job overwrites its
   * outputs, so the partial result does no harm; terminate() stops a hung worker's WebAssembly at
   * its next loop iteration, long before the redo is done).
   */
  private runShared(workers: number, job: JobRun): boolean {
    const bounds = chunkBounds(job.total, job.unit, workers + 1, job.chunksPerThread),
      nChunks = bounds.length - 1;
    this.writeJob(job, bounds);
    this.i32(DONE_AT, nChunks).fill(0);
    const gen = ++this.generation;
    for (let w = 0; w < workers; w++) {
      const slot = this.slot(w);
      Atomics.store(slot, 0, gen);
      Atomics.notify(slot, 0);
    }
    const t0 = performance.now();
    this.loaded.exports.runJob(JOB_AT, RESERVED, 0, DONE_AT);
    const t1 = performance.now();
    this.times.shared += t1 - t0;
    let failed = false;
    for (let w = 0; w < workers; w++) {
      const slot = this.slot(w);
      if (!this.awaitWorker(slot, gen)) {
        this.workerDied(w);
        if (!job.inPlace) return false;
        this.finishAfterDeath(job, bounds);
        return true;
      }
      if (Atomics.exchange(slot, 2, 0) !== 0) failed = true;
    }
    this.times.waiting += performance.now() - t1;
    if (failed) throw new Error('wasm backend: a kernel worker failed');
    return true;
  }

  /** Waits until the worker publishes generation gen; false after timeoutMs without a heartbeat. */
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
      } else if (now - last > this.timeoutMs) {
        return false;
      }
    }
    return true;
  }

  /**
   * An in-place job whose worker died: runs the chunks nobody took on this thread (runJob goes on
   * from the shared counter), or throws if a chunk was taken and never finished (its part of the
   * buffer may be partly updated, and updating it again would apply the step twice).
   */
  private finishAfterDeath(job: JobRun, bounds: readonly number[]): void {
    this.loaded.exports.runJob(JOB_AT, RESERVED, 0, DONE_AT);
    const done = this.i32(DONE_AT, bounds.length - 1);
    const lost = done.findIndex((d) => d !== 1);
    if (lost >= 0) {
      const [lo, hi] = [bounds[lost], bounds[lost + 1]];
      throw new Error(
        `wasm backend: a kernel worker died while updating units ${lo} to ${hi} of an in-place job (id ${job.id}); that part may be partly updated`,
      );
    }
  }

  /** A worker stopped beating mid-job: stop them all (later jobs run here) and say so once. */
  private workerDied(w: number): void {
    this.close();
    console.warn(
      `wasm backend: gemm worker ${w + 1} made no progress for ${this.timeoutMs} ms (it died or hung); ` +
        'the workers are stopped and products now run on the calling thread',
    );
  }

  /** Worker w's int32 control slots. */
  private slot(w: number): Int32Array {
    return this.i32(SLOTS_AT + SLOT_BYTES * w, 6);
  }

  /** An int32 view of the control area (below RESERVED, so any view of the memory covers it). */
  private i32(byteOffset: number, length: number): Int32Array {
    return new Int32Array(this.loaded.memory.buffer, byteOffset, length);
  }

  /** Starts the workers once, on the first large job; they run unref'd so the process can exit. */
  private startWorkers(): void {
    if (this.started || !this.threadApi) return;
    this.started = true;
    const { module, memory } = this.loaded;
    for (let w = 0; w + 1 < this.maxThreads; w++) {
      const slots = SLOTS_AT + SLOT_BYTES * w,
        scratch = RESERVED + (w + 1) * this.scratchBytes;
      this.i32(slots, 6).set([this.generation, this.generation, 0, 0, 0, 0]);
      const worker = this.threadApi.start({ module, memory, slots, scratch });
      worker.on('error', () => {}); // a worker that fails to start never turns ready: its chunks run here
      worker.on('exit', () => Atomics.store(this.i32(slots, 5), 3, 0)); // seen between jobs: not woken again
      worker.unref();
      this.workers.push(worker);
    }
  }

  /** Stops the workers; later jobs run on the calling thread only. */
  close(): void {
    for (const w of this.workers) void w.terminate();
    this.workers = [];
    this.maxThreads = 1;
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

  /**
   * Threads ready now, the calling one included, starting the workers if they have not started;
   * never blocks (a browser Worker polls this from its event loop, since a nested Web Worker may
   * need its parent's event loop to start).
   */
  readyThreads(): number {
    return 1 + this.readyWorkers();
  }

  /** Each worker's heartbeat: how many jobs and blocks it has worked on (0 = never ran one). */
  beats(): number[] {
    return this.workers.map((_, w) => Atomics.load(this.slot(w), 4));
  }

  /** Blocks until the workers have started (at most timeoutMs); returns the threads ready. */
  warmUp(timeoutMs = 5000): number {
    this.startWorkers();
    const t0 = Date.now();
    while (this.readyWorkers() < this.maxThreads - 1 && Date.now() - t0 < timeoutMs) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
    return 1 + this.readyWorkers();
  }
}
