// src/tensor/internal.ts: plumbing that other folders share with src/tensor, not part of the
// public API: the storage allocator that kernels/stepMemory.ts swaps in for a training step, and
// the swap of a tensor's storage that kernels/resident.ts does to move params into WASM memory.
import { DTypeError, ShapeError } from './errors.js';
import type { Tensor, TensorData } from './tensor.js';

export { setAllocator, allocate, allocatorInstalled, type Allocator } from './tensor.js';

/**
 * Makes `data` the storage of t in place of its current array (same element type and length;
 * the values are the caller's business). `data` is readonly to users only: this is how a param
 * moves into a backend's memory while staying the same Tensor object.
 */
export function replaceData<D extends TensorData>(t: Tensor<D>, data: D): void {
  if (data.constructor !== t.data.constructor)
    throw new DTypeError(
      `replaceData: data is a ${data.constructor.name} but the tensor holds a ${t.data.constructor.name}`,
    );
  if (data.length !== t.data.length)
    throw new ShapeError(
      `replaceData: data has ${data.length} elements but the tensor has ${t.data.length}`,
    );
  (t as { data: D }).data = data;
}
