// src/kernels/wasm/jobs.ts: the one table of the WASM backend's kernels. An entry per Kernels
// method, keyed by its name, says which AssemblyScript family file holds its job
// (assembly/<family>.ts, whose `<name>Job` reads the arguments) and plans one call: the operands
// (buffers, roles, the elements the call uses), the integer and float arguments after them, and
// how the work splits across threads. backend.ts derives the Kernels methods from this table;
// scripts/build-wasm.mjs generates assembly/jobs.ts from it (the job ids, which are the entries'
// positions here, and the dispatch switch), so the ids exist in one place. What a plan is, and
// when its job splits across threads, is plan.ts. This file has no runtime imports, so that the
// build script can load it on its own.
import type {
  AdamHypers,
  Buf,
  ConvGeometry,
  GemmBatchedOpts,
  GemmOpts,
  Kernels,
} from '../types.js';
import type { JobSpec, Operand, Plan } from './plan.js';

type Params<N extends keyof Kernels> =
  NonNullable<Kernels[N]> extends (...args: infer P) => unknown ? P : never;
type Specs = { readonly [N in keyof Kernels]?: JobSpec<Params<N>> };

/**
 * The job block the threads share, in bytes (assembly/index.ts: runJob reads it): five int32
 * (the next chunk, the chunk count, the job id, the unit, units in all), then up to
 * maxInts int32 arguments from byte `ints`, and up to maxFloats float64 ones from byte `floats`.
 */
export const JOB_LAYOUT = { ints: 20, maxInts: 24, floats: 120, maxFloats: 17, bytes: 256 };

const read = (name: string, buf: Buf, n: number): Operand => ({ name, buf, n, role: 'in' });
const write = (name: string, buf: Buf, n: number): Operand => ({ name, buf, n, role: 'out' });
const update = (name: string, buf: Buf, n: number): Operand => ({ name, buf, n, role: 'inout' });
const read64 = (name: string, buf: Float64Array, n: number): Operand => ({
  name,
  buf,
  n,
  role: 'in',
  f64: true,
});
const write64 = (name: string, buf: Float64Array, n: number): Operand => ({
  name,
  buf,
  n,
  role: 'out',
  f64: true,
});

/**
 * Chunks per thread for a gemm of `work` multiply-adds whose chunks each pack `repacked` elements
 * of the operand they do not split: 3, fewer while the packing would cost
 * over 5% of a chunk on 2 threads. Packing an element takes about as long as 5.5 multiply-adds
 * (measured on the bench machine: 110 us for op(a) of the CNN's 64x6272x100 fc layer), so a chunk
 * of work / (2c) costs 11·c·repacked / work extra. The fc layers' forward (64 rows, split by
 * columns) gets 1 and the weight gradients (split by rows, a small op(b)) 3.
 */
function gemmChunksPerThread(work: number, repacked: number): number {
  return Math.max(1, Math.min(3, Math.floor(work / (220 * repacked))));
}

/** Element strides of op(a) (M, K) and op(b) (K, N): op(a)[i, k] = a[i·rsA + k·csA], op(b)[k, j] = b[k·rsB + j·csB]. */
function opStrides(M: number, K: number, N: number, { transA, transB }: GemmOpts): number[] {
  return [transA ? 1 : K, transA ? M : 1, transB ? 1 : N, transB ? K : 1];
}

/** Elements a batch of `batch` matrices of `size` elements, `stride` apart, spans. */
const span = (batch: number, stride: number, size: number): number =>
  batch === 0 || size === 0 ? 0 : (batch - 1) * stride + size;

/** A stride of gemmBatched: a non-negative integer (RangeError otherwise). */
function checkStride(arg: string, stride: number, least: number, batch: number): number {
  if (!Number.isInteger(stride) || stride < 0)
    throw new RangeError(`wasm.gemmBatched: ${arg} is ${stride} but must be an integer >= 0`);
  if (batch > 1 && stride < least) {
    throw new RangeError(
      `wasm.gemmBatched: ${arg} is ${stride} but must be at least M·N = ${least} (the outputs would overlap)`,
    );
  }
  return stride;
}

/**
 * Scratch bytes convDirect needs per thread: the padded image (C, H + 2pad, W + 2pad) with a
 * zero row and 16 floats after it, and room to spare.
 */
