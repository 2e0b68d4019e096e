import { describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import {
  gruBackward,
  gruForward,
  gruStepBackward,
  gruStepForward,
} from '../../src/layers/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, numericGrad, randn64, snapshot } from '../helpers.js';

type Entry = { shape: number[]; data: number[] };
const fx = fixture<Record<string, Record<string, Entry>>>('gru');

describe('gru step', () => {
  for (const name of ['step', 'stepSaturated']) {
    it(`matches torch.nn.GRUCell (${name}, float64)`, () => {
      const c = fx[name],
        [x, prevH, Wx, Wh, b, dnextH] = ['x', 'prevH', 'Wx', 'Wh', 'b', 'dnextH'].map((k) =>
          fromFixture(c[k]),
        );
      const { nextH, cache } = gruStepForward(x, prevH, Wx, Wh, b);
      expect(relError(nextH, fromFixture(c.nextH))).toBeLessThan(1e-10);
      const g = gruStepBackward(dnextH, cache);
      for (const k of ['dx', 'dprevH', 'dWx', 'dWh', 'db'] as const)
        expect(relError(g[k], fromFixture(c[k])), k).toBeLessThan(1e-9);
    });
  }

  it('backward matches centred differences (float64)', () => {
    const [N, D, H] = [3, 4, 5];
    const [x, prevH, Wx, Wh, b] = [[N, D], [N, H], [D, 3 * H], [H, 3 * H], [3 * H]].map((s, i) =>
      randn64(s, i + 1, 0.5),
    );
    const dnextH = randn64([N, H], 9);
    const g = gruStepBackward(dnextH, gruStepForward(x, prevH, Wx, Wh, b).cache);
    expect(
      relError(
        g.dx,
        numericGrad((t) => gruStepForward(t, prevH, Wx, Wh, b).nextH, x, dnextH),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.dprevH,
        numericGrad((t) => gruStepForward(x, t, Wx, Wh, b).nextH, prevH, dnextH),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.dWx,
        numericGrad((t) => gruStepForward(x, prevH, t, Wh, b).nextH, Wx, dnextH),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.dWh,
        numericGrad((t) => gruStepForward(x, prevH, Wx, t, b).nextH, Wh, dnextH),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.db,
        numericGrad((t) => gruStepForward(x, prevH, Wx, Wh, t).nextH, b, dnextH),
      ),
    ).toBeLessThan(1e-7);
  });

  it('names the function, argument and shapes on bad input', () => {
    const x = Tensor.zeros([2, 3]),
      h = Tensor.zeros([2, 4]);
    expect(() =>
      gruStepForward(x, h, Tensor.zeros([3, 16]), Tensor.zeros([4, 12]), Tensor.zeros([12])),
    ).toThrow(
      'gruStepForward: Wx has shape [3,16] but x has 3 features and prevH has 4, so Wx must be [3,12] (D, 3·H)',
    );
    const { cache } = gruStepForward(
      x,
      h,
      Tensor.zeros([3, 12]),
      Tensor.zeros([4, 12]),
      Tensor.zeros([12]),
    );
    expect(() => gruStepBackward(Tensor.zeros([2, 3]), cache)).toThrow(
      'gruStepBackward: dnextH has shape [2,3] but the forward output was [2,4]',
    );
  });

  it('is finite for pre-activations of ±1e4 and does not touch its inputs', () => {
    const x = randn64([2, 3], 1, 1e4),
      prevH = randn64([2, 2], 2);
    const [Wx, Wh, b] = [randn64([3, 6], 3), randn64([2, 6], 4), randn64([6], 5)];
    const unchanged = snapshot(x, prevH, Wx, Wh, b);
    const { nextH, cache } = gruStepForward(x, prevH, Wx, Wh, b);
    const dnextH = randn64([2, 2], 6),
      same = snapshot(dnextH, cache.gates, cache.hn);
    const g = gruStepBackward(dnextH, cache);
    expect([...nextH.data, ...g.dx.data, ...g.dWh.data].every(Number.isFinite)).toBe(true);
    expect(unchanged() && same()).toBe(true);
  });
});

describe('gru sequence', () => {
  for (const name of ['sequence', 'sequenceLong']) {
    it(`matches torch.nn.GRU (${name}, float64)`, () => {
      const c = fx[name],
        [x, h0, Wx, Wh, b, dh] = ['x', 'h0', 'Wx', 'Wh', 'b', 'dh'].map((k) => fromFixture(c[k]));
      const { h, cache } = gruForward(x, h0, Wx, Wh, b);
      expect(relError(h, fromFixture(c.h))).toBeLessThan(1e-10);
      const g = gruBackward(dh, cache);
      for (const k of ['dx', 'dh0', 'dWx', 'dWh', 'db'] as const)
        expect(relError(g[k], fromFixture(c[k])), k).toBeLessThan(1e-9);
    });
  }

  it('backward matches centred differences (float64)', () => {
    const [N, T, D, H] = [2, 4, 3, 3];
    const [x, h0, Wx, Wh, b] = [[N, T, D], [N, H], [D, 3 * H], [H, 3 * H], [3 * H]].map((s, i) =>
      randn64(s, i + 20, 0.5),
    );
    const dh = randn64([N, T, H], 29);
    const g = gruBackward(dh, gruForward(x, h0, Wx, Wh, b).cache);
    expect(
      relError(
        g.dx,
        numericGrad((t) => gruForward(t, h0, Wx, Wh, b).h, x, dh),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.dh0,
        numericGrad((t) => gruForward(x, t, Wx, Wh, b).h, h0, dh),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.dWx,
        numericGrad((t) => gruForward(x, h0, t, Wh, b).h, Wx, dh),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.dWh,
        numericGrad((t) => gruForward(x, h0, Wx, t, b).h, Wh, dh),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.db,
        numericGrad((t) => gruForward(x, h0, Wx, Wh, t).h, b, dh),
      ),
    ).toBeLessThan(1e-7);
  });

  it('equals gruStepForward chained (float32); bad dh is named; inputs untouched', () => {
    const [N, T, D, H] = [2, 3, 4, 3];
    const f32 = (s: number[], seed: number) => Tensor.randn(s, { seed, std: 0.5 });
    const [x, h0, Wx, Wh, b] = [[N, T, D], [N, H], [D, 3 * H], [H, 3 * H], [3 * H]].map((s, i) =>
      f32(s, i + 60),
    );
    const unchanged = snapshot(x, h0, Wx, Wh, b);
    const { h, cache } = gruForward(x, h0, Wx, Wh, b);
    let prev = h0;
    for (let t = 0; t < T; t++) {
      const xt = Tensor.zeros([N, D]);
      for (let n = 0; n < N; n++)
        xt.data.set(x.data.subarray((n * T + t) * D, (n * T + t + 1) * D), n * D);
      prev = gruStepForward(xt, prev, Wx, Wh, b).nextH;
      for (let n = 0; n < N; n++)
        for (let j = 0; j < H; j++) expect(h.get(n, t, j)).toBeCloseTo(prev.get(n, j), 5);
    }
    expect(() => gruBackward(Tensor.zeros([N, T, H], 'float64'), cache)).toThrow(
      'gruBackward: dh has dtype float64 but x has dtype float32',
    );
    expect(unchanged()).toBe(true);
  });
});
