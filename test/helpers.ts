// test/helpers.ts: shared test utilities: seeded float64 tensors and gradient-check shorthands.
import { evalNumericalGradientArray } from '../src/gradcheck/index.js';
import { Tensor, type FloatTensor } from '../src/tensor/index.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A seeded float64 standard-normal tensor (times `std`). */
export function randn64(shape: readonly number[], seed: number, std = 1): FloatTensor {
  return Tensor.randn(shape, { seed, dtype: 'float64', std });
}

/** Numerical vector-Jacobian product of f at x against dout (centred differences, h = 1e-5). */
export function numericGrad(f: (x: Tensor) => Tensor, x: Tensor, dout: Tensor, h = 1e-5): Tensor {
  return evalNumericalGradientArray(f, x, dout, h);
}

/** Reads test/fixtures/<name>.json (written by a committed script in test/fixtures/gen/). */
export function fixture<T = Record<string, unknown>>(name: string): T & { generator: string; version: string } {
  const path = fileURLToPath(new URL(`./fixtures/${name}.json`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** A tensor from a fixture entry { shape, data } in float64. */
export function fromFixture(entry: { shape: number[]; data: number[] }): FloatTensor {
  return Tensor.from(entry.data, entry.shape, 'float64');
}

/** A copy of the data, to assert later that a call did not modify its inputs. */
export function snapshot(...ts: Tensor[]): () => boolean {
  const copies = ts.map((t) => t.data.slice());
  return () => ts.every((t, i) => t.data.every((v, j) => Object.is(v, copies[i][j])));
}
