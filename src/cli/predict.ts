// src/cli/predict.ts: `layerwise predict <checkpoint> <image.png ...>`: the class and the top
// probabilities for PNG images of any size or colour, converted to the model's input.
import { applyPreprocessing } from '../data/index.js';
import { readPng, toModelInput } from '../io/index.js';
import { softmaxShift } from '../layers/internal.js';
import { argmaxRows, Tensor } from '../tensor/index.js';
import { CliError, formatHelp, parseFlags, type FlagSpecs } from './args.js';
import { FileError } from './data.js';
import { loadCheckpointModel, scoresOf } from './run.js';
import { checkScoresOutput, writeScoresOutput } from './scoresOutput.js';

const CMD = 'layerwise predict';

export const PREDICT_FLAGS: FlagSpecs = {
  top: {
    type: 'int',
    default: 3,
    min: 1,
    metavar: 'K',
    help: 'how many classes to list per image',
  },
  fit: {
    type: 'string',
    default: 'stretch',
    choices: ['stretch', 'digit'],
    help: "resize the whole image, or centre the ink like MNIST ('digit', for drawn digits)",
  },
  invert: {
    type: 'string',
    default: 'auto',
    choices: ['auto', 'yes', 'no'],
    help: 'light background to dark (auto: for grey models, when the border is light)',
  },
  output: {
    type: 'string',
    metavar: 'FILE',
    help: 'also write the per-image scores and predicted classes to FILE.json or FILE.npy',
  },
};

const DESCRIPTION = `Classifies PNG images with a model written by 'layerwise train'. Each image (any size, grey or
colour, with or without alpha) is converted to the model's input (channels, size, and for digit
models dark-on-light inverted), preprocessed as in training, and printed with its top classes.`;

export function runPredict(argv: readonly string[]): number {
  const { flags, positionals } = parseFlags(CMD, argv, PREDICT_FLAGS);
  if (flags.help) {
    process.stdout.write(
      formatHelp(
        'layerwise predict <checkpoint> <image.png ...> [options]',
        DESCRIPTION,
        PREDICT_FLAGS,
      ),
    );
    return 0;
  }
  if (positionals.length < 2) {
    throw new CliError(
      `${CMD}: expected a checkpoint and at least one PNG image (see '${CMD} --help')`,
    );
  }
  const [path, ...images] = positionals;
  const output = flags.output as string | undefined;
  checkScoresOutput(CMD, output);
  const { model, info } = loadCheckpointModel(CMD, path);
  const [C, H, W] = info.inputShape;
  if (info.inputShape.length !== 3 || (C !== 1 && C !== 3)) {
    throw new CliError(
      `${CMD}: ${path} takes inputs of shape [${info.inputShape.join(',')}], not images`,
    );
  }
  const invert = flags.invert === 'auto' ? 'auto' : flags.invert === 'yes';
  const X = Tensor.zeros([images.length, C, H, W]);
  images.forEach((file, i) => {
    let img;
    try {
      img = readPng(file);
    } catch (e) {
      throw FileError.restate(CMD, e);
    }
    const x = toModelInput(img, [C, H, W], { invert, fit: flags.fit as 'stretch' | 'digit' });
    X.data.set(x.data, i * C * H * W);
  });
  const scores = scoresOf(model, applyPreprocessing(X, info.preprocessing));
  const K = Math.min(flags.top as number, info.classNames.length);
  const nameWidth = Math.max(...images.map((f) => f.length));
  images.forEach((file, i) => {
    const probs = softmaxRow(scores.data, i, scores.shape[1]);
    const order = [...probs.keys()].sort((a, b) => probs[b] - probs[a]).slice(0, K);
    const top = order
      .map((c) => `${info.classNames[c]} ${(probs[c] * 100).toFixed(1)}%`)
      .join(', ');
    process.stdout.write(`${file.padEnd(nameWidth)}  ${info.classNames[order[0]]}  (${top})\n`);
  });
  if (output !== undefined) {
    const files = writeScoresOutput(output, scores, argmaxRows(scores), info.classNames, images);
    process.stdout.write(`wrote ${files.join(', ')}\n`);
  }
  return 0;
}

/** softmax of row n of the scores s (N, C). */
function softmaxRow(s: ArrayLike<number>, n: number, C: number): number[] {
  const { max, logSum } = softmaxShift(s, n * C, C);
  return Array.from({ length: C }, (_, c) => Math.exp(s[n * C + c] - max - logSum));
}
