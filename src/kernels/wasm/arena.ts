// src/kernels/wasm/arena.ts: the WASM memory of one backend instance, and where a kernel call's
// operands live in it.
//
// The memory map: below JOB_AT AssemblyScript's static data; at JOB_AT the job block the threads
// share (jobs.ts: JOB_LAYOUT); at SLOTS_AT the workers' control slots (workers.ts); at DONE_AT
// the chunk flags of the current job, at BOUNDS_AT its chunk bounds; up to
// RESERVED nothing else; then one gemm scratch per thread; then the regions this arena hands out
// (staging areas and resident blocks), growing the memory as needed.
//
// Where operands live: a Float32Array that is a view of this memory (a block lent by
// residentBlock, which StepMemory hands out as the storage of a training step's tensors) is used
// in place. Any other operand is copied into a staging area inside WASM memory and, if written,
// back. Blocks are never freed behind the caller's back (JS has no destructors, and freeing on
// garbage collection would be unsafe: a subarray keeps the memory alive but not the parent view);
// they come back only through releaseBlock. Copies cost O(MK + KN + MN) beside O(MNK) work (6% of
// a 128³ product, under 1% from 512³; bench/wasm.ts measures it) but dominate the elementwise
// kernels.
import type { Buf } from '../types.js';
import { JOB_LAYOUT } from './jobs.js';
import type { Operand } from './plan.js';
import { MAX_PAGES, PAGE, type WasmMemory } from './load.js';

/** Byte offset of the job block (jobs.ts: JOB_LAYOUT). */
export const JOB_AT = 1024;
/** Byte offset of the workers' control slots, SLOT_BYTES each (workers.ts). */
export const SLOTS_AT = JOB_AT + JOB_LAYOUT.bytes;
export const SLOT_BYTES = 32;
/**
 * Byte offset of the current split job's chunk flags, one int32 per chunk (assembly/index.ts:
 * runJob sets them; workers.ts reads them after a worker dies), after the slots of 15 workers.
 */
export const DONE_AT = 2048;
/**
 * Byte offset of the current job's chunk bounds, one int32 per chunk and one more (workers.ts:
 * chunkBounds writes them, assembly/index.ts: runJob reads them); the flags above end before it.
 */
export const BOUNDS_AT = 4096;
/** Below this: AssemblyScript's static area and the control block; the scratch areas follow. */
export const RESERVED = PAGE;

export const align = (bytes: number): number => Math.ceil(bytes / 64) * 64;

/** Where place() put a call's operands, and which of them it copied. */
export interface Placed {
  readonly ops: readonly Operand[];
  readonly ptrs: number[];
  readonly staged: boolean[];
}

export class Arena {
  private f32: Float32Array = new Float32Array(0);
  /** Where operands that are not resident are copied for one kernel call. */
  private staging = { base: 0, bytes: 0 };
  /** Regions given back (released blocks, outgrown staging areas), reused first-fit. */
  private readonly free: Array<{ base: number; bytes: number }> = [];
  /** Every ArrayBuffer object that views this memory (shared memory gives a new one per growth). */
  private readonly residentBuffers = new WeakSet<object>();
  /** Bytes copied into and out of WASM memory so far (operands that were not resident). */
  copiedBytes = 0;

  /**
   * @param top end of the memory in use (bytes): the regions start here
   * @param zeroBytes fills bytes with zeros (WASM's memory.fill, over twice as fast on shared memory)
   */
  constructor(
    private readonly memory: WasmMemory,
    private readonly shared: boolean,
    private top: number,
    private readonly zeroBytes: (ptr: number, bytes: number) => void,
  ) {
    this.grow(top);
  }

