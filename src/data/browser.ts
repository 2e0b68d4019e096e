// src/data/browser.ts: the part of `data` that runs anywhere: batching and holdout splits,
// preprocessing, augmentation, the digit captions, and the byte-level parsers of the data-set
// formats (IDX, .npy, CIFAR-10 records). The browser entry exports this as `data`; index.ts adds
// the file loaders for Node.
export type { ClassificationData } from './batching.js';
export {
  gatherRows,
  gatherLabels,
  holdoutSplit,
  holdoutDestinations,
  splitValidation,
} from './batching.js';
export { parseIdx, FASHION_MNIST_CLASSES } from './idx.js';
export type { IdxArray, IdxDType } from './idx.js';
export { parseNpy, npyToTensor } from './npy.js';
export { encodeNpy } from './npyEncode.js';
export type { NpyArray, NpyDType } from './npy.js';
export { parseCifar10, CIFAR10_CLASSES } from './cifar10.js';
export {
  fitPreprocessing,
  applyPreprocessing,
  parsePreprocessing,
  PREPROCESSING_KINDS,
} from './preprocess.js';
export type { Preprocessing, PreprocessingKind } from './preprocess.js';
export { randomShift, randomFlipCrop, makeAugment, AUGMENT_KINDS } from './augment.js';
export type { AugmentFn, AugmentKind } from './augment.js';
export {
  DIGIT_WORDS,
  DIGIT_VOCABULARY,
  digitWordToIdx,
  composeDigitCaptions,
  slotFeatures,
  gatherSlotFeatures,
  scoreCaptions,
  captionDigits,
  digitsToWords,
} from './captions.js';
export type { DigitCaptionOptions, DigitCaptions, SlotFeatureOptions } from './captions.js';
