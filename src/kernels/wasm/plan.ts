// src/kernels/wasm/plan.ts: what the job table (jobs.ts) says of one kernel call, its plan: the
// operands, the arguments and how the work splits into chunks; and when a job is worth splitting
// across the threads at all (threadsPay). workers.ts cuts the chunks (chunkBounds).
import type { Buf } from '../types.js';

/** The AssemblyScript kernel families, one file each: assembly/<family>.ts. */
export type Family = 'gemm' | 'conv' | 'pool' | 'channels' | 'elementwise' | 'optim';

/** One operand of a call: its buffer, the elements the call uses, and whether it is read, written or both. */
export interface Operand {
  /** The argument's name, for messages. */
  readonly name: string;
  readonly buf: Buf;
  readonly n: number;
  readonly role: 'in' | 'out' | 'inout';
  /** A float64 operand (sums, statistics, coefficients); all others must be Float32Arrays. */
  readonly f64?: boolean;
}

/**
 * How a job's range of units [0, total) (rows, elements, planes, ...) is cut into chunks for the
 * threads (whole multiples of `unit`), and whether threads pay: a product that does `work` >=
 * THREAD_MIN_WORK multiply-adds, or a memory-bound kernel that moves `bytes` >= PARALLEL_MIN_BYTES.
 * With neither, the job runs on the calling thread in one chunk.
 */
export interface Split {
  readonly total: number;
  readonly unit?: number;
  readonly work?: number;
  readonly bytes?: number;
  /**
   * Even chunks, this many per thread, for a job whose every chunk redoes some work (a gemm chunk
   * packs all of the operand it does not split): fewer chunks save that, more even out threads
   * that start late or run slower. Without it the job takes guided chunks, large ones first
   * (workers.ts: chunkBounds).
   */
  readonly chunksPerThread?: number;
}

/** What the runner needs for one call. */
export interface Plan {
  /** The operands; their addresses are the job's first integer arguments, in this order. */
  readonly operands: readonly Operand[];
  /** The integer arguments after the addresses. */
  readonly ints?: readonly number[];
  /** The float64 arguments. */
  readonly floats?: readonly number[];
  readonly split: Split;
  /** Per-thread scratch the job needs beyond gemm's, and what to say when it is not there. */
  readonly scratch?: { readonly bytes: number; readonly reason: string };
  /**
   * The job reads what it writes (an update in place): its chunks cannot be redone after a worker
   * dies mid-job, only the untaken ones run (workers.ts: finishAfterDeath).
   */
  readonly inPlace?: boolean;
}

/** A table entry: the family file of the job, and its plan for the method's arguments. */
export interface JobSpec<P extends readonly unknown[]> {
  readonly family: Family;
  plan(...args: P): Plan;
}

/**
 * Products with fewer multiply-adds than this (M·N·K) stay on the calling thread: below it the
 * wake-up of a worker and the second packing of b cost more than half of the work saves.
 * Measured on the 2-core Xeon of the bench (square n: 2 threads lose at 96, tie at 128, win by
 * 1.3x at 192 and 1.7x at 256).
 */
export const THREAD_MIN_WORK = 128 * 128 * 128;

/**
 * Memory-bound kernels that move fewer bytes than this run on the calling thread (above it each
 * core adds its own bandwidth).
 */
export const PARALLEL_MIN_BYTES = 1 << 20;

/** Whether a job is worth splitting across the threads (see Split). */
export function threadsPay({ total, unit = 1, work, bytes }: Split): boolean {
  if (work !== undefined) return work >= THREAD_MIN_WORK;
  return bytes !== undefined && bytes >= PARALLEL_MIN_BYTES && total > unit;
}
