// src/kernels/wasm/assembly/channels.ts: batch norm's per-channel sweeps over x read as
// (A, C, B) (src/kernels/reference/channels.ts), in float64 like the reference: each f32x4 of x
// is widened to two f64x2 (lanes 0-1 and 2-3). Sums run in two f64x2 accumulators per quantity,
// so their order differs from the reference's (well within 1e-5); the elementwise maps are the
// reference's float64 expressions in the same order, rounded once: bit for bit the same.
import { demote2, intArg, promoteHigh, ptrArg } from './common';

// reference/channels.ts: channelMoments. sums (2C, float64) = [Σ d, Σ d²] per channel,
// d = x − x[0, c, 0]. This call does channels [c0, c1).
export function channelMoments(
  sums: usize, x: usize, A: i32, C: i32, B: i32, c0: i32, c1: i32,
): void {
  for (let c = c0; c < c1; c++) {
    const K = <f64>load<f32>(x + (<usize>(c * B) << 2)), K2 = f64x2.splat(K);
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0), q0 = f64x2.splat(0), q1 = f64x2.splat(0);
    let s: f64 = 0, q: f64 = 0;
    for (let a = 0; a < A; a++) {
      const row = x + (<usize>((a * C + c) * B) << 2);
      let b = 0;
      for (; b + 4 <= B; b += 4) {
        const v = v128.load(row + (<usize>b << 2));
        const d0 = f64x2.sub(f64x2.promote_low_f32x4(v), K2), d1 = f64x2.sub(promoteHigh(v), K2);
        s0 = f64x2.add(s0, d0);
        s1 = f64x2.add(s1, d1);
        q0 = f64x2.add(q0, f64x2.mul(d0, d0));
        q1 = f64x2.add(q1, f64x2.mul(d1, d1));
      }
      for (; b < B; b++) {
        const d = <f64>load<f32>(row + (<usize>b << 2)) - K;
        s += d;
        q += d * d;
      }
    }
    const st = f64x2.add(s0, s1), qt = f64x2.add(q0, q1);
    store<f64>(sums + (<usize>c << 3), s + f64x2.extract_lane(st, 0) + f64x2.extract_lane(st, 1));
    store<f64>(
      sums + (<usize>(C + c) << 3), q + f64x2.extract_lane(qt, 0) + f64x2.extract_lane(qt, 1),
    );
  }
}

// reference/channels.ts: channelMoments, over the channels [lo, hi). Arguments (jobs.ts:
// channelMoments): sums, x | A, C, B.
export function channelMomentsJob(
  ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize,
): void {
  channelMoments(
    ptrArg(ints, 0), ptrArg(ints, 1), intArg(ints, 2), intArg(ints, 3), intArg(ints, 4), lo, hi,
  );
}

// reference/channels.ts: channelDots. sums (2C, float64) = [Σ u, Σ u·(v − mean[c])] per
// channel. This call does channels [c0, c1).
export function channelDots(
  sums: usize, u: usize, v: usize, mean: usize, A: i32, C: i32, B: i32, c0: i32, c1: i32,
): void {
  for (let c = c0; c < c1; c++) {
    const mu = load<f64>(mean + (<usize>c << 3)), mu2 = f64x2.splat(mu);
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0), t0 = f64x2.splat(0), t1 = f64x2.splat(0);
    let s: f64 = 0, t: f64 = 0;
    for (let a = 0; a < A; a++) {
      const at = <usize>((a * C + c) * B) << 2, ur = u + at, vr = v + at;
      let b = 0;
      for (; b + 4 <= B; b += 4) {
        const o = <usize>b << 2, uu = v128.load(ur + o), vv = v128.load(vr + o);
        const u0 = f64x2.promote_low_f32x4(uu), u1 = promoteHigh(uu);
        s0 = f64x2.add(s0, u0);
        s1 = f64x2.add(s1, u1);
        t0 = f64x2.add(t0, f64x2.mul(u0, f64x2.sub(f64x2.promote_low_f32x4(vv), mu2)));
        t1 = f64x2.add(t1, f64x2.mul(u1, f64x2.sub(promoteHigh(vv), mu2)));
      }
      for (; b < B; b++) {
        const o = <usize>b << 2, uu = <f64>load<f32>(ur + o);
        s += uu;
        t += uu * (<f64>load<f32>(vr + o) - mu);
      }
    }
    const st = f64x2.add(s0, s1), tt = f64x2.add(t0, t1);
    store<f64>(sums + (<usize>c << 3), s + f64x2.extract_lane(st, 0) + f64x2.extract_lane(st, 1));
    store<f64>(
      sums + (<usize>(C + c) << 3), t + f64x2.extract_lane(tt, 0) + f64x2.extract_lane(tt, 1),
    );
  }
}