export function convDirectScratch(C: number, H: number, W: number, pad: number): number {
  return (C * (H + 2 * pad) * (W + 2 * pad) + (W + 2 * pad) + 16) * 4 + 8 + 64 * 1024;
}

/** Scratch bytes convDirectWeightGrad needs per thread: the padded image and F·(K + 1) float64 sums. */
function weightGradScratch(C: number, H: number, W: number, F: number, K: number, pad: number) {
  const sums = (C * (H + 2 * pad) * (W + 2 * pad) + (W + 2 * pad) + 18) * 4 + F * (K + 1) * 8;
  return Math.max(convDirectScratch(C, H, W, pad), sums);
}

/**
 * Every kernel job, in id order (an entry's id is its position; appending keeps the others').
 * Chunks write disjoint parts of the output. A job is redone from the start on the calling thread
 * when a worker dies, except the ones that update in place (addRowVector, sgdStep, adamStep:
 * `inPlace`), whose untaken chunks only are run there (a partial update must not be applied twice).
 */
export const JOBS = {
  gemm: {
    family: 'gemm',
    // rows of out, or its columns when it is wider than tall, in whole micro-tiles (4 x 8)
    plan: (out, a, b, M, K, N, opts = {}) => {
      const byRows = M >= N;
      const work = M * N * K,
        repacked = byRows ? K * N : M * K; // what every chunk packs again: op(b), or op(a)
      return {
        operands: [write('out', out, M * N), read('a', a, M * K), read('b', b, K * N)],
        ints: [M, K, N, ...opStrides(M, K, N, opts), byRows ? 1 : 0],
        split: {
          total: byRows ? M : N,
          unit: byRows ? 4 : 8,
          work,
          chunksPerThread: gemmChunksPerThread(work, repacked),
        },
      };
    },
  },
  addRowVector: {
    family: 'elementwise',
    // rows
    plan: (x, v, M, N) => ({
      operands: [update('x', x, M * N), read('v', v, N)],
      ints: [N],
      split: { total: M, unit: 1, bytes: 8 * M * N },
      inPlace: true,
    }),
  },
  sumRows: {
    family: 'elementwise',
    // columns (each summed over the rows in order, whatever the split)
    plan: (out, x, M, N) => ({
      operands: [write('out', out, N), read('x', x, M * N)],
      ints: [M, N],
      split: { total: N, unit: 16, bytes: 4 * M * N },
    }),
  },
  im2col: {
    family: 'conv',
    // (channel, image) pairs
    plan: (cols, x, g, N = 1) => {
      const { colsLen, xLen } = lowered(g, N);
      return {
        operands: [write('cols', cols, colsLen), read('x', x, xLen)],
        ints: geometry(g, N),
        split: { total: g.C * N, unit: 1, bytes: 4 * (colsLen + xLen) },
      };
    },
  },
  col2im: {
    family: 'conv',
    plan: (dx, cols, g, N = 1) => {
      const { colsLen, xLen } = lowered(g, N);
      return {
        operands: [write('dx', dx, xLen), read('cols', cols, colsLen)],
        ints: geometry(g, N),
        split: { total: g.C * N, unit: 1, bytes: 4 * (colsLen + xLen) },
      };
    },
  },
  reluForward: {
    family: 'elementwise',
    plan: (out, x) => ({
      operands: [write('out', out, x.length), read('x', x, x.length)],
      split: { total: x.length, unit: 1024, bytes: 8 * x.length },
    }),
  },
  reluBackward: {
    family: 'elementwise',
    plan: (dx, dout, x) => {
      const n = x.length;
      return {
        operands: [write('dx', dx, n), read('dout', dout, n), read('x', x, n)],
        split: { total: n, unit: 1024, bytes: 12 * n },
      };
    },
  },
  maxPool2x2Forward: {
    family: 'pool',
    plan: pool2x2ForwardPlan,
  },
  maxPool2x2Backward: {
    family: 'pool',
    plan: pool2x2BackwardPlan,
  },
  swapOuterAxes: {
    family: 'elementwise',
    // a, the outer axis of x
    plan: (out, x, A, B, P) => {
      const n = A * B * P;
      return {
        operands: [write('out', out, n), read('x', x, n)],
        ints: [A, B, P],
        split: { total: A, unit: 1, bytes: 8 * n },
      };
    },
  },
  channelMoments: {
    family: 'channels',
    // channels
    plan: (sums, x, A, C, B) => ({
      operands: [write64('sums', sums, 2 * C), read('x', x, A * C * B)],
      ints: [A, C, B],
      split: { total: C, unit: 1, bytes: 4 * A * C * B },
    }),
  },
  channelDots: {
    family: 'channels',
    // channels
    plan: (sums, u, v, mean, A, C, B) => {
      const n = A * C * B;
      return {
        operands: [
          write64('sums', sums, 2 * C),
          read('u', u, n),
          read('v', v, n),
          read64('mean', mean, C),
        ],
        ints: [A, C, B],
        split: { total: C, unit: 1, bytes: 8 * n },
      };
    },
  },
  channelNormalize: {
    family: 'channels',
    // images
    plan: (out, x, mean, scale, shift, A, C, B) => {
      const n = A * C * B;
      return {
        operands: [
          write('out', out, n),
          read('x', x, n),
          read64('mean', mean, C),
          read64('scale', scale, C),
          read64('shift', shift, C),
        ],
        ints: [C, B],
        split: { total: A, unit: 1, bytes: 8 * n },
      };
    },
  },
  channelCombine: {
    family: 'channels',
    // images
    plan: (out, u, v, mean, coef, A, C, B) => {
      const n = A * C * B;
      return {
        operands: [
          write('out', out, n),
          read('u', u, n),
          read('v', v, n),
          read64('mean', mean, C),
          read64('coef', coef, 3 * C),
        ],
        ints: [C, B],
        split: { total: A, unit: 1, bytes: 12 * n },
      };
    },
  },
  convDirect: {
    family: 'conv',
    // images
    plan: (out, x, w, b, N, C, H, W, F, HH, WW, pad) => {
      const { xLen, outLen } = directLengths(N, C, H, W, F, HH, WW, pad);
      return {
        operands: [
          write('out', out, outLen),
          read('x', x, xLen),
          read('w', w, F * C * HH * WW),
          read('b', b, F),
        ],
        ints: [C, H, W, F, HH, WW, pad],
        split: { total: N, unit: 1, bytes: 4 * (xLen + outLen) },
        scratch: {
          bytes: convDirectScratch(C, H, W, pad),
          reason: `a padded ${C}x${H}x${W} image does not fit the scratch`,
        },
      };
    },
  },
  convDirectWeightGrad: {
    family: 'conv',
    // filters: each thread sums all images for its own filters (no sums across threads)
    plan: (dw, db, dout, x, N, C, H, W, F, HH, WW, pad) => {
      const { xLen, outLen } = directLengths(N, C, H, W, F, HH, WW, pad),
        K = C * HH * WW;
      return {
        operands: [
          write('dw', dw, F * K),
          write('db', db, F),
          read('dout', dout, outLen),
          read('x', x, xLen),
        ],
        ints: [N, C, H, W, F, HH, WW, pad],
        split: { total: F, unit: 4, bytes: 4 * (xLen + outLen) }, // whole 4-filter tiles
        scratch: {
          bytes: weightGradScratch(C, H, W, F, K, pad),
          reason: `a padded ${C}x${H}x${W} image and ${F}x${K + 1} sums do not fit the scratch`,
        },
      };
    },
  },
  sgdStep: {
    family: 'optim',
    plan: (w, dw, lr, weightDecay) => ({
      operands: [update('w', w, w.length), read('dw', dw, w.length)],
      floats: [lr, weightDecay],
      split: { total: w.length, unit: 1024, bytes: 12 * w.length }, // elements
      inPlace: true,
    }),
  },
  adamStep: {
    family: 'optim',
    plan: (w, dw, m, v, h: AdamHypers) => {
      const n = w.length;
      return {
        operands: [update('w', w, n), read('dw', dw, n), update('m', m, n), update('v', v, n)],
        floats: [h.beta1, h.beta2, h.stepSize, h.invBc2Sqrt, h.eps, h.l2],
        split: { total: n, unit: 1024, bytes: 28 * n }, // elements
        inPlace: true,
      };
    },
  },
  gemmBatched: {
    family: 'gemm',
    // the batch·M rows of all the outputs in whole micro-tiles (4 rows): whole matrices per chunk
    // for a long batch of small ones, parts of one for a short batch of large ones
    plan: (out, a, b, batch, M, K, N, opts: GemmBatchedOpts = {}) => {
      const strideA = checkStride('strideA', opts.strideA ?? M * K, 0, batch),
        strideB = checkStride('strideB', opts.strideB ?? K * N, 0, batch),
        strideOut = checkStride('strideOut', opts.strideOut ?? M * N, M * N, batch);
      // outputs with gaps between them: a staged out is copied in too, so that the gaps keep
      // what they held
      const outOperand = batch > 1 && strideOut > M * N ? update : write;
      return {
        operands: [
          outOperand('out', out, span(batch, strideOut, M * N)),
          read('a', a, span(batch, strideA, M * K)),
          read('b', b, span(batch, strideB, K * N)),
        ],
        ints: [M, K, N, ...opStrides(M, K, N, opts), strideA, strideB, strideOut],
        // every chunk packs op(b) of each of its matrices again: even chunks, 3 per thread
        split: { total: batch * M, unit: 4, work: batch * M * N * K, chunksPerThread: 3 },
      };
    },
  },
  reluMaxPool2x2Forward: {
    family: 'pool',
    plan: pool2x2ForwardPlan,
  },
  reluMaxPool2x2Backward: {
    family: 'pool',
    plan: pool2x2BackwardPlan,
  },
  zero: {
    family: 'elementwise',
    // elements (StepMemory's fills of reused blocks; a buffer not in WASM memory is staged)
    plan: (buf) => ({
      operands: [write('buf', buf, buf.length)],
      split: { total: buf.length, unit: 1024, bytes: 4 * buf.length },
    }),
  },
} satisfies Specs;

