// test/layers/groupnorm.test.ts: spatialGroupnormForward/Backward against torch.nn.GroupNorm
// (groups = 1, groups = C and in between), centred differences, a loop-by-loop definition on
// random geometries, the float32 kernels, edge cases and the exact error messages.
import { afterAll, describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import { setBackend } from '../../src/kernels/index.js';
import {
  spatialGroupnormBackward,
  spatialGroupnormForward,
  type GnParam,
} from '../../src/layers/index.js';
import { Rng, Tensor, type FloatTensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, normwiseError, numericGrad, randn64, snapshot } from '../helpers.js';

type Entry = { shape: number[]; data: number[] };
interface Case {
  groups: number;
  eps: number;
  x: Entry;
  gamma: Entry;
  beta: Entry;
  dout: Entry;
  out: Entry;
  dx: Entry;
  dgamma: Entry;
  dbeta: Entry;
}

afterAll(() => setBackend('auto'));

const maxAbs = (v: ArrayLike<number>) =>
  Array.from(v).reduce((m, a) => Math.max(m, Math.abs(a)), 0);

/** Activations with their own offset and scale per channel, so that the statistics matter. */
function features(shape: readonly number[], seed: number): FloatTensor {
  const x = randn64(shape, seed),
    C = shape[1],
    B = shape.slice(2).reduce((p, d) => p * d, 1);
  for (let i = 0; i < x.size; i++) {
    const c = Math.floor(i / B) % C;
    x.data[i] = x.data[i] * (1 + c) + 3 - 2 * c;
  }
  return x;
}

/** The definition, loop by loop, in float64: out = γ·(x − μ)/√(σ² + eps) + β per (n, group). */
function groupnormByHand(x: Tensor, gamma: Tensor, beta: Tensor, groups: number, eps = 1e-5) {
  const [N, C, H, W] = x.shape,
    Cg = C / groups,
    D = Cg * H * W;
  const out = Tensor.zeros(x.shape, 'float64');
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      const start = (n * C + g * Cg) * H * W; // the group's values are contiguous
      let mean = 0,
        sq = 0;
      for (let i = 0; i < D; i++) mean += x.data[start + i] / D;
      for (let i = 0; i < D; i++) sq += (x.data[start + i] - mean) ** 2 / D;
      for (let i = 0; i < D; i++) {
        const c = g * Cg + Math.floor(i / (H * W));
        out.data[start + i] =
          (gamma.data[c] * (x.data[start + i] - mean)) / Math.sqrt(sq + eps) + beta.data[c];
      }
    }
  }
  return out;
}

describe('spatialGroupnorm against torch.nn.GroupNorm (float64 fixtures)', () => {
  const { groupnorm: cases, generator } = fixture<{ groupnorm: Case[] }>('generative');
  it('comes from the committed generator, with groups = 1, groups = C and in between', () => {
    expect(generator).toContain('test/fixtures/gen/generative.py');
    expect(cases.some((c) => c.groups === 1)).toBe(true);
    expect(cases.some((c) => c.groups === c.x.shape[1])).toBe(true);
    expect(cases.some((c) => c.groups > 1 && c.groups < c.x.shape[1])).toBe(true);
  });
  it('out, dx, dgamma and dbeta match to 1e-10 on every case', () => {
    for (const c of cases) {
      const [x, gamma, beta, dout] = [c.x, c.gamma, c.beta, c.dout].map(fromFixture);
      const what = `x ${JSON.stringify(c.x.shape)} groups ${c.groups} eps ${c.eps}`;
      const { out, cache } = spatialGroupnormForward(x, gamma, beta, {
        groups: c.groups,
        eps: c.eps,
      });
      expect(relError(out, fromFixture(c.out)), what).toBeLessThan(1e-10);
      const { dx, dgamma, dbeta } = spatialGroupnormBackward(dout, cache);
      const D = (c.x.shape[1] / c.groups) * c.x.shape[2] * c.x.shape[3];
      if (D > 2) expect(relError(dx, fromFixture(c.dx)), what).toBeLessThan(1e-10);
      // two values per group: xhat = ±1 whatever x is, so dx is only eps's small residue
      // (|dx| ~ 1e-6) and cancels; it is held to an absolute 1e-12 instead
      else
        expect(normwiseError(dx, fromFixture(c.dx)) * maxAbs(c.dx.data), what).toBeLessThan(1e-12);
      expect(relError(dgamma, fromFixture(c.dgamma)), what).toBeLessThan(1e-10);
      expect(relError(dbeta, fromFixture(c.dbeta)), what).toBeLessThan(1e-10);
    }
  });
});

