import { describe, expect, it } from 'vitest';
import {
  evalNumericalGradient,
  evalNumericalGradientArray,
  relError,
} from '../../src/gradcheck/index.js';
import { Tensor } from '../../src/tensor/index.js';

describe('gradcheck', () => {
  it('evalNumericalGradient differentiates a known scalar function and restores x', () => {
    // f(x) = Σ x³ → ∇f = 3x²
    const x = Tensor.from([1, -2, 0.5], [3], 'float64');
    const g = evalNumericalGradient((t) => Array.from(t.data).reduce((s, v) => s + v ** 3, 0), x);
    expect(relError(g, [3, 12, 0.75])).toBeLessThan(1e-9);
    expect([...x.data]).toEqual([1, -2, 0.5]);
  });

  it('evalNumericalGradientArray gives the vector-Jacobian product', () => {
    // f(x) = [x0·x1, sin x1] ; dout = [2, 3] → grad = [2 x1, 2 x0 + 3 cos x1]
    const x = Tensor.from([0.3, -1.2], [2], 'float64');
    const f = (t: Tensor) =>
      Tensor.from([t.data[0] * t.data[1], Math.sin(t.data[1])], [2], 'float64');
    const g = evalNumericalGradientArray(f, x, Tensor.from([2, 3], [2], 'float64'));
    expect(relError(g, [2 * -1.2, 2 * 0.3 + 3 * Math.cos(-1.2)])).toBeLessThan(1e-9);
  });

  it('order 4 (five-point stencil) is exact on quartics where order 2 is off by O(h²)', () => {
    // f(x) = Σ x⁴ → ∇f = 4x³; the order-2 error is exactly 4x·h² here
    const x = Tensor.from([1, -2, 0.5], [3], 'float64'),
      h = 1e-2,
      want = [4, -32, 0.5];
    const quartic = (t: Tensor) => Array.from(t.data).reduce((s, v) => s + v ** 4, 0);
    expect(relError(evalNumericalGradient(quartic, x, h, 4), want)).toBeLessThan(1e-12);
    expect(relError(evalNumericalGradient(quartic, x, h, 2), want)).toBeGreaterThan(1e-5);
    expect([...x.data]).toEqual([1, -2, 0.5]);
  });

  it('gives exactly 0 where x does not touch the output, for both orders', () => {
    // f(x) = [3 x0, x0²]; x1 touches nothing
    const x = Tensor.from([0.7, 123.456], [2], 'float64'),
      dout = Tensor.from([1.3, -0.4], [2], 'float64');
    const f = (t: Tensor) => Tensor.from([3 * t.data[0], t.data[0] ** 2], [2], 'float64');
    for (const order of [2, 4] as const) {
      const g = evalNumericalGradientArray(f, x, dout, 1e-3, order);
      expect(g.data[1]).toBe(0);
      expect(relError(g.data[0], 3 * 1.3 - 0.4 * 2 * 0.7)).toBeLessThan(1e-10);
    }
    expect(() => evalNumericalGradient(() => 0, x, 1e-5, 3 as never)).toThrow(
      'evalNumericalGradient: order must be 2 or 4, got 3',
    );
  });

  it('relError follows max |a-b| / max(1e-8, |a|+|b|) and flags NaN', () => {
    expect(relError([1, 2], [1, 2])).toBe(0);
    expect(relError([1, 0], [3, 0])).toBe(0.5);
    expect(relError([0], [1e-12])).toBeCloseTo(1e-4, 12);
    expect(relError([NaN], [1])).toBe(Infinity);
    expect(() => relError([1, 2], [1])).toThrow('relError: a has 2 elements but b has 1');
  });
});
