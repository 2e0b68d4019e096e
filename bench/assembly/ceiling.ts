// bench/assembly/ceiling.ts (AssemblyScript, compiled by bench/ceiling.ts at bench time): the
// multiply-add ceiling of this machine as V8 compiles WASM SIMD, for the bench to set the GEMM
// numbers against. The same register tile as the library's gemm micro-kernel (4 rows x 8
// columns of f32x4 accumulators, an a value splat against two b vectors per step; fused
// multiply-add in the relaxed-SIMD build), called over packed panels that stay in L1, so that
// nothing but the arithmetic limits it. Not part of the library.

// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(f32x4.mul(a, b), acc);
}

// The tile over kc steps of the panels at Ap (kc x 4) and Bp (kc x 8), accumulators stored at C
// (so that the work is not optimised away): 64·kc flops, called once per tile as gemm calls its
// micro-kernel.
export function tile(Ap: usize, Bp: usize, kc: i32, C: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(Bp), b1 = v128.load(Bp, 16);
    let s = v128.load32_splat(Ap);
    c00 = madd(s, b0, c00);
    c01 = madd(s, b1, c01);
    s = v128.load32_splat(Ap, 4);
    c10 = madd(s, b0, c10);
    c11 = madd(s, b1, c11);
    s = v128.load32_splat(Ap, 8);
    c20 = madd(s, b0, c20);
    c21 = madd(s, b1, c21);
    s = v128.load32_splat(Ap, 12);
    c30 = madd(s, b0, c30);
    c31 = madd(s, b1, c31);
    Ap += 16;
    Bp += 32;
  }
  v128.store(C, c00); v128.store(C, c01, 16); v128.store(C, c10, 32); v128.store(C, c11, 48);
  v128.store(C, c20, 64); v128.store(C, c21, 80); v128.store(C, c30, 96); v128.store(C, c31, 112);
}
