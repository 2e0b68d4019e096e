// test/kernels/parity.test.ts: every kernel of the WASM backend against the reference kernels
// (the definition) in float32, on random data with ragged sizes that span several SIMD blocks,
// micro-tiles, packed blocks (KC = 256, MC = 64) and thread partitions; all four transpose
// combinations; operands that are views with a non-zero byteOffset; stale output contents.
import { afterAll, describe, expect, it } from 'vitest';
import {
  reference,
  type Buf,
  type ConvGeometry,
  type GemmBatchedOpts,
  type Kernels,
} from '../../src/kernels/index.js';
import { createWasmKernels, loadWasm, THREAD_MIN_WORK } from '../../src/kernels/wasm/index.js';
import { Rng } from '../../src/tensor/index.js';

const one = loadWasm(); // the instance the layers get from kernelsFor('float32')
const single = createWasmKernels({ threads: 1 });
const two = createWasmKernels({ threads: 2 });
const plain = createWasmKernels({ threads: 2, simd: 'simd' }); // the build runtimes without relaxed SIMD get
const started = two.warmUp();
one.warmUp();
plain.warmUp();
afterAll(() => {
  single.close();
  two.close();
  plain.close();
});
const backends: Array<[string, Kernels]> = [
  ['wasm (default)', one],
  ['wasm (1 thread)', single],
  ['wasm (2 threads)', two],
  ['wasm (plain SIMD, 2 threads)', plain],
];

/** A float32 view of n standard normals at a non-zero byteOffset inside a larger buffer. */
function randView(rng: Rng, n: number, offset = 3): Float32Array {
  const buf = new Float32Array(n + offset + 2).map(() => rng.normal());
  return buf.subarray(offset, offset + n);
}

/** A view of n NaNs (stale contents that every kernel must overwrite). */
function staleView(n: number): Float32Array {
  return new Float32Array(n + 5).fill(NaN).subarray(1, 1 + n);
}

/** max_i |got − want| / (scale + |want|): relative error, judged against `scale` near zero. */
function worstRel(got: Buf, want: Buf, scale: number): number {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]) / (scale + Math.abs(want[i]));
    worst = Math.max(worst, Number.isNaN(e) ? Infinity : e);
  }
  return worst;
}

const sameBitsArr = (a: Buf, b: Buf): boolean =>
  a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
