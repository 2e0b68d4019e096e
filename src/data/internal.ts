// src/data/internal.ts: what the Solver takes from src/data without loading its Node file
// loaders (src/data/index.ts imports node:fs through them, which a browser bundle cannot).
export { gatherLabels, gatherRows } from './batching.js';
export { makeAugment, type AugmentKind } from './augment.js';
export { parsePreprocessing, type Preprocessing } from './preprocess.js';
