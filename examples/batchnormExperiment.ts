// examples/batchnormExperiment.ts: the batch-normalisation experiment of the curriculum. A deep
// fully connected net (6 layers) is trained from several weight-initialisation scales, with and
// without batch norm, on a subset of the embedded MNIST digits. Without batch norm only a narrow
// band of scales trains at all (too small: the signal vanishes; too large: it explodes); with
// batch norm the result hardly depends on the scale.
//   npm run build && node dist/examples/batchnormExperiment.js [outDir]
// writes <outDir>/batchnormExperiment.{md,json,png} (default outDir: out/batchnormExperiment).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { data, io, models, Solver, Tensor } from '../src/index.js';

const OUT_DIR = process.argv[2] ?? join('out', 'batchnormExperiment');
const NUM_TRAIN = 2000,
  NUM_VAL = 1000;
const HIDDEN = [100, 100, 100, 100, 100]; // 5 hidden layers + the output layer = 6 affine layers
const WEIGHT_SCALES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1];
const EPOCHS = 10,
  BATCH = 50,
  LEARNING_RATE = 1e-3;

interface Run {
  weightScale: number;
  batchnorm: boolean;
  bestValAcc: number;
  finalTrainAcc: number;
  finalLoss: number; // mean of the last 10 minibatch losses
  seconds: number;
}

/**
 * Evenly spaced rows of the fixed train/validation split (the loader keeps digit order, so every
 * digit appears in proportion), flattened to (N, 784) and centred by the training mean image.
 */
function loadDigits(): { XTrain: Tensor; yTrain: Int32Array; XVal: Tensor; yVal: Int32Array } {
  const mnist = data.loadEmbeddedMnist({ seed: 0 });
  const pickTrain = Int32Array.from({ length: NUM_TRAIN }, (_, i) =>
    Math.floor((i * mnist.yTrain.length) / NUM_TRAIN),
  );
  const pickVal = Int32Array.from({ length: NUM_VAL }, (_, i) =>
    Math.floor((i * mnist.yVal.length) / NUM_VAL),
  );
  const XTrain = data.gatherRows(mnist.XTrain, pickTrain).reshape([NUM_TRAIN, 784]);
  const XVal = data.gatherRows(mnist.XVal, pickVal).reshape([NUM_VAL, 784]);
  const prep = data.fitPreprocessing(XTrain, 'mean-image');
  return {
    XTrain: data.applyPreprocessing(XTrain, prep),
    yTrain: data.gatherLabels(mnist.yTrain, pickTrain),
    XVal: data.applyPreprocessing(XVal, prep),
    yVal: data.gatherLabels(mnist.yVal, pickVal),
  };
}

function train(
  digits: ReturnType<typeof loadDigits>,
  weightScale: number,
  batchnorm: boolean,
): Run {
  const start = performance.now();
  const model = new models.FullyConnectedNet({
    inputDim: 784,
    hiddenDims: HIDDEN,
    numClasses: 10,
    weightScale,
    normalization: batchnorm ? 'batchnorm' : null,
    seed: 1,
  });
  const solver = new Solver(model, digits, {
    updateRule: 'adam',
    optimConfig: { learningRate: LEARNING_RATE },
    batchSize: BATCH,
    numEpochs: EPOCHS,
    numTrainSamples: NUM_TRAIN,
    verbose: false,
    seed: 2,
  });
  solver.train();
  const tail = solver.lossHistory.slice(-10);
  return {
    weightScale,
    batchnorm,
    bestValAcc: Math.max(...solver.valAccHistory),
    finalTrainAcc: solver.trainAccHistory[solver.trainAccHistory.length - 1],
    finalLoss: tail.reduce((s, v) => s + v, 0) / tail.length,
    seconds: (performance.now() - start) / 1000,
  };
}

/** The run of one (weight scale, batch norm) pair. */
const runOf = (runs: Run[], ws: number, batchnorm: boolean): Run =>
  runs.find((r) => r.weightScale === ws && r.batchnorm === batchnorm)!;

function markdownTable(runs: Run[]): string {
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const both = (label: string) => `${label} (baseline) | ${label} (batch norm)`;
  const lines = [
    `# Batch norm vs weight scale: ${HIDDEN.length + 1}-layer net, ${NUM_TRAIN} MNIST digits, ` +
      `${EPOCHS} epochs of Adam (lr ${LEARNING_RATE}, batch ${BATCH})`,
    '',
    `| weight scale | ${both('best val acc')} | ${both('final train acc')} | ${both('final loss')} |`,
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const ws of WEIGHT_SCALES) {
    const [base, bn] = [runOf(runs, ws, false), runOf(runs, ws, true)];
    const cells = [
      ws.toExponential(0),
      pct(base.bestValAcc),
      pct(bn.bestValAcc),
      pct(base.finalTrainAcc),
      pct(bn.finalTrainAcc),
      base.finalLoss.toFixed(3),
      bn.finalLoss.toFixed(3),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

/** Three panels against log10(weight scale): best validation accuracy, final training accuracy and loss. */
function plot(runs: Run[]): Uint8Array {
  const x = WEIGHT_SCALES.map((ws) => Math.log10(ws));
  const series = (pick: (r: Run) => number) =>
    [false, true].map((batchnorm) => ({
      name: batchnorm ? 'batch norm' : 'baseline',
      x,
      y: WEIGHT_SCALES.map((ws) => pick(runOf(runs, ws, batchnorm))),
    }));
  const xLabel = 'log10(weight scale)';
  return io.linePlotPng(
    [
      {
        title: 'Best validation accuracy',
        xLabel,
        yLabel: 'accuracy',
        series: series((r) => r.bestValAcc),
      },
      {
        title: 'Final training accuracy',
        xLabel,
        yLabel: 'accuracy',
        series: series((r) => r.finalTrainAcc),
      },
      {
        title: 'Final training loss',
        xLabel,
        yLabel: 'loss',
        logY: true,
        series: series((r) => r.finalLoss),
      },
    ],
    { width: 1440, height: 400 },
  );
}

const digits = loadDigits();
const runs: Run[] = [];
for (const weightScale of WEIGHT_SCALES) {
  for (const batchnorm of [false, true]) {
    const run = train(digits, weightScale, batchnorm);
    runs.push(run);
    const pct = (v: number) => `${(100 * v).toFixed(1).padStart(5)}%`;
    console.log(
      `weight scale ${weightScale.toExponential(0).padEnd(5)} ${batchnorm ? 'batch norm' : 'baseline  '}  ` +
        `best val acc ${pct(run.bestValAcc)}  train acc ${pct(run.finalTrainAcc)}  ` +
        `loss ${run.finalLoss.toFixed(3)}  (${run.seconds.toFixed(1)} s)`,
    );
  }
}
mkdirSync(OUT_DIR, { recursive: true });
const table = markdownTable(runs);
io.writeFileAtomic(join(OUT_DIR, 'batchnormExperiment.md'), table);
io.writeFileAtomic(
  join(OUT_DIR, 'batchnormExperiment.json'),
  JSON.stringify(
    {
      hiddenDims: HIDDEN,
      numTrain: NUM_TRAIN,
      numVal: NUM_VAL,
      epochs: EPOCHS,
      batchSize: BATCH,
      learningRate: LEARNING_RATE,
      runs,
    },
    null,
    2,
  ),
);
io.writeFileAtomic(join(OUT_DIR, 'batchnormExperiment.png'), plot(runs));
console.log(`\n${table}\nwrote ${join(OUT_DIR, 'batchnormExperiment')}.{md,json,png}`);
