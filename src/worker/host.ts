// src/worker/host.ts: the Worker side of layerwise/worker. serveTraining(scope) answers the
// page's messages (protocol.ts): 'train' builds the model and a Solver and runs it with
// trainAsync, which returns to the event loop every yieldEveryMs so that 'pause', 'stop' and
// 'checkpoint' are seen between iterations; progress goes out after every iteration.
//
// The kernels: setBackend(spec.backend) here, in the Worker. A Worker may block in Atomics.wait,
// so in a cross-origin-isolated page the wasm kernels start their threads as nested Web Workers
// over the shared memory (src/kernels/wasm/workers.ts); before training, the host waits (without
// blocking, since a nested Worker may need this thread's event loop to start) until they are up.
import { makeAugment } from '../data/internal.js';
import { encodeModel } from '../io/internal.js';
import { currentBackend, setBackend, type Kernels, type WasmKernels } from '../kernels/index.js';
import * as models from '../models/index.js';
import type { Model } from '../models/index.js';
import { Solver, type SolverData, type SolverProgress } from '../solver/index.js';
import {
  expectNumber,
  expectOptions,
  Tensor,
  unknownName,
  ValueError,
  type FloatTensor,
} from '../tensor/index.js';
import type {
  FromWorker,
  TensorParts,
  ToWorker,
  TrainingSpec,
  WorkerBackendInfo,
  WorkerData,
} from './protocol.js';

