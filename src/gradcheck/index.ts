// src/gradcheck/index.ts: numerical gradients by centred differences and the relative error
// used to compare them with analytic ones. Run them in float64: float32 differences are noise.
import { expectShape, expectTensor, fmt, ShapeError, Tensor } from '../tensor/index.js';

/**
 * Numerical gradient of a scalar function: grad[i] = (f(x + h eᵢ) − f(x − h eᵢ)) / 2h.
 * x is perturbed in place (so f may read it through a closure, e.g. a model's live params)
 * and restored exactly after each coordinate.
 */
export function evalNumericalGradient(f: (x: Tensor) => number, x: Tensor, h = 1e-5): Tensor {
  expectTensor('evalNumericalGradient', 'x', x);
  const grad = Tensor.zeros(x.shape, x.dtype === 'int32' ? 'float64' : x.dtype);
  const d = x.data;
  for (let i = 0; i < d.length; i++) {
    const old = d[i];
    d[i] = old + h;
    const fPlus = f(x);
    d[i] = old - h;
    const fMinus = f(x);
    d[i] = old;
    grad.data[i] = (fPlus - fMinus) / (2 * h);
  }
  return grad;
}

/**
 * Numerical gradient of Σ f(x) ⊙ dout for an array-valued f, i.e. the vector-Jacobian product
 * that backward computes: grad[i] = Σ_j (f(x + h eᵢ)_j − f(x − h eᵢ)_j) dout_j / 2h.
 */
export function evalNumericalGradientArray(f: (x: Tensor) => Tensor, x: Tensor, dout: Tensor, h = 1e-5): Tensor {
  expectTensor('evalNumericalGradientArray', 'x', x);
  expectTensor('evalNumericalGradientArray', 'dout', dout);
  const grad = Tensor.zeros(x.shape, x.dtype === 'int32' ? 'float64' : x.dtype);
  const d = x.data, g = dout.data;
  for (let i = 0; i < d.length; i++) {
    const old = d[i];
    d[i] = old + h;
    const plus = f(x).data.slice();
    d[i] = old - h;
    const minus = f(x).data;
    d[i] = old;
    if (plus.length !== g.length) {
      throw new ShapeError(`evalNumericalGradientArray: f(x) has ${plus.length} elements but dout has shape ${fmt(dout.shape)}`);
    }
    let s = 0;
    for (let j = 0; j < g.length; j++) s += (plus[j] - minus[j]) * g[j];
    grad.data[i] = s / (2 * h);
  }
  return grad;
}

/** max |a − b| / max(1e-8, |a| + |b|) over all elements; a and b must have the same size. */
export function relError(a: Tensor | ArrayLike<number> | number, b: Tensor | ArrayLike<number> | number): number {
  const x = valuesOf(a), y = valuesOf(b);
  if (x.length !== y.length) {
    throw new ShapeError(`relError: a has ${x.length} elements but b has ${y.length}`);
  }
  if (a instanceof Tensor && b instanceof Tensor) expectShape('relError', 'b', b, a.shape, `a has shape ${fmt(a.shape)}`);
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