  /** Grows the memory to at least `bytes` and refreshes the view (growth gives a new, longer buffer). */
  private grow(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) {
      const pages = Math.ceil((bytes - have) / PAGE);
      if (have / PAGE + pages > MAX_PAGES) {
        throw new RangeError(
          `wasm backend: needs ${bytes} bytes of WASM memory, more than the ${MAX_PAGES * PAGE} allowed`,
        );
      }
      this.memory.grow(pages);
    }
    if (this.f32.buffer !== this.memory.buffer) {
      this.f32 = new Float32Array(this.memory.buffer);
      this.residentBuffers.add(this.memory.buffer);
    }
  }

  /** A region of `bytes` (64-byte aligned): the front of a free one that fits, else new memory at the top. */
  private region(bytes: number): number {
    bytes = align(bytes);
    const i = this.free.findIndex((r) => r.bytes >= bytes);
    if (i >= 0) {
      const r = this.free.splice(i, 1)[0];
      if (r.bytes > bytes) this.free.push({ base: r.base + bytes, bytes: r.bytes - bytes }); // the rest stays free
      return r.base;
    }
    this.grow(this.top + bytes);
    const base = this.top;
    this.top += bytes;
    return base;
  }

  /**
   * A zeroed block of `length` float32s in WASM memory, which the kernels use in place (see
   * StepMemory). Only with shared memory: growing unshared memory detaches every view of it.
   * null when the memory is full (the caller then uses an ordinary array).
   */
  residentBlock(length: number): Float32Array | null {
    if (!this.shared) return null;
    try {
      const base = this.region(length * 4);
      // After a growth, V8 may replace memory.buffer by a new object (same memory) at any later
      // interrupt, so every object a block is made on is recorded here, not only those grow() saw.
      const buffer = this.memory.buffer;
      this.residentBuffers.add(buffer);
      const block = new Float32Array(buffer, base, length);
      this.zeroBytes(base, block.byteLength);
      return block;
    } catch (e) {
      if (e instanceof RangeError) return null;
      throw e;
    }
  }

  releaseBlock(block: Float32Array): void {
    if (this.residentPtr(block) < 0)
      throw new Error('wasm.releaseBlock: the block is not the memory of this backend');
    this.free.push({ base: block.byteOffset, bytes: align(block.byteLength) });
  }

  /** The byte address of buf when it lies in this memory (a resident block or a view of one), else −1. */
  residentPtr(buf: Buf): number {
    if (!(buf instanceof Float32Array)) return -1;
    if (this.residentBuffers.has(buf.buffer)) return buf.byteOffset;
    if (buf.buffer !== this.memory.buffer) return -1;
    this.residentBuffers.add(buf.buffer); // a view made on memory.buffer by the caller
    return buf.byteOffset;
  }

  /**
   * Addresses of one call's operands: resident ones in place, the others copied into the staging
   * area ('in' and 'inout' are copied in). An output that overlaps another operand is staged too:
   * the kernels read their inputs while they write. finish() copies staged outputs back.
   */
  place(ops: readonly Operand[]): Placed {
    const ptrs = ops.map((op) => this.residentPtr(op.buf));
    const staged = ptrs.map(
      (p, i) => p < 0 || (ops[i].role !== 'in' && overlapsAnother(ops, ptrs, i)),
    );
    let bytes = 0;
    for (let i = 0; i < ops.length; i++) if (staged[i]) bytes += align(byteLength(ops[i]));
    if (bytes > this.staging.bytes) {
      if (this.staging.bytes > 0) this.free.push(this.staging);
      const want = Math.max(bytes, 2 * this.staging.bytes);
      this.staging = { base: this.region(want), bytes: align(want) };
    }
    let off = this.staging.base;
    for (let i = 0; i < ops.length; i++) {
      if (!staged[i]) continue;
      ptrs[i] = off;
      off += align(byteLength(ops[i]));
      const { buf, n, role } = ops[i];
      if (role === 'out') continue;
      this.view(buf, ptrs[i], n).set(n === buf.length ? buf : buf.subarray(0, n));
      this.copiedBytes += byteLength(ops[i]);
    }
    return { ops, ptrs, staged };
  }

  /** Copies the staged outputs of a call back to their buffers. */
  finish({ ops, ptrs, staged }: Placed): void {
    for (let i = 0; i < ops.length; i++) {
      if (!staged[i] || ops[i].role === 'in') continue;
      ops[i].buf.set(this.view(ops[i].buf, ptrs[i], ops[i].n));
      this.copiedBytes += byteLength(ops[i]);
    }
  }

  /** A view of n elements at byte address ptr, of buf's element type. */
  private view(buf: Buf, ptr: number, n: number): Buf {
    return buf instanceof Float32Array
      ? this.f32.subarray(ptr >> 2, (ptr >> 2) + n)
      : new Float64Array(this.memory.buffer, ptr, n);
  }
}

/** Bytes of the elements of an operand that a call uses. */
const byteLength = (op: Operand): number => op.n * op.buf.BYTES_PER_ELEMENT;

/** Whether resident operand i overlaps another resident operand (byte ranges at ptrs). */
function overlapsAnother(ops: readonly Operand[], ptrs: readonly number[], i: number): boolean {
  const lo = ptrs[i],
    hi = lo + byteLength(ops[i]);
  return ops.some(
    (op, j) => j !== i && ptrs[j] >= 0 && ptrs[j] < hi && lo < ptrs[j] + byteLength(op),
  );
}
