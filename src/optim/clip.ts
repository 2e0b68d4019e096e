// src/optim/clip.ts: gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_.
import { expectFinite, expectFloat, expectNumber, type FloatTensor } from '../tensor/index.js';

/**
 * Scales every gradient by maxNorm / (‖g‖ + 1e-6) when the global norm ‖g‖ = √(Σ over all
 * gradients of Σ g²) exceeds maxNorm (torch's clip_grad_norm_, norm_type 2). Mutates the
 * gradients in place and returns the norm before clipping. A non-finite gradient throws,
 * naming it (torch's error_if_nonfinite=True): clipping NaN would hide the problem.
 */
export function clipGradNorm(grads: Record<string, FloatTensor>, maxNorm: number): number {
  const fn = 'clipGradNorm';
  expectNumber(fn, 'maxNorm', maxNorm, { min: 0, minExclusive: true });
  let sumSq = 0;
  for (const [name, g] of Object.entries(grads)) {
    expectFloat(fn, `grads.${name}`, g);
    const d = g.data;
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[i] * d[i];
    if (!Number.isFinite(s)) expectFinite(fn, `grads.${name}`, g); // names the first bad element
    sumSq += s;
  }
  const norm = Math.sqrt(sumSq);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    for (const g of Object.values(grads)) {
      const d = g.data;
      for (let i = 0; i < d.length; i++) d[i] *= coef;
    }
  }
  return norm;
}
