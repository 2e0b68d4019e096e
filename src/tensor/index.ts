// src/tensor/index.ts: the bottom of the stack; imports nothing from layerwise.
export { Tensor, fmt, sizeOf, dtypeOf, setAllocator, allocate, argmaxRows } from './tensor.js';
export type {
  DType,
  FloatDType,
  TensorData,
  FloatData,
  FloatTensor,
  IntTensor,
  Allocator,
} from './tensor.js';
export { Rng, defaultRng } from './random.js';
export type { RngState } from './random.js';
export { ShapeError, DTypeError, ValueError } from './errors.js';
export {
  expectTensor,
  expectShape,
  expectNdim,
  expectFloat,
  expectSameDType,
  expectNumber,
  labelsOf,
  expectFinite,
  expectOptions,
  suggestName,
} from './check.js';
export type { Labels } from './check.js';