// reference/channels.ts: channelDots, over the channels [lo, hi). Arguments (jobs.ts:
// channelDots): sums, u, v, mean | A, C, B.
export function channelDotsJob(ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize): void {
  channelDots(
    ptrArg(ints, 0), ptrArg(ints, 1), ptrArg(ints, 2), ptrArg(ints, 3), intArg(ints, 4),
    intArg(ints, 5), intArg(ints, 6), lo, hi,
  );
}

// reference/channels.ts: channelNormalize. out = (x − mean[c])·scale[c] + shift[c], in float64,
// rounded once. This call does images [a0, a1).
export function channelNormalize(
  out: usize, x: usize, mean: usize, scale: usize, shift: usize, a0: i32, a1: i32, C: i32, B: i32,
): void {
  for (let a = a0; a < a1; a++) {
    for (let c = 0; c < C; c++) {
      const at = <usize>((a * C + c) * B) << 2, xr = x + at, orow = out + at, o8 = <usize>c << 3;
      const mu = load<f64>(mean + o8), k = load<f64>(scale + o8), sh = load<f64>(shift + o8);
      const mu2 = f64x2.splat(mu), k2 = f64x2.splat(k), sh2 = f64x2.splat(sh);
      let b = 0;
      for (; b + 4 <= B; b += 4) {
        const o = <usize>b << 2, v = v128.load(xr + o);
        const lo = f64x2.add(f64x2.mul(f64x2.sub(f64x2.promote_low_f32x4(v), mu2), k2), sh2);
        const hi = f64x2.add(f64x2.mul(f64x2.sub(promoteHigh(v), mu2), k2), sh2);
        v128.store(orow + o, demote2(lo, hi));
      }
      for (; b < B; b++) {
        const o = <usize>b << 2;
        store<f32>(orow + o, <f32>((<f64>load<f32>(xr + o) - mu) * k + sh));
      }
    }
  }
}

// reference/channels.ts: channelNormalize, over the images [lo, hi). Arguments (jobs.ts:
// channelNormalize): out, x, mean, scale, shift | C, B.
export function channelNormalizeJob(
  ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize,
): void {
  channelNormalize(
    ptrArg(ints, 0), ptrArg(ints, 1), ptrArg(ints, 2), ptrArg(ints, 3), ptrArg(ints, 4), lo, hi,
    intArg(ints, 5), intArg(ints, 6),
  );
}

// reference/channels.ts: channelCombine. out = coef[c]·u + coef[C + c]·(v − mean[c]) +
// coef[2C + c], in float64. This call does images [a0, a1).
export function channelCombine(
  out: usize, u: usize, v: usize, mean: usize, coef: usize, a0: i32, a1: i32, C: i32, B: i32,
): void {
  for (let a = a0; a < a1; a++) {
    for (let c = 0; c < C; c++) {
      const at = <usize>((a * C + c) * B) << 2, ur = u + at, vr = v + at, orow = out + at;
      const o8 = <usize>c << 3;
      const mu = load<f64>(mean + o8), ku = load<f64>(coef + o8);
      const kv = load<f64>(coef + (<usize>(C + c) << 3));
      const k0 = load<f64>(coef + (<usize>(2 * C + c) << 3));
      const mu2 = f64x2.splat(mu), ku2 = f64x2.splat(ku), kv2 = f64x2.splat(kv);
      const k02 = f64x2.splat(k0);
      let b = 0;
      for (; b + 4 <= B; b += 4) {
        const o = <usize>b << 2, uu = v128.load(ur + o), vv = v128.load(vr + o);
        const lo = f64x2.add(
          f64x2.add(
            f64x2.mul(ku2, f64x2.promote_low_f32x4(uu)),
            f64x2.mul(kv2, f64x2.sub(f64x2.promote_low_f32x4(vv), mu2)),
          ),
          k02,
        );
        const hi = f64x2.add(
          f64x2.add(
            f64x2.mul(ku2, promoteHigh(uu)), f64x2.mul(kv2, f64x2.sub(promoteHigh(vv), mu2)),
          ),
          k02,
        );
        v128.store(orow + o, demote2(lo, hi));
      }
      for (; b < B; b++) {
        const o = <usize>b << 2;
        const r = ku * <f64>load<f32>(ur + o) + kv * (<f64>load<f32>(vr + o) - mu) + k0;
        store<f32>(orow + o, <f32>r);
      }
    }
  }
}

// reference/channels.ts: channelCombine, over the images [lo, hi). Arguments (jobs.ts:
// channelCombine): out, u, v, mean, coef | C, B.
export function channelCombineJob(
  ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize,
): void {
  channelCombine(
    ptrArg(ints, 0), ptrArg(ints, 1), ptrArg(ints, 2), ptrArg(ints, 3), ptrArg(ints, 4), lo, hi,
    intArg(ints, 5), intArg(ints, 6),
  );
}
