// src/cli/gan.ts: `layerwise gan`: trains models.DCGAN on the embedded digits under a progress
// bar and leaves in --out a grid of samples per epoch (the same 64 z every time), a plot of both
// losses, the generator as safetensors (io.loadModel rebuilds it) and metrics.json; with
// --classifier, the share of 1,000 samples the classifier recognises and the classes they cover.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { imageGridPng, linePlotPng, saveModel, writeFileAtomic } from '../io/index.js';
import { DCGAN, judgeSamples, type GanLoss, type SampleJudgement } from '../models/index.js';
import { Rng, Tensor, type FloatTensor } from '../tensor/index.js';
import { CliError, formatHelp, parseFlags, type FlagSpecs } from './args.js';
import { FileError, loadData } from './data.js';
import { formatDuration, ProgressBar } from './progress.js';
import { loadCheckpointModel, oneLine } from './run.js';

const CMD = 'layerwise gan';

export const GAN_FLAGS: FlagSpecs = {
  epochs: { type: 'int', default: 15, min: 1, help: 'passes over the 7,196 training digits' },
  'batch-size': { type: 'int', default: 64, min: 1, help: 'real images per step' },
  loss: {
    type: 'string',
    default: 'vanilla',
    choices: ['vanilla', 'lsgan'],
    help: 'vanilla: non-saturating BCE on logits; lsgan: least squares',
  },
  lr: { type: 'number', default: 4e-4, min: 0, help: "Adam's learning rate (both nets)" },
  seed: { type: 'int', default: 0, help: 'seed of the weights, the noise and the shuffling' },
  classifier: {
    type: 'string',
    metavar: 'CHECKPOINT',
    help: 'a digit classifier (e.g. the model.safetensors of layerwise train) to score samples',
  },
  limit: {
    type: 'int',
    min: 1,
    metavar: 'N',
    help: 'train on at most N of the digits, evenly spaced (quick trials)',
  },
  out: { type: 'string', default: join('runs', 'gan'), metavar: 'DIR', help: 'output folder' },
};

const DESCRIPTION = `Trains a DCGAN on the digits that ship with layerwise: a generator (z of 64 -> linear 3136 ->
batch norm, relu -> transposed conv 4x4/2 to 32x14x14 -> batch norm, relu -> transposed conv
4x4/2 to 1x28x28 -> tanh) against a discriminator (conv 4x4/2, leaky relu, conv 4x4/2, group
norm, leaky relu, linear -> one logit), alternating their Adam steps (beta1 0.5). Writes into
--out: samples-epoch-K.png per epoch (64 samples of fixed noise), losses.png (both losses),
generator.safetensors (io.loadModel rebuilds it; 'layerwise export' writes it for ONNX Runtime or
PyTorch) and metrics.json.`;

export function ganHelp(): string {
  return formatHelp('layerwise gan [options]', DESCRIPTION, GAN_FLAGS);
}

interface EpochRow {
  epoch: number;
  dLoss: number;
  gLoss: number;
  realScore: number;
  fakeScore: number;
  seconds: number;
  samplesPerSecond: number;
}

