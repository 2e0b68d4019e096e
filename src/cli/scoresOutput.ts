// src/cli/scoresOutput.ts: `--output FILE.json|FILE.npy` of eval and predict: the per-sample
// scores and predicted classes, for other tools to read.
//   FILE.json  { classNames, samples: [{ id, scores: [C numbers], predicted, predictedName }] }
//   FILE.npy   the scores (N, C) in the model's dtype; FILE.classes.npy the predicted classes (N)
import { writeFileAtomic, writeNpy } from '../io/index.js';
import { Tensor, type FloatTensor } from '../tensor/index.js';
import { CliError } from './args.js';

/** Checks --output before any work is done: it must end in .json or .npy. */
export function checkScoresOutput(command: string, path: string | undefined): void {
  if (path !== undefined && !/\.(json|npy)$/i.test(path)) {
    throw new CliError(`${command}: --output must name a .json or .npy file, got '${path}'`);
  }
}

/** The file(s) written for `path`, for the summary line. */
export function writeScoresOutput(
  path: string,
  scores: FloatTensor, // (N, C)
  predicted: ArrayLike<number>, // (N)
  classNames: readonly string[],
  ids: readonly string[], // one per sample: the image file or the row index
): string[] {
  if (/\.npy$/i.test(path)) {
    const classesPath = path.replace(/\.npy$/i, '.classes.npy');
    writeNpy(path, scores);
    writeNpy(classesPath, Tensor.from(predicted, [predicted.length], 'int32'));
    return [path, classesPath];
  }
  const C = scores.shape[1];
  const samples = Array.from(predicted, (p, i) => ({
    id: ids[i],
    scores: Array.from(scores.data.subarray(i * C, (i + 1) * C)),
    predicted: p,
    predictedName: classNames[p],
  }));
  writeFileAtomic(path, `${JSON.stringify({ classNames, samples })}\n`);
  return [path];
}
