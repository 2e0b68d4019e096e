// src/worker/protocol.ts: the messages between a page (client.ts) and a training Worker
// (host.ts). Everything in them is structured-cloneable; the data's ArrayBuffers, the checkpoint
// bytes and the histories are transferred, not copied.
import type { BackendName, WasmInfo } from '../kernels/index.js';
import type { ModelConfig } from '../models/index.js';
import type { RuleName } from '../optim/index.js';
import type { SolverOptions, SolverProgress } from '../solver/index.js';

/** A float32 tensor as plain parts: row-major data and its shape. */
export interface TensorParts {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** The training data: images or rows (N, ...) and int32 class labels (N). */
export interface WorkerData {
  readonly XTrain: TensorParts;
  readonly yTrain: Int32Array;
  readonly XVal?: TensorParts;
  readonly yVal?: Int32Array;
}

/** The Solver options that are plain values (functions cannot cross to a Worker). */
export type WorkerSolverOptions = Omit<
  SolverOptions,
  'updateRule' | 'onProgress' | 'augment' | 'log' | 'evaluate' | 'checkpoint'
> & { readonly updateRule?: RuleName };

/** Which kernels the Worker runs, as setBackend(name, { threads, simd }) there. */
export interface WorkerBackend {
  /** Default 'auto'. */
  readonly name?: BackendName;
  /** At most this many kernel threads, the training Worker's included (default: every core). */
  readonly threads?: number;
  /** 'simd' forces the plain f32x4 build (to match a runtime without relaxed SIMD). */
  readonly simd?: 'auto' | 'simd';
}

/** What to train: a model by its config, the data, Solver options, augmentation, kernels. */
export interface TrainingSpec {
  /** A model class of layerwise's `models` and its options, as model.config holds them. */
  readonly model: ModelConfig;
  readonly data: WorkerData;
  readonly solver?: WorkerSolverOptions;
  /** data.makeAugment(kind, amount) on every training minibatch, e.g. { kind: 'shift', amount: 2 }. */
  readonly augment?: { readonly kind: 'shift' | 'flip-crop'; readonly amount: number } | null;
  readonly backend?: WorkerBackend;
  /** How often the Worker looks at its messages (pause, stop, checkpoint), in ms; default 20. */
  readonly yieldEveryMs?: number;
}

/** What the Worker runs on, reported once it is ready. */
export interface WorkerBackendInfo {
  readonly name: string;
  /** The wasm build and its threads (null for the reference kernels). */
  readonly wasm: WasmInfo | null;
  /** Kernel threads that started, the training Worker's included. */
  readonly threadsReady: number;
  readonly crossOriginIsolated: boolean | null;
}

/** Page -> Worker. */
export type ToWorker =
  | { readonly type: 'train'; readonly spec: TrainingSpec }
  | { readonly type: 'pause' }
  | { readonly type: 'resume' }
  | { readonly type: 'stop' }
  | { readonly type: 'checkpoint'; readonly id: number };

/** The end of a run: why, the model's bytes (io.encodeModel) and the histories. */
export interface TrainingDone {
  /** 'finished': all epochs ran (the model holds the best-validation params); 'stopped': stop(). */
  readonly reason: 'finished' | 'stopped';
  readonly model: Uint8Array;
  readonly lossHistory: Float64Array;
  readonly trainAccHistory: Float64Array;
  readonly valAccHistory: Float64Array;
  readonly iteration: number;
  readonly epoch: number;
  /** Per kernel worker, its heartbeat count (above 0 when it ran jobs); [] without workers. */
  readonly workerBeats: readonly number[];
}

/** Worker -> page. */
export type FromWorker =
  | { readonly type: 'ready'; readonly backend: WorkerBackendInfo }
  | { readonly type: 'progress'; readonly progress: SolverProgress }
  | { readonly type: 'paused'; readonly iteration: number }
  | { readonly type: 'resumed'; readonly iteration: number }
  | {
      readonly type: 'checkpoint';
      readonly id: number;
      /** io.encodeModel of the model between iterations; null (with error) before it exists. */
      readonly bytes: Uint8Array | null;
      readonly iteration: number;
      readonly error?: string;
    }
  | ({ readonly type: 'done' } & TrainingDone)
  | { readonly type: 'error'; readonly name: string; readonly message: string };
