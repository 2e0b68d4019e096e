// src/worker/index.ts: layerwise/worker, training in a Web Worker. The page calls
// trainInWorker(createTrainingWorker(), spec) (client.ts); the Worker runs serveTraining (host.ts,
// started by script.ts); protocol.ts holds the messages between them.
export { trainInWorker, createTrainingWorker } from './client.js';
export type { TrainingRun, TrainingResult, TrainInWorkerOptions, WorkerLike } from './client.js';
export { serveTraining } from './host.js';
export type { WorkerScope } from './host.js';
export type {
  TensorParts,
  TrainingDone,
  TrainingSpec,
  WorkerBackend,
  WorkerBackendInfo,
  WorkerData,
  WorkerSolverOptions,
} from './protocol.js';