describe('spatialGroupnorm gradients match centred differences (float64)', () => {
  const geometries: Array<[number[], number]> = [
    [[2, 6, 3, 2], 3],
    [[3, 4, 2, 2], 1],
    [[2, 4, 2, 3], 4],
    [[1, 3, 1, 1], 1], // three values per group (with two, dx is only eps's residue: see above)
  ];
  it('dx, dgamma, dbeta (relError < 1e-7) for groups = 1, C/2... and C', () => {
    geometries.forEach(([xs, groups], i) => {
      const C = xs[1],
        param = { groups };
      const x = features(xs, 10 * i),
        gamma = randn64([C], 10 * i + 1),
        beta = randn64([C], 10 * i + 2);
      const { out, cache } = spatialGroupnormForward(x, gamma, beta, param);
      const dout = randn64(out.shape, 10 * i + 3);
      const { dx, dgamma, dbeta } = spatialGroupnormBackward(dout, cache);
      const f = (a: Tensor, g: Tensor, b: Tensor) => spatialGroupnormForward(a, g, b, param).out;
      const what = `x ${xs} groups ${groups}`;
      expect(
        relError(
          dx,
          numericGrad((t) => f(t, gamma, beta), x, dout),
        ),
        what,
      ).toBeLessThan(1e-7);
      expect(
        relError(
          dgamma,
          numericGrad((t) => f(x, t, beta), gamma, dout),
        ),
        what,
      ).toBeLessThan(1e-7);
      expect(
        relError(
          dbeta,
          numericGrad((t) => f(x, gamma, t), beta, dout),
        ),
        what,
      ).toBeLessThan(1e-7);
    });
  });
});

describe('spatialGroupnorm: the definition, float32 kernels, edge cases', () => {
  it('equals the loop-by-loop definition on 40 random geometries (1e-12)', () => {
    const rng = new Rng(15);
    for (let trial = 0; trial < 40; trial++) {
      const groups = 1 + rng.int(4),
        C = groups * (1 + rng.int(3));
      const xs = [1 + rng.int(3), C, 1 + rng.int(4), 1 + rng.int(4)];
      const x = features(xs, trial),
        gamma = randn64([C], 100 + trial),
        beta = randn64([C], 200 + trial);
      const got = spatialGroupnormForward(x, gamma, beta, { groups }).out;
      expect(
        relError(got, groupnormByHand(x, gamma, beta, groups)),
        `${xs} ${groups}`,
      ).toBeLessThan(1e-12);
    }
  });

  it('float32 under the wasm and reference backends agrees with float64 (1e-5) and keeps the dtype', () => {
    const x = features([3, 8, 5, 7], 1),
      gamma = randn64([8], 2),
      beta = randn64([8], 3),
      dout = randn64([3, 8, 5, 7], 4);
    const want = spatialGroupnormForward(x, gamma, beta, { groups: 4 });
    const wantGrads = spatialGroupnormBackward(dout, want.cache);
    const f32 = (t: Tensor) => t.astype('float32');
    for (const backend of ['reference', 'wasm'] as const) {
      setBackend(backend);
      const got = spatialGroupnormForward(f32(x), f32(gamma), f32(beta), { groups: 4 });
      expect(got.out.dtype).toBe('float32');
      expect(normwiseError(got.out, want.out), backend).toBeLessThan(1e-5);
      const grads = spatialGroupnormBackward(f32(dout), got.cache);
      for (const key of ['dx', 'dgamma', 'dbeta'] as const) {
        expect(grads[key].dtype).toBe('float32');
        expect(normwiseError(grads[key], wantGrads[key]), `${backend} ${key}`).toBeLessThan(1e-5);
      }
    }
    setBackend('auto');
  });

  it('each (sample, group) comes out with mean β and biased variance γ² when γ, β are per-group constants', () => {
    const x = features([2, 6, 3, 3], 7);
    const gamma = Tensor.from([2, 2, 2, 0.5, 0.5, 0.5], [6], 'float64'),
      beta = Tensor.from([1, 1, 1, -1, -1, -1], [6], 'float64');
    const { out } = spatialGroupnormForward(x, gamma, beta, { groups: 2, eps: 1e-12 });
    const D = 27;
    for (let q = 0; q < 4; q++) {
      const vals = Array.from(out.data.subarray(q * D, (q + 1) * D));
      const mean = vals.reduce((s, v) => s + v, 0) / D;
      const variance = vals.reduce((s, v) => s + (v - mean) ** 2, 0) / D;
      expect(mean).toBeCloseTo(q % 2 === 0 ? 1 : -1, 10);
      expect(variance).toBeCloseTo(q % 2 === 0 ? 4 : 0.25, 8);
    }
  });

  it('does not depend on the other samples in the batch (train = test)', () => {
    const x = features([3, 4, 2, 2], 1),
      gamma = randn64([4], 2),
      beta = randn64([4], 3);
    const all = spatialGroupnormForward(x, gamma, beta, { groups: 2 }).out;
    const one = Tensor.from(x.data.subarray(16, 32), [1, 4, 2, 2], 'float64');
    const alone = spatialGroupnormForward(one, gamma, beta, { groups: 2 }).out;
    expect([...all.data.subarray(16, 32)]).toEqual([...alone.data]);
  });

  it('a constant group stays finite: out = β and dx is finite (eps keeps 1/√(σ² + eps) bounded)', () => {
    const x = Tensor.from(new Array(8).fill(5), [1, 2, 2, 2], 'float64'),
      gamma = Tensor.from([3, 3], [2], 'float64'),
      beta = Tensor.from([0.5, -0.5], [2], 'float64');
    const { out, cache } = spatialGroupnormForward(x, gamma, beta, { groups: 1 });
    expect([...out.data]).toEqual([0.5, 0.5, 0.5, 0.5, -0.5, -0.5, -0.5, -0.5]);
    const { dx } = spatialGroupnormBackward(randn64([1, 2, 2, 2], 1), cache);
    expect(dx.data.every(Number.isFinite)).toBe(true);
  });

  it('leaves x, gamma, beta, dout and the cache untouched', () => {
    const x = features([2, 4, 3, 3], 1),
      gamma = randn64([4], 2),
      beta = randn64([4], 3),
      dout = randn64([2, 4, 3, 3], 4);
    const unchanged = snapshot(x, gamma, beta, dout);
    const { cache } = spatialGroupnormForward(x, gamma, beta, { groups: 2 });
    const mean = [...cache.mean],
      invStd = [...cache.invStd];
    spatialGroupnormBackward(dout, cache);
    expect(unchanged()).toBe(true);
    expect([...cache.mean]).toEqual(mean);
    expect([...cache.invStd]).toEqual(invStd);
  });
});

