// src/io/index.ts: reading and writing files: checkpoints (safetensors + JSON config).
// -- issue 5 (atomic, safetensors, checkpoint) --
export { writeFileAtomic } from './atomic.js';
export {
  encodeSafetensors,
  decodeSafetensors,
  writeSafetensors,
  readSafetensors,
  SafetensorsError,
} from './safetensors.js';
export type { SafetensorsContents } from './safetensors.js';
export {
  saveModel,
  loadModelInto,
  loadModel,
  registerModel,
  modelTensors,
  restoreModel,
  checkModelFits,
  saveTrainingCheckpoint,
  readTrainingCheckpoint,
  FORMAT_VERSION,
} from './checkpoint.js';
export type { CheckpointModel, ModelFactory, TrainingCheckpoint } from './checkpoint.js';
// -- issue 6 (png, plot) --
export {
  encodePng,
  decodePng,
  readPng,
  toModelInput,
  crc32,
  resizeWeights,
  MAX_PNG_PIXELS,
} from './png.js';
export type { PngImage, ModelInputOptions } from './png.js';
export { linePlotPng, imageGridPng, niceTicks, formatTick, PLOT_COLOURS } from './plot.js';
export type { PlotOptions, ImageGridOptions } from './plot.js';