export async function runGan(argv: readonly string[]): Promise<number> {
  const { flags, positionals } = parseFlags(CMD, argv, GAN_FLAGS);
  if (flags.help) {
    process.stdout.write(ganHelp());
    return 0;
  }
  if (positionals.length > 0)
    throw new CliError(`${CMD}: unexpected argument '${positionals[0]}' (see '${CMD} --help')`);
  const epochs = flags.epochs as number,
    batchSize = flags['batch-size'] as number,
    seed = flags.seed as number,
    out = String(flags.out);
  const classifier =
    typeof flags.classifier === 'string' ? loadCheckpointModel(CMD, flags.classifier).model : null;
  try {
    mkdirSync(out, { recursive: true });
  } catch (e) {
    throw new FileError(`${CMD}: cannot create the output folder ${out}: ${oneLine(e)}`);
  }
  const limit = (flags.limit as number | undefined) ?? null;
  const data = loadData(CMD, { dataset: 'mnist', dataDir: null, limit });
  const real = toTanhRange(data.XTrain); // (N, 1, 28, 28) in [−1, 1]
  const gan = new DCGAN({ loss: flags.loss as GanLoss, learningRate: flags.lr as number, seed });
  const N = real.shape[0],
    steps = Math.floor(N / batchSize);
  if (steps === 0) throw new CliError(`${CMD}: --batch-size ${batchSize} is above the ${N} digits`);
  process.stdout.write(
    `DCGAN (${gan.loss}) on ${N.toLocaleString('en-US')} digits: batch ${batchSize}, ${epochs} epochs of ${steps} steps, Adam lr ${flags.lr} beta1 0.5, seed ${seed}\n`,
  );
  const fixedZ = gan.generator.noise(64, new Rng(seed + 100)); // the same z for every grid
  const shuffle = new Rng(seed + 3);
  const batch = Tensor.empty([batchSize, 1, 28, 28]);
  const history = { d: [] as number[], g: [] as number[] };
  const rows: EpochRow[] = [];
  const bar = new ProgressBar();
  const started = performance.now();
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const order = shuffle.permutation(N); // without replacement: each digit once an epoch
    const epochStart = performance.now();
    const sums = { d: 0, g: 0, real: 0, fake: 0 };
    for (let s = 0; s < steps; s++) {
      for (let b = 0; b < batchSize; b++) {
        const row = order[s * batchSize + b];
        batch.data.set(real.data.subarray(row * 784, (row + 1) * 784), b * 784);
      }
      const r = gan.step(batch);
      history.d.push(r.dLoss);
      history.g.push(r.gLoss);
      sums.d += r.dLoss;
      sums.g += r.gLoss;
      sums.real += r.realScore;
      sums.fake += r.fakeScore;
      const seconds = (performance.now() - epochStart) / 1000;
      bar.update({
        epoch,
        numEpochs: epochs,
        iteration: (epoch - 1) * steps + s + 1,
        numIterations: epochs * steps,
        loss: r.dLoss,
        samplesPerSec: ((s + 1) * batchSize) / Math.max(seconds, 1e-9),
        detail: `G loss ${r.gLoss.toFixed(4)}  D(x) ${r.realScore.toFixed(2)}  D(G(z)) ${r.fakeScore.toFixed(2)}`,
      });
    }
    const seconds = (performance.now() - epochStart) / 1000;
    const row: EpochRow = {
      epoch,
      dLoss: sums.d / steps,
      gLoss: sums.g / steps,
      realScore: sums.real / steps,
      fakeScore: sums.fake / steps,
      seconds: (performance.now() - started) / 1000,
      samplesPerSecond: (steps * batchSize) / seconds,
    };
    rows.push(row);
    writeFileAtomic(
      join(out, `samples-epoch-${epoch}.png`),
      imageGridPng(toUnitRange(gan.generator.eval().forward(fixedZ)), {
        cols: 8,
        scale: 3,
        normalize: 'none',
      }),
    );
    bar.clear();
    process.stdout.write(
      `epoch ${epoch}/${epochs}  D loss ${row.dLoss.toFixed(4)}  G loss ${row.gLoss.toFixed(4)}  D(x) ${row.realScore.toFixed(2)}  D(G(z)) ${row.fakeScore.toFixed(2)}  ${Math.round(row.samplesPerSecond)} samples/s  ${formatDuration(row.seconds)}\n`,
    );
  }
  writeFileAtomic(join(out, 'losses.png'), lossesPng(history, steps, gan.loss));
  saveModel(join(out, 'generator.safetensors'), gan.generator, {
    inputShape: [gan.generator.latentDim],
  });
  const judged = classifier
    ? judgeSamples(classifier, gan.generator.sample(1000, new Rng(seed + 7)))
    : null;
  const metrics = {
    loss: gan.loss,
    epochs: rows,
    seconds: (performance.now() - started) / 1000,
    settings: { epochs, batchSize, lr: flags.lr, seed },
    ...(judged ? { samples: judged } : {}),
  };
  writeFileAtomic(join(out, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  if (judged) process.stdout.write(`${judgementLine(judged)}\n`);
  process.stdout.write(
    `wrote ${join(out, 'generator.safetensors')}, samples-epoch-1..${epochs}.png, losses.png, metrics.json (${formatDuration(metrics.seconds)})\n`,
  );
  return 0;
}

/** The digits' [0, 1] pixels as 2·v − 1, the generator's tanh range. */
function toTanhRange(X: FloatTensor): FloatTensor {
  const out = Tensor.empty(X.shape, X.dtype);
  for (let i = 0; i < X.size; i++) out.data[i] = 2 * X.data[i] - 1;
  return out;
}

/** The generator's (−1, 1) as the (0, 1) grey levels of a picture. */
function toUnitRange(X: FloatTensor): FloatTensor {
  const out = Tensor.empty(X.shape, X.dtype);
  for (let i = 0; i < X.size; i++) out.data[i] = (X.data[i] + 1) / 2;
  return out;
}

function judgementLine(j: SampleJudgement): string {
  return (
    `classifier: ${(j.confident * 100).toFixed(1)}% of 1,000 samples above 0.9 confidence, ` +
    `${j.classesCovered}/10 classes covered (confident samples per digit: ${j.counts.join(' ')})`
  );
}

/** Both losses per step with their moving means over one epoch. */
function lossesPng(h: { d: number[]; g: number[] }, perEpoch: number, loss: GanLoss): Uint8Array {
  const smooth = (v: number[]) => {
    const w = Math.max(1, Math.min(perEpoch, 50));
    return v.map((_, i) => {
      const from = Math.max(0, i - w + 1);
      let s = 0;
      for (let k = from; k <= i; k++) s += v[k];
      return s / (i - from + 1);
    });
  };
  return linePlotPng(
    {
      title: `DCGAN losses (${loss})`,
      xLabel: 'step',
      yLabel: 'loss',
      series: [
        { name: 'discriminator', y: h.d },
        { name: 'generator', y: h.g },
        { name: 'discriminator (mean of 50)', y: smooth(h.d) },
        { name: 'generator (mean of 50)', y: smooth(h.g) },
      ],
    },
    { width: 720, height: 400 },
  );
}
