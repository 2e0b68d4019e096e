import { describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import {
  lstmBackward,
  lstmForward,
  lstmStepBackward,
  lstmStepForward,
} from '../../src/layers/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, numericGrad, randn64, snapshot } from '../helpers.js';

type Entry = { shape: number[]; data: number[] };
const fx = fixture<Record<string, Record<string, Entry>>>('lstm');

describe('lstm step', () => {
  for (const name of ['step', 'stepSaturated']) {
    it(`matches torch.nn.LSTMCell with gates reordered (${name}, float64)`, () => {
      const c = fx[name];
      const [x, prevH, prevC, Wx, Wh, b, dnextH, dnextC] = [
        'x',
        'prevH',
        'prevC',
        'Wx',
        'Wh',
        'b',
        'dnextH',
        'dnextC',
      ].map((k) => fromFixture(c[k]));
      const { nextH, nextC, cache } = lstmStepForward(x, prevH, prevC, Wx, Wh, b);
      expect(relError(nextH, fromFixture(c.nextH))).toBeLessThan(1e-10);
      expect(relError(nextC, fromFixture(c.nextC))).toBeLessThan(1e-10);
      const g = lstmStepBackward(dnextH, dnextC, cache);
      for (const k of ['dx', 'dprevH', 'dprevC', 'dWx', 'dWh', 'db'] as const)
        expect(relError(g[k], fromFixture(c[k]))).toBeLessThan(1e-9);
    });
  }

  it('backward matches centred differences through both outputs (float64)', () => {
    const [N, D, H] = [3, 4, 5];
    const [x, prevH, prevC, Wx, Wh, b] = [
      [N, D],
      [N, H],
      [N, H],
      [D, 4 * H],
      [H, 4 * H],
      [4 * H],
    ].map((s, i) => randn64(s, i + 1, 0.5));
    const dnextH = randn64([N, H], 8),
      dnextC = randn64([N, H], 9);
    const g = lstmStepBackward(dnextH, dnextC, lstmStepForward(x, prevH, prevC, Wx, Wh, b).cache);
    // f(args) concatenates nextH and nextC so one vector-Jacobian product checks both paths.
    const dout = Tensor.zeros([2 * N * H], 'float64');
    dout.data.set(dnextH.data);
    dout.data.set(dnextC.data, N * H);
    const both = (args: Tensor[]) => {
      const r = lstmStepForward(args[0], args[1], args[2], args[3], args[4], args[5]);
      const out = Tensor.zeros([2 * N * H], 'float64');
      out.data.set(r.nextH.data);
      out.data.set(r.nextC.data, N * H);
      return out;
    };
    const args = [x, prevH, prevC, Wx, Wh, b];
    const names = ['dx', 'dprevH', 'dprevC', 'dWx', 'dWh', 'db'] as const;
    names.forEach((name, i) => {
      const num = numericGrad((t) => both(args.map((a, j) => (j === i ? t : a))), args[i], dout);
      expect(relError(g[name], num)).toBeLessThan(1e-7);
    });
  });

  it('names the function, argument and shapes on bad input', () => {
    const x = Tensor.zeros([2, 3]),
      h = Tensor.zeros([2, 4]);
    expect(() =>
      lstmStepForward(x, h, h, Tensor.zeros([3, 4]), Tensor.zeros([4, 16]), Tensor.zeros([16])),
    ).toThrow(
      'lstmStepForward: Wx has shape [3,4] but x has 3 features and prevH has 4, so Wx must be [3,16] (D, 4·H)',
    );
    expect(() =>
      lstmStepForward(
        x,
        h,
        Tensor.zeros([2, 5]),
        Tensor.zeros([3, 16]),
        Tensor.zeros([4, 16]),
        Tensor.zeros([16]),
      ),
    ).toThrow('lstmStepForward: prevC has shape [2,5] but prevH has shape [2,4]');
    const { cache } = lstmStepForward(
      x,
      h,
      h,
      Tensor.zeros([3, 16]),
      Tensor.zeros([4, 16]),
      Tensor.zeros([16]),
    );
    expect(() => lstmStepBackward(h, Tensor.zeros([2, 4], 'float64'), cache)).toThrow(
      'lstmStepBackward: dnextC has dtype float64 but x has dtype float32',
    );
  });

  it('is finite for pre-activations of ±1e4 (stable sigmoid) and does not touch its inputs', () => {
    const [N, D, H] = [2, 3, 2];
    const x = randn64([N, D], 1, 1e4),
      [prevH, prevC] = [randn64([N, H], 2), randn64([N, H], 3)];
    const [Wx, Wh, b] = [randn64([D, 4 * H], 4), randn64([H, 4 * H], 5), randn64([4 * H], 6)];
    const unchanged = snapshot(x, prevH, prevC, Wx, Wh, b);
    const { nextH, nextC, cache } = lstmStepForward(x, prevH, prevC, Wx, Wh, b);
    expect([...nextH.data, ...nextC.data].every(Number.isFinite)).toBe(true);
    const [dh, dc] = [randn64([N, H], 7), randn64([N, H], 8)],
      same = snapshot(dh, dc, cache.gates, cache.tanhC);
    const g = lstmStepBackward(dh, dc, cache);
    expect(Object.values(g).every((t) => [...t.data].every(Number.isFinite))).toBe(true);
    expect(unchanged() && same()).toBe(true);
  });
});

describe('lstm sequence', () => {
  for (const name of ['sequence', 'sequenceLong']) {
    it(`matches torch.nn.LSTM with gates reordered (${name}, float64)`, () => {
      const c = fx[name],
        [x, h0, Wx, Wh, b, dh] = ['x', 'h0', 'Wx', 'Wh', 'b', 'dh'].map((k) => fromFixture(c[k]));
      const { h, cache } = lstmForward(x, h0, Wx, Wh, b);
      expect(relError(h, fromFixture(c.h))).toBeLessThan(1e-10);
      const g = lstmBackward(dh, cache);
      for (const k of ['dx', 'dh0', 'dWx', 'dWh', 'db'] as const)
        expect(relError(g[k], fromFixture(c[k]))).toBeLessThan(1e-9);
    });
  }

  it('backward matches centred differences (float64)', () => {
    const [N, T, D, H] = [2, 4, 3, 3];
    const [x, h0, Wx, Wh, b] = [[N, T, D], [N, H], [D, 4 * H], [H, 4 * H], [4 * H]].map((s, i) =>
      randn64(s, i + 20, 0.5),
    );
    const dh = randn64([N, T, H], 29);
    const g = lstmBackward(dh, lstmForward(x, h0, Wx, Wh, b).cache);
    expect(
      relError(
        g.dx,
        numericGrad((t) => lstmForward(t, h0, Wx, Wh, b).h, x, dh),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.dh0,
        numericGrad((t) => lstmForward(x, t, Wx, Wh, b).h, h0, dh),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.dWx,
        numericGrad((t) => lstmForward(x, h0, t, Wh, b).h, Wx, dh),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.dWh,
        numericGrad((t) => lstmForward(x, h0, Wx, t, b).h, Wh, dh),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.db,
        numericGrad((t) => lstmForward(x, h0, Wx, Wh, t).h, b, dh),
      ),
    ).toBeLessThan(1e-7);
  });

  it('equals lstmStepForward chained from c0 = 0 (float32)', () => {
    const [N, T, D, H] = [2, 3, 4, 3];
    const f32 = (s: number[], seed: number) => Tensor.randn(s, { seed, std: 0.5 });
    const [x, h0, Wx, Wh, b] = [[N, T, D], [N, H], [D, 4 * H], [H, 4 * H], [4 * H]].map((s, i) =>
      f32(s, i + 60),
    );
    const { h } = lstmForward(x, h0, Wx, Wh, b);
    let prevH = h0,
      prevC = Tensor.zeros([N, H]);
    for (let t = 0; t < T; t++) {
      const xt = Tensor.zeros([N, D]);
      for (let n = 0; n < N; n++)
        xt.data.set(x.data.subarray((n * T + t) * D, (n * T + t + 1) * D), n * D);
      ({ nextH: prevH, nextC: prevC } = lstmStepForward(xt, prevH, prevC, Wx, Wh, b));
      for (let n = 0; n < N; n++)
        for (let j = 0; j < H; j++) expect(h.get(n, t, j)).toBeCloseTo(prevH.get(n, j), 5);
    }
  });

  it('rejects bad shapes with the shapes named; T = 0 gives an empty h and zero gradients', () => {
    expect(() =>
      lstmForward(
        Tensor.zeros([2, 3, 4]),
        Tensor.zeros([2, 5]),
        Tensor.zeros([4, 20]),
        Tensor.zeros([5, 5]),
        Tensor.zeros([20]),
      ),
    ).toThrow(
      'lstmForward: Wh has shape [5,5] but h0 has 5 features, so Wh must be [5,20] (H, 4·H)',
    );
    const [x, h0, Wx, Wh, b] = [[2, 0, 3], [2, 2], [3, 8], [2, 8], [8]].map((s, i) =>
      randn64(s, i),
    );
    const { h, cache } = lstmForward(x, h0, Wx, Wh, b);
    expect(h.shape).toEqual([2, 0, 2]);
    const unchanged = snapshot(x, h0, Wx, Wh, b);
    const g = lstmBackward(Tensor.zeros([2, 0, 2], 'float64'), cache);
    expect([...g.dh0.data, ...g.dWx.data, ...g.dWh.data, ...g.db.data].every((v) => v === 0)).toBe(
      true,
    );
    expect(g.dx.shape).toEqual([2, 0, 3]);
    expect(unchanged()).toBe(true);
  });
});