/** The names of the kernels that are jobs. */
export type JobName = keyof typeof JOBS;

/** The job names in id order (an id is a position here). */
export const JOB_NAMES = Object.keys(JOBS) as JobName[];

/** The id of every job (its position in JOBS). */
export const JOB_IDS = Object.fromEntries(JOB_NAMES.map((name, id) => [name, id])) as Record<
  JobName,
  number
>;

/**
 * A 32-bit FNV-1a hash of the job names in id order and the job block's layout: generated into
 * the WASM module at build time (assembly/jobs.ts), and compared by the loader, so that a module
 * built from another table is a clear error rather than kernels called by the wrong id.
 */
export function jobDigest(): number {
  const text = `${JOB_NAMES.join(',')};${JOB_LAYOUT.ints};${JOB_LAYOUT.floats}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** Lengths of im2col's x (N, C, H, W) and cols (C·HH·WW, N·Hout·Wout). */
function lowered(g: ConvGeometry, N: number): { colsLen: number; xLen: number } {
  return { xLen: N * g.C * g.H * g.W, colsLen: N * g.C * g.HH * g.WW * g.Hout * g.Wout };
}

/** The integer arguments of im2col and col2im. */
function geometry(g: ConvGeometry, N: number): number[] {
  return [g.C, g.H, g.W, g.HH, g.WW, g.stride, g.pad, g.Hout, g.Wout, N];
}

/** Lengths of x (N, C, H, W) and out (N, F, Hout, Wout) of convDirect at stride 1. */
function directLengths(
  N: number,
  C: number,
  H: number,
  W: number,
  F: number,
  HH: number,
  WW: number,
  pad: number,
): { xLen: number; outLen: number } {
  return {
    xLen: N * C * H * W,
    outLen: N * F * (H + 2 * pad - HH + 1) * (W + 2 * pad - WW + 1),
  };
}

/** The plan of a 2x2 stride-2 pool forward over planes of (H, W): out (planes, H/2, W/2). */
function pool2x2ForwardPlan(out: Buf, x: Buf, planes: number, H: number, W: number): Plan {
  const xLen = planes * H * W,
    outLen = planes * (H >> 1) * (W >> 1);
  return {
    operands: [write('out', out, outLen), read('x', x, xLen)],
    ints: [H, W],
    split: { total: planes, unit: 1, bytes: 4 * (xLen + outLen) },
  };
}

/** The plan of its backward: dx (planes, H, W) from dout (planes, H/2, W/2) and the forward's x. */
function pool2x2BackwardPlan(
  dx: Buf,
  dout: Buf,
  x: Buf,
  planes: number,
  H: number,
  W: number,
): Plan {
  const xLen = planes * H * W,
    outLen = planes * (H >> 1) * (W >> 1);
  return {
    operands: [write('dx', dx, xLen), read('dout', dout, outLen), read('x', x, xLen)],
    ints: [H, W],
    split: { total: planes, unit: 1, bytes: 4 * (2 * xLen + outLen) },
  };
}
