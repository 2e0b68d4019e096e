// src/worker/script.ts: a ready-made training Worker: `new Worker(new URL('layerwise/worker/script',
// import.meta.url), { type: 'module' })`, or createTrainingWorker(), then trainInWorker(worker, spec).
import { serveTraining, type WorkerScope } from './host.js';

serveTraining(globalThis as unknown as WorkerScope);
