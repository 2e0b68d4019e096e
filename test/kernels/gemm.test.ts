import { describe, expect, it } from 'vitest';
import { reference, type GemmBatchedOpts } from '../../src/kernels/index.js';
import { relError } from '../../src/gradcheck/index.js';
import { Rng } from '../../src/tensor/index.js';

/** out = op(a)·op(b) by the textbook triple loop, in float64. */
function naiveGemm(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  M: number,
  K: number,
  N: number,
  transA: boolean,
  transB: boolean,
): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++)
        s += (transA ? a[k * M + i] : a[i * K + k]) * (transB ? b[j * K + k] : b[k * N + j]);
      out[i * N + j] = s;
    }
  return out;
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 1],
  [3, 1, 5],
  [5, 3, 1],
  [2, 3, 4],
  [7, 13, 9],
  [17, 5, 33],
  [33, 129, 3],
  [64, 130, 515],
  [129, 257, 65],
  [5, 600, 7],
];

describe('reference gemm', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    for (const [transA, transB] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      it(`matches the naive triple loop (${dtype}, transA=${transA}, transB=${transB})`, () => {
        const rng = new Rng(17);
        const Arr = dtype === 'float64' ? Float64Array : Float32Array;
        for (const [M, K, N] of SHAPES) {
          const a = new Arr(M * K).map(() => rng.normal());
          const b = new Arr(K * N).map(() => rng.normal());
          const out = new Arr(M * N).fill(NaN); // gemm must overwrite, not accumulate
          reference.gemm(out, a, b, M, K, N, { transA, transB });
          const want = naiveGemm(a, b, M, K, N, transA, transB);
          // float32 sums of K products lose ~K·2^-24 relative; elements near 0 are judged against the row scale
          const tol = dtype === 'float64' ? 1e-12 : 1e-5;
          let worst = 0;
          for (let i = 0; i < M * N; i++)
            worst = Math.max(
              worst,
              Math.abs(out[i] - want[i]) / (Math.sqrt(K) + Math.abs(want[i])),
            );
          expect(worst, `${M}x${K}x${N}`).toBeLessThan(tol);
        }
      });
    }
  }

  it('writes only the M·N prefix of a larger output and reads through subarray views', () => {
    const a = new Float64Array([0, 0, 1, 2, 3, 4]).subarray(2); // (2, 2) at an offset
    const b = new Float64Array([5, 6, 7, 8]);
    const out = new Float64Array(6).fill(-1);
    reference.gemm(out, a, b, 2, 2, 2);
    expect([...out]).toEqual([19, 22, 43, 50, -1, -1]);
  });
});

describe('reference gemmBatched', () => {
  it('is gemm on every matrix of the batch, with default, padded and broadcast (0) strides', () => {
    const rng = new Rng(18);
    const cases: Array<[number, number, number, number, GemmBatchedOpts]> = [
      [1, 3, 4, 5, {}],
      [4, 7, 13, 9, {}],
      [3, 5, 6, 2, { strideA: 0 }],
      [3, 2, 6, 5, { strideB: 0 }],
      [2, 4, 3, 5, { strideA: 15, strideB: 17, strideOut: 23 }],
      [2, 3, 0, 2, {}],
    ];
    for (const [batch, M, K, N, strides] of cases) {
      for (const [transA, transB] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ] as const) {
        const { strideA = M * K, strideB = K * N, strideOut = M * N } = strides;
        const a = new Float64Array((batch - 1) * strideA + M * K).map(() => rng.normal());
        const b = new Float64Array((batch - 1) * strideB + K * N).map(() => rng.normal());
        const out = new Float64Array((batch - 1) * strideOut + M * N).fill(NaN);
        reference.gemmBatched(out, a, b, batch, M, K, N, { ...strides, transA, transB });
        for (let i = 0; i < batch; i++) {
          const want = naiveGemm(
            a.subarray(i * strideA),
            b.subarray(i * strideB),
            M,
            K,
            N,
            transA,
            transB,
          );
          const got = out.subarray(i * strideOut, i * strideOut + M * N);
          expect(relError(got, want), `${batch}x${M}x${K}x${N} matrix ${i}`).toBeLessThan(1e-12);
        }
        for (let i = 0; i < out.length; i++) {
          if (i % strideOut >= M * N) expect(out[i], `gap element ${i}`).toBeNaN(); // not written
        }
      }
    }
  });
});

describe('reference elementwise kernels', () => {
  it('addRowVector, sumRows, relu', () => {
    const x = new Float64Array([1, 2, 3, 4, 5, 6]);
    reference.addRowVector(x, new Float64Array([10, 20, 30]), 2, 3);
    expect([...x]).toEqual([11, 22, 33, 14, 25, 36]);
    const s = new Float64Array(3).fill(NaN);
    reference.sumRows(s, x, 2, 3);
    expect([...s]).toEqual([25, 47, 69]);
    const r = new Float64Array(4);
    reference.reluForward(r, new Float64Array([-1, 0, 2, NaN]));
    expect([...r]).toEqual([0, 0, 2, NaN]);
    const dx = new Float64Array(3);
    reference.reluBackward(dx, new Float64Array([5, 6, 7]), new Float64Array([-1, 0, 1]));
    expect([...dx]).toEqual([0, 0, 7]);
    expect(relError(dx, [0, 0, 7])).toBe(0);
  });
});
