// src/kernels/index.ts: picks the backend. Layers call kernelsFor(dtype) and never import a
// backend; float64 (what gradient checks use) always lands on the reference.
import type { DType } from '../tensor/index.js';
import { reference } from './reference.js';
import type { Kernels } from './types.js';

export type { Buf, ConvGeometry, GemmOpts, Kernels } from './types.js';
export { reference } from './reference.js';

export type BackendName = 'auto' | 'reference' | 'wasm';

let preferred: Kernels = reference;

/** The kernels that run `dtype`: the selected backend when it supports it, else the reference. */
export function kernelsFor(dtype: DType): Kernels {
  return preferred.supports(dtype) ? preferred : reference;
}

/** The backend selected for float32 work. */
export function currentBackend(): Kernels {
  return preferred;
}

/** Selects a backend; 'reference' is always available. */
export function setBackend(name: BackendName): Kernels {
  if (name === 'reference' || name === 'auto') {
    preferred = reference;
    return preferred;
  }
  throw new Error(`setBackend: backend '${name}' is not available in this build (known: auto, reference)`);
}
