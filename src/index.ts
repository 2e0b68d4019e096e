// src/index.ts: the public surface of layerwise. Anything not re-exported here is private.
export { Tensor, Rng, ShapeError, DTypeError, ValueError } from './tensor/index.js';
export type {
  DType,
  FloatDType,
  FloatTensor,
  IntTensor,
  Labels,
  RngState,
} from './tensor/index.js';
export * as tensor from './tensor/index.js';
export * as kernels from './kernels/index.js';
export { setBackend } from './kernels/index.js';
export * as layers from './layers/index.js';
export * as nn from './nn/index.js';
export * as models from './models/index.js';
export * as gradcheck from './gradcheck/index.js';
// -- issue 5: optim, Solver, io --
export * as optim from './optim/index.js';
export * as io from './io/index.js';
export { Solver } from './solver/index.js';
export type { SolverModel, SolverData, SolverOptions, SolverProgress } from './solver/index.js';
// -- issue 6: data --
export * as data from './data/index.js';
