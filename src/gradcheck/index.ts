// src/gradcheck/index.ts: numerical gradients by centred differences and the relative error
// used to compare them with analytic ones. Run them in float64: float32 differences are noise.
import { expectShape, expectTensor, fmt, ShapeError, Tensor } from '../tensor/index.js';

/** The centred first-derivative stencils, order 2 (±h) or 4 (±h, ±2h). */
export type StencilOrder = 2 | 4;
/**
 * [k, weight] pairs: derivative ≈ Σ weight · (f(x + k·h) − f(x − k·h)) / h. Each pair is
 * differenced before it is weighted, so an output that x does not touch contributes exactly 0.
 */
const STENCILS: Record<StencilOrder, ReadonlyArray<readonly [number, number]>> = {
  2: [[1, 1 / 2]],
  // (8 (f(x+h) − f(x−h)) − (f(x+2h) − f(x−2h))) / 12h: error O(h⁴), so a larger h (1e-3) is
  // exact enough and divides the round-off of f by ~100 compared with order 2 at h = 1e-5
  4: [
    [1, 8 / 12],
    [2, -1 / 12],
  ],
};

function stencilOf(
  fn: string,
  order: StencilOrder,
  h: number,
): ReadonlyArray<readonly [number, number]> {
  if (order !== 2 && order !== 4)
    throw new RangeError(`${fn}: order must be 2 or 4, got ${String(order)}`);
  if (!(h > 0) || !Number.isFinite(h))
    throw new RangeError(`${fn}: h must be a positive number, got ${h}`);
  return STENCILS[order];
}

/**
 * Numerical gradient of a scalar function: grad[i] = (f(x + h eᵢ) − f(x − h eᵢ)) / 2h (order 2),
 * or the five-point stencil with error O(h⁴) (order 4). x is perturbed in place (so f may read it
 * through a closure, e.g. a model's live params) and restored exactly after each coordinate.
 */
export function evalNumericalGradient(
  f: (x: Tensor) => number,
  x: Tensor,
  h = 1e-5,
  order: StencilOrder = 2,
): Tensor {
  expectTensor('evalNumericalGradient', 'x', x);
  const stencil = stencilOf('evalNumericalGradient', order, h);
  const grad = Tensor.zeros(x.shape, x.dtype === 'int32' ? 'float64' : x.dtype);
  const d = x.data;
  for (let i = 0; i < d.length; i++) {
    const old = d[i];
    let s = 0;
    for (const [k, weight] of stencil) {
      d[i] = old + k * h;
      const fPlus = f(x);
      d[i] = old - k * h;
      const fMinus = f(x);
      s += weight * (fPlus - fMinus);
    }
    d[i] = old;
    grad.data[i] = s / h;
  }
  return grad;
}

/**
 * Numerical gradient of Σ f(x) ⊙ dout for an array-valued f, i.e. the vector-Jacobian product
 * that backward computes: grad[i] = Σ_j (f(x + h eᵢ)_j − f(x − h eᵢ)_j) dout_j / 2h (order 2; order
 * 4 as in evalNumericalGradient).
 */
export function evalNumericalGradientArray(
  f: (x: Tensor) => Tensor,
  x: Tensor,
  dout: Tensor,
  h = 1e-5,
  order: StencilOrder = 2,
): Tensor {
  const fn = 'evalNumericalGradientArray';
  expectTensor(fn, 'x', x);
  expectTensor(fn, 'dout', dout);
  const stencil = stencilOf(fn, order, h);
  const grad = Tensor.zeros(x.shape, x.dtype === 'int32' ? 'float64' : x.dtype);
  const d = x.data,
    g = dout.data;
  const outAt = (value: number, i: number): ArrayLike<number> => {
    d[i] = value;
    const out = f(x).data;
    if (out.length !== g.length) {
      throw new ShapeError(
        `${fn}: f(x) has ${out.length} elements but dout has shape ${fmt(dout.shape)}`,
      );
    }
    return out;
  };
  for (let i = 0; i < d.length; i++) {
    const old = d[i];
    let s = 0;
    try {
      for (const [k, weight] of stencil) {
        const plus = Float64Array.from(outAt(old + k * h, i)),
          minus = outAt(old - k * h, i);
        let dot = 0;
        for (let j = 0; j < g.length; j++) dot += (plus[j] - minus[j]) * g[j];
        s += weight * dot;
      }
    } finally {
      d[i] = old;
    }
    grad.data[i] = s / h;
  }
  return grad;
}

/** max |a − b| / max(1e-8, |a| + |b|) over all elements; a and b must have the same size. */
export function relError(
  a: Tensor | ArrayLike<number> | number,
  b: Tensor | ArrayLike<number> | number,
): number {
  const x = valuesOf(a),
    y = valuesOf(b);
  if (x.length !== y.length) {
    throw new ShapeError(`relError: a has ${x.length} elements but b has ${y.length}`);
  }
  if (a instanceof Tensor && b instanceof Tensor)
    expectShape('relError', 'b', b, a.shape, `a has shape ${fmt(a.shape)}`);
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const err = Math.abs(x[i] - y[i]) / Math.max(1e-8, Math.abs(x[i]) + Math.abs(y[i]));
    if (err > worst || Number.isNaN(err)) worst = Number.isNaN(err) ? Infinity : err;
    if (worst === Infinity) return worst;
  }
  return worst;
}

function valuesOf(v: Tensor | ArrayLike<number> | number): ArrayLike<number> {
  if (typeof v === 'number') return [v];
  return v instanceof Tensor ? v.data : v;
}