/** What serveTraining needs of a Worker's global scope (or of Node's worker_threads parentPort). */
export interface WorkerScope {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

const FN = 'trainInWorker';
const SPEC_KEYS = ['model', 'data', 'solver', 'augment', 'backend', 'yieldEveryMs'];
/** How long the host waits for the kernel threads to start before training with fewer. */
const THREAD_START_MS = 10_000;

/** One run: its Solver (once built), and what the page asked for while it runs. */
interface Run {
  solver: Solver<Model> | null;
  paused: boolean;
  stopped: boolean;
  /** Resolves the wait of a paused run (resume or stop). */
  wake: (() => void) | null;
}

/**
 * Serves training requests on `scope` (the Worker's `self`): call it once in a Worker script
 * (layerwise/worker's script.js does). One run at a time; a finished or stopped Worker takes the
 * next 'train'.
 */
export function serveTraining(scope: WorkerScope): void {
  let run: Run | null = null;
  const post = (msg: FromWorker, transfer: ArrayBuffer[] = []): void =>
    scope.postMessage(msg, transfer);
  const fail = (e: unknown): void => {
    const err = e instanceof Error ? e : new Error(String(e));
    post({ type: 'error', name: err.name, message: err.message });
  };
  scope.addEventListener('message', (event) => {
    const msg = event.data as ToWorker;
    try {
      if (msg.type === 'train') {
        if (run !== null) throw new ValueError(`${FN}: this Worker is already training`);
        run = { solver: null, paused: false, stopped: false, wake: null };
        void train(msg.spec, run, post)
          .catch(fail)
          .finally(() => (run = null));
      } else if (msg.type === 'checkpoint') {
        const solver = run?.solver;
        if (!solver) {
          const error = `${FN}: a checkpoint needs a run whose model is built`;
          post({ type: 'checkpoint', id: msg.id, bytes: null, iteration: 0, error });
          return;
        }
        const bytes = encodeModel(solver.model);
        post(
          { type: 'checkpoint', id: msg.id, bytes, iteration: solver.iteration },
          transferable([bytes]),
        );
      } else if (run !== null) {
        control(run, msg.type, post);
      }
    } catch (e) {
      fail(e);
    }
  });
}

/**
 * pause / resume / stop on the current run. The training loop answers 'paused' and 'resumed'
 * when it gets there; a pause of a paused run or a resume of a running one is answered here.
 */
function control(
  run: Run,
  type: 'pause' | 'resume' | 'stop',
  post: (msg: FromWorker) => void,
): void {
  const iteration = run.solver?.iteration ?? 0;
  if (type === 'stop') {
    run.stopped = true;
    run.wake?.();
  } else if (type === 'pause') {
    if (run.wake !== null) post({ type: 'paused', iteration });
    run.paused = true;
  } else if (run.wake !== null) {
    run.paused = false;
    run.wake();
  } else {
    if (!run.paused) post({ type: 'resumed', iteration });
    run.paused = false;
  }
}

/** Builds everything from the spec, waits for the kernel threads, trains, posts 'done'. */
async function train(
  spec: TrainingSpec,
  run: Run,
  post: (msg: FromWorker, transfer?: ArrayBuffer[]) => void,
): Promise<void> {
  expectOptions(FN, spec, SPEC_KEYS);
  const yieldEveryMs = spec.yieldEveryMs ?? 20;
  expectNumber(FN, 'yieldEveryMs', yieldEveryMs, { min: 0 });
  const backend = await startBackend(spec);
  const model = buildModel(spec.model);
  const augment = spec.augment ? makeAugment(spec.augment.kind, spec.augment.amount) : undefined;
  const onProgress = (progress: SolverProgress): void => post({ type: 'progress', progress });
  const solver = new Solver<Model>(model, solverData(spec.data), {
    ...spec.solver,
    onProgress,
    ...(augment ? { augment } : {}),
  });
  run.solver = solver;
  post({ type: 'ready', backend });
  while (!run.stopped) {
    await solver.trainAsync({ shouldStop: () => run.paused || run.stopped, yieldEveryMs });
    if (!solver.interrupted || run.stopped) break;
    post({ type: 'paused', iteration: solver.iteration });
    if (run.paused) await new Promise<void>((resolve) => (run.wake = resolve));
    run.wake = null;
    if (run.stopped) break;
    post({ type: 'resumed', iteration: solver.iteration });
  }
  const bytes = encodeModel(model);
  const histories = [solver.lossHistory, solver.trainAccHistory, solver.valAccHistory].map((h) =>
    Float64Array.from(h),
  );
  const k = currentBackend() as Kernels & Partial<WasmKernels>;
  post(
    {
      type: 'done',
      reason: run.stopped ? 'stopped' : 'finished',
      model: bytes,
      lossHistory: histories[0],
      trainAccHistory: histories[1],
      valAccHistory: histories[2],
      iteration: solver.iteration,
      epoch: solver.epoch,
      workerBeats: k.workerBeats?.() ?? [],
    },
    transferable([bytes, ...histories]),
  );
}

/**
 * The buffers of `arrays` that may be transferred: plain ArrayBuffers only. A SharedArrayBuffer
 * (the WASM memory that resident params and step tensors live in) cannot be, and must not be
 * handed away; what comes from it is copied first (encodeModel's bytes are a fresh array).
 */
function transferable(arrays: readonly ArrayBufferView[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const a of arrays) if (a.buffer instanceof ArrayBuffer) buffers.add(a.buffer);
  return [...buffers];
}

/** setBackend as the spec says, then (wasm) waits until its threads have started. */
async function startBackend(spec: TrainingSpec): Promise<WorkerBackendInfo> {
  const b = spec.backend ?? {};
  expectOptions(`${FN}: backend`, b, ['name', 'threads', 'simd']);
  const wasmOptions =
    b.threads !== undefined || b.simd !== undefined
      ? { ...(b.threads !== undefined ? { threads: b.threads } : {}), simd: b.simd ?? 'auto' }
      : undefined;
  if (b.threads !== undefined) expectNumber(FN, 'backend.threads', b.threads, { min: 1 });
  const k = setBackend(b.name ?? 'auto', wasmOptions) as Kernels & Partial<WasmKernels>;
  let threadsReady = 1;
  if (k.info !== undefined && k.readyThreads !== undefined) {
    const t0 = Date.now();
    while ((threadsReady = k.readyThreads()) < k.info.threads) {
      if (Date.now() - t0 > THREAD_START_MS) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  return {
    name: k.name,
    wasm: k.info ?? null,
    threadsReady,
    crossOriginIsolated: isolated ?? null,
  };
}

/** A model class of `models` built from its options: the config a model file stores. */
function buildModel(config: TrainingSpec['model']): Model {
  expectOptions(`${FN}: model`, config, ['type', 'options']);
  const known = Object.keys(models).filter((k) => /^[A-Z]/.test(k));
  const ctor = Object.hasOwn(models, config?.type)
    ? (models as Record<string, unknown>)[config.type]
    : undefined;
  if (typeof ctor !== 'function' || !known.includes(config.type))
    throw new ValueError(`${FN}: ${unknownName('model type', String(config?.type), known)}`);
  return new (ctor as new (o: Record<string, unknown>) => Model)(config.options ?? {});
}

/** The spec's data as the Solver's tensors (views of the transferred buffers, not copies). */
function solverData(data: WorkerData): SolverData {
  expectOptions(`${FN}: data`, data, ['XTrain', 'yTrain', 'XVal', 'yVal']);
  const tensor = (arg: string, parts: TensorParts): FloatTensor => {
    if (!(parts?.data instanceof Float32Array) || !Array.isArray(parts.shape))
      throw new TypeError(`${FN}: data.${arg} must be { data: Float32Array, shape: number[] }`);
    return new Tensor(parts.data, parts.shape) as FloatTensor;
  };
  const labels = (arg: string, y: unknown): Int32Array => {
    if (!(y instanceof Int32Array)) throw new TypeError(`${FN}: data.${arg} must be an Int32Array`);
    return y;
  };
  const out: SolverData = {
    XTrain: tensor('XTrain', data.XTrain),
    yTrain: labels('yTrain', data.yTrain),
  };
  if (data.XVal === undefined && data.yVal === undefined) return out;
  return {
    ...out,
    XVal: data.XVal && tensor('XVal', data.XVal),
    yVal: data.yVal && labels('yVal', data.yVal),
  };
}
