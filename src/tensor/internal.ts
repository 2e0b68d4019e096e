// src/tensor/internal.ts: plumbing that other folders share with src/tensor, not part of the
// public API: the storage allocator that kernels/stepMemory.ts swaps in for a training step.
export { setAllocator, allocate, allocatorInstalled, type Allocator } from './tensor.js';
