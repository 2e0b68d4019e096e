// src/cli/eval.ts: `layerwise eval <checkpoint>`: accuracy and confusion matrix of a trained
// model on a split of its data set (or another one of the same input shape).
import { applyPreprocessing } from '../data/index.js';
import { CliError, formatHelp, parseFlags, type FlagSpecs } from './args.js';
import { DATASETS, dataLabel, loadData, type DataSource, type DatasetName } from './data.js';
import { argmaxRows, confusionMatrix, loadCheckpointModel, scoresOf } from './run.js';
import { checkScoresOutput, writeScoresOutput } from './scoresOutput.js';

const CMD = 'layerwise eval';

export const EVAL_FLAGS: FlagSpecs = {
  dataset: {
    type: 'string',
    choices: DATASETS,
    help: "data set to evaluate on (default: the run's)",
  },
  'data-dir': { type: 'string', metavar: 'DIR', help: 'folder of the data set files' },
  split: {
    type: 'string',
    default: 'test',
    choices: ['test', 'val', 'train'],
    help: 'which split',
  },
  limit: { type: 'int', min: 1, metavar: 'N', help: 'at most N rows of the split, evenly spaced' },
  output: {
    type: 'string',
    metavar: 'FILE',
    help: 'also write the per-sample scores and predicted classes to FILE.json or FILE.npy',
  },
};

const DESCRIPTION = `Loads a model.safetensors or checkpoint.safetensors written by 'layerwise train', applies the
preprocessing stored with it, and prints the accuracy and the confusion matrix (rows: true class,
columns: predicted class).`;

export function runEval(argv: readonly string[]): number {
  const { flags, positionals } = parseFlags(CMD, argv, EVAL_FLAGS);
  if (flags.help) {
    process.stdout.write(
      formatHelp('layerwise eval <checkpoint> [options]', DESCRIPTION, EVAL_FLAGS),
    );
    return 0;
  }
  if (positionals.length !== 1) {
    throw new CliError(
      `${CMD}: expected one checkpoint file, got ${positionals.length} arguments (see '${CMD} --help')`,
    );
  }
  const path = positionals[0];
  const output = flags.output as string | undefined;
  checkScoresOutput(CMD, output);
  const { model, info } = loadCheckpointModel(CMD, path);
  // By default the run's own data (and --limit); --dataset / --data-dir point elsewhere.
  const same = flags.dataset === undefined && flags['data-dir'] === undefined;
  const source: DataSource = {
    dataset: (flags.dataset as DatasetName | undefined) ?? info.data.dataset,
    dataDir: (flags['data-dir'] as string | undefined) ?? (same ? info.data.dataDir : null),
    limit: (flags.limit as number | undefined) ?? (same ? info.data.limit : null),
  };
  const d = loadData(CMD, source);
  const split = flags.split as 'test' | 'val' | 'train';
  const [Xraw, y] =
    split === 'test'
      ? [d.XTest, d.yTest]
      : split === 'val'
        ? [d.XVal, d.yVal]
        : [d.XTrain, d.yTrain];
  const sample = Xraw.shape.slice(1);
  if (sample.join(',') !== info.inputShape.join(',')) {
    throw new CliError(
      `${CMD}: ${path} takes inputs of shape [${info.inputShape.join(',')}] but ${dataLabel(source)} has [${sample.join(',')}]`,
    );
  }
  const C = info.classNames.length;
  const bad = y.findIndex((label) => label >= C);
  if (bad >= 0)
    throw new CliError(
      `${CMD}: ${dataLabel(source)} has label ${y[bad]} but the model knows ${C} classes`,
    );
  const scores = scoresOf(model, applyPreprocessing(Xraw, info.preprocessing));
  const pred = argmaxRows(scores);
  const correct = pred.reduce((c, p, i) => c + (p === y[i] ? 1 : 0), 0);
  const n = (v: number) => v.toLocaleString('en-US');
  process.stdout.write(
    `${path}: ${modelName(info.model)} on ${dataLabel(source)} ${split} (${n(y.length)} samples)\n` +
      `accuracy ${((correct / y.length) * 100).toFixed(2)}% (${n(correct)}/${n(y.length)})\n\n` +
      formatConfusion(confusionMatrix(pred, y, C), info.classNames),
  );
  if (output !== undefined) {
    const ids = Array.from({ length: y.length }, (_, i) => String(i));
    const files = writeScoresOutput(output, scores, pred, info.classNames, ids);
    process.stdout.write(`\nwrote ${files.join(', ')}\n`);
  }
  return 0;
}

function modelName(spec: { type?: string } | object): string {
  return 'type' in spec && typeof spec.type === 'string' ? spec.type : 'Sequential';
}

/** The confusion matrix as a table, with per-class recall in the last column. */
export function formatConfusion(m: number[][], classNames: readonly string[]): string {
  const names = classNames.map((c) => (c.length > 10 ? `${c.slice(0, 9)}.` : c));
  const width = Math.max(
    5,
    ...m.flat().map((v) => String(v).length + 1),
    ...names.map((c) => c.length + 1),
  );
  const label = Math.max(...names.map((c) => c.length), 'true\\pred'.length) + 1;
  const head = `${'true\\pred'.padEnd(label)}${names.map((c) => c.padStart(width)).join('')}   recall`;
  const rows = m.map((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    const recall = total === 0 ? '--' : `${((row[t] / total) * 100).toFixed(1)}%`;
    return `${names[t].padEnd(label)}${row.map((v) => String(v).padStart(width)).join('')}   ${recall.padStart(6)}`;
  });
  return `confusion matrix (rows: true class, columns: predicted)\n${head}\n${rows.join('\n')}\n`;
}
