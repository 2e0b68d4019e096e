// src/kernels/resident.ts: params and optimizer state that live in the backend's own memory.
//
// A wasm kernel copies every operand that is not in WASM memory in and, if written, back out
// (wasm/arena.ts). StepMemory spares a training step's own tensors that; what outlives the step,
// the params (read by every gemm and conv, written by the update) and the optimizer's state
// (Adam's m and v), is moved here into blocks of its own (Kernels.residentBlock), once: the
// values are copied and the tensor's storage swapped (tensor/internal.ts: replaceData), so a
// param stays the same Tensor object with a new `.data`. Whoever kept the old array from before
// sees it no longer change: read `tensor.data` afresh.
//
// A block goes back to its backend when its array is collected: the FinalizationRegistry
// watches the array, not the Tensor (reshape() makes new Tensors over the same array). A
// subarray does not keep its parent array alive, so a subarray of a moved param must not be kept
// longer than the param itself.
import { replaceData } from '../tensor/internal.js';
import { Tensor } from '../tensor/index.js';
import type { Kernels } from './types.js';

/** Per lent array: its backend and the region to give back (a view of its own, so the array can be collected). */
const lent = new FinalizationRegistry<{ owner: Kernels; region: Float32Array }>(
  ({ owner, region }) => owner.releaseBlock?.(region),
);

/** Arrays that found no room in k's memory (it is full): not tried again every step. */
const stuck = new WeakSet<object>();

/** Whether k lends blocks and can tell its own memory from other arrays. */
const lends = (k: Kernels): boolean =>
  k.residentBlock !== undefined && k.releaseBlock !== undefined && k.isResident !== undefined;

/** A zeroed block of n floats lent by k and given back when collected; null when k has none. */
function lend(k: Kernels, n: number): Float32Array | null {
  if (n === 0 || !lends(k)) return null;
  const block = k.residentBlock?.(n) ?? null;
  if (block === null) return null;
  lent.register(block, { owner: k, region: new Float32Array(block.buffer, block.byteOffset, n) });
  return block;
}

/**
 * `a` in k's memory: a itself when it lies there already (or cannot move there), else a lent
 * block holding a copy of its values.
 */
export function residentCopyOn(k: Kernels, a: Float32Array): Float32Array {
  if (!lends(k) || a.length === 0 || stuck.has(a) || k.isResident?.(a)) return a;
  const block = lend(k, a.length);
  if (block === null) {
    stuck.add(a);
    return a;
  }
  block.set(a);
  return block;
}

/** n zeros in k's memory when k lends blocks, else a plain Float32Array. */
export function residentZerosOn(k: Kernels, n: number): Float32Array {
  return lend(k, n) ?? new Float32Array(n);
}

/**
 * Moves the storage of each float32 tensor that is not in k's memory yet into a lent block (its
 * values copied, its data swapped). Tensors sharing one array get one block between them; a
 * view of part of a larger buffer stays where it is (other arrays may alias that buffer).
 * Returns how many tensors moved.
 */
export function makeResidentOn(k: Kernels, tensors: Iterable<Tensor>): number {
  if (!lends(k)) return 0;
  const moved = new Map<Float32Array, Float32Array>(); // old array -> its block, for shared arrays
  let count = 0;
  for (const t of tensors) {
    if (!(t instanceof Tensor)) continue; // the caller's checks name what it is
    const d = t.data;
    if (!(d instanceof Float32Array) || k.isResident?.(d)) continue;
    let block = moved.get(d);
    if (block === undefined) {
      if (d.byteOffset !== 0 || d.byteLength !== d.buffer.byteLength) continue; // a view
      block = residentCopyOn(k, d);
      if (block === d) continue; // no room
      moved.set(d, block);
    }
    replaceData(t as Tensor<Float32Array>, block);
    count++;
  }
  return count;
}
