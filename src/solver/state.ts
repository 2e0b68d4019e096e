// src/solver/state.ts: the Solver's part of a training checkpoint, written by encodeTrainingState
// and read back by ONE typed parser that checks every field (type, range, length) before the
// Solver or its model is touched. What can be derived is not stored: the epoch, the best
// validation score, the epochs since it and the early stop all follow from the iteration and
// the histories. Long runs stay cheap: the histories are float64 tensors, not JSON, and nothing
// here recurses or spreads an array whose length grows with the iterations or the rows.
//
// The JSON (safetensors metadata 'layerwise.training', format 2; docs/FORMATS.md):
//   numTrain    training rows of the run               iteration  iterations done
//   rng         the Solver's generator state           modelRng   the model's, or null
//   updateRule  the rule's name, null for a function   hooks      function options to pass again
//   options     the plain-value options (SAVED_OPTIONS) of the run
//   optim       per param: { scalars: { key: number }, arrays: [key] } of its update-rule config
// and the tensors (beside the model's own):
//   solver.lossHistory (iteration) F64, solver.trainAccHistory / solver.valAccHistory (epochs) F64,
//   solver.order (numTrain) I32 mid-epoch only, optim.<param>.<key>, best.<param or buffer>.
// Format 1 (layerwise 0.1.0) kept the histories and derived fields in the JSON; it is migrated.
// Split by concern: the types and tensor names (stateSchema.ts), writing (stateEncode.ts), the
// JSON fields (stateJson.ts) and the checks against the restoring Solver (stateParse.ts).
export {
  bestIndex,
  STATE_VERSION,
  type SavedRun,
  type StateContext,
  type StateSnapshot,
  type TrainingState,
} from './stateSchema.js';
export { encodeTrainingState } from './stateEncode.js';
export { parseSavedRun, parseTrainingState } from './stateParse.js';
