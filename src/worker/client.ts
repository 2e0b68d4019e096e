// src/worker/client.ts: the page side of layerwise/worker. trainInWorker(worker, spec) sends the
// spec to a Worker running serveTraining (script.ts), transferring the data's ArrayBuffers (the
// page's arrays are detached afterwards), and returns a TrainingRun: progress callbacks, pause,
// resume, stop, checkpoints as safetensors bytes, and the trained model at the end.
import { decodeModel } from '../io/internal.js';
import type { Model } from '../models/index.js';
import type { SolverProgress } from '../solver/index.js';
import type {
  FromWorker,
  ToWorker,
  TrainingDone,
  TrainingSpec,
  WorkerBackendInfo,
} from './protocol.js';

/** What trainInWorker needs of a Worker (a DOM Worker has it). */
export interface WorkerLike {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

/** A Worker that runs layerwise/worker's script.js (a module Worker). */
export function createTrainingWorker(): WorkerLike {
  const Ctor = (globalThis as { Worker?: new (url: URL, opts: object) => WorkerLike }).Worker;
  if (Ctor === undefined) throw new Error('createTrainingWorker: this runtime has no Worker');
  return new Ctor(new URL('./script.js', import.meta.url), { type: 'module' });
}

/** The end of a run, with the trained model rebuilt from its bytes. */
export interface TrainingResult extends TrainingDone {
  readonly trainedModel: Model;
}

export interface TrainInWorkerOptions {
  /** Called after every iteration, with the Solver's progress. */
  onProgress?: (progress: SolverProgress) => void;
}

/** A run in a Worker, started by trainInWorker. */
export interface TrainingRun {
  /** The kernels the Worker runs on, once the model is built and the threads are up. */
  readonly ready: Promise<WorkerBackendInfo>;
  /** The end: all epochs done, or stop(); rejects with the Worker's error. */
  readonly done: Promise<TrainingResult>;
  /** Stops between iterations; resolves with the iteration it paused at. */
  pause(): Promise<number>;
  /** Continues a paused run exactly where it paused (the same batches and updates). */
  resume(): Promise<number>;
  /** Ends the run after the current iteration; done resolves with reason 'stopped'. */
  stop(): void;
  /** The model's current params and buffers as a model file (io.encodeModel), between iterations. */
  checkpoint(): Promise<{ bytes: Uint8Array; iteration: number }>;
}

/** The buffers to transfer: those of the spec's arrays, each once, shared memory excepted. */
function transferList(spec: TrainingSpec): ArrayBuffer[] {
  const { XTrain, yTrain, XVal, yVal } = spec.data;
  const buffers = new Set<ArrayBuffer>();
  for (const a of [XTrain?.data, yTrain, XVal?.data, yVal]) {
    const b = a?.buffer;
    if (b instanceof ArrayBuffer) buffers.add(b);
  }
  return [...buffers];
}

/** An Error of the Worker's error name and message, as if thrown here. */
function workerError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

/**
 * Trains spec.model on spec.data in `worker` (see TrainingSpec). The data's ArrayBuffers are
 * transferred, not copied: spec.data's arrays are empty (detached) on this side afterwards.
 */
export function trainInWorker(
  worker: WorkerLike,
  spec: TrainingSpec,
  options: TrainInWorkerOptions = {},
): TrainingRun {
  const send = (msg: ToWorker, transfer: ArrayBuffer[] = []) => worker.postMessage(msg, transfer);
  type Reply = { bytes: Uint8Array | null; iteration: number; error?: string };
  const waiting = new Map<number, (reply: Reply) => void>();
  let nextId = 1;
  const pauses: ((iteration: number) => void)[] = [],
    resumes: ((iteration: number) => void)[] = [];
  let settled = false;
  let resolveReady!: (b: WorkerBackendInfo) => void, rejectReady!: (e: Error) => void;
  let resolveDone!: (r: TrainingResult) => void, rejectDone!: (e: Error) => void;
  const ready = new Promise<WorkerBackendInfo>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  const done = new Promise<TrainingResult>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  ready.catch(() => {}); // a failed run rejects both; done is the one callers must handle
  worker.addEventListener('message', (event) => {
    if (settled) return;
    const msg = event.data as FromWorker;
    switch (msg.type) {
      case 'ready':
        return resolveReady(msg.backend);
      case 'progress':
        return options.onProgress?.(msg.progress);
      case 'paused':
        return pauses.splice(0).forEach((f) => f(msg.iteration));
      case 'resumed':
        return resumes.splice(0).forEach((f) => f(msg.iteration));
      case 'checkpoint':
        waiting.get(msg.id)?.(msg);
        waiting.delete(msg.id);
        return;
      case 'done': {
        settled = true;
        const { type: _type, ...result } = msg;
        try {
          resolveDone({
            ...result,
            trainedModel: decodeModel<Model>(msg.model, 'the trained model'),
          });
        } catch (e) {
          rejectDone(e as Error);
        }
        return;
      }
      case 'error': {
        settled = true;
        const e = workerError(msg.name, msg.message);
        rejectReady(e);
        rejectDone(e);
      }
    }
  });
  send({ type: 'train', spec }, transferList(spec));
  return {
    ready,
    done,
    pause: () =>
      new Promise<number>((resolve) => {
        pauses.push(resolve);
        send({ type: 'pause' });
      }),
    resume: () =>
      new Promise<number>((resolve) => {
        resumes.push(resolve);
        send({ type: 'resume' });
      }),
    stop: () => send({ type: 'stop' }),
    checkpoint: () =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, ({ bytes, iteration, error }) =>
          bytes === null
            ? reject(workerError('ValueError', String(error)))
            : resolve({ bytes, iteration }),
        );
        send({ type: 'checkpoint', id });
      }),
  };
}
