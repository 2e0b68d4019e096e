// src/layers/internal.ts: helpers that src/models and src/nn share with the layers, not part of
// the public API.
export { tokenIdsOf } from './embedding.js';
export { softmaxShift } from './softmax.js';
