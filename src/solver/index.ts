// src/solver/index.ts: the training loop (solver.ts), its options (options.ts), data (data.ts) and
// the training state of its checkpoints (state.ts).
export { Solver } from './solver.js';
export type {
  SaveCheckpointOptions,
  SolverModel,
  SolverData,
  SolverOptions,
  SolverProgress,
} from './solver.js';
