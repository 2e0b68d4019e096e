// src/cli/caption.ts: `layerwise caption`: the image-captioning task that ships with layerwise.
// Images of 2-4 MNIST digits side by side are captioned with their digit words; a small conv net
// trained on single training digits gives per-slot image features (or a fixed random projection
// does), a CaptioningRNN learns to caption them through the Solver, and the command reports
// exact-caption and per-word accuracy on images composed from the TEST split.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  applyPreprocessing,
  composeDigitCaptions,
  captionDigits,
  digitsToWords,
  digitWordToIdx,
  DIGIT_VOCABULARY,
  fitPreprocessing,
  gatherSlotFeatures,
  loadEmbeddedMnist,
  scoreCaptions,
  slotFeatures,
  type DigitCaptions,
} from '../data/index.js';
import { saveModel, writeFileAtomic } from '../io/index.js';
import { captionAttentionPng } from './attentionPicture.js';
import { affineForward, convForward, maxPoolForward, reluForward } from '../layers/index.js';
import { CaptioningRNN, CaptioningTransformer, ThreeLayerConvNet } from '../models/index.js';
import { Solver } from '../solver/index.js';
import { Tensor, type FloatTensor } from '../tensor/index.js';
import { CliError, formatHelp, parseFlags, type FlagSpecs, type FlagValues } from './args.js';
import { MAX_MODEL_BYTES } from './modelSize.js';
import { checkOutputFile, makeOutputFolder } from './outputs.js';

const CMD = 'layerwise caption';
const MAX_DIGITS = 4;

export const CAPTION_FLAGS: FlagSpecs = {
  epochs: { type: 'int', min: 1, default: 8, help: 'epochs of captioning-model training' },
  'cnn-epochs': {
    type: 'int',
    min: 1,
    default: 6,
    help: 'epochs of the digit conv net that gives the image features',
  },
  features: {
    type: 'string',
    choices: ['cnn', 'random'],
    default: 'cnn',
    help: "per-slot image features: a conv net's hidden layer, or a fixed random projection + relu",
  },
  model: {
    type: 'string',
    choices: ['rnn', 'transformer'],
    default: 'rnn',
    help: 'the captioner: CaptioningRNN (--cell), or CaptioningTransformer (with --compare, the RNN too)',
  },
  cell: {
    type: 'string',
    choices: ['lstm', 'rnn'],
    default: 'lstm',
    help: 'recurrent cell of the captioning model',
  },
  compare: {
    type: 'boolean',
    default: true,
    help: 'with --model transformer, also train the RNN captioner and score both on the same held-out images',
  },
  width: {
    type: 'int',
    min: 2,
    default: 64,
    help: 'model width (word vectors and tokens) of the transformer captioner',
  },
  heads: { type: 'int', min: 1, default: 4, help: 'attention heads of the transformer captioner' },
  layers: {
    type: 'int',
    min: 1,
    default: 2,
    help: 'decoder layers of the transformer captioner',
  },
  'tf-lr': {
    type: 'number',
    min: 0,
    default: 2e-3,
    help: 'Adam learning rate of the transformer captioner',
  },
  hidden: { type: 'int', min: 1, default: 96, help: 'hidden size of the captioning model' },
  wordvec: { type: 'int', min: 1, default: 32, help: 'word vector size' },
  lr: { type: 'number', min: 0, minExclusive: true, default: 5e-3, help: 'Adam learning rate' },
  'lr-decay': { type: 'number', min: 0, default: 0.8, help: 'learning-rate factor per epoch' },
  'batch-size': { type: 'int', min: 1, default: 100, help: 'minibatch size' },
  'train-images': {
    type: 'int',
    min: 1,
    default: 20000,
    help: 'composed training images (from the train split)',
  },
  'val-images': {
    type: 'int',
    min: 1,
    default: 500,
    help: 'composed validation images (from the validation split)',
  },
  'test-images': {
    type: 'int',
    min: 1,
    default: 1000,
    help: 'composed held-out images (from the TEST split)',
  },
  beam: {
    type: 'int',
    min: 1,
    default: 3,
    help: 'beam size of the second evaluation (1: greedy only)',
  },
  samples: { type: 'int', min: 0, default: 6, help: 'held-out sample captions to print' },
  seed: { type: 'int', default: 0, help: 'seed of the composition, initialisation and shuffling' },
  out: {
    type: 'string',
    metavar: 'DIR',
    help: 'write captioner.safetensors (and digit-cnn.safetensors) to DIR',
  },
  checkpoint: {
    type: 'string',
    metavar: 'PATH',
    help: "Solver training checkpoint written every epoch ('{epoch}' is replaced)",
  },
};

