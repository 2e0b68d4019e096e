// src/kernels/wasm/assembly/common.ts: what several kernel families share: reading a job's
// arguments, the heartbeat a thread bumps as it works, short float loops (copy, zero, add) and
// the float64 lane helpers of the kernels that compute in float64. Pointers are byte addresses in
// the (imported, possibly shared) memory; src/kernels/wasm/arena.ts owns the layout.

// A job's integer arguments (int32 slots at `ints`: the operand pointers first, in the order of
// the plan's operands in src/kernels/wasm/jobs.ts, then its ints) and float64 ones (at `floats`).
// @ts-ignore: decorator
@inline export function intArg(ints: usize, k: i32): i32 {
  return load<i32>(ints + (<usize>k << 2));
}
// @ts-ignore: decorator
@inline export function ptrArg(ints: usize, k: i32): usize {
  return <usize>load<i32>(ints + (<usize>k << 2));
}
// @ts-ignore: decorator
@inline export function floatArg(floats: usize, k: i32): f64 {
  return load<f64>(floats + (<usize>k << 3));
}

// Where this thread counts its progress (0: nowhere). runJob points it at the calling worker's
// heartbeat slot, so that the thread waiting for the workers can tell a busy worker from a dead
// one (src/kernels/wasm/workers.ts). Globals are per instance, so per thread.
let heartbeat: usize = 0;

export function setHeartbeat(counter: usize): void {
  heartbeat = counter;
}

// One beat: runJob beats per chunk, gemm per packed block (a chunk of a large product is long).
// @ts-ignore: decorator
@inline export function beat(): void {
  if (heartbeat != 0) atomic.add<i32>(heartbeat, 1);
}

// dst[k] += src[k] for k < n (elementwise, so the rounding is the reference's).
// @ts-ignore: decorator
@inline export function addFloats(dst: usize, src: usize, n: i32): void {
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const o = <usize>k << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
  for (; k < n; k++) {
    const o = <usize>k << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}

// reference/gemm.ts: gemm and reference/conv.ts: convDirect (one multiply-add, no loop):
// acc + a * b, fused when relaxed SIMD is enabled at build time (rounding once instead of twice;
// both stay within 1e-5 of the reference). The register tiles of gemm.ts and conv.ts use it.
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(f32x4.mul(a, b), acc);
}

// n floats from src to dst (not overlapping): a v128 loop for the short rows of im2col (a call
// to memory.copy costs more than copying 28 floats), memory.copy for long ones.
// @ts-ignore: decorator
@inline export function copyFloats(dst: usize, src: usize, n: i32): void {
  if (n >= 64) {
    memory.copy(dst, src, <usize>n << 2);
    return;
  }
  let k = 0;
  for (; k + 4 <= n; k += 4) v128.store(dst + (<usize>k << 2), v128.load(src + (<usize>k << 2)));
  for (; k < n; k++) store<f32>(dst + (<usize>k << 2), load<f32>(src + (<usize>k << 2)));
}

// n zero floats at dst (a loop for the few of a padded border, memory.fill for long runs).
// @ts-ignore: decorator
@inline export function zeroFloats(dst: usize, n: i32): void {
  if (n >= 64) {
    memory.fill(dst, 0, <usize>n << 2);
    return;
  }
  for (let k = 0; k < n; k++) store<f32>(dst + (<usize>k << 2), 0);
}

// The high two lanes of an f32x4, widened to f64x2 (f64x2.promote_low_f32x4 widens the low two).
// @ts-ignore: decorator
@inline export function promoteHigh(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
}

// Two f64x2 rounded to float32 and joined into one f32x4 (lanes of lo, then of hi).
// @ts-ignore: decorator
@inline export function demote2(lo: v128, hi: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}
