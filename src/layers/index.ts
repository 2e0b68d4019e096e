// src/layers/index.ts: the functional layers, one family per file.
export * from './affine.js';
export * from './activations.js';
export * from './losses.js';