const DESCRIPTION = `Trains the captioning RNN on images of 2-4 MNIST digits side by side (the digits that ship
with layerwise), captioned with their words, e.g. "<START> seven two nine <END>".

1. A small conv net (ThreeLayerConvNet) is trained on single digits of the train split; its hidden
   layer gives 64 features per 28-pixel slot of an image (--features random: a fixed seeded random
   projection of the slot's pixels + relu instead; nothing is learned before captioning).
2. A CaptioningRNN maps the standardised slot features to its initial hidden state and learns,
   through the Solver (Adam), to emit the digit words left to right and <END>.
3. Images composed from TEST-split digits (never seen by either network) are captioned greedily
   and by beam search; the command prints exact-caption accuracy (every word right, nothing
   missing or extra), per-word accuracy, and a few samples beside their true digits.

--model transformer trains a CaptioningTransformer instead: the 4 slot feature vectors are its
memory tokens, causal pre-norm decoder layers read the words and attend to the slots. With
--compare (default) the RNN captioner is trained on the same features too, and both are scored
on the same held-out images; --out then also gets attention.png, the cross-attention of a few
held-out images (rows: image x head, columns: generated words; red = the slots each word looks at).`;

type Log = (line: string) => void;

/** Slot images of every digit → features (N, K): the conv net's relu hidden layer, in chunks. */
function cnnFeatures(net: ThreeLayerConvNet, X: FloatTensor): FloatTensor {
  const p = net.params,
    N = X.shape[0],
    chunk = 256,
    parts: FloatTensor[] = [];
  const pad = (p.W1.shape[2] - 1) / 2;
  for (let start = 0; start < N; start += chunk) {
    const end = Math.min(N, start + chunk);
    const x = new Tensor(X.data.subarray(start * 784, end * 784), [end - start, 1, 28, 28]);
    const conv = reluForward(convForward(x, p.W1, p.b1, { stride: 1, pad }).out).out;
    const pool = maxPoolForward(conv, { poolHeight: 2, poolWidth: 2, stride: 2 }).out;
    parts.push(reluForward(affineForward(pool, p.W2, p.b2).out).out);
  }
  const K = parts[0].shape[1],
    out = Tensor.zeros([N, K]);
  parts.forEach((t, i) => out.data.set(t.data, i * chunk * K));
  return out;
}

interface Split {
  composed: DigitCaptions;
  features: FloatTensor;
}

