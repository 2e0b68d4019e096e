// src/cli/gradcheckHelpers.ts: what the case tables of `layerwise gradcheck` share: the
// thresholds, the finite-difference stencil in use, random float64 inputs and the error of a
// backward against numerical gradients.
import {
  evalNumericalGradient,
  evalNumericalGradientArray,
  relError,
  type StencilOrder,
} from '../gradcheck/index.js';
import { Rng, Tensor, type FloatTensor } from '../tensor/index.js';

export const SMOOTH = 1e-7,
  KINK = 1e-5;

type Grads = Record<string, Tensor>;

/**
 * The finite-difference stencil of the check being run: smooth layers use the five-point stencil
 * (error O(h⁴)) at h = 2e-3, which leaves ~100x less round-off than ±1e-5 on gradient entries near
 * zero; layers with kinks keep ±1e-5 so that no step crosses a kink. Set by useStencilFor.
 */
let stencil: { h: number; order: StencilOrder } = { h: 1e-5, order: 2 };
const SMOOTH_STENCIL = { h: 2e-3, order: 4 } as const,
  KINK_STENCIL = { h: 1e-5, order: 2 } as const;

/** Picks the stencil of a check from its threshold (SMOOTH: five-point, else centred ±1e-5). */
export function useStencilFor(threshold: number): void {
  stencil = threshold === SMOOTH ? SMOOTH_STENCIL : KINK_STENCIL;
}

export interface Check {
  readonly layer: string;
  readonly threshold: number;
  /** Relative error per gradient name (dx, dw, ...). */
  readonly run: (rng: Rng) => Record<string, number>;
}

export const randn = (rng: Rng, ...shape: number[]): FloatTensor =>
  Tensor.randn(shape, { rng, dtype: 'float64' });
/** Recurrent inputs at std 0.5, as in the layer tests: saturated tanh/sigmoid units would make tiny gradients. */
export const randnHalf = (rng: Rng, ...shape: number[]): FloatTensor =>
  Tensor.randn(shape, { rng, dtype: 'float64', std: 0.5 });

/**
 * Errors of backward's gradients for each input of an array-valued forward: dout is random,
 * backward(dout) gives 'd' + name for every input, compared with the numerical vector-Jacobian product.
 */
export function vjpErrors(
  rng: Rng,
  inputs: Record<string, FloatTensor>,
  forward: () => Tensor,
  backward: (dout: Tensor) => Grads,
): Record<string, number> {
  const dout = Tensor.randn(forward().shape, { rng, dtype: 'float64' });
  const analytic = backward(dout);
  const errors: Record<string, number> = {};
  for (const [name, x] of Object.entries(inputs)) {
    errors[`d${name}`] = relError(
      analytic[`d${name}`],
      evalNumericalGradientArray(() => forward(), x, dout, stencil.h, stencil.order),
    );
  }
  return errors;
}

/** Errors of a scalar loss's dx. */
export function lossErrors(
  x: FloatTensor,
  loss: () => { loss: number; dx: Tensor },
): Record<string, number> {
  const { dx } = loss();
  return {
    dx: relError(
      dx,
      evalNumericalGradient(() => loss().loss, x, stencil.h, stencil.order),
    ),
  };
}

export function elementwise(
  layer: string,
  threshold: number,
  fwd: (x: Tensor) => { out: Tensor; cache: unknown },
  bwd: (d: Tensor, c: never) => { dx: Tensor },
): Check {
  return {
    layer,
    threshold,
    run: (rng) => {
      const x = randn(rng, 4, 5);
      return vjpErrors(
        rng,
        { x },
        () => fwd(x).out,
        (d) => bwd(d, fwd(x).cache as never),
      );
    },
  };
}
