// src/io/index.ts: the `io` namespace for Node: the byte-level codecs of ./browser.ts (the
// browser entry's `io`), plus file access: atomic writes, safetensors files, PNG files and model
// checkpoints (safetensors + JSON config). What the Solver and the CLI share with the checkpoint
// code (restoring a model, training checkpoints) is plumbing, in ./internal.ts.
export * from './browser.js';
export { writeFileAtomic, removeStaleTempFiles } from './atomic.js';
export { writeSafetensors, readSafetensors } from './safetensors.js';
export { readPng } from './files.js';
export { writeNpy } from './npy.js';
export { saveModel, loadModelInto, loadModel, registerModel } from './checkpoint.js';
export { readModelInfo } from './modelInfo.js';
export { FORMAT_VERSION } from './checkpointMeta.js';
export type { CheckpointModel, ModelFactory, SaveModelOptions } from './checkpoint.js';
