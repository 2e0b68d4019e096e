// src/nn/index.ts: stateful modules over the functional layers, and Sequential.
export { Module } from './module.js';
// -- issue 3 (dense and normalisation modules, Sequential) --
// -- issue 4 (convolution and pooling modules) --
// -- issue 7 (recurrent modules) --
