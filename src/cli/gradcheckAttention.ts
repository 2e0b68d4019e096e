// src/cli/gradcheckAttention.ts: the issue-13 rows of `layerwise gradcheck` (softmax, gelu,
// positional encoding, layernorm on (N, S, E), multi-head attention). Every layer name ends in
// "(attention)" or names attention, so `layerwise gradcheck --only attention` runs exactly these.
import * as L from '../layers/index.js';
import type { Rng } from '../tensor/index.js';
import { SMOOTH, elementwise, randn, vjpErrors, type Check } from './gradcheckHelpers.js';

/** query (N, S, E), key/value (N, T, E) and the eight projections (E, E)/(E), all float64. */
function attentionInputs(rng: Rng, N: number, S: number, T: number, E: number) {
  return {
    query: randn(rng, N, S, E),
    key: randn(rng, N, T, E),
    value: randn(rng, N, T, E),
    Wq: randn(rng, E, E),
    bq: randn(rng, E),
    Wk: randn(rng, E, E),
    bk: randn(rng, E),
    Wv: randn(rng, E, E),
    bv: randn(rng, E),
    Wo: randn(rng, E, E),
    bo: randn(rng, E),
  };
}

/** Multi-head attention (N = 2, S = 3, T = 4, E = 4, 2 heads) with a mask, optionally dropout. */
function attention(dropout: L.AttentionDropout | null) {
  return (rng: Rng): Record<string, number> => {
    const inputs = attentionInputs(rng, 2, 3, 4, 4);
    // mask: (S, T), true = query s may attend to key t; every query keeps at least one key
    const mask = [
      [true, false, true, false],
      [true, true, false, true],
      [false, true, true, true],
    ];
    const fwd = () => {
      const { query, key, value, ...params } = inputs;
      return L.multiHeadAttentionForward(query, key, value, params, { numHeads: 2, mask, dropout });
    };
    let dbk: Float64Array | null = null;
    const { bk: _bk, ...checked } = inputs;
    const errors = vjpErrors(
      rng,
      checked,
      () => fwd().out,
      (d) => {
        const grads = L.multiHeadAttentionBackward(d, fwd().cache);
        dbk = grads.dbk.data as Float64Array;
        return { ...grads };
      },
    );
    // bk shifts every score of a query row by the same q·bk, which softmax ignores: dbk is exactly
    // 0, so a relative error would compare round-off with round-off; report its largest |entry|.
    return { ...errors, 'dbk=0': Math.max(...Array.from(dbk ?? [1], Math.abs)) };
  };
}

export function attentionChecks(): Check[] {
  return [
    elementwise('softmax (attention)', SMOOTH, L.softmaxForward, L.softmaxBackward),
    elementwise(
      'gelu erf (attention)',
      SMOOTH,
      (x) => L.geluForward(x, { approximate: 'none' }),
      L.geluBackward,
    ),
    elementwise(
      'gelu tanh (attention)',
      SMOOTH,
      (x) => L.geluForward(x, { approximate: 'tanh' }),
      L.geluBackward,
    ),
    {
      layer: 'positional encoding (attention)',
      threshold: SMOOTH,
      run: (rng) => {
        const x = randn(rng, 2, 3, 4); // (N, S, E)
        return vjpErrors(
          rng,
          { x },
          () => L.positionalEncodingForward(x).out,
          (d) => L.positionalEncodingBackward(d, L.positionalEncodingForward(x).cache),
        );
      },
    },
    {
      layer: 'layernorm (N, S, E) (attention)',
      threshold: SMOOTH,
      run: (rng) => {
        const x = randn(rng, 2, 3, 5), // (N, S, E)
          gamma = randn(rng, 5),
          beta = randn(rng, 5);
        const fwd = () => L.layernormForward(x, gamma, beta);
        return vjpErrors(
          rng,
          { x, gamma, beta },
          () => fwd().out,
          (d) => L.layernormBackward(d, fwd().cache),
        );
      },
    },
    { layer: 'multi-head attention (mask)', threshold: SMOOTH, run: attention(null) },
    {
      layer: 'multi-head attention (mask, dropout seed 7)',
      threshold: SMOOTH,
      run: attention({ p: 0.25, mode: 'train', seed: 7 }),
    },
  ];
}
