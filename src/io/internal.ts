// src/io/internal.ts: the checkpoint plumbing that the Solver and the CLI share with src/io, not
// part of the public API.
export {
  checkModelFits,
  decodeModel,
  encodeModel,
  modelTensors,
  readTrainingCheckpoint,
  restoreModel,
  saveTrainingCheckpoint,
  type TrainingCheckpoint,
} from './checkpoint.js';
