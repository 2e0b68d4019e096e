// src/browser.ts: the public surface of layerwise that runs anywhere (package.json "exports"
// condition "browser"), and the base that src/index.ts extends for Node. It is one list of whole
// namespaces: nothing here is rebuilt by hand. A folder whose namespace includes file access has
// a browser.ts holding the rest (src/data/browser.ts, src/io/browser.ts); src/index.ts exports
// those folders' index.ts instead, which adds the file functions.
//
// What needs Node stays out of this entry's module graph: reading and writing files (read*,
// write*, load*, the checkpoints) and the CLI. The Solver's checkpoint methods reach node:fs only
// when called (src/io/node.ts looks it up through process.getBuiltinModule), so training works in
// a page and saving a checkpoint there throws a clear error. test/browser/bundle.test.ts bundles
// this entry for platform 'browser' (no Node builtin may appear) and runs it in a context without
// process, require, Buffer or fs.
//
// The kernels: 'auto' (the default) loads the WASM SIMD kernels, which are embedded as base64 and
// decoded with atob; without SharedArrayBuffer (a page that is not cross-origin isolated) it uses
// the unshared build; workers start only in Node, so a page runs the kernels on one thread; where
// WebAssembly or SIMD is missing, 'auto' falls back to the reference kernels with one console.warn.
export { Tensor, Rng, ShapeError, DTypeError, ValueError, FileError } from './tensor/index.js';
export type {
  DType,
  FloatDType,
  FloatTensor,
  IntTensor,
  Labels,
  RngState,
} from './tensor/index.js';
export * as tensor from './tensor/index.js';
export * as kernels from './kernels/index.js';
export { setBackend } from './kernels/index.js';
export * as layers from './layers/index.js';
export * as nn from './nn/index.js';
export * as models from './models/index.js';
export * as gradcheck from './gradcheck/index.js';
export * as optim from './optim/index.js';
export * as vis from './vis/index.js';
export { Solver } from './solver/index.js';
export type { SolverModel, SolverData, SolverOptions, SolverProgress } from './solver/index.js';
// the codecs and the pure parts; src/index.ts replaces these two with the folders' index.ts
export * as data from './data/browser.js';
export * as io from './io/browser.js';
