// src/io/internal.ts: the checkpoint plumbing that the Solver and the CLI share with src/io, not
// part of the public API.
export {
  checkModelFits,
  decodeModel,
  encodeModel,
  modelTensors,
  restoreModel,
} from './checkpoint.js';
export {
  readTrainingCheckpoint,
  saveTrainingCheckpoint,
  type StoredCheckpoint,
  type StoredTrainingState,
  type TrainingCheckpoint,
} from './trainingCheckpoint.js';
export { fitsDescription, storedDescription } from './describe.js';
// the raster and text of the plots, for the pictures of src/vis
export { Canvas, TEXT_HEIGHT, textWidth, type RGB } from './plot.js';
export { encodePng } from './png.js';
