// src/nn/util.ts: option and state helpers shared by the modules.
import { defaultRng, expectNumber, Rng, ValueError } from '../tensor/index.js';

/** The generator a module initialises from: rng, else Rng(seed), else the global one. */
export function initRng(fn: string, options: { seed?: number; rng?: Rng }): Rng {
  if (options.seed !== undefined) expectNumber(fn, 'seed', options.seed);
  if (options.rng !== undefined && !(options.rng instanceof Rng))
    throw new TypeError(`${fn}: rng must be an Rng`);
  if (options.seed !== undefined && options.rng !== undefined)
    throw new ValueError(`${fn}: give seed or rng, not both`);
  return options.rng ?? (options.seed !== undefined ? new Rng(options.seed) : defaultRng());
}

/** The cache of the last forward, or an error naming the module when backward comes first. */
export function lastCache<C>(fn: string, cache: C | null): C {
  if (cache === null) throw new Error(`${fn}: call forward first`);
  return cache;
}
