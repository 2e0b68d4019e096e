// src/browser.ts: the public surface for browsers (package.json "exports" condition "browser").
// It is src/index.ts without anything that imports node:* at module load, so that a browser
// bundle builds without marking builtins external and dist/src/browser.js loads as a native ES
// module (relative imports only). test/browser/bundle.test.ts bundles it for platform 'browser'
// and trains a model in a context without process, require, Buffer or fs.
//
// Included: Tensor, Rng, the errors, the Solver, and the tensor, kernels (+ setBackend), layers,
// nn, models, optim and gradcheck namespaces, unchanged; `data` with its pure parts only
// (batching, holdout splits, preprocessing, augmentation, digit captions). The Solver's
// checkpoint methods reach node:fs only when called (src/io/node.ts), so training works in a
// page; saving a checkpoint there throws a clear error.
//
// Left out, and why (each chain starts with a top-level import of a Node builtin):
// - io as a namespace: safetensors.ts (node:fs, even for encodeSafetensors/decodeSafetensors on
//   bytes), atomic.ts (node:fs, node:path), checkpoint.ts (safetensors), png.ts (node:zlib for
//   deflate/inflate, node:fs), plot.ts (png).
// - data loaders: loadEmbeddedMnist (node:fs, node:module), readIdx/parseIdx/loadMnistIdx
//   (node:fs, node:path, node:zlib), loadCifar10, readNpy/parseNpy/loadNpyDataset (node:fs,
//   node:path): parseIdx and parseNpy work on bytes but live in files that import node:fs.
//
// The kernels: 'auto' (the default) loads the WASM SIMD kernels, which are embedded as base64 and
// decoded with atob; without SharedArrayBuffer (a page that is not cross-origin isolated) it uses
// the unshared build; workers start only in Node, so a page runs the kernels on one thread; where
// WebAssembly or SIMD is missing, 'auto' falls back to the reference kernels with one console.warn.
export { Tensor, Rng, ShapeError, DTypeError, ValueError } from './tensor/index.js';
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
export { Solver } from './solver/index.js';

import type * as batching from './data/batching.js';
import type * as preprocess from './data/preprocess.js';
import type * as augment from './data/augment.js';
import type * as captions from './data/captions.js';
import {
  gatherRows,
  gatherLabels,
  holdoutSplit,
  holdoutDestinations,
  splitValidation,
} from './data/batching.js';
import {
  fitPreprocessing,
  applyPreprocessing,
  parsePreprocessing,
  PREPROCESSING_KINDS,
} from './data/preprocess.js';
import { randomShift, randomFlipCrop, makeAugment, AUGMENT_KINDS } from './data/augment.js';
import {
  DIGIT_WORDS,
  DIGIT_VOCABULARY,
  digitWordToIdx,
  composeDigitCaptions,
  slotFeatures,
  gatherSlotFeatures,
  scoreCaptions,
  captionDigits,
  digitsToWords,
} from './data/captions.js';

/**
 * The browser-safe part of src/data: the same names as in the Node entry's `data` namespace,
 * without the file loaders (see the header).
 */
export const data = Object.freeze({
  gatherRows,
  gatherLabels,
  holdoutSplit,
  holdoutDestinations,
  splitValidation,
  fitPreprocessing,
  applyPreprocessing,
  parsePreprocessing,
  PREPROCESSING_KINDS,
  randomShift,
  randomFlipCrop,
  makeAugment,
  AUGMENT_KINDS,
  DIGIT_WORDS,
  DIGIT_VOCABULARY,
  digitWordToIdx,
  composeDigitCaptions,
  slotFeatures,
  gatherSlotFeatures,
  scoreCaptions,
  captionDigits,
  digitsToWords,
});

/** The types of `data`, so that `data.ClassificationData` names the same type as in Node. */
export declare namespace data {
  export type ClassificationData = batching.ClassificationData;
  export type Preprocessing = preprocess.Preprocessing;
  export type PreprocessingKind = preprocess.PreprocessingKind;
  export type AugmentFn = augment.AugmentFn;
  export type AugmentKind = augment.AugmentKind;
  export type DigitCaptionOptions = captions.DigitCaptionOptions;
  export type DigitCaptions = captions.DigitCaptions;
  export type SlotFeatureOptions = captions.SlotFeatureOptions;
}
