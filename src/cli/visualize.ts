// src/cli/visualize.ts: `layerwise visualize saliency|fool|classes|activations <model> [image.png
// ...]`: the pictures of src/vis for a model written by `layerwise train`, on PNG images or (by
// default) on test images of the run's data set, and a few numbers about them on stdout.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gatherLabels, gatherRows } from '../data/internal.js';
import { readPng, toModelInput, writeFileAtomic } from '../io/index.js';
import { isClassifier, type Classifier } from '../nn/index.js';
import { argmaxRows, Tensor, type FloatTensor } from '../tensor/index.js';
import * as vis from '../vis/index.js';
import { CliError, formatHelp, parseFlags, type FlagSpecs, type FlagValues } from './args.js';
import { FileError, loadData } from './data.js';
import { loadCheckpointModel, oneLine, scoresOf, type RunInfo } from './run.js';
import { applyPreprocessing } from '../data/index.js';

const CMD = 'layerwise visualize';
const KINDS = ['saliency', 'fool', 'classes', 'activations'] as const;
type Kind = (typeof KINDS)[number];

export const VISUALIZE_FLAGS: FlagSpecs = {
  class: {
    type: 'int',
    min: 0,
    metavar: 'K',
    help: 'saliency/activations: the class whose score is differentiated (default: the true class of a test image, else the predicted one); fool: the target class (default: the next class after the true one); classes: only class K',
  },
  count: {
    type: 'int',
    min: 1,
    metavar: 'N',
    help: 'how many test images when no PNG is given (default: 8; fool counts all N, draws the first 8; activations 1)',
  },
  method: {
    type: 'string',
    default: 'grad-x-input',
    choices: ['grad-x-input', 'gradient', 'smoothgrad'],
    help: 'saliency: |pixel x d score / d pixel| (where the ink counts), the plain |d score / d pixel|, or the gradient averaged over 25 noisy copies (SmoothGrad, noise 0.15, seed 0)',
  },
  out: { type: 'string', metavar: 'DIR', help: "output folder (default: the model's folder)" },
  steps: {
    type: 'int',
    min: 1,
    metavar: 'N',
    help: 'fool: at most N steps (default 100); classes: N iterations (default 100)',
  },
  lr: {
    type: 'number',
    min: 0,
    metavar: 'X',
    help: 'L2 length of a step in pixels (default: fool 0.1, classes 0.5)',
  },
  fit: {
    type: 'string',
    default: 'stretch',
    choices: ['stretch', 'digit'],
    help: "PNG images: resize the whole image, or centre the ink like MNIST ('digit')",
  },
  invert: {
    type: 'string',
    default: 'auto',
    choices: ['auto', 'yes', 'no'],
    help: 'PNG images: light background to dark (auto: for grey models, when the border is light)',
  },
};

const DESCRIPTION = `Pictures of what a model written by 'layerwise train' has learnt, from its input gradients:
  saliency     each image beside |pixel x d score / d pixel| (max over channels;
               --method gradient: the plain |d score / d pixel|)       -> saliency.png
  fool         each image changed by gradient ascent until the model predicts --class K
               (prints the class before and after and the size of the change) -> fooling.png
  classes      an image synthesised for each class (regularised ascent)   -> classes.png
  activations  every layer's output and d score / d output for an image   -> activations-<i>.png
Images are PNG files (converted like 'layerwise predict'), or test images of the run's data set
when none is given. The model's preprocessing is applied before the network: the images are
changed, clipped and drawn as pixels in [0, 1].`;

/** The images to look at, in pixels, with their labels and true classes (-1: unknown). */
interface Inputs {
  X: FloatTensor;
  names: string[];
  truth: Int32Array;
}

export function runVisualize(argv: readonly string[]): number {
  const { flags, positionals } = parseFlags(CMD, argv, VISUALIZE_FLAGS);
  if (flags.help) {
    const usage = `layerwise visualize ${KINDS.join('|')} <model.safetensors> [image.png ...] [options]`;
    process.stdout.write(formatHelp(usage, DESCRIPTION, VISUALIZE_FLAGS));
    return 0;
  }
  const [kind, path, ...pngs] = positionals;
  if (kind === undefined || !KINDS.includes(kind as Kind)) {
    const got = kind === undefined ? 'nothing' : `'${kind}'`;
    throw new CliError(
      `${CMD}: expected one of ${KINDS.join(', ')} first, got ${got} (see '${CMD} --help')`,
    );
  }
  if (path === undefined)
    throw new CliError(`${CMD} ${kind}: expected a model file (see '${CMD} --help')`);
  const { model, info } = loadCheckpointModel(CMD, path);
  if (!isClassifier(model))
    throw new CliError(
      `${CMD}: ${path} holds a ${model.config?.type ?? 'model'}, which has no input gradient`,
    );
  const C = info.inputShape[0];
  if (info.inputShape.length !== 3 || (C !== 1 && C !== 3)) {
    throw new CliError(
      `${CMD}: ${path} takes inputs of shape [${info.inputShape.join(',')}], not images`,
    );
  }
  const K = flags.class as number | undefined;
  const numClasses = info.classNames.length;
  if (K !== undefined && K >= numClasses)
    throw new CliError(
      `${CMD}: --class ${K} is outside [0, ${numClasses}) (the model has ${numClasses} classes)`,
    );
  const out = (flags.out as string | undefined) ?? dirname(path);
  try {
    mkdirSync(out, { recursive: true });
  } catch (e) {
    throw new FileError(`${CMD}: cannot create the output folder ${out}: ${oneLine(e)}`);
  }
  const ctx: Context = { model, info, flags, out, K };
  if (kind === 'classes') return runClasses(ctx);
  const defaultCount = kind === 'activations' ? 1 : 8;
  const count = (flags.count as number | undefined) ?? defaultCount;
  const exclude = kind === 'fool' ? K : undefined; // images already of the target class teach nothing
  const inputs = pngs.length > 0 ? readImages(pngs, info, flags) : testImages(info, count, exclude);
  if (kind === 'saliency') return runSaliency(ctx, inputs);
  if (kind === 'fool') return runFool(ctx, inputs);
  return runActivations(ctx, inputs);
}

