// src/solver/finite.ts: the Solver's checks that a step's gradients and updated params hold no
// NaN or ±Infinity, run on every step, so a fast scan first and expectFinite (which names the
// element) only when it fails.
import {
  expectFinite,
  Tensor,
  ValueError,
  type FloatData,
  type FloatTensor,
} from '../tensor/index.js';

/** The gradient of every param (each one present, a Tensor, and finite), by name. */
export function checkedGrads(
  params: Readonly<Record<string, FloatTensor>>,
  grads: Readonly<Record<string, unknown>>,
  where: string,
): Record<string, FloatTensor> {
  const used: Record<string, FloatTensor> = {};
  for (const name of Object.keys(params)) {
    const g = Object.hasOwn(grads, name) ? grads[name] : undefined;
    if (!(g instanceof Tensor))
      throw new ValueError(`Solver: model.loss returned no gradient for param '${name}'`);
    if (!allFinite(g.data)) expectFinite('Solver', `the gradient of '${name}' at ${where}`, g);
    used[name] = g as FloatTensor;
  }
  return used;
}

/** Throws, naming the param and the element, when the update left a non-finite value in w. */
export function expectFiniteParam(name: string, w: FloatTensor, where: string): void {
  if (!allFinite(w.data)) expectFinite('Solver', `param '${name}' after the update at ${where}`, w);
}

/**
 * No NaN or ±Infinity in d (x·0 is 0 exactly for finite x). Four independent sums, so the loop
 * is not one long chain of dependent additions: it runs on every gradient and param each step.
 */
function allFinite(d: FloatData): boolean {
  let a = 0,
    b = 0,
    c = 0,
    e = 0,
    i = 0;
  for (const n4 = d.length - 3; i < n4; i += 4) {
    a += d[i] * 0;
    b += d[i + 1] * 0;
    c += d[i + 2] * 0;
    e += d[i + 3] * 0;
  }
  for (; i < d.length; i++) a += d[i] * 0;
  return a + b + c + e === 0;
}
