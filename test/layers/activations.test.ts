import { describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import {
  leakyReluBackward,
  leakyReluForward,
  reluBackward,
  reluForward,
  sigmoidBackward,
  sigmoidForward,
  tanhBackward,
  tanhForward,
} from '../../src/layers/index.js';
import { Tensor, type FloatTensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, numericGrad, randn64, snapshot } from '../helpers.js';

type T = { shape: number[]; data: number[] };
type Case = Record<'x' | 'dout' | 'out' | 'dx', T>;
const cases = fixture<{ cases: Record<string, Case> }>('fc_layers').cases;

interface Pair {
  forward: (x: Tensor) => { out: FloatTensor; cache: never };
  backward: (dout: Tensor, cache: never) => { dx: FloatTensor };
}
const pairs: Record<string, Pair> = {
  relu: { forward: reluForward as Pair['forward'], backward: reluBackward as Pair['backward'] },
  leakyRelu: {
    forward: ((x: Tensor) => leakyReluForward(x)) as Pair['forward'],
    backward: leakyReluBackward as Pair['backward'],
  },
  leakyRelu02: {
    forward: ((x: Tensor) => leakyReluForward(x, 0.2)) as Pair['forward'],
    backward: leakyReluBackward as Pair['backward'],
  },
  sigmoid: {
    forward: sigmoidForward as Pair['forward'],
    backward: sigmoidBackward as Pair['backward'],
  },
  tanh: { forward: tanhForward as Pair['forward'], backward: tanhBackward as Pair['backward'] },
};

describe('activations', () => {
  for (const [name, { forward, backward }] of Object.entries(pairs)) {
    it(`${name}: matches PyTorch values, including |x| up to 800 (float64)`, () => {
      const ref = cases[name];
      const x = fromFixture(ref.x),
        dout = fromFixture(ref.dout);
      const { out, cache } = forward(x);
      expect(relError(out, ref.out.data)).toBeLessThan(1e-12);
      expect([...out.data].every(Number.isFinite)).toBe(true);
      // 1 − tanh² and σ(1 − σ) cancel for large |x|, so the backward is compared at 1e-9
      expect(relError(backward(dout, cache).dx, ref.dx.data)).toBeLessThan(1e-9);
    });

    it(`${name}: backward matches centred differences and leaves inputs alone`, () => {
      // x kept away from 0 so that the kinks of relu/leaky relu are not straddled by ±h
      const x = randn64([4, 5], 3).clone();
      for (let i = 0; i < x.size; i++) if (Math.abs(x.data[i]) < 1e-3) x.data[i] = 0.5;
      const dout = randn64([4, 5], 4);
      const unchanged = snapshot(x, dout);
      const { out, cache } = forward(x);
      const { dx } = backward(dout, cache);
      expect(unchanged()).toBe(true);
      expect(dx).not.toBe(dout);
      expect(out.shape).toEqual([4, 5]);
      expect(
        relError(
          dx,
          numericGrad((t) => forward(t).out, x, dout),
        ),
      ).toBeLessThan(1e-7);
    });
  }

  it('sigmoid saturates to exactly 0 and 1 without overflow', () => {
    const { out } = sigmoidForward(Tensor.from([-1e4, -745, 745, 1e4], [4], 'float64'));
    expect(out.data[0]).toBe(0);
    expect(out.data[3]).toBe(1);
    expect([...out.data].every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('relu backward gives 0 at x = 0 and never writes into dout', () => {
    const x = Tensor.from([-1, 0, 2], [3], 'float64'),
      dout = Tensor.from([1, 1, 1], [3], 'float64');
    const { dx } = reluBackward(dout, reluForward(x).cache);
    expect([...dx.data]).toEqual([0, 0, 1]);
    expect([...dout.data]).toEqual([1, 1, 1]);
  });

  it('rejects a dout of the wrong shape or a non-float input', () => {
    const { cache } = reluForward(Tensor.zeros([2, 3]));
    expect(() => reluBackward(Tensor.zeros([3, 2]), cache)).toThrow(
      'reluBackward: dout has shape [3,2] but the forward input was [2,3]',
    );
    expect(() => tanhForward(Tensor.zeros([2], 'int32'))).toThrow(
      'tanhForward: x has dtype int32 but must be float32 or float64',
    );
  });
});
