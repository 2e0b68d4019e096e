// src/nn/internal.ts: plumbing that src/models shares with src/nn, not part of the public API.
export { addL2 } from './model.js';
export { expectDenseInput } from './model.js';
