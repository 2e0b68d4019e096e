// examples/mnist.ts: the library in ten lines: a small conv net on the digits that ship with
// layerwise, trained by the Solver, scored on the held-out test digits.
//   npm run build && node dist/examples/mnist.js
import { data, models, Solver } from '../src/index.js';

const { XTrain, yTrain, XVal, yVal, XTest, yTest } = data.loadEmbeddedMnist(); // (N, 1, 28, 28), y int32
const model = new models.ThreeLayerConvNet({
  inputDim: [1, 28, 28],
  numFilters: 16,
  filterSize: 5,
  hiddenDim: 100,
  normalization: 'batchnorm',
  weightScale: 0.05,
  seed: 0,
});
const solver = new Solver(
  model,
  { XTrain, yTrain, XVal, yVal },
  {
    updateRule: 'adam',
    optimConfig: { learningRate: 2e-3 },
    schedule: 'cosine',
    batchSize: 64,
    numEpochs: 3,
    seed: 0,
    verbose: true,
    printEvery: 50,
  },
);
solver.train(); // leaves the best-validation params (and batch-norm statistics) in the model
console.log(`test accuracy: ${(100 * solver.checkAccuracy(XTest, yTest)).toFixed(2)}%`);
