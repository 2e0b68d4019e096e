// bench/assembly/ceiling.ts (AssemblyScript, compiled by bench/ceiling.ts at bench time): the
// multiply-add ceiling of this machine as V8 compiles WASM SIMD, for the bench to set the GEMM
// numbers against. The same register tile as the library's gemm micro-kernel (4 rows x 8
// columns of f32x4 accumulators, an a value splat against two b vectors per step; fused
// multiply-add in the relaxed-SIMD build), called over packed panels that stay in L1, so that
// nothing but the arithmetic limits it. Not part of the library.

import { kernel4x8 } from '../../src/kernels/wasm/assembly/gemm';

// The library's micro-kernel over kc steps of the panels at Ap (kc x 4) and Bp (kc x 8), its
// 4x8 tile stored at C (row stride 8): 64·kc flops, called once per tile as gemm calls it.
export function tile(Ap: usize, Bp: usize, kc: i32, C: usize): void {
  kernel4x8(Ap, Bp, kc, C, 8, false);
}
