// src/kernels/stepMemory.ts: StepMemory, storage that a training loop reuses every step.
//
// A training step allocates the same tensors every time (activations, caches, gradients,
// scratch), and all of them are dead by the next step. Fresh typed arrays for them cost a
// zero-filled allocation each, garbage collections, and, with the wasm backend, a copy into WASM
// memory and back around every kernel call. run(fn) instead serves fn's float32 and int32
// allocations from blocks it keeps, laid out again from the start on every run: after the first
// step a step allocates nothing new. With the wasm backend the blocks are WASM memory
// (Kernels.residentBlock), so the kernels read and write those tensors in place.
//
// The rule that makes this safe: a tensor allocated inside run(fn) is valid only until the next
// run() of the same StepMemory starts, or release(). Whatever must outlive a step (params,
// running statistics, optimizer state) is created outside run(). The Solver wraps only the
// model's loss(X, y) (and the gathering of its batch), and only for models that declare
// reusesStepMemory (see nn/model.ts).
import type { DType, TensorData } from '../tensor/index.js';
import { setAllocator, type Allocator } from '../tensor/internal.js';
import type { Kernels } from './types.js';

/** Options of a StepMemory. */
export interface StepMemoryOptions {
  /**
   * Fill what Tensor.empty allocates with NaN (int32: −2^31) instead of leaving the last step's
   * values, so that a layer that does not write all of an empty tensor shows in its results.
   * For tests; default false.
   */
  readonly poison?: boolean;
}

const ALIGN = 16; // floats: every tensor starts on a 64-byte cache line
const BLOCK = 1 << 22; // floats per block (16 MiB), unless one tensor needs more

interface Block {
  readonly data: Float32Array;
  readonly owner: Kernels | null; // the backend that lent it (residentBlock), or null for a plain array
}

export class StepMemory {
  private blocks: Block[] = [];
  private block = 0; // the block being filled
  private used = 0; // floats used in it
  private running = false;

  /**
   * @param backend where blocks come from: the float32 backend in use when a block is needed
   *   (a function, so that setBackend between runs is honoured), else plain Float32Arrays.
   */
  constructor(
    private readonly backend: () => Kernels | null = () => null,
    private readonly options: StepMemoryOptions = {},
  ) {}

  /** Bytes of storage held: grows during the first steps, then stays. */
  get reservedBytes(): number {
    return this.blocks.reduce((s, b) => s + b.data.byteLength, 0);
  }

  /**
   * Runs fn with its float32 and int32 allocations (Tensor.zeros and everything built on it)
   * served from this memory, which the previous run's tensors are overwritten by. float64
   * allocations (gradient checks) are not served here. Runs do not nest.
   */
  run<T>(fn: () => T): T {
    if (this.running)
      throw new Error('StepMemory.run: already running (a StepMemory serves one run at a time)');
    this.running = true;
    this.block = 0;
    this.used = 0;
    const previous: Allocator = setAllocator((dtype, n, clear = true) =>
      this.allocate(dtype, n, clear, previous),
    );
    try {
      return fn();
    } finally {
      setAllocator(previous);
      this.running = false;
    }
  }

  /** Gives every block back (to the backend that lent it); later runs start afresh. */
  release(): void {
    if (this.running) throw new Error('StepMemory.release: called inside run()');
    for (const b of this.blocks) b.owner?.releaseBlock?.(b.data);
    this.blocks = [];
  }

  private allocate(dtype: DType, n: number, clear: boolean, fallback: Allocator): TensorData {
    if (dtype === 'float64') return fallback(dtype, n, clear);
    const v = this.take(n, clear);
    const data = dtype === 'int32' ? new Int32Array(v.buffer, v.byteOffset, n) : v;
    if (!clear && this.options.poison) data.fill(dtype === 'int32' ? -(2 ** 31) : NaN);
    return data;
  }

  /** The next n floats (zeroed if clear), from the current block or the next one that fits. */
  private take(n: number, clear: boolean): Float32Array {
    const size = Math.ceil(n / ALIGN) * ALIGN;
    for (;;) {
      const b = this.blocks[this.block];
      if (b === undefined) {
        this.blocks.push(this.newBlock(Math.max(BLOCK, size)));
      } else if (this.used + size <= b.data.length) {
        const v = b.data.subarray(this.used, this.used + n);
        this.used += size;
        if (!clear) return v;
        if (b.owner?.zero) b.owner.zero(v);
        else v.fill(0);
        return v;
      } else if (this.used === 0) {
        this.blocks.splice(this.block, 0, this.newBlock(Math.max(BLOCK, size))); // too small even empty
      } else {
        this.block++;
        this.used = 0;
      }
    }
  }

  private newBlock(length: number): Block {
    const owner = this.backend();
    const data = owner?.residentBlock?.(length) ?? null;
    return data ? { data, owner } : { data: new Float32Array(length), owner: null };
  }
}