/** The whole task; returns the test accuracies. Prints progress and results through `log`. */
export function captionTask(
  flags: Record<string, string | number | boolean | undefined>,
  log: Log,
): { exact: number; perWord: number } {
  const seed = flags.seed as number,
    started = Date.now();
  const secs = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const d = loadEmbeddedMnist({ seed });
  log(
    `data: ${d.XTrain.shape[0]} train / ${d.XVal.shape[0]} validation / ${d.XTest.shape[0]} test digits (embedded MNIST)`,
  );
  const compose = (X: FloatTensor, y: Int32Array, count: number, offset: number) =>
    composeDigitCaptions(X, y, {
      count,
      minDigits: 2,
      maxDigits: MAX_DIGITS,
      seed: seed * 3 + offset,
    });
  const composed = {
    train: compose(d.XTrain, d.yTrain, flags['train-images'] as number, 1),
    val: compose(d.XVal, d.yVal, flags['val-images'] as number, 2),
    test: compose(d.XTest, d.yTest, flags['test-images'] as number, 3),
  };

  let digitFeatures: (X: FloatTensor) => FloatTensor,
    cnn: ThreeLayerConvNet | null = null;
  if (flags.features === 'cnn') {
    cnn = new ThreeLayerConvNet({
      inputDim: [1, 28, 28],
      numFilters: 8,
      filterSize: 5,
      hiddenDim: 64,
      numClasses: 10,
      weightScale: 0.05,
      seed,
    });
    const net = cnn;
    const digitSolver = new Solver(
      net,
      { XTrain: d.XTrain, yTrain: d.yTrain, XVal: d.XVal, yVal: d.yVal },
      {
        updateRule: 'adam',
        optimConfig: { learningRate: 2e-3 },
        batchSize: 100,
        numEpochs: flags['cnn-epochs'] as number,
        numTrainSamples: 500,
        seed,
        onProgress: (p) =>
          p.epochEnd &&
          log(
            `  digit cnn epoch ${p.epoch}/${p.numEpochs}: loss ${p.loss.toFixed(3)}, validation digit accuracy ${pct(p.valAcc)} (${secs()})`,
          ),
      },
    );
    log(`features: training a digit conv net (8 5x5 filters, 64 hidden) on single train digits`);
    digitSolver.train();
    digitFeatures = (X) => cnnFeatures(net, X);
  } else {
    log('features: a fixed seeded random projection of each slot (256 per slot) + relu');
    digitFeatures = (X) => slotFeatures(X, { slots: 1, dim: 256, seed });
  }
  const blank = digitFeatures(Tensor.zeros([1, 1, 28, 28]));
  const raw = {
    train: gatherSlotFeatures(composed.train, digitFeatures(d.XTrain), blank),
    val: gatherSlotFeatures(composed.val, digitFeatures(d.XVal), blank),
    test: gatherSlotFeatures(composed.test, digitFeatures(d.XTest), blank),
  };
  const prep = fitPreprocessing(raw.train, 'per-channel'); // per-feature mean and std of the training images
  const split = (k: 'train' | 'val' | 'test'): Split => ({
    composed: composed[k],
    features: applyPreprocessing(raw[k], prep),
  });
  const train = split('train'),
    val = split('val'),
    test = split('test');

  const maxLength = MAX_DIGITS + 1,
    slots = MAX_DIGITS,
    wordToIdx = digitWordToIdx();
  const scored: Scored[] = [];
  if (flags.model !== 'transformer' || flags.compare) {
    const rnn = new CaptioningRNN({
      wordToIdx,
      inputDim: train.features.shape[1],
      wordvecDim: flags.wordvec as number,
      hiddenDim: flags.hidden as number,
      cellType: flags.cell as 'lstm' | 'rnn',
      seed,
    });
    log(
      `captioning: CaptioningRNN (${flags.cell}, hidden ${flags.hidden}) on ${train.features.shape[0]} composed train images, ${train.features.shape[1]} features each`,
    );
    trainCaptioner(rnn, train, val, flags.lr as number, flags, log, secs);
    scored.push(scoreHeldOut(`CaptioningRNN (${flags.cell})`, rnn, test, flags, log));
    if (typeof flags.out === 'string') saveIn(flags.out, 'captioner.safetensors', rnn, log);
  }
  if (flags.model === 'transformer') {
    // the slot features (N, slots·K) read as slots memory tokens (N, slots, K): a view
    const asTokens = (x: Split): Split => ({
      composed: x.composed,
      features: x.features.reshape([x.features.shape[0], slots, x.features.shape[1] / slots]),
    });
    const tf = new CaptioningTransformer({
      wordToIdx,
      inputDim: train.features.shape[1] / slots,
      wordvecDim: flags.width as number,
      numHeads: flags.heads as number,
      numLayers: flags.layers as number,
      maxLength,
      seed,
    });
    log(
      `captioning: CaptioningTransformer (width ${flags.width}, ${flags.heads} heads, ${flags.layers} layers, pre-norm) on the same ${train.features.shape[0]} images, ${slots} memory tokens of ${train.features.shape[1] / slots} features each`,
    );
    trainCaptioner(tf, asTokens(train), asTokens(val), flags['tf-lr'] as number, flags, log, secs);
    const heldOut = asTokens(test);
    scored.push(scoreHeldOut('CaptioningTransformer', tf, heldOut, flags, log));
    if (typeof flags.out === 'string') {
      saveIn(flags.out, 'transformer-captioner.safetensors', tf, log);
      const file = join(flags.out, 'attention.png');
      writeFileAtomic(file, captionAttentionPng(tf, heldOut.features, test.composed, 4));
      log(`wrote ${file} (cross-attention: rows image x head, columns generated words)`);
    }
  }
  if (scored.length === 2) {
    const [a, b] = scored;
    log(`same ${test.features.shape[0]} held-out images:`);
    for (const r of scored)
      log(`  ${r.name.padEnd(24)} exact ${pct(r.exact)}, per-word ${pct(r.perWord)}`);
    const win = b.exact === a.exact ? null : b.exact > a.exact ? b : a;
    const lose = win === b ? a : b;
    log(
      win === null
        ? `  tie on exact captions (${pct(a.exact)})`
        : `  ${win.name} wins by ${((win.exact - lose.exact) * 100).toFixed(1)} points of exact captions (per-word ${((win.perWord - lose.perWord) * 100).toFixed(1)})`,
    );
  }
  if (cnn && typeof flags.out === 'string') saveIn(flags.out, 'digit-cnn.safetensors', cnn, log);
  const best = scored[scored.length - 1];
  log(`done in ${secs()}`);
  return { exact: best.exact, perWord: best.perWord };
}

