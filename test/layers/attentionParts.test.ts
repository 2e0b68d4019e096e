// The layers a Transformer is built from besides attention: softmax over the last axis, GELU,
// the sinusoidal positional encoding and layer norm over the last axis of (N, S, D).
import { describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import {
  geluBackward,
  geluForward,
  layernormBackward,
  layernormForward,
  positionalEncodingBackward,
  positionalEncodingForward,
  softmaxBackward,
  softmaxForward,
} from '../../src/layers/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, numericGrad, randn64, snapshot } from '../helpers.js';

type T = { shape: number[]; data: number[] };
type Pair = { x: T; dout: T; out: T; dx: T };
const ref = fixture<{
  softmax: Pair;
  gelu: Record<'none' | 'tanh', Pair & { approximate: 'none' | 'tanh'; outErfc?: T }>;
  layernorm3d: Pair & { gamma: T; beta: T; dgamma: T; dbeta: T };
  positional: { x: T; out: T };
}>('attention');

describe('softmax over the last axis', () => {
  it('matches torch.softmax(x, -1) on (2, 3, 5), logits of 1e4 included (float64)', () => {
    const [x, dout] = [ref.softmax.x, ref.softmax.dout].map(fromFixture);
    const { out, cache } = softmaxForward(x);
    expect(out.shape).toEqual([2, 3, 5]);
    expect(relError(out, ref.softmax.out.data)).toBeLessThan(1e-12);
    expect(relError(softmaxBackward(dout, cache).dx, ref.softmax.dx.data)).toBeLessThan(1e-10);
  });

  it('backward matches centred differences (float64) and mutates nothing', () => {
    const x = randn64([2, 3, 4, 5], 1, 2),
      dout = randn64([2, 3, 4, 5], 2);
    const unchanged = snapshot(x, dout);
    const { dx } = softmaxBackward(dout, softmaxForward(x).cache);
    expect(unchanged()).toBe(true);
    expect(
      relError(
        dx,
        numericGrad((t) => softmaxForward(t).out, x, dout),
      ),
    ).toBeLessThan(1e-7);
  });

  it('rows sum to 1, a 1-D input and a single entry work', () => {
    const { out } = softmaxForward(Tensor.from([1, 2, 3], [3], 'float64'));
    expect(Array.from(out.data).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
    expect(Array.from(softmaxForward(Tensor.from([7], [1, 1], 'float64')).out.data)).toEqual([1]);
  });

  it('names the function, argument and shapes', () => {
    expect(() => softmaxForward(Tensor.zeros([2, 0]))).toThrow(
      'softmaxForward: x has shape [2,0] but needs a non-empty last axis',
    );
    const { cache } = softmaxForward(Tensor.zeros([2, 3]));
    expect(() => softmaxBackward(Tensor.zeros([3, 2]), cache)).toThrow(
      'softmaxBackward: dout has shape [3,2] but the forward input was [2,3]',
    );
  });
});

describe('gelu', () => {
  for (const mode of ['none', 'tanh'] as const) {
    it(`matches torch.nn.functional.gelu(approximate='${mode}'), tails included (float64)`, () => {
      const c = ref.gelu[mode];
      const [x, dout] = [c.x, c.dout].map(fromFixture);
      const { out, cache } = geluForward(x, { approximate: mode });
      // torch evaluates ½(1 + erf(x/√2)) and ½(1 + tanh u), which lose digits for x << 0 (6e-11
      // at x = −6 for 'none', 2e-9 for 'tanh'); ours uses erfc and σ(2u) and matches math.erfc's
      // value to 1e-14 there
      expect(relError(out, c.out.data)).toBeLessThan(1e-8);
      if (c.outErfc) expect(relError(out, c.outErfc.data)).toBeLessThan(1e-14);
      expect(relError(geluBackward(dout, cache).dx, c.dx.data)).toBeLessThan(1e-7); // 2e-8 (tanh)
    });

    it(`backward matches centred differences (approximate '${mode}', float64)`, () => {
      const x = randn64([4, 6], 3, 2.5),
        dout = randn64([4, 6], 4);
      const unchanged = snapshot(x, dout);
      const { dx } = geluBackward(dout, geluForward(x, { approximate: mode }).cache);
      expect(unchanged()).toBe(true);
      const num = numericGrad((t) => geluForward(t, { approximate: mode }).out, x, dout);
      expect(relError(dx, num)).toBeLessThan(1e-7);
    });
  }

  it('the default is the exact erf form; the two forms differ by a little', () => {
    const x = Tensor.from([-2, -0.5, 0.5, 2], [4], 'float64');
    const exact = geluForward(x).out,
      tanh = geluForward(x, { approximate: 'tanh' }).out;
    expect(relError(exact, geluForward(x, { approximate: 'none' }).out)).toBe(0);
    expect(relError(exact, tanh)).toBeGreaterThan(1e-6);
    expect(relError(exact, tanh)).toBeLessThan(1e-2);
  });

  it('names the function and the option', () => {
    expect(() => geluForward(Tensor.zeros([2]), { approximate: 'erf' as never })).toThrow(
      "geluForward: geluParam.approximate must be 'none' or 'tanh', got 'erf'",
    );
    expect(() => geluForward(Tensor.zeros([2], 'int32'))).toThrow(
      'geluForward: x has dtype int32 but must be float32 or float64',
    );
  });
});

describe('positional encoding', () => {
  it('adds the sinusoid table of DESIGN.md (numpy float64 values)', () => {
    const x = fromFixture(ref.positional.x),
      unchanged = snapshot(x);
    const { out } = positionalEncodingForward(x);
    expect(relError(out, ref.positional.out.data)).toBeLessThan(1e-12);
    expect(unchanged()).toBe(true);
    // position 0 is sin 0 = 0 and cos 0 = 1 in every pair
    const zero = positionalEncodingForward(Tensor.zeros([1, 2, 4], 'float64')).out;
    expect(Array.from(zero.data.slice(0, 4))).toEqual([0, 1, 0, 1]);
  });

  it('backward is the identity (a fresh copy), checked by centred differences', () => {
    const x = randn64([2, 3, 4], 1),
      dout = randn64([2, 3, 4], 2);
    const { dx } = positionalEncodingBackward(dout, positionalEncodingForward(x).cache);
    expect(dx).not.toBe(dout);
    expect(
      relError(
        dx,
        numericGrad((t) => positionalEncodingForward(t).out, x, dout),
      ),
    ).toBeLessThan(1e-7);
  });

  it('names the function, argument and shapes', () => {
    expect(() => positionalEncodingForward(Tensor.zeros([2, 3, 5]))).toThrow(
      'positionalEncodingForward: x has shape [2,3,5] but E = 5 must be even',
    );
    expect(() => positionalEncodingForward(Tensor.zeros([2, 4]))).toThrow(
      'positionalEncodingForward: x has shape [2,4] but must be 3-D (N, S, E)',
    );
    const { cache } = positionalEncodingForward(Tensor.zeros([1, 2, 4], 'float64'));
    expect(() => positionalEncodingBackward(Tensor.zeros([1, 2, 4]), cache)).toThrow(
      'positionalEncodingBackward: dout has dtype float32 but the forward input was float64',
    );
  });
});

describe('layernorm over the last axis of (N, S, D)', () => {
  it('matches torch.nn.LayerNorm(D) on 3-D input (float64)', () => {
    const c = ref.layernorm3d;
    const [x, gamma, beta, dout] = [c.x, c.gamma, c.beta, c.dout].map(fromFixture);
    const { out, cache } = layernormForward(x, gamma, beta);
    expect(out.shape).toEqual([2, 3, 5]);
    expect(relError(out, c.out.data)).toBeLessThan(1e-10);
    const g = layernormBackward(dout, cache);
    expect(g.dx.shape).toEqual([2, 3, 5]);
    expect(relError(g.dx, c.dx.data)).toBeLessThan(1e-8);
    expect(relError(g.dgamma, c.dgamma.data)).toBeLessThan(1e-10);
    expect(relError(g.dbeta, c.dbeta.data)).toBeLessThan(1e-10);
  });

  it('backward matches centred differences on (2, 3, 4, 5) and equals the (N·S·4, 5) result', () => {
    const x = randn64([2, 3, 4, 5], 1),
      gamma = randn64([5], 2),
      beta = randn64([5], 3),
      dout = randn64([2, 3, 4, 5], 4);
    const { out, cache } = layernormForward(x, gamma, beta);
    const g = layernormBackward(dout, cache);
    const f = (t: Tensor) => layernormForward(t, gamma, beta).out;
    expect(relError(g.dx, numericGrad(f, x, dout))).toBeLessThan(1e-7);
    const fg = (t: Tensor) => layernormForward(x, t, beta).out;
    expect(relError(g.dgamma, numericGrad(fg, gamma, dout))).toBeLessThan(1e-7);
    const flat = layernormForward(x.reshape([24, 5]), gamma, beta);
    expect(relError(out.data, flat.out.data)).toBe(0);
    expect(relError(g.dx.data, layernormBackward(dout.reshape([24, 5]), flat.cache).dx.data)).toBe(
      0,
    );
  });

  it('names the function when x has no batch axis', () => {
    expect(() => layernormForward(Tensor.zeros([4]), Tensor.zeros([4]), Tensor.zeros([4]))).toThrow(
      'layernormForward: x has shape [4] but must be (N, ..., D), at least 2-D',
    );
  });
});
