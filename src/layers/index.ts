// src/layers/index.ts: the functional layers, one family per file.
export * from './affine.js';
export * from './activations.js';
export * from './losses.js';
// -- issue 3 (batchnorm, layernorm, dropout) --
// -- issue 4 (conv, pool) --
// -- issue 7 (rnn, lstm, embedding, temporal) --