type Captioner = CaptioningRNN | CaptioningTransformer;
interface Scored {
  name: string;
  exact: number;
  perWord: number;
}

/** Trains a captioner through the Solver (Adam), keeping the best-validation params. */
function trainCaptioner(
  model: Captioner,
  train: Split,
  val: Split,
  learningRate: number,
  flags: Record<string, string | number | boolean | undefined>,
  log: Log,
  secs: () => string,
): void {
  const maxLength = MAX_DIGITS + 1;
  const solver = new Solver(
    model as CaptioningRNN,
    {
      XTrain: train.features,
      yTrain: train.composed.captions,
      XVal: val.features,
      yVal: val.composed.captions,
    },
    {
      updateRule: 'adam',
      optimConfig: { learningRate },
      lrDecay: flags['lr-decay'] as number,
      batchSize: flags['batch-size'] as number,
      numEpochs: flags.epochs as number,
      numTrainSamples: 500,
      seed: flags.seed as number,
      checkpoint: (flags.checkpoint as string | undefined) ?? null,
      evaluate: (m, X, y) =>
        scoreCaptions(m.sample(X, maxLength), captionDigits(y as Tensor)).exact,
      onProgress: (p) =>
        p.epochEnd &&
        log(
          `  epoch ${p.epoch}/${p.numEpochs}: loss ${p.loss.toFixed(3)}, exact captions: train ${pct(p.trainAcc)}, validation ${pct(p.valAcc)} (${secs()})`,
        ),
    },
  );
  solver.train(); // leaves the best-validation params in the model
}

/** Greedy (and for the RNN, beam) captions of the held-out images, scored and printed. */
function scoreHeldOut(
  name: string,
  model: Captioner,
  test: Split,
  flags: Record<string, string | number | boolean | undefined>,
  log: Log,
): Scored {
  const maxLength = MAX_DIGITS + 1;
  const g = scoreCaptions(model.sample(test.features, maxLength), test.composed.digits);
  log(
    `held-out (${test.features.shape[0]} images of TEST digits), greedy: exact captions ${pct(g.exact)}, per-word ${pct(g.perWord)}`,
  );
  let best = g;
  if (model instanceof CaptioningRNN && (flags.beam as number) > 1) {
    const b = scoreCaptions(
      model.sample(test.features, maxLength, { beamSize: flags.beam as number }),
      test.composed.digits,
    );
    log(
      `held-out, beam search (beam ${flags.beam}): exact captions ${pct(b.exact)}, per-word ${pct(b.perWord)}`,
    );
    best = b.exact >= g.exact ? b : g;
  }
  printSamples(test.composed, g.predicted, flags.samples as number, log);
  return { name, exact: best.exact, perWord: best.perWord };
}

