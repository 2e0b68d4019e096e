// src/kernels/wasm/assembly/index.ts: the entry of the WASM module (what scripts/build-wasm.mjs
// compiles; its exports are the module's): runJob, the loop every thread runs over one shared
// job, plus the few calls that are not jobs. The kernels live one family per file (gemm, conv,
// pool, channels, elementwise, optim), each function under a comment naming the function of
// src/kernels/reference/ it must agree with (to 1e-5 relative; most agree bit for bit). The job
// ids and the dispatch switch are in ./jobs.ts, which the build generates from the job table
// src/kernels/wasm/jobs.ts. Pointers are byte addresses in the (imported, possibly shared)
// memory; src/kernels/wasm/arena.ts owns the layout.
import { beat, setHeartbeat } from './common';
import { gemmScratchBytes as scratchBytesOfGemm } from './gemm';
import { dispatch, JOB_DIGEST, JOB_FLOATS, JOB_INTS } from './jobs';

// The job that threads share (at `job`; the layout is JOB_LAYOUT in src/kernels/wasm/jobs.ts):
// int32 0 the next chunk (an atomic counter), 1 the chunk count n, 2 the job id, 3 the address of
// the chunk bounds (n + 1 int32: chunk i is [bounds[i], bounds[i + 1]); workers.ts: chunkBounds
// chooses them), 4 the units in all; the integer arguments from byte JOB_INTS, the float64 ones
// from JOB_FLOATS.
// Every thread calls runJob with its own scratch and takes chunks from the counter until none
// are left, so a thread that starts late (or is descheduled) simply takes fewer. A chunk is a
// range [lo, hi) of the job's outer unit (rows or columns of out for gemm, elements for relu,
// (channel, image) pairs for im2col/col2im, planes for pooling, channels or images for batch
// norm's sweeps, ...). Each writes only its own part of the output, so the split changes no
// result. `counter` (0 for none) is an int32 this thread bumps as it works (its heartbeat: per
// chunk here, per packed block in gemm). `done` (0 for none) is an int32 per chunk, set to 1 when
// the chunk is finished: after a worker dies, the caller can tell the chunks it had taken but not
// finished (those below the counter and not done) from the untaken ones (wasm/workers.ts).
export function runJob(job: usize, scratch: usize, counter: usize, done: usize): void {
  setHeartbeat(counter);
  const nChunks = load<i32>(job, 4), id = load<i32>(job, 8);
  const bounds = <usize>load<i32>(job, 12);
  const ints = job + JOB_INTS, floats = job + JOB_FLOATS;
  for (let i = atomic.add<i32>(job, 1); i < nChunks; i = atomic.add<i32>(job, 1)) {
    const lo = load<i32>(bounds + (<usize>i << 2)), hi = load<i32>(bounds + (<usize>i << 2), 4);
    dispatch(id, ints, floats, lo, hi, scratch);
    if (done != 0) atomic.store<i32>(done + (<usize>i << 2), 1);
    beat();
  }
  setHeartbeat(0);
}

// reference/gemm.ts: gemm (no loop: the scratch bytes one thread's gemm needs).
export function gemmScratchBytes(): i32 {
  return scratchBytesOfGemm();
}

// The digest of the job table this module was built from (src/kernels/wasm/jobs.ts: jobDigest),
// which the loader compares with its own: a stale build is an error, not wrong kernels.
export function jobDigest(): i32 {
  return JOB_DIGEST;
}

// Kernels.zero (no loop): bytes zero bytes at ptr.
export function zero(ptr: usize, bytes: usize): void {
  memory.fill(ptr, 0, bytes);
}