interface Context {
  model: Classifier;
  info: RunInfo;
  flags: FlagValues;
  out: string;
  K: number | undefined;
}

function write(out: string, name: string, png: Uint8Array): string {
  const file = join(out, name);
  writeFileAtomic(file, png);
  return file;
}

/** PNG files as the model's input (pixels), named by file. */
function readImages(files: readonly string[], info: RunInfo, flags: FlagValues): Inputs {
  const [C, H, W] = info.inputShape;
  const X = Tensor.zeros([files.length, C, H, W]);
  const invert = flags.invert === 'auto' ? 'auto' : flags.invert === 'yes';
  files.forEach((file, i) => {
    let img;
    try {
      img = readPng(file);
    } catch (e) {
      throw FileError.restate(CMD, e);
    }
    const x = toModelInput(img, [C, H, W], { invert, fit: flags.fit as 'stretch' | 'digit' });
    X.data.set(x.data, i * C * H * W);
  });
  const names = files.map((f) => f.replace(/^.*[\\/]/, ''));
  return { X, names, truth: new Int32Array(files.length).fill(-1) };
}

/**
 * `count` test images of the run's data set, classes in turn (0, 1, .., 9, 0, ..; the first
 * unused image of each), leaving out class `exclude`.
 */
function testImages(info: RunInfo, count: number, exclude?: number): Inputs {
  const d = loadData(CMD, info.data);
  const C = info.classNames.length;
  const byClass = Array.from({ length: C }, () => [] as number[]);
  d.yTest.forEach((y, n) => byClass[y].push(n));
  const picked: number[] = [];
  for (let round = 0; picked.length < count; round++) {
    let any = false;
    for (let c = 0; c < C && picked.length < count; c++) {
      if (c === exclude || round >= byClass[c].length) continue;
      picked.push(byClass[c][round]);
      any = true;
    }
    if (!any) break;
  }
  const truth = gatherLabels(d.yTest, picked);
  return {
    X: gatherRows(d.XTest, picked),
    names: picked.map((n, i) => `test ${n}: ${info.classNames[truth[i]]}`),
    truth,
  };
}

function predicted(ctx: Context, X: FloatTensor): Int32Array {
  return argmaxRows(scoresOf(ctx.model, applyPreprocessing(X, ctx.info.preprocessing)));
}

const median = (v: readonly number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]
      : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** The maps of --method, and how the output names them. */
const SALIENCY = {
  'grad-x-input': {
    name: 'gradient x input',
    title: 'saliency: max over channels of |pixel x d score(class) / d pixel|',
    map: vis.gradientTimesInput,
  },
  gradient: {
    name: 'plain gradient',
    title: 'saliency: max over channels of |d score(class) / d pixel|',
    map: vis.saliencyMap,
  },
  smoothgrad: {
    name: 'SmoothGrad, 25 noisy copies, noise 0.15',
    title:
      'SmoothGrad: max over channels of |mean over 25 noisy copies of d score(class) / d pixel|',
    map: vis.smoothGrad,
  },
} as const;

function runSaliency(ctx: Context, { X, names, truth }: Inputs): number {
  const pred = predicted(ctx, X);
  const y = Int32Array.from(truth, (t, n) => ctx.K ?? (t >= 0 ? t : pred[n]));
  const method = ctx.flags.method as keyof typeof SALIENCY;
  const S = SALIENCY[method].map(ctx.model, X, y, { preprocessing: ctx.info.preprocessing });
  const labels = names.map((name, n) => `${name} (d score ${ctx.info.classNames[y[n]]})`);
  const file = write(
    ctx.out,
    'saliency.png',
    vis.saliencyPng(X, S, labels, { title: SALIENCY[method].title }),
  );
  const { mass, area } = inkShare(X, S);
  process.stdout.write(
    `saliency (${SALIENCY[method].name}) of ${X.shape[0]} image(s): ${pct(mass)} of the saliency lies on the ${pct(area)} of pixels with ink (> 0.1)\nwrote ${file}\n`,
  );
  return 0;
}