function saveIn(dir: string, file: string, model: Parameters<typeof saveModel>[1], log: Log) {
  mkdirSync(dir, { recursive: true });
  saveModel(join(dir, file), model);
  log(`saved ${join(dir, file)}`);
}

const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);

/** A few held-out images as text (4×2-pixel blocks), each with its generated and true caption. */
function printSamples(c: DigitCaptions, predicted: number[][], count: number, log: Log): void {
  const shades = ' .:-=+*#%@',
    W = c.images.shape[3];
  for (let m = 0; m < Math.min(count, predicted.length); m++) {
    const ok =
      predicted[m].length === c.digits[m].length &&
      predicted[m].every((v, j) => v === c.digits[m][j]);
    log('');
    for (let r = 0; r < 28; r += 4) {
      let line = '    ';
      for (let col = 0; col < W; col += 2) {
        let s = 0;
        for (let i = 0; i < 4; i++)
          for (let j = 0; j < 2; j++) s += c.images.data[(m * 28 + r + i) * W + col + j];
        line += shades[Math.min(shades.length - 1, Math.floor((s / 8) * shades.length))];
      }
      log(line.trimEnd());
    }
    log(
      `    generated: ${digitsToWords(predicted[m]) || '(nothing)'}   true: ${digitsToWords(c.digits[m])}   ${ok ? 'ok' : 'WRONG'}`,
    );
  }
}

/**
 * Refuses sizes whose tensors would pass MAX_MODEL_BYTES, naming the flag and the bytes: the
 * captioning model's weights (--hidden, --wordvec) and the composed images (--*-images).
 */
function checkCaptionSizes(flags: FlagValues): void {
  const H = flags.hidden as number,
    Wv = flags.wordvec as number,
    gates = flags.cell === 'lstm' ? 4 : 1;
  const V = DIGIT_VOCABULARY.length,
    D = MAX_DIGITS * (flags.features === 'cnn' ? 64 : 256); // features per image
  const terms: [string, string, number[]][] = [
    ['--hidden', 'Wh', [H, gates * H]],
    ['--hidden', 'W_proj', [D, H]],
    ['--hidden', 'W_vocab', [H, V]],
    ['--wordvec', 'Wx', [Wv, gates * H]],
    ['--wordvec', 'W_embed', [V, Wv]],
  ];
  for (const split of ['train', 'val', 'test']) {
    const n = flags[`${split}-images`] as number;
    terms.push([`--${split}-images`, 'the composed images', [n, 1, 28, 28 * MAX_DIGITS]]);
  }
  for (const [flag, what, dims] of terms) {
    const bytes = 4 * dims.reduce((p, d) => p * d, 1);
    if (bytes > MAX_MODEL_BYTES) {
      throw new CliError(
        `${CMD}: ${flag} ${flags[flag.slice(2)]}: ${what} [${dims.join(',')}] would need ${bytes} bytes, more than the limit of ${MAX_MODEL_BYTES}`,
      );
    }
  }
}

/** `layerwise caption [options]`; returns the exit code. */
export async function runCaption(argv: string[]): Promise<number> {
  const { flags, positionals } = parseFlags(CMD, argv, CAPTION_FLAGS);
  if (flags.help) {
    process.stdout.write(formatHelp(`${CMD} [options]`, DESCRIPTION, CAPTION_FLAGS));
    return 0;
  }
  if (positionals.length > 0)
    throw new CliError(`${CMD}: unexpected argument '${positionals[0]}' (see '${CMD} --help')`);
  checkCaptionSizes(flags);
  // the outputs are checked before minutes of training, not when they are written
  if (typeof flags.out === 'string') makeOutputFolder(CMD, '--out', flags.out);
  if (typeof flags.checkpoint === 'string')
    checkOutputFile(CMD, '--checkpoint', flags.checkpoint.replaceAll('{epoch}', '1'));
  captionTask(flags, (line) => process.stdout.write(`${line}\n`));
  return 0;
}
