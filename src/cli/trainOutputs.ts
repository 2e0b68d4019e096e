// src/cli/trainOutputs.ts: the files a finished `layerwise train` leaves in --out besides the
// checkpoints: metrics.json, curves.png (loss and accuracies), filters.png (first layer) and, for a
// Vision Transformer, attention.png.
import { join } from 'node:path';
import { gatherRows } from '../data/internal.js';
import { linePlotPng, writeFileAtomic } from '../io/index.js';
import { isClassifier } from '../nn/index.js';
import { filtersPng } from '../vis/index.js';
import { VisionTransformer, type Model } from '../models/index.js';
import { Tensor, type FloatTensor } from '../tensor/index.js';
import { vitAttentionPng } from './attentionPicture.js';
import type { RunInfo } from './run.js';

export const CURVES_SIZE = { width: 960, height: 360 } as const;
/** At most MAX_FILTERS filters are drawn. */
export const MAX_FILTERS = 64;

/** The loss per iteration (with its per-epoch mean) and the train / val accuracy per epoch. */
export function curvesPng(lossHistory: readonly number[], info: RunInfo): Uint8Array {
  const epochs = info.epochs.map((e) => e.epoch);
  const perEpoch = Math.max(1, Math.round(lossHistory.length / Math.max(1, epochs.length)));
  const acc = (pick: (e: RunInfo['epochs'][number]) => number | null) =>
    info.epochs
      .filter((e) => pick(e) !== null)
      .map((e) => ({ x: e.epoch, y: (pick(e) as number) * 100 }));
  const train = acc((e) => e.trainAcc),
    val = acc((e) => e.valAcc);
  return linePlotPng(
    [
      {
        title: 'training loss',
        xLabel: 'iteration',
        yLabel: 'loss',
        logY: true,
        series: [
          { name: 'minibatch', y: lossHistory },
          {
            name: 'epoch mean',
            x: epochs.map((e) => e * perEpoch),
            y: info.epochs.map((e) => e.loss),
          },
        ],
      },
      {
        title: 'accuracy',
        xLabel: 'epoch',
        yLabel: '%',
        series: [
          { name: 'train', x: train.map((p) => p.x), y: train.map((p) => p.y) },
          { name: 'val', x: val.map((p) => p.x), y: val.map((p) => p.y) },
        ],
      },
    ],
    { ...CURVES_SIZE },
  );
}

/**
 * The first layer's weights as images (N, C, H, W): a conv layer's filters (F, C, HH, WW) with C
 * = 1 or 3, or the columns of a first affine layer (D, M) reshaped to the input image (C, H, W).
 * Null when neither fits.
 */
export function firstLayerImages(model: Model, inputShape: readonly number[]): FloatTensor | null {
  const params = Object.values(model.params);
  const conv = params.find((p) => p.shape.length === 4 && (p.shape[1] === 1 || p.shape[1] === 3));
  if (conv !== undefined) return conv.shape[0] <= MAX_FILTERS ? conv : firstRows(conv, MAX_FILTERS);
  const [C, H, W] = inputShape.length === 3 ? inputShape : [0, 0, 0];
  const dense = params.find((p) => p.shape.length === 2 && p.shape[0] === C * H * W);
  if (dense === undefined || (C !== 1 && C !== 3)) return null;
  const [D, M] = dense.shape,
    K = Math.min(M, MAX_FILTERS);
  const out = Tensor.zeros([K, C, H, W], dense.dtype);
  for (let m = 0; m < K; m++)
    for (let d = 0; d < D; d++) out.data[m * D + d] = dense.data[d * M + m];
  return out;
}

function firstRows(t: FloatTensor, K: number): FloatTensor {
  const D = t.size / t.shape[0];
  return new Tensor(t.data.slice(0, K * D), [K, ...t.shape.slice(1)]) as FloatTensor;
}

/** Test images to show the first layer's outputs for: the model's inputs, labels, class names. */
export interface FilterSamples {
  readonly X: FloatTensor; // (N, C, H, W), preprocessed as the model sees them
  readonly y: ArrayLike<number>;
  readonly classNames: readonly string[];
}

/** How many test images filters.png shows the first layer's outputs for. */
export const FILTER_SAMPLES = 4;

/**
 * Writes filters.png when the first layer can be drawn (vis.filtersPng: large, one shared
 * colour scale, labelled), with the first conv layer's outputs for a few test images of
 * different classes; returns its file name or null.
 */
export function writeFilters(
  out: string,
  model: Model,
  inputShape: readonly number[],
  test?: FilterSamples,
): string | null {
  const images = firstLayerImages(model, inputShape);
  if (images === null) return null;
  writeFileAtomic(
    join(out, 'filters.png'),
    filtersPng(images, test && firstLayerOutputs(model, test)),
  );
  return 'filters.png';
}

/** The first layer's (N, F, H, W) outputs for one test image of each of the first classes. */
function firstLayerOutputs(model: Model, test: FilterSamples) {
  if (!isClassifier(model) || !model.trace || test.X.shape.length !== 4) return undefined;
  const picked: number[] = [];
  for (let c = 0; picked.length < FILTER_SAMPLES && c < test.classNames.length; c++) {
    const n = Array.prototype.findIndex.call(test.y, (v: number) => v === c);
    if (n >= 0) picked.push(n);
  }
  if (picked.length === 0) return undefined;
  const X = gatherRows(test.X, picked);
  const maps = model.trace(X)[0].out;
  if (maps.shape.length !== 4) return undefined;
  let lo = Infinity,
    hi = -Infinity;
  for (const v of X.data) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const labels = picked.map((n) => `class ${test.classNames[test.y[n]]}`);
  return { images: X, maps, labels, range: [lo, hi > lo ? hi : lo + 1] as const };
}

/** Writes attention.png for a Vision Transformer (8 test images); returns its name or null. */
export function writeAttention(
  out: string,
  model: Model,
  XTest: FloatTensor,
  yTest: ArrayLike<number>,
): string | null {
  if (!(model instanceof VisionTransformer) || XTest.shape[0] === 0) return null;
  writeFileAtomic(join(out, 'attention.png'), vitAttentionPng(model, XTest, 8, yTest));
  return 'attention.png';
}