/** The first index where a and b differ in bits (Object.is: NaN = NaN, −0 ≠ 0), or −1. */
function firstDiff(a: Buf, b: Buf): number {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

const SIZES = [1, 3, 5, 17, 63, 65, 127, 129, 257];
const TRANSPOSES = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;

// (M, K, N) triples: each size in each position, with the other two varied, plus products deep
// enough to span two k-blocks and wide enough to span two thread partitions.
const SHAPES: Array<[number, number, number]> = [
  ...SIZES.map((s, i): [number, number, number] => [s, SIZES[(i + 3) % 9], SIZES[(i + 5) % 9]]),
  ...SIZES.map((s, i): [number, number, number] => [SIZES[(i + 7) % 9], s, SIZES[(i + 2) % 9]]),
  [65, 600, 33],
  [130, 70, 300],
  [300, 90, 50],
  [7, 1000, 9],
  [129, 513, 4],
];

describe('wasm backend loads', () => {
  it('runs float32 only, and the 2-thread instance has its worker', () => {
    expect(one.supports('float32')).toBe(true);
    expect(one.supports('float64')).toBe(false);
    expect(started).toBe(Math.min(2, two.info.threads));
    expect(plain.info.simd).toBe('simd');
    // relaxed SIMD everywhere in Node: Node 22+ ship it, and on Node 20 the backend sets V8's flag
    expect(one.info.simd).toBe(process.env.LAYERWISE_WASM_SIMD === 'simd' ? 'simd' : 'relaxed');
    expect(SHAPES.some(([M, K, N]) => M * K * N >= THREAD_MIN_WORK)).toBe(true);
  });

  it('rejects float64 buffers and short outputs with a message', () => {
    expect(() =>
      one.gemm(new Float64Array(4), new Float64Array(4), new Float64Array(4), 2, 2, 2),
    ).toThrow('wasm.gemm: the wasm backend runs float32 only, got a Float64Array');
    expect(() =>
      one.gemm(new Float32Array(3), new Float32Array(4), new Float32Array(4), 2, 2, 2),
    ).toThrow('wasm.gemm: out has 3 elements but needs 4');
  });
});

for (const [name, k] of backends) {
  describe(`${name} gemm vs reference`, () => {
    for (const [transA, transB] of TRANSPOSES) {
      it(`agrees to 1e-5 relative (transA=${transA}, transB=${transB})`, () => {
        const rng = new Rng(101);
        for (const [M, K, N] of SHAPES) {
          const a = randView(rng, M * K),
            b = randView(rng, K * N);
          const got = staleView(M * N),
            want = new Float32Array(M * N);
          k.gemm(got, a, b, M, K, N, { transA, transB });
          reference.gemm(want, a, b, M, K, N, { transA, transB });
          expect(worstRel(got, want, Math.sqrt(K)), `${M}x${K}x${N}`).toBeLessThan(1e-5);
        }
      });
    }

    it('K = 0 gives zeros; M = 0 or N = 0 writes nothing; only the M·N prefix is written', () => {
      const out = new Float32Array(6).fill(NaN);
      k.gemm(out, new Float32Array(0), new Float32Array(0), 2, 0, 3);
      expect([...out]).toEqual([0, 0, 0, 0, 0, 0]);
      const untouched = new Float32Array(4).fill(7);
      k.gemm(untouched, new Float32Array(0), new Float32Array(5), 0, 1, 5);
      expect([...untouched]).toEqual([7, 7, 7, 7]);
      const big = new Float32Array(10).fill(-1);
      k.gemm(big, new Float32Array([1, 2]), new Float32Array([3, 4]), 2, 1, 2); // (2,1)·(1,2)
      expect([...big]).toEqual([3, 4, 6, 8, -1, -1, -1, -1, -1, -1]);
    });
  });
}

// gemmBatched: (batch, M, K, N, strides) with ragged sizes, broadcast (stride 0) and padded
// strides (gaps between matrices), a long batch of small products (threads split the batch)
// and a short batch of large ones (threads split the rows of one matrix).
type Batched = [number, number, number, number, GemmBatchedOpts];
const BATCHED: Batched[] = [
  [1, 5, 3, 7, {}],
  [3, 17, 33, 9, {}],
  [7, 1, 65, 1, {}],
  [5, 63, 17, 129, { strideA: 0 }],
  [4, 33, 65, 5, { strideB: 0 }],
  [3, 9, 13, 11, { strideA: 9 * 13 + 5, strideB: 13 * 11 + 3, strideOut: 9 * 11 + 7 }],
  [2, 4, 0, 3, {}],
  [64, 50, 64, 50, {}],
  [2, 300, 130, 257, {}],
];

/** Elements a batch of matrices of `size` elements, `stride` apart, spans. */
const spanOf = (batch: number, stride: number, size: number): number =>
  batch === 0 || size === 0 ? 0 : (batch - 1) * stride + size;

/** The random operands of one gemmBatched case, and out's stride and length. */
function batchedCase(rng: Rng, [batch, M, K, N, opts]: Batched) {
  const { strideA = M * K, strideB = K * N, strideOut = M * N } = opts;
  return {
    a: randView(rng, spanOf(batch, strideA, M * K)),
    b: randView(rng, spanOf(batch, strideB, K * N)),
    strideA,
    strideB,
    strideOut,
    outLen: spanOf(batch, strideOut, M * N),
  };
}

for (const [name, k] of backends) {
  describe(`${name} gemmBatched vs reference`, () => {
    it('agrees to 1e-5 relative on ragged, broadcast and padded batches, all four transposes', () => {
      const rng = new Rng(303);
      for (const c of BATCHED) {
        const [batch, M, K, N, opts] = c;
        for (const [transA, transB] of TRANSPOSES) {
          const { a, b, strideOut, outLen } = batchedCase(rng, c);
          const got = staleView(outLen),
            want = new Float32Array(outLen).fill(NaN);
          const o = { ...opts, transA, transB };
          k.gemmBatched(got, a, b, batch, M, K, N, o);
          reference.gemmBatched(want, a, b, batch, M, K, N, o);
          const what = `${batch}x${M}x${K}x${N} ${JSON.stringify(o)}`;
          const zeroNaN = (x: Float32Array) => x.map((v) => (Number.isNaN(v) ? 0 : v));
          const scale = Math.sqrt(K) || 1; // K = 0: zeros
          expect(worstRel(zeroNaN(got), zeroNaN(want), scale), what).toBeLessThan(1e-5);
          // every element of a matrix is written (none stays NaN); the gaps of padded outputs are not
          const wrong = got.findIndex((v, i) => Number.isNaN(v) === i % strideOut < M * N);
          expect(wrong, `${what}: the first element written or left wrongly`).toBe(-1);
        }
      }
    });

    it('gives each matrix the bits of gemm on that matrix alone (same micro-kernel, any split)', () => {
      const rng = new Rng(304);
      for (const c of [BATCHED[3], BATCHED[5], BATCHED[7], BATCHED[8]]) {
        const [batch, M, K, N, opts] = c;
        for (const [transA, transB] of TRANSPOSES) {
          const { a, b, strideA, strideB, strideOut, outLen } = batchedCase(rng, c);
          const got = staleView(outLen);
          k.gemmBatched(got, a, b, batch, M, K, N, { ...opts, transA, transB });
          for (let i = 0; i < batch; i++) {
            const one = new Float32Array(M * N);
            k.gemm(
              one,
              a.subarray(i * strideA, i * strideA + M * K),
              b.subarray(i * strideB, i * strideB + K * N),
              M,
              K,
              N,
              { transA, transB },
            );
            const mine = got.subarray(i * strideOut, i * strideOut + M * N);
            expect(firstDiff(mine, one), `${batch}x${M}x${K}x${N} matrix ${i}`).toBe(-1);
          }
        }
      }
    });
  });
}

describe('wasm gemmBatched', () => {
  it('gives the same bits on 1 and 2 threads, split over the batch and over rows', () => {
    const rng = new Rng(305);
    for (const c of [BATCHED[7], BATCHED[8], BATCHED[3]]) {
      const [batch, M, K, N, opts] = c;
      expect(batch * M * N * K >= THREAD_MIN_WORK || c === BATCHED[3]).toBe(true);
      const { a, b, outLen } = batchedCase(rng, c);
      const o1 = staleView(outLen),
        o2 = staleView(outLen);
      single.gemmBatched(o1, a, b, batch, M, K, N, opts);
      two.gemmBatched(o2, a, b, batch, M, K, N, opts);
      expect(firstDiff(o2, o1), `${batch}x${M}x${K}x${N}`).toBe(-1);
    }
  });

  it('writes nothing for an empty batch, and names a bad stride or a short buffer', () => {
    const out = new Float32Array(4).fill(7);
    one.gemmBatched(out, new Float32Array(0), new Float32Array(0), 0, 2, 3, 2);
    expect([...out]).toEqual([7, 7, 7, 7]);
    const [a, b] = [new Float32Array(12), new Float32Array(12)];
    expect(() => one.gemmBatched(new Float32Array(8), a, b, 2, 2, 3, 2, { strideOut: 3 })).toThrow(
      'wasm.gemmBatched: strideOut is 3 but must be at least M·N = 4 (the outputs would overlap)',
    );
    expect(() => one.gemmBatched(new Float32Array(8), a, b, 2, 2, 3, 2, { strideA: -6 })).toThrow(
      'wasm.gemmBatched: strideA is -6 but must be an integer >= 0',
    );
    expect(() => one.gemmBatched(new Float32Array(7), a, b, 2, 2, 3, 2)).toThrow(
      'wasm.gemmBatched: out has 7 elements but needs 8',
    );
    expect(() => one.gemmBatched(new Float32Array(8), a, b, 3, 2, 3, 2, { strideB: 0 })).toThrow(
      'wasm.gemmBatched: out has 8 elements but needs 12',
    );
  });
});

describe('wasm gemm across thread counts', () => {
  it('gives bit-identical results on 1 and 2 threads (a resumed run must replay exactly)', () => {
    const rng = new Rng(55);
    for (const [M, K, N] of [
      [300, 700, 129],
      [129, 300, 517],
      [784, 64, 100],
    ]) {
      for (const [transA, transB] of TRANSPOSES) {
        const a = randView(rng, M * K),
          b = randView(rng, K * N);
        const o1 = new Float32Array(M * N),
          o2 = new Float32Array(M * N);
        single.gemm(o1, a, b, M, K, N, { transA, transB });
        two.gemm(o2, a, b, M, K, N, { transA, transB });
        expect(
          o2.every((v, i) => Object.is(v, o1[i])),
          `${M}x${K}x${N} ${transA} ${transB}`,
        ).toBe(true);
      }
    }
  });
});

describe('memory-bound kernels split across threads', () => {
  it('give the same bits on 1 and 2 threads and as the reference, on sizes that split (>= 1 MB moved)', () => {
    const rng = new Rng(14);
    const rand = (n: number) => randView(rng, n);
    const cases: Array<[string, (k: Kernels) => Buf[]]> = [];
    const n = 64 * 32 * 28 * 28,
      x = rand(n),
      dout = rand(n);
    cases.push([
      'reluForward',
      (k) => {
        const o = staleView(n);
        k.reluForward(o, x);
        return [o];
      },
    ]);
    cases.push([
      'reluBackward',
      (k) => {
        const o = staleView(n);
        k.reluBackward(o, dout, x);
        return [o];
      },
    ]);
    const planes = 64 * 32,
      pooled = rand(planes * 14 * 14);
    cases.push([
      'maxPool2x2Forward',
      (k) => {
        const o = staleView(planes * 196);
        k.maxPool2x2Forward(o, x, planes, 28, 28);
        return [o];
      },
    ]);
    cases.push([
      'maxPool2x2Backward',
      (k) => {
        const o = staleView(n);
        k.maxPool2x2Backward(o, pooled, x, planes, 28, 28);
        return [o];
      },
    ]);
    // the in-place updates (split by elements or rows) and the fills: fresh copies per backend
    const w0 = rand(n),
      m0 = rand(n),
      v0 = rand(n).map(Math.abs);
    const adam = { beta1: 0.9, beta2: 0.999, stepSize: 1e-3, invBc2Sqrt: 1.2, eps: 1e-8, l2: 0.01 };
    cases.push([
      'sgdStep',
      (k) => {
        const w = Float32Array.from(w0);
        k.sgdStep(w, dout, 0.1, 0.01);
        return [w];
      },
    ]);
    cases.push([
      'adamStep',
      (k) => {
        const [w, m, v] = [w0, m0, v0].map((a) => Float32Array.from(a));
        k.adamStep(w, dout, m, v, adam);
        return [w, m, v];
      },
    ]);
    cases.push([
      'addRowVector',
      (k) => {
        const xs = Float32Array.from(x);
        k.addRowVector(xs, dout.subarray(0, 784), n / 784, 784);
        return [xs];
      },
    ]);
    cases.push([
      'sumRows',
      (k) => {
        const o = staleView(6272);
        k.sumRows(o, x, n / 6272, 6272);
        return [o];
      },
    ]);
    cases.push([
      'zero',
      (k) => {
        const o = staleView(n);
        k.zero?.(o);
        return [o];
      },
    ]);
    cases.push([
      'reluMaxPool2x2Forward',
      (k) => {
        const o = staleView(planes * 196);
        k.reluMaxPool2x2Forward(o, x, planes, 28, 28);
        return [o];
      },
    ]);
    cases.push([
      'reluMaxPool2x2Backward',
      (k) => {
        const o = staleView(n);
        k.reluMaxPool2x2Backward(o, pooled, x, planes, 28, 28);
        return [o];
      },
    ]);
    const g: ConvGeometry = {
      C: 3,
      H: 28,
      W: 28,
      HH: 5,
      WW: 5,
      stride: 1,
      pad: 2,
      Hout: 28,
      Wout: 28,
    };
    const N = 16,
      xs = rand(N * 3 * 784),
      colsLen = N * 3 * 25 * 784,
      cols = rand(colsLen);
    cases.push([
      'im2col',
      (k) => {
        const o = staleView(colsLen);
        k.im2col(o, xs, g, N);
        return [o];
      },
    ]);
    cases.push([
      'col2im',
      (k) => {
        const o = staleView(N * 3 * 784);
        k.col2im(o, cols, g, N);
        return [o];
      },
    ]);
    cases.push([
      'swapOuterAxes',
      (k) => {
        const o = staleView(32 * 16 * 784);
        k.swapOuterAxes(o, x, 32, 16, 784);
        return [o];
      },
    ]);
    const [A, C, B] = [64, 16, 784],
      mean = Float64Array.from({ length: C }, () => rng.normal());
    const scale = Float64Array.from({ length: C }, () => rng.normal()),
      coef = Float64Array.from({ length: 3 * C }, () => rng.normal());
    cases.push([
      'channelMoments',
      (k) => {
        const o = new Float64Array(2 * C);
        k.channelMoments(o, x, A, C, B);
        return [o];
      },
    ]);
    cases.push([
      'channelDots',
      (k) => {
        const o = new Float64Array(2 * C);
        k.channelDots(o, dout, x, mean, A, C, B);
        return [o];
      },
    ]);
    cases.push([
      'channelNormalize',
      (k) => {
        const o = staleView(A * C * B);
        k.channelNormalize(o, x, mean, scale, mean, A, C, B);
        return [o];
      },
    ]);
    cases.push([
      'channelCombine',
      (k) => {
        const o = staleView(A * C * B);
        k.channelCombine(o, dout, x, mean, coef, A, C, B);
        return [o];
      },
    ]);
    for (const [name, run] of cases) {
      const [a] = run(single),
        [b] = run(two),
        [r] = run(reference);
      expect(firstDiff(b, a), `${name}: 2 threads vs 1, first differing index`).toBe(-1);
      if (name === 'channelMoments' || name === 'channelDots') {
        const scaleR = Array.from(r).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        expect(worstRel(a, r, 1e-12 * scaleR), name).toBeLessThan(1e-12); // float64 sums in another order
      } else {
        expect(firstDiff(a, r), `${name}: wasm vs reference, first differing index`).toBe(-1);
      }
    }
  });
});

describe('direct convolution (stride 1, small C·HH·WW)', () => {
  const GEOMS: Array<[number, number, number, number, number, number, number, number]> = [
    // N, C, H, W, F, HH, WW, pad
    [5, 1, 28, 28, 7, 5, 5, 2],
    [3, 3, 9, 11, 4, 3, 3, 1],
    [2, 2, 6, 5, 3, 2, 2, 0],
    [4, 1, 13, 17, 5, 3, 5, 1],
    [1, 3, 32, 32, 8, 5, 5, 2],
    [64, 1, 28, 28, 32, 5, 5, 2],
    [2, 1, 4, 4, 2, 4, 4, 0],
    [3, 2, 7, 3, 2, 1, 1, 0],
  ];
  it('forward and weight gradient agree with the reference to 1e-5, and across thread counts bit for bit', () => {
    const rng = new Rng(15);
    for (const [N, C, H, W, F, HH, WW, pad] of GEOMS) {
      const Hout = H + 2 * pad - HH + 1,
        Wout = W + 2 * pad - WW + 1,
        what = `${N}x${C}x${H}x${W} * ${F}x${HH}x${WW} pad ${pad}`;
      const x = randView(rng, N * C * H * W),
        w = randView(rng, F * C * HH * WW),
        b = randView(rng, F);
      const dout = randView(rng, N * F * Hout * Wout);
      const fwd = (k: Kernels) => {
        const o = staleView(N * F * Hout * Wout);
        k.convDirect(o, x, w, b, N, C, H, W, F, HH, WW, pad);
        return o;
      };
      const bwd = (k: Kernels) => {
        const dw = staleView(F * C * HH * WW),
          db = staleView(F);
        k.convDirectWeightGrad(dw, db, dout, x, N, C, H, W, F, HH, WW, pad);
        return [dw, db];
      };
      const want = fwd(reference),
        got1 = fwd(single),
        got2 = fwd(two);
      expect(worstRel(got1, want, Math.sqrt(C * HH * WW)), `convDirect ${what}`).toBeLessThan(1e-5); // relative to the size of a sum of C·HH·WW unit products
      expect(firstDiff(got2, got1), `convDirect ${what}: 2 threads vs 1`).toBe(-1);
      const [dwR, dbR] = bwd(reference),
        [dw1, db1] = bwd(single),
        [dw2, db2] = bwd(two);
      const scale = Math.sqrt(N * Hout * Wout); // the size of a sum of that many unit products
      expect(worstRel(dw1, dwR, scale), `convDirectWeightGrad dw ${what}`).toBeLessThan(1e-5);
      expect(worstRel(db1, dbR, scale), `convDirectWeightGrad db ${what}`).toBeLessThan(1e-5);
      expect(
        firstDiff(dw2, dw1) + firstDiff(db2, db1),
        `convDirectWeightGrad ${what}: 2 threads vs 1`,
      ).toBe(-2);
    }
  });

  it('matches im2col + gemm (the reference conv lowering) on the reference backend', () => {
    const [N, C, H, W, F, HH, WW, pad] = [2, 3, 7, 6, 4, 3, 3, 1];
    const g: ConvGeometry = {
      C,
      H,
      W,
      HH,
      WW,
      stride: 1,
      pad,
      Hout: H + 2 * pad - HH + 1,
      Wout: W + 2 * pad - WW + 1,
    };
    const rng = new Rng(16),
      P = g.Hout * g.Wout,
      K = C * HH * WW;
    const x = Float64Array.from({ length: N * C * H * W }, () => rng.normal()),
      w = Float64Array.from({ length: F * K }, () => rng.normal());
    const b = Float64Array.from({ length: F }, () => rng.normal());
    const direct = new Float64Array(N * F * P);
    reference.convDirect(direct, x, w, b, N, C, H, W, F, HH, WW, pad);
    for (let n = 0; n < N; n++) {
      const cols = new Float64Array(K * P),
        out = new Float64Array(F * P);
      reference.im2col(cols, x.subarray(n * C * H * W, (n + 1) * C * H * W), g);
      reference.gemm(out, w, cols, F, K, P);
      for (let f = 0; f < F; f++) for (let p = 0; p < P; p++) out[f * P + p] += b[f];
      expect(worstRel(direct.subarray(n * F * P, (n + 1) * F * P), out, 1e-9)).toBeLessThan(1e-12);
    }
  });
});

describe('a gemm worker that dies mid-product', () => {
  it('does not hang the caller: the product is redone on the calling thread, with one warning', () => {
    const k = createWasmKernels({ threads: 2, workerTimeoutMs: 200 });
    if (k.warmUp() < 2) return; // one core: no worker to lose
    // Kill the worker behind the backend's back; this thread does not return to the event loop, so
    // the backend cannot have seen an 'exit' event and still counts the worker as ready.
    const { pool } = k as unknown as { pool: { workers: Array<{ terminate(): Promise<number> }> } };
    void pool.workers[0].terminate();
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (msg: string) => void warnings.push(msg);
    try {
      const rng = new Rng(77),
        M = 200,
        K = 300,
        N = 150;
      const a = randView(rng, M * K),
        b = randView(rng, K * N);
      const got = staleView(M * N),
        want = new Float32Array(M * N);
      k.gemm(got, a, b, M, K, N);
      reference.gemm(want, a, b, M, K, N);
      expect(worstRel(got, want, Math.sqrt(K))).toBeLessThan(1e-5);
      expect(k.info.threads).toBe(1);
      expect(warnings).toEqual([
        'wasm backend: gemm worker 1 made no progress for 200 ms (it died or hung); the workers are stopped and products now run on the calling thread',
      ]);
      k.gemm(got, a, b, M, K, N); // later products: this thread only, no further warning
      expect(warnings.length).toBe(1);
    } finally {
      console.warn = warn;
      k.close();
    }
  });
});

describe('a worker that dies before an in-place update', () => {
  it('leaves the update applied once: the chunks nobody took run on the calling thread, with one warning', () => {
    const k = createWasmKernels({ threads: 2, workerTimeoutMs: 200 });
    if (k.warmUp() < 2) return; // one core: no worker to lose
    const { pool } = k as unknown as { pool: { workers: Array<{ terminate(): Promise<number> }> } };
    void pool.workers[0].terminate();
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (msg: string) => void warnings.push(msg);
    try {
      const rng = new Rng(78),
        n = 1 << 19; // 6 MB moved: split
      const w = randView(rng, n),
        dw = randView(rng, n),
        want = Float32Array.from(w);
      k.sgdStep(w, dw, 0.1, 0.01);
      reference.sgdStep(want, dw, 0.1, 0.01);
      expect(firstDiff(w, want)).toBe(-1);
      expect(k.info.threads).toBe(1);
      expect(warnings.length).toBe(1);
    } finally {
      console.warn = warn;
      k.close();
    }
  });
});

describe('wasm elementwise and reduction kernels vs reference', () => {
  const LENGTHS = [1, 3, 4, 5, 17, 63, 65, 127, 129, 257, 1031];

  it('addRowVector and sumRows over ragged (M, N)', () => {
    const rng = new Rng(7);
    for (const M of [1, 3, 17, 65]) {
      for (const N of LENGTHS) {
        const x = randView(rng, M * N),
          v = randView(rng, N);
        const got = x.slice(),
          want = x.slice();
        one.addRowVector(got, v, M, N);
        reference.addRowVector(want, v, M, N);
        expect(worstRel(got, want, 1e-6), `addRowVector ${M}x${N}`).toBe(0); // one addition each: exact
        const s = staleView(N),
          r = new Float32Array(N);
        one.sumRows(s, x, M, N);
        reference.sumRows(r, x, M, N);
        expect(worstRel(s, r, 1e-6), `sumRows ${M}x${N}`).toBe(0); // same order of additions: exact
      }
    }
  });

  it('reluForward and reluBackward, exactly, with zeros, -0 and NaN', () => {
    const rng = new Rng(8);
    for (const n of LENGTHS) {
      const x = randView(rng, n),
        dout = randView(rng, n);
      x[0] = 0;
      if (n > 2) x[2] = -0;
      if (n > 4) x[n - 1] = NaN;
      const got = staleView(n),
        want = new Float32Array(n);
      one.reluForward(got, x);
      reference.reluForward(want, x);
      for (let i = 0; i < n; i++)
        expect(Object.is(got[i], want[i]), `relu[${i}] of ${n}`).toBe(true);
      const dgot = staleView(n),
        dwant = new Float32Array(n);
      one.reluBackward(dgot, dout, x);
      reference.reluBackward(dwant, dout, x);
      for (let i = 0; i < n; i++)
        expect(Object.is(dgot[i] + 0, dwant[i] + 0), `drelu[${i}] of ${n}`).toBe(true);
    }
  });

  it('im2col and col2im on conv geometries (strides 1-2, pads 0-2, 28x28 and ragged)', () => {
    const rng = new Rng(9);
    const geoms: ConvGeometry[] = [];
    for (const [C, H, W, HH, WW, stride, pad] of [
      [1, 28, 28, 5, 5, 1, 2],
      [3, 17, 13, 3, 3, 1, 1],
      [2, 9, 31, 3, 5, 2, 1],
      [4, 5, 5, 7, 7, 1, 2],
      [32, 14, 14, 3, 3, 1, 1],
      [1, 1, 1, 1, 1, 1, 0],
      [2, 11, 7, 2, 2, 2, 0],
    ]) {
      geoms.push({
        C,
        H,
        W,
        HH,
        WW,
        stride,
        pad,
        Hout: 1 + Math.floor((H + 2 * pad - HH) / stride),
        Wout: 1 + Math.floor((W + 2 * pad - WW) / stride),
      });
    }
    for (const g of geoms) {
      const xLen = g.C * g.H * g.W,
        colsLen = g.C * g.HH * g.WW * g.Hout * g.Wout;
      const x = randView(rng, xLen),
        cols = randView(rng, colsLen);
      const got = staleView(colsLen),
        want = new Float32Array(colsLen);
      one.im2col(got, x, g);
      reference.im2col(want, x, g);
      expect(worstRel(got, want, 1e-6), `im2col ${JSON.stringify(g)}`).toBe(0);
      const dgot = staleView(xLen),
        dwant = new Float32Array(xLen);
      one.col2im(dgot, cols, g);
      reference.col2im(dwant, cols, g);
      expect(worstRel(dgot, dwant, 1e-6), `col2im ${JSON.stringify(g)}`).toBe(0); // same summation order
    }
    for (const g of geoms.slice(0, 4)) {
      // a batch of 3 images: cols (C·HH·WW, 3·Hout·Wout)
      const N = 3,
        xLen = N * g.C * g.H * g.W,
        colsLen = N * g.C * g.HH * g.WW * g.Hout * g.Wout;
      const x = randView(rng, xLen),
        cols = randView(rng, colsLen);
      const got = staleView(colsLen),
        want = new Float32Array(colsLen);
      one.im2col(got, x, g, N);
      reference.im2col(want, x, g, N);
      expect(worstRel(got, want, 1e-6), `im2col N=3 ${JSON.stringify(g)}`).toBe(0);
      const dgot = staleView(xLen),
        dwant = new Float32Array(xLen);
      one.col2im(dgot, cols, g, N);
      reference.col2im(dwant, cols, g, N);
      expect(worstRel(dgot, dwant, 1e-6), `col2im N=3 ${JSON.stringify(g)}`).toBe(0);
    }
  });
  it('maxPool2x2Forward/Backward and reluMaxPool2x2Forward/Backward, bit for bit, with ties, ±0, NaN, ±∞ and odd or ragged H, W', () => {
    const rng = new Rng(10);
    const special = [NaN, Infinity, -Infinity, -0, 0, 1, 1];
    for (const [planes, H, W] of [
      [3, 28, 28],
      [2, 7, 9],
      [5, 2, 2],
      [1, 1, 6],
      [4, 6, 17],
      [2, 10, 33],
      [64, 14, 14],
    ]) {
      const n = planes * H * W;
      for (const kind of ['normal', 'ties', 'signed ties', 'special']) {
        const x = randView(rng, n);
        for (let i = 0; i < n; i++) {
          if (kind === 'ties') x[i] = Math.max(0, Math.round(x[i])); // relu'd small integers: many ties
          if (kind === 'signed ties') x[i] = Math.round(x[i]); // relu makes the negatives tie at 0
          if (kind === 'special' && i % 3 === 0) x[i] = special[rng.nextUint32() % special.length];
        }
        const outLen = planes * (H >> 1) * (W >> 1),
          dout = randView(rng, outLen);
        const got = staleView(outLen),
          want = new Float32Array(outLen);
        one.maxPool2x2Forward(got, x, planes, H, W);
        reference.maxPool2x2Forward(want, x, planes, H, W);
        expect(
          firstDiff(got, want),
          `pool ${planes}x${H}x${W} ${kind}: first differing index`,
        ).toBe(-1);
        const dgot = staleView(n),
          dwant = new Float32Array(n);
        one.maxPool2x2Backward(dgot, dout, x, planes, H, W);
        reference.maxPool2x2Backward(dwant, dout, x, planes, H, W);
        expect(
          firstDiff(dgot, dwant),
          `dpool ${planes}x${H}x${W} ${kind}: first differing index`,
        ).toBe(-1);
        one.reluMaxPool2x2Forward(got, x, planes, H, W);
        reference.reluMaxPool2x2Forward(want, x, planes, H, W);
        expect(
          firstDiff(got, want),
          `relu+pool ${planes}x${H}x${W} ${kind}: first differing index`,
        ).toBe(-1);
        one.reluMaxPool2x2Backward(dgot, dout, x, planes, H, W);
        reference.reluMaxPool2x2Backward(dwant, dout, x, planes, H, W);
        expect(
          firstDiff(dgot, dwant),
          `d(relu+pool) ${planes}x${H}x${W} ${kind}: first differing index`,
        ).toBe(-1);
      }
    }
  });

  it('batch norm channel sweeps: moments and dots to 1e-12 (float64 sums), normalize and combine bit for bit', () => {
    const rng = new Rng(12);
    for (const [A, C, B] of [
      [64, 16, 784],
      [3, 5, 7],
      [7, 100, 1],
      [2, 3, 4],
      [5, 2, 33],
      [1, 1, 1],
    ]) {
      const n = A * C * B;
      const x = randView(rng, n),
        u = randView(rng, n);
      for (let i = 0; i < n; i += 7) x[i] = 1000 + x[i]; // some channels with |mean| >> std
      const mean = Float64Array.from({ length: C }, () => rng.normal());
      for (const [name, run] of [
        ['channelMoments', (k: Kernels, sums: Float64Array) => k.channelMoments(sums, x, A, C, B)],
        [
          'channelDots',
          (k: Kernels, sums: Float64Array) => k.channelDots(sums, u, x, mean, A, C, B),
        ],
      ] as const) {
        const got = new Float64Array(2 * C).fill(NaN),
          want = new Float64Array(2 * C);
        run(one, got);
        run(reference, want);
        const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        expect(worstRel(got, want, 1e-12 * scale + 1e-300), `${name} ${A}x${C}x${B}`).toBeLessThan(
          1e-12,
        );
      }
      const scaleC = Float64Array.from({ length: C }, () => rng.normal()),
        shift = Float64Array.from({ length: C }, () => rng.normal());
      const coef = Float64Array.from({ length: 3 * C }, () => rng.normal());
      const got = staleView(n),
        want = new Float32Array(n);
      one.channelNormalize(got, x, mean, scaleC, shift, A, C, B);
      reference.channelNormalize(want, x, mean, scaleC, shift, A, C, B);
      expect(firstDiff(got, want), `normalize ${A}x${C}x${B}: first differing index`).toBe(-1);
      const got2 = staleView(n),
        want2 = new Float32Array(n);
      one.channelCombine(got2, u, x, mean, coef, A, C, B);
      reference.channelCombine(want2, u, x, mean, coef, A, C, B);
      expect(firstDiff(got2, want2), `combine ${A}x${C}x${B}: first differing index`).toBe(-1);
    }
  });

  it('sgdStep and adamStep bit for bit (float64 arithmetic), ragged lengths, weight decay on and off', () => {
    const rng = new Rng(13);
    for (const n of [...LENGTHS, 78_400]) {
      for (const wd of [0, 1e-3]) {
        const w = randView(rng, n),
          dw = randView(rng, n),
          m = randView(rng, n),
          v = randView(rng, n).map(Math.abs);
        const [w1, w2] = [w.slice(), w.slice()];
        one.sgdStep(w1, dw, 0.1, wd);
        reference.sgdStep(w2, dw, 0.1, wd);
        expect(sameBitsArr(w1, w2), `sgd ${n} wd ${wd}`).toBe(true);
        const h = {
          beta1: 0.9,
          beta2: 0.999,
          stepSize: 1e-3 / (1 - 0.9 ** 3),
          invBc2Sqrt: 1 / Math.sqrt(1 - 0.999 ** 3),
          eps: 1e-8,
          l2: wd,
        };
        const [a1, m1, v1, a2, m2, v2] = [
          w.slice(),
          m.slice(),
          v.slice(),
          w.slice(),
          m.slice(),
          v.slice(),
        ];
        one.adamStep(a1, dw, m1, v1, h);
        reference.adamStep(a2, dw, m2, v2, h);
        expect(
          sameBitsArr(a1, a2) && sameBitsArr(m1, m2) && sameBitsArr(v1, v2),
          `adam ${n} l2 ${wd}`,
        ).toBe(true);
      }
    }
  });

  it('swapOuterAxes and zero', () => {
    const rng = new Rng(11);
    for (const [A, B, P] of [
      [32, 3, 784],
      [1, 5, 7],
      [5, 1, 3],
      [3, 4, 1],
      [7, 9, 13],
    ]) {
      const x = randView(rng, A * B * P),
        got = staleView(A * B * P),
        want = new Float32Array(A * B * P);
      one.swapOuterAxes(got, x, A, B, P);
      reference.swapOuterAxes(want, x, A, B, P);
      expect(worstRel(got, want, 1e-6), `swap ${A}x${B}x${P}`).toBe(0);
      one.zero?.(got);
      expect(got.every((v) => Object.is(v, 0))).toBe(true);
    }
  });
});
