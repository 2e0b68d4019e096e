import { describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import {
  rnnBackward,
  rnnForward,
  rnnStepBackward,
  rnnStepForward,
} from '../../src/layers/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, numericGrad, randn64, snapshot } from '../helpers.js';

type Entry = { shape: number[]; data: number[] };
const fx = fixture<Record<string, Record<string, Entry>>>('rnn');

describe('rnn step', () => {
  for (const name of ['step', 'stepSaturated']) {
    it(`matches torch.nn.RNNCell (${name}, float64)`, () => {
      const c = fx[name],
        [x, prevH, Wx, Wh, b, dnextH] = ['x', 'prevH', 'Wx', 'Wh', 'b', 'dnextH'].map((k) =>
          fromFixture(c[k]),
        );
      const { nextH, cache } = rnnStepForward(x, prevH, Wx, Wh, b);
      expect(relError(nextH, fromFixture(c.nextH))).toBeLessThan(1e-10);
      const g = rnnStepBackward(dnextH, cache);
      for (const k of ['dx', 'dprevH', 'dWx', 'dWh', 'db'] as const)
        expect(relError(g[k], fromFixture(c[k]))).toBeLessThan(1e-9);
    });
  }

  it('backward matches centred differences (float64)', () => {
    const [N, D, H] = [3, 5, 4];
    const [x, prevH, Wx, Wh, b] = [[N, D], [N, H], [D, H], [H, H], [H]].map((s, i) =>
      randn64(s, i + 1, 0.5),
    );
    const dnextH = randn64([N, H], 9);
    const g = rnnStepBackward(dnextH, rnnStepForward(x, prevH, Wx, Wh, b).cache);
    expect(
      relError(
        g.dx,
        numericGrad((t) => rnnStepForward(t, prevH, Wx, Wh, b).nextH, x, dnextH),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.dprevH,
        numericGrad((t) => rnnStepForward(x, t, Wx, Wh, b).nextH, prevH, dnextH),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.dWx,
        numericGrad((t) => rnnStepForward(x, prevH, t, Wh, b).nextH, Wx, dnextH),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.dWh,
        numericGrad((t) => rnnStepForward(x, prevH, Wx, t, b).nextH, Wh, dnextH),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.db,
        numericGrad((t) => rnnStepForward(x, prevH, Wx, Wh, t).nextH, b, dnextH),
      ),
    ).toBeLessThan(1e-7);
  });

  it('names the function, argument and shapes on bad input', () => {
    const x = Tensor.zeros([2, 3]),
      h = Tensor.zeros([2, 4]);
    expect(() =>
      rnnStepForward(x, h, Tensor.zeros([3, 5]), Tensor.zeros([4, 4]), Tensor.zeros([4])),
    ).toThrow(
      'rnnStepForward: Wx has shape [3,5] but x has 3 features and prevH has 4, so Wx must be [3,4] (D, H)',
    );
    expect(() =>
      rnnStepForward(
        x,
        Tensor.zeros([3, 4]),
        Tensor.zeros([3, 4]),
        Tensor.zeros([4, 4]),
        Tensor.zeros([4]),
      ),
    ).toThrow('rnnStepForward: prevH has shape [3,4] but x has 2 rows (shape [2,3])');
    expect(() =>
      rnnStepForward(
        x,
        h,
        Tensor.zeros([3, 4], 'float64'),
        Tensor.zeros([4, 4]),
        Tensor.zeros([4]),
      ),
    ).toThrow('rnnStepForward: Wx has dtype float64 but x has dtype float32');
    const { cache } = rnnStepForward(
      x,
      h,
      Tensor.zeros([3, 4]),
      Tensor.zeros([4, 4]),
      Tensor.zeros([4]),
    );
    expect(() => rnnStepBackward(Tensor.zeros([2, 5]), cache)).toThrow(
      'rnnStepBackward: dnextH has shape [2,5] but the forward output was [2,4]',
    );
  });

  it('stays finite and in (-1, 1) for huge pre-activations, and does not touch its inputs', () => {
    const x = Tensor.from([[1e6, -1e6]], [1, 2], 'float64'),
      h = randn64([1, 3], 2);
    const [Wx, Wh, b] = [randn64([2, 3], 3), randn64([3, 3], 4), randn64([3], 5)];
    const unchanged = snapshot(x, h, Wx, Wh, b);
    const { nextH, cache } = rnnStepForward(x, h, Wx, Wh, b);
    expect([...nextH.data].every((v) => Math.abs(v) <= 1)).toBe(true);
    const dnextH = randn64([1, 3], 6),
      doutSame = snapshot(dnextH);
    const g = rnnStepBackward(dnextH, cache);
    expect([...g.dx.data, ...g.dWx.data].every(Number.isFinite)).toBe(true);
    expect(unchanged() && doutSame()).toBe(true);
  });
});

describe('rnn sequence', () => {
  for (const name of ['sequence', 'sequenceLong']) {
    it(`matches torch.nn.RNN (${name}, float64)`, () => {
      const c = fx[name],
        [x, h0, Wx, Wh, b, dh] = ['x', 'h0', 'Wx', 'Wh', 'b', 'dh'].map((k) => fromFixture(c[k]));
      const { h, cache } = rnnForward(x, h0, Wx, Wh, b);
      expect(relError(h, fromFixture(c.h))).toBeLessThan(1e-10);
      const g = rnnBackward(dh, cache);
      for (const k of ['dx', 'dh0', 'dWx', 'dWh', 'db'] as const)
        expect(relError(g[k], fromFixture(c[k]))).toBeLessThan(1e-9);
    });
  }

  it('backward matches centred differences (float64)', () => {
    const [N, T, D, H] = [2, 4, 3, 5];
    const [x, h0, Wx, Wh, b] = [[N, T, D], [N, H], [D, H], [H, H], [H]].map((s, i) =>
      randn64(s, i + 10, 0.5),
    );
    const dh = randn64([N, T, H], 19);
    const g = rnnBackward(dh, rnnForward(x, h0, Wx, Wh, b).cache);
    expect(
      relError(
        g.dx,
        numericGrad((t) => rnnForward(t, h0, Wx, Wh, b).h, x, dh),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.dh0,
        numericGrad((t) => rnnForward(x, t, Wx, Wh, b).h, h0, dh),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.dWx,
        numericGrad((t) => rnnForward(x, h0, t, Wh, b).h, Wx, dh),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.dWh,
        numericGrad((t) => rnnForward(x, h0, Wx, t, b).h, Wh, dh),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        g.db,
        numericGrad((t) => rnnForward(x, h0, Wx, Wh, t).h, b, dh),
      ),
    ).toBeLessThan(1e-7);
  });

  it('agrees with rnnStepForward applied T times (float32)', () => {
    const [N, T, D, H] = [3, 5, 4, 6];
    const f32 = (s: number[], seed: number) => Tensor.randn(s, { seed, std: 0.5 });
    const [x, h0, Wx, Wh, b] = [[N, T, D], [N, H], [D, H], [H, H], [H]].map((s, i) =>
      f32(s, i + 30),
    );
    const { h } = rnnForward(x, h0, Wx, Wh, b);
    let prev = h0;
    for (let t = 0; t < T; t++) {
      const xt = Tensor.zeros([N, D]);
      for (let n = 0; n < N; n++)
        xt.data.set(x.data.subarray((n * T + t) * D, (n * T + t + 1) * D), n * D);
      prev = rnnStepForward(xt, prev, Wx, Wh, b).nextH;
      for (let n = 0; n < N; n++) {
        for (let j = 0; j < H; j++) expect(h.get(n, t, j)).toBeCloseTo(prev.get(n, j), 5);
      }
    }
  });

  it('rejects a wrong-sized dh and bad x, naming the shapes', () => {
    const { cache } = rnnForward(
      Tensor.zeros([2, 3, 4]),
      Tensor.zeros([2, 5]),
      Tensor.zeros([4, 5]),
      Tensor.zeros([5, 5]),
      Tensor.zeros([5]),
    );
    expect(() => rnnBackward(Tensor.zeros([2, 3, 4]), cache)).toThrow(
      'rnnBackward: dh has shape [2,3,4] but the forward output was [2,3,5]',
    );
    expect(() =>
      rnnForward(
        Tensor.zeros([2, 4]),
        Tensor.zeros([2, 5]),
        Tensor.zeros([4, 5]),
        Tensor.zeros([5, 5]),
        Tensor.zeros([5]),
      ),
    ).toThrow('rnnForward: x has shape [2,4] but must be 3-D (N, T, D)');
    expect(() =>
      rnnForward(
        Tensor.zeros([2, 3, 4]),
        Tensor.zeros([2, 5]),
        Tensor.zeros([4, 5]),
        Tensor.zeros([5, 5]),
        Tensor.zeros([4]),
      ),
    ).toThrow('rnnForward: b has shape [4] but h0 has 5 features, so b must be [5] (H)');
  });

  it('handles T = 1 and N = 1, and does not touch its inputs, dh or cache', () => {
    const [x, h0, Wx, Wh, b] = [[1, 1, 3], [1, 2], [3, 2], [2, 2], [2]].map((s, i) =>
      randn64(s, i + 40),
    );
    const unchanged = snapshot(x, h0, Wx, Wh, b);
    const { h, cache } = rnnForward(x, h0, Wx, Wh, b);
    const step = rnnStepForward(x.reshape([1, 3]), h0, Wx, Wh, b).nextH;
    expect(relError(h, step.reshape([1, 1, 2]))).toBeLessThan(1e-15);
    const dh = randn64([1, 1, 2], 50),
      same = snapshot(dh, cache.hs);
    const g = rnnBackward(dh, cache),
      gs = rnnStepBackward(
        dh.reshape([1, 2]),
        rnnStepForward(x.reshape([1, 3]), h0, Wx, Wh, b).cache,
      );
    expect(relError(g.dWh, gs.dWh)).toBeLessThan(1e-14);
    expect(relError(g.dh0, gs.dprevH)).toBeLessThan(1e-14);
    expect(unchanged() && same()).toBe(true);
  });
});