/** The share of the saliency on pixels with ink (any channel > 0.1) and the share of such pixels. */
export function inkShare(X: FloatTensor, S: FloatTensor): { mass: number; area: number } {
  const [N, C, H, W] = X.shape,
    HW = H * W;
  let onInk = 0,
    total = 0,
    inkPixels = 0;
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < HW; j++) {
      let ink = false;
      for (let c = 0; c < C; c++) ink ||= X.data[(n * C + c) * HW + j] > 0.1;
      const s = S.data[n * HW + j];
      total += s;
      if (ink) {
        onInk += s;
        inkPixels++;
      }
    }
  }
  return { mass: total > 0 ? onInk / total : 0, area: inkPixels / (N * HW) };
}

function runFool(ctx: Context, { X, names, truth }: Inputs): number {
  const names_ = ctx.info.classNames,
    C = names_.length;
  const pred = predicted(ctx, X);
  const targets = Int32Array.from(truth, (t, n) => ctx.K ?? ((t >= 0 ? t : pred[n]) + 1) % C);
  const opts = {
    preprocessing: ctx.info.preprocessing,
    maxSteps: (ctx.flags.steps as number | undefined) ?? 100,
    learningRate: (ctx.flags.lr as number | undefined) ?? 0.1,
  };
  const results = vis.foolingImages(ctx.model, X, targets, opts);
  const N = results.length;
  if (N <= 10) {
    results.forEach((r, n) => {
      process.stdout.write(
        `${names[n]}: ${names_[r.before]} -> ${names_[r.after]}${r.fooled ? '' : ` (not fooled, target ${names_[targets[n]]})`} in ${r.steps} steps, Linf ${r.linf.toFixed(3)}, L2 ${r.l2.toFixed(3)}\n`,
      );
    });
  }
  const fooled = results.filter((r) => r.fooled);
  const changed = results.filter((r) => r.steps > 0);
  const targetText = ctx.K === undefined ? 'the next class' : `class ${names_[ctx.K]}`;
  process.stdout.write(
    `fooled ${fooled.length}/${N} (${pct(fooled.length / N)}) to ${targetText} within ${opts.maxSteps} steps of L2 ${opts.learningRate}; ` +
      `median over the changed images: ${median(changed.map((r) => r.steps))} steps, Linf ${median(changed.map((r) => r.linf)).toFixed(3)}, L2 ${median(changed.map((r) => r.l2)).toFixed(3)}\n`,
  );
  const shown = Math.min(N, 8);
  const png = vis.foolingPng(
    gatherRows(
      X,
      Array.from({ length: shown }, (_, n) => n),
    ),
    results.slice(0, shown),
    names_,
  );
  process.stdout.write(`wrote ${write(ctx.out, 'fooling.png', png)}\n`);
  return 0;
}

function runClasses(ctx: Context): number {
  const C = ctx.info.classNames.length;
  const classes = ctx.K === undefined ? Array.from({ length: C }, (_, c) => c) : [ctx.K];
  const opts = {
    preprocessing: ctx.info.preprocessing,
    inputShape: ctx.info.inputShape,
    steps: (ctx.flags.steps as number | undefined) ?? 100,
    ...(ctx.flags.lr === undefined ? {} : { learningRate: ctx.flags.lr as number }),
  };
  const results = classes.map((c) => vis.classVisualization(ctx.model, c, opts));
  results.forEach((r, i) => {
    const s = r.scores;
    process.stdout.write(
      `class ${ctx.info.classNames[classes[i]]}: score ${s[0].toFixed(2)} -> ${s[s.length - 1].toFixed(2)} over ${s.length - 1} iterations, predicted ${ctx.info.classNames[r.predicted]}\n`,
    );
  });
  const png = vis.classesPng(results, classes, ctx.info.classNames);
  process.stdout.write(`wrote ${write(ctx.out, 'classes.png', png)}\n`);
  return 0;
}

function runActivations(ctx: Context, { X, names, truth }: Inputs): number {
  const acts = vis.activations(ctx.model, X, {
    preprocessing: ctx.info.preprocessing,
    ...(ctx.K === undefined ? {} : { target: ctx.K }),
  });
  const classNames = ctx.info.classNames;
  const pred = argmaxRows(acts.scores);
  for (let n = 0; n < X.shape[0]; n++) {
    const png = vis.activationsPng(X, acts, n, { classNames });
    const file = write(ctx.out, `activations-${n}.png`, png);
    // names[n] is 'test <i>: <label>' for a test image, else the PNG's file name
    const name = truth[n] >= 0 ? names[n].replace(/: .*$/, '') : names[n];
    const label = truth[n] >= 0 ? `label ${classNames[truth[n]]}, ` : '';
    const of = ctx.K === undefined ? 'the predicted class' : '--class';
    process.stdout.write(
      `${name}: ${label}predicted ${classNames[pred[n]]}; ${acts.layers.length} layers with the gradient of the score of class ${classNames[acts.target[n]]} (${of}); wrote ${file}\n`,
    );
  }
  return 0;
}
