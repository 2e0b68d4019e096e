// src/tensor/index.ts: the bottom of the stack; imports nothing from layerwise.
// The storage allocator hooks (setAllocator, allocate) are plumbing for src/kernels/stepMemory.ts:
// they are in ./internal.ts, not here.
export { Tensor, fmt, sizeOf, dtypeOf, argmaxRows } from './tensor.js';
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
export { ShapeError, DTypeError, ValueError, FileError } from './errors.js';
export {
  expectTensor,
  expectShape,
  expectNdim,
  expectFloat,
  expectSameDType,
  expectNumber,
  expectId,
  idsOf,
  labelsOf,
  expectFinite,
  preview,
} from './check.js';
export type { Ids, Labels } from './check.js';
export {
  suggestName,
  didYouMean,
  unknownName,
  choiceList,
  mustBeOneOf,
  expectOneOf,
  floatDType,
  expectOptions,
} from './names.js';
