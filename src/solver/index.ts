// src/solver/index.ts: the training loop.
export { Solver } from './solver.js';
export type { SolverModel, SolverData, SolverOptions, SolverProgress } from './solver.js';