describe('spatialGroupnorm errors name the function, argument and shapes', () => {
  const x = Tensor.zeros([2, 6, 3, 3]),
    g = Tensor.zeros([6]);
  it('rejects groups that do not divide C, a missing gnParam and bad options', () => {
    expect(() => spatialGroupnormForward(x, g, g, { groups: 4 })).toThrow(
      'spatialGroupnormForward: gnParam.groups = 4 does not divide the 6 channels',
    );
    expect(() => spatialGroupnormForward(x, g, g, { groups: 0 })).toThrow(
      'spatialGroupnormForward: gnParam.groups must be >= 1, got 0',
    );
    expect(() => spatialGroupnormForward(x, g, g, undefined as unknown as GnParam)).toThrow(
      'spatialGroupnormForward: gnParam must be an object with groups',
    );
    expect(() => spatialGroupnormForward(x, g, g, { groups: 2, epsilon: 1 } as GnParam)).toThrow(
      "spatialGroupnormForward: unknown option 'epsilon' (known: groups, eps)",
    );
  });
  it('rejects gamma of the wrong length, a 2-D x and a dout of the wrong shape', () => {
    expect(() => spatialGroupnormForward(x, Tensor.zeros([3]), g, { groups: 3 })).toThrow(
      'spatialGroupnormForward: gamma has shape [3] but x has 6 channels',
    );
    expect(() => spatialGroupnormForward(Tensor.zeros([2, 6]), g, g, { groups: 3 })).toThrow(
      'spatialGroupnormForward: x has shape [2,6] but must be 4-D (N, C, H, W)',
    );
    const { cache } = spatialGroupnormForward(x, g, g, { groups: 3 });
    expect(() => spatialGroupnormBackward(Tensor.zeros([2, 6, 3, 2]), cache)).toThrow(
      'spatialGroupnormBackward: dout has shape [2,6,3,2] but the forward input was [2,6,3,3]',
    );
  });
});
