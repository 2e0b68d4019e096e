// examples/caption.ts: image captioning on images of 2-4 MNIST digits side by side, captioned
// with their words ("<START> seven two nine <END>"). A small conv net trained on single digits
// gives features per 28-pixel slot, a CaptioningRNN (LSTM) learns to caption them, and captions
// of images composed from the TEST split are scored. About a minute on 2 cores; offline.
//   npm run build && node dist/examples/caption.js
// (`layerwise caption --help` runs the same task with flags.)
import { data, layers, models, Solver, Tensor, type FloatTensor } from '../src/index.js';

const seed = 0,
  maxLength = 5; // at most 4 digits and <END>
const mnist = data.loadEmbeddedMnist({ seed });

// 1. Image features: a small conv net learns single train digits; its relu hidden layer is the
//    feature vector of one slot (like the CNN features of the classic captioning model).
const cnn = new models.ThreeLayerConvNet({
  inputDim: [1, 28, 28],
  numFilters: 8,
  filterSize: 5,
  hiddenDim: 64,
  weightScale: 0.05,
  numClasses: 10,
  seed,
});
new Solver(
  cnn,
  { XTrain: mnist.XTrain, yTrain: mnist.yTrain, XVal: mnist.XVal, yVal: mnist.yVal },
  {
    updateRule: 'adam',
    optimConfig: { learningRate: 2e-3 },
    batchSize: 100,
    numEpochs: 6,
    numTrainSamples: 500,
    seed,
  },
).train();

function hiddenFeatures(X: FloatTensor): FloatTensor {
  // (N, 1, 28, 28) => (N, 64)
  const p = cnn.params,
    rows: FloatTensor[] = [];
  for (let start = 0; start < X.shape[0]; start += 256) {
    const end = Math.min(X.shape[0], start + 256);
    const x = new Tensor(X.data.subarray(start * 784, end * 784), [end - start, 1, 28, 28]);
    const conv = layers.reluForward(
      layers.convForward(x, p.W1, p.b1, { stride: 1, pad: 2 }).out,
    ).out;
    const pool = layers.maxPoolForward(conv, { poolHeight: 2, poolWidth: 2, stride: 2 }).out;
    rows.push(layers.reluForward(layers.affineForward(pool, p.W2, p.b2).out).out);
  }
  const out = Tensor.zeros([X.shape[0], 64]);
  rows.forEach((r, i) => out.data.set(r.data, i * 256 * 64));
  return out;
}

// 2. Composed images and captions; a slot's features are those of the digit copied into it.
const blank = hiddenFeatures(Tensor.zeros([1, 1, 28, 28]));
function split(X: FloatTensor, y: Int32Array, count: number, compositionSeed: number) {
  const composed = data.composeDigitCaptions(X, y, {
    count,
    minDigits: 2,
    maxDigits: 4,
    seed: compositionSeed,
  });
  return { composed, features: data.gatherSlotFeatures(composed, hiddenFeatures(X), blank) };
}
const train = split(mnist.XTrain, mnist.yTrain, 20000, 1);
const val = split(mnist.XVal, mnist.yVal, 500, 2);
const test = split(mnist.XTest, mnist.yTest, 1000, 3); // digits neither network has seen
const prep = data.fitPreprocessing(train.features, 'per-channel'); // standardise every feature
const [Xtrain, Xval, Xtest] = [train, val, test].map((s) =>
  data.applyPreprocessing(s.features, prep),
);

// 3. The captioning model, trained by the Solver; validation score = exact-caption accuracy.
const model = new models.CaptioningRNN({
  wordToIdx: data.digitWordToIdx(),
  inputDim: Xtrain.shape[1],
  wordvecDim: 32,
  hiddenDim: 96,
  cellType: 'lstm',
  seed,
});
new Solver(
  model,
  { XTrain: Xtrain, yTrain: train.composed.captions, XVal: Xval, yVal: val.composed.captions },
  {
    updateRule: 'adam',
    optimConfig: { learningRate: 5e-3 },
    lrDecay: 0.8,
    batchSize: 100,
    numEpochs: 8,
    numTrainSamples: 500,
    seed,
    evaluate: (m, X, y) =>
      data.scoreCaptions(m.sample(X, maxLength), data.captionDigits(y as Tensor)).exact,
    onProgress: (p) =>
      p.epochEnd &&
      console.log(
        `epoch ${p.epoch}: loss ${p.loss.toFixed(3)}, validation exact captions ${((p.valAcc ?? 0) * 100).toFixed(1)}%`,
      ),
  },
).train();

// 4. Held-out accuracy, greedy and with beam search, and a few samples.
for (const beamSize of [1, 3]) {
  const s = data.scoreCaptions(model.sample(Xtest, maxLength, { beamSize }), test.composed.digits);
  console.log(
    `test (${Xtest.shape[0]} images of TEST digits), beam ${beamSize}: exact captions ${(s.exact * 100).toFixed(1)}%, per-word ${(s.perWord * 100).toFixed(1)}%`,
  );
}
const generated = model.decode(model.sample(Xtest, maxLength));
for (let m = 0; m < 8; m++) {
  console.log(
    `  generated: ${generated[m].padEnd(26)} true: ${data.digitsToWords(test.composed.digits[m])}`,
  );
}
