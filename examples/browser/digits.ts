// examples/browser/digits.ts: the page script of index.html. Loads the embedded digits (served as
// IDX by serve.mjs), trains the default conv net of `layerwise train` in a Web Worker
// (layerwise/worker: trainInWorker), draws the loss and accuracy curves on every animation frame,
// fetches a checkpoint once a second to show the first-layer filters and to classify the digit
// drawn on the canvas and draw its saliency map, |pixel * d score_k / d pixel| for the predicted
// class k (vis.gradientTimesInput; on this thread, reference kernels: one 28x28 image is cheap).
// window.__demo holds the state the real-browser test reads (test/browser/chromium.test.ts).
import {
  data,
  io,
  nn,
  setBackend,
  Tensor,
  vis,
  type FloatTensor,
  type models,
} from '../../src/browser.js';
import {
  createTrainingWorker,
  trainInWorker,
  type TrainingRun,
  type TrainingSpec,
  type WorkerBackendInfo,
} from '../../src/worker/index.js';
import { digitToInput } from './drawn.js';

// The few DOM members used here (the project's lib has no DOM types).
interface Context2D {
  fillStyle: string;
  strokeStyle: string;
  lineWidth: number;
  lineCap: string;
  font: string;
  clearRect(x: number, y: number, w: number, h: number): void;
  fillRect(x: number, y: number, w: number, h: number): void;
  beginPath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  stroke(): void;
  fillText(text: string, x: number, y: number): void;
  getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
}
interface Canvas {
  readonly width: number;
  readonly height: number;
  getContext(kind: '2d', opts?: object): Context2D | null;
  getBoundingClientRect(): { left: number; top: number; width: number; height: number };
  addEventListener(type: string, fn: (e: PointerLike) => void): void;
  setPointerCapture?(id: number): void;
}
interface PointerLike {
  clientX: number;
  clientY: number;
  pointerId: number;
  preventDefault(): void;
}
interface Element {
  textContent: string | null;
  disabled: boolean;
  addEventListener(type: string, fn: () => void): void;
}
interface Page {
  document: {
    getElementById(id: string): unknown;
    readonly body: { dataset: Record<string, string> };
  };
  location: { search: string };
  requestAnimationFrame(fn: (t: number) => void): void;
  crossOriginIsolated?: boolean;
  __demo?: DemoState;
}
const page = globalThis as unknown as Page;

/** What the real-browser test reads. */
interface DemoState {
  status: 'loading' | 'training' | 'paused' | 'done' | 'error';
  spec: { model: TrainingSpec['model']; solver: TrainingSpec['solver']; augment: unknown } | null;
  backend: WorkerBackendInfo | null;
  crossOriginIsolated: boolean;
  losses: number[];
  trainAcc: number[];
  valAcc: number[];
  /** requestAnimationFrame callbacks so far, and the time of each (ms, performance.now). */
  frames: number[];
  trainingFrom: number | null;
  trainingTo: number | null;
  samplesPerSecond: number;
  testAccuracy: number | null;
  workerBeats: readonly number[];
  /** FNV-1a of the trained model's bytes (io.encodeModel), to compare with a Node run. */
  modelDigest: string | null;
  prediction: { digit: number; probs: number[] } | null;
  /** The drawn digit's saliency map for the predicted class (784 values, row-major). */
  saliency: Saliency | null;
  error: string | null;
}
interface Saliency {
  digit: number;
  /** The input the model saw (784 grey levels in [0, 1]) and |d score_digit / d pixel| at each. */
  input: number[];
  map: number[];
  max: number;
}
const state: DemoState = {
  status: 'loading',
  spec: null,
  backend: null,
  crossOriginIsolated: page.crossOriginIsolated === true,
  losses: [],
  trainAcc: [],
  valAcc: [],
  frames: [],
  trainingFrom: null,
  trainingTo: null,
  samplesPerSecond: 0,
  testAccuracy: null,
  workerBeats: [],
  modelDigest: null,
  prediction: null,
  saliency: null,
  error: null,
};
page.__demo = state;

const el = (id: string): Element => {
  const e = page.document.getElementById(id);
  if (e === null) throw new Error(`demo: no element #${id}`);
  return e as Element;
};
const canvas = (id: string): { c: Canvas; g: Context2D; W: number; H: number } => {
  const c = page.document.getElementById(id) as Canvas | null;
  const g = c?.getContext('2d', { willReadFrequently: id === 'draw' });
  if (!c || !g) throw new Error(`demo: no canvas #${id}`);
  return { c, g, W: c.width, H: c.height };
};
const setStatus = (s: DemoState['status']): void => {
  state.status = s;
  page.document.body.dataset.status = s;
};

const query = new URLSearchParams(page.location.search);
const numberParam = (key: string, fallback: number): number => {
  const v = query.get(key);
  return v === null || v === '' ? fallback : Number(v);
};

/** The embedded digits from serve.mjs: IDX images and labels in the order train | val | test. */
async function loadDigits(): Promise<{
  train: { X: Float32Array; y: Int32Array; N: number };
  val: { X: Float32Array; y: Int32Array; N: number };
  test: { X: Float32Array; y: Int32Array; N: number };
}> {
  const bytes = async (path: string): Promise<Uint8Array> => {
    const res = await fetch(path);
    if (!res.ok) throw new Error(`demo: ${path}: HTTP ${res.status} (serve with serve.mjs)`);
    return new Uint8Array(await res.arrayBuffer());
  };
  const [images, labels, split] = await Promise.all([
    bytes('/digits/images.idx'),
    bytes('/digits/labels.idx'),
    fetch('/digits/split.json').then((r) => r.json() as Promise<Record<string, number>>),
  ]);
  const X = data.parseIdx(images, 'images.idx').data as Uint8Array;
  const y = data.parseIdx(labels, 'labels.idx').data as Uint8Array;
  let row = 0;
  const part = (N: number) => {
    // k/255 in float32, the grey levels of data.loadEmbeddedMnist exactly
    const out = {
      X: Float32Array.from(X.subarray(row * 784, (row + N) * 784), (k) => k / 255),
      y: Int32Array.from(y.subarray(row, row + N)),
      N,
    };
    row += N;
    return out;
  };
  return { train: part(split.train), val: part(split.val), test: part(split.test) };
}

/** `layerwise train`'s defaults (src/cli/modelSpec.ts 'cnn', src/cli/train.ts solverOptions). */
function defaultSpec(seed: number, epochs: number): Omit<TrainingSpec, 'data' | 'backend'> {
  return {
    model: {
      type: 'ThreeLayerConvNet',
      options: {
        inputDim: [1, 28, 28],
        numFilters: 16,
        filterSize: 5,
        hiddenDim: 100,
        weightScale: 0.05,
        normalization: 'batchnorm',
        dropout: 0.3,
        numClasses: 10,
        seed,
      },
    },
    solver: {
      updateRule: 'adam',
      optimConfig: { learningRate: 2e-3 },
      batchSize: 64,
      numEpochs: epochs,
      seed,
      schedule: 'cosine',
      warmupEpochs: 0.5,
      numTrainSamples: 1000,
      numValSamples: null,
    },
    augment: { kind: 'shift', amount: 2 },
  };
}

let model: models.Model | null = null;
let run: TrainingRun | null = null;
let progressLine = '';

async function start(): Promise<void> {
  const seed = numberParam('seed', 0),
    epochs = numberParam('epochs', 15);
  const threads = query.get('threads'),
    simd = query.get('simd');
  setStatus('loading');
  el('progress').textContent = 'loading the digits…';
  const digits = await loadDigits();
  testSet = digits.test;
  const base = defaultSpec(seed, epochs);
  const spec: TrainingSpec = {
    ...base,
    data: {
      XTrain: { data: digits.train.X, shape: [digits.train.N, 1, 28, 28] },
      yTrain: digits.train.y,
      XVal: { data: digits.val.X, shape: [digits.val.N, 1, 28, 28] },
      yVal: digits.val.y,
    },
    backend: {
      ...(threads !== null ? { threads: Number(threads) } : {}),
      ...(simd === 'simd' ? { simd: 'simd' as const } : {}),
    },
  };
  state.spec = { model: base.model, solver: base.solver, augment: base.augment };
  Object.assign(state, { losses: [], trainAcc: [], valAcc: [], testAccuracy: null });
  run = trainInWorker(createTrainingWorker(), spec, {
    onProgress: (p) => {
      state.losses.push(p.loss);
      state.samplesPerSecond = p.samplesPerSecond;
      if (p.epochEnd) {
        if (p.trainAcc !== null) state.trainAcc.push(p.trainAcc);
        if (p.valAcc !== null) state.valAcc.push(p.valAcc);
      }
      const pct = (v: number | null) => (v === null ? '--' : `${(100 * v).toFixed(1)}%`);
      progressLine =
        `epoch ${p.epoch}/${p.numEpochs}  iteration ${p.iteration}/${p.totalIterations}  ` +
        `loss ${p.loss.toFixed(4)}  train acc ${pct(p.trainAcc)}  val acc ${pct(p.valAcc)}  ` +
        `lr ${p.learningRate.toExponential(1)}  ${Math.round(p.samplesPerSecond)} samples/s`;
    },
  });
  const backend = await run.ready;
  state.backend = backend;
  state.trainingFrom = performance.now();
  el('backend').textContent = describe(backend);
  setStatus('training');
  setButtons(true);
  const done = await run.done;
  state.trainingTo = performance.now();
  state.workerBeats = done.workerBeats;
  state.modelDigest = fnv1a(done.model);
  model = done.trainedModel;
  showModel();
  state.testAccuracy = await testAccuracy(done.trainedModel);
  progressLine += `\n${done.reason === 'stopped' ? 'stopped' : 'finished'}: test accuracy ${(100 * state.testAccuracy).toFixed(2)}% on ${testSet.N.toLocaleString('en-US')} digits`;
  setStatus('done');
  setButtons(false);
}

let testSet: { X: Float32Array; y: Int32Array; N: number } = {
  X: new Float32Array(0),
  y: new Int32Array(0),
  N: 0,
};

/** Test accuracy in batches of 100, giving the page a turn between them. */
async function testAccuracy(m: models.Model): Promise<number> {
  let correct = 0;
  for (let lo = 0; lo < testSet.N; lo += 100) {
    const hi = Math.min(lo + 100, testSet.N);
    const X = new Tensor(testSet.X.slice(lo * 784, hi * 784), [hi - lo, 1, 28, 28]);
    const scores = m.loss(X);
    argmax(scores.data, 10).forEach((p, i) => (correct += p === testSet.y[lo + i] ? 1 : 0));
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return correct / testSet.N;
}

/** FNV-1a (32 bits) of bytes, as 8 hex digits. */
export function fnv1a(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

function argmax(scores: ArrayLike<number>, C: number): number[] {
  const out: number[] = [];
  for (let n = 0; n < scores.length / C; n++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (scores[n * C + c] > scores[n * C + best]) best = c;
    out.push(best);
  }
  return out;
}

function describe(b: WorkerBackendInfo): string {
  if (b.wasm === null) return `kernels: ${b.name}`;
  const { simd, shared, threads } = b.wasm;
  return (
    `kernels: ${b.name} (${simd === 'relaxed' ? 'relaxed SIMD' : 'SIMD'}, ${shared ? 'shared' : 'unshared'} memory), ` +
    `${b.threadsReady} of ${threads} thread${threads === 1 ? '' : 's'} running` +
    (b.crossOriginIsolated ? '' : ' (page not cross-origin isolated: one thread)')
  );
}

function setButtons(training: boolean): void {
  el('pause').disabled = !training;
  el('stop').disabled = !training;
  el('restart').disabled = training;
}

/** Once a second while training: the current weights, for the filters and the drawn digit. */
async function refreshModel(): Promise<void> {
  if (run !== null && state.status === 'training') {
    try {
      const { bytes } = await run.checkpoint();
      model = io.decodeModel<models.Model>(bytes);
      showModel();
    } catch {
      // the run ended meanwhile; 'done' brings the final model
    }
  }
  setTimeout(() => void refreshModel(), 1000);
}

function showModel(): void {
  if (model === null) return;
  drawFilters(model.params.W1);
  predictDrawn();
}

// ---- drawing ---------------------------------------------------------------------------------

/** The loss per iteration (log scale) and its running mean over 50 iterations. */
function drawLoss(): void {
  const { g, W, H } = canvas('loss');
  const losses = state.losses,
    total = Math.max(losses.length, 1);
  g.clearRect(0, 0, W, H);
  if (losses.length === 0) return;
  const pad = 36,
    lo = -2,
    hi = 1;
  const x = (i: number) => pad + ((W - pad - 8) * i) / Math.max(total - 1, 1);
  const y = (v: number) => 8 + ((H - 28) * (hi - Math.log10(Math.max(v, 1e-2)))) / (hi - lo);
  g.strokeStyle = '#ddd';
  g.fillStyle = '#555';
  g.font = '11px sans-serif';
  g.lineWidth = 1;
  for (let e = lo; e <= hi; e++) {
    g.beginPath();
    g.moveTo(pad, y(10 ** e));
    g.lineTo(W - 8, y(10 ** e));
    g.stroke();
    g.fillText(`1e${e}`, 4, y(10 ** e) + 4);
  }
  g.fillText(`iteration ${losses.length}`, W - 100, H - 6);
  const line = (values: ArrayLike<number>, colour: string, width: number) => {
    g.strokeStyle = colour;
    g.lineWidth = width;
    g.beginPath();
    for (let i = 0; i < values.length; i++)
      i === 0 ? g.moveTo(x(i), y(values[i])) : g.lineTo(x(i), y(values[i]));
    g.stroke();
  };
  line(losses, '#bbb', 1);
  const mean = new Float64Array(losses.length);
  let sum = 0;
  for (let i = 0; i < losses.length; i++) {
    sum += losses[i] - (i >= 50 ? losses[i - 50] : 0);
    mean[i] = sum / Math.min(i + 1, 50);
  }
  line(mean, '#1f77b4', 2);
}

/** Train and validation accuracy per epoch, 80%..100%. */
function drawAccuracy(): void {
  const { g, W, H } = canvas('accuracy');
  g.clearRect(0, 0, W, H);
  const epochs = state.spec?.solver?.numEpochs ?? 15;
  const pad = 36,
    lo = 0.8;
  const x = (e: number) => pad + ((W - pad - 10) * e) / Math.max(epochs - 1, 1);
  const y = (a: number) => 8 + ((H - 36) * (1 - Math.max(a, lo))) / (1 - lo);
  g.font = '11px sans-serif';
  g.lineWidth = 1;
  for (const a of [0.8, 0.85, 0.9, 0.95, 1]) {
    g.strokeStyle = '#ddd';
    g.beginPath();
    g.moveTo(pad, y(a));
    g.lineTo(W - 10, y(a));
    g.stroke();
    g.fillStyle = '#555';
    g.fillText(`${Math.round(a * 100)}%`, 4, y(a) + 4);
  }
  g.fillText('epoch', W - 44, H - 6);
  const series: [number[], string, string][] = [
    [state.trainAcc, '#ff7f0e', 'train'],
    [state.valAcc, '#2ca02c', 'val'],
  ];
  series.forEach(([acc, colour, name], s) => {
    g.strokeStyle = colour;
    g.fillStyle = colour;
    g.lineWidth = 2;
    g.beginPath();
    acc.forEach((a, e) => (e === 0 ? g.moveTo(x(e), y(a)) : g.lineTo(x(e), y(a))));
    g.stroke();
    acc.forEach((a, e) => g.fillRect(x(e) - 2, y(a) - 2, 4, 4));
    const last = acc.length > 0 ? ` ${(100 * acc[acc.length - 1]).toFixed(1)}%` : '';
    g.fillText(`${name}${last}`, pad + 8 + 110 * s, H - 6);
  });
}

/** W1 (16, 1, 5, 5) as 16 tiles of 5x5 cells, blue < 0 < red on one scale for all filters. */
function drawFilters(W1: Tensor): void {
  const { g, W, H } = canvas('filters');
  g.clearRect(0, 0, W, H);
  const [F, , HH, WW] = W1.shape;
  let maxAbs = 1e-12;
  for (const v of W1.data) maxAbs = Math.max(maxAbs, Math.abs(v));
  const cell = 12,
    cols = 8,
    gap = 8;
  for (let f = 0; f < F; f++) {
    const ox = (f % cols) * (WW * cell + gap) + 4,
      oy = Math.floor(f / cols) * (HH * cell + gap + 14) + 16;
    g.fillStyle = '#555';
    g.font = '10px sans-serif';
    g.fillText(`${f + 1}`, ox, oy - 3);
    for (let h = 0; h < HH; h++) {
      for (let w = 0; w < WW; w++) {
        const v = W1.data[(f * HH + h) * WW + w] / maxAbs; // in [-1, 1]
        const a = Math.round(255 * (1 - Math.abs(v)));
        g.fillStyle = v >= 0 ? `rgb(255,${a},${a})` : `rgb(${a},${a},255)`;
        g.fillRect(ox + w * cell, oy + h * cell, cell, cell);
      }
    }
  }
  g.fillStyle = '#555';
  g.fillText(`scale: ±${maxAbs.toPrecision(2)}`, 4, H - 4);
}

let strokes = 0;

/** The drawn digit as the model sees it, its prediction, the probability bars and the saliency. */
function predictDrawn(): void {
  const probs = canvas('probs');
  probs.g.clearRect(0, 0, probs.W, probs.H);
  if (model === null || strokes === 0) {
    el('prediction').textContent = '–';
    state.prediction = null;
    clearSaliency(strokes === 0 ? 'saliency: draw a digit' : 'saliency: waiting for the model');
    return;
  }
  const { g: dg, W, H } = canvas('draw');
  const rgba = dg.getImageData(0, 0, W, H).data;
  const input = digitToInput(rgba, W, H); // (784), k/255 like the training digits
  drawGrey('seen', input);
  const X = Tensor.zeros([1, 1, 28, 28]); // X: (1, 1, 28, 28) float32
  X.data.set(input);
  const p = softmax(model.loss(X).data);
  const digit = p.indexOf(Math.max(...p));
  state.prediction = { digit, probs: p };
  el('prediction').textContent = String(digit);
  drawProbs(probs, p, digit);
  showSaliency(model, X, digit);
}

/** softmax of one row of scores. */
function softmax(scores: ArrayLike<number>): number[] {
  const top = Math.max(...Array.from(scores));
  const exps = Array.from(scores, (s) => Math.exp(s - top));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** Bars of the class probabilities p (10), the predicted digit in red. */
function drawProbs(
  probs: { g: Context2D; W: number; H: number },
  p: number[],
  digit: number,
): void {
  const g = probs.g,
    barW = (probs.W - 20) / 10;
  g.font = '12px sans-serif';
  for (let c = 0; c < 10; c++) {
    const h = (probs.H - 40) * p[c];
    g.fillStyle = c === digit ? '#d62728' : '#1f77b4';
    g.fillRect(10 + c * barW + 3, probs.H - 20 - h, barW - 6, h);
    g.fillStyle = '#333';
    g.fillText(String(c), 10 + c * barW + barW / 2 - 3, probs.H - 5);
    if (p[c] >= 0.01) g.fillText(`${Math.round(100 * p[c])}%`, 10 + c * barW + 2, probs.H - 24 - h);
  }
}

/** 28x28 grey levels in [0, 1] (row-major) on the canvas #id, one square per pixel. */
function drawGrey(id: string, values: ArrayLike<number>): void {
  const { g, W } = canvas(id),
    s = W / 28;
  for (let q = 0; q < 784; q++) {
    const v = Math.round(255 * values[q]);
    g.fillStyle = `rgb(${v},${v},${v})`;
    g.fillRect((q % 28) * s, Math.floor(q / 28) * s, s, s);
  }
}

/**
 * The saliency map of X (1, 1, 28, 28) for class `digit`: S (1, 28, 28) = |X * d score_digit / d X|
 * (vis.gradientTimesInput, test mode, as `layerwise visualize saliency`: the plain gradient of
 * this net is a speckle, see the README), drawn with the inferno colour map scaled to its maximum.
 */
function showSaliency(m: models.Model, X: FloatTensor, digit: number): void {
  if (!nn.isClassifier(m)) {
    clearSaliency('saliency: the model has no inputGradient');
    return;
  }
  const S = vis.gradientTimesInput(m, X, Int32Array.of(digit)); // S: (1, 28, 28) float64
  let max = 0;
  for (const v of S.data) max = Math.max(max, v);
  const { g, W } = canvas('saliency'),
    s = W / 28;
  for (let q = 0; q < 784; q++) {
    const [r, gr, b] = vis.INFERNO(max > 0 ? S.data[q] / max : 0);
    g.fillStyle = `rgb(${r},${gr},${b})`;
    g.fillRect((q % 28) * s, Math.floor(q / 28) * s, s, s);
  }
  state.saliency = { digit, input: Array.from(X.data), map: Array.from(S.data), max };
  el('saliency-label').textContent =
    `saliency for class ${digit}:\n|pixel × ∂ score${String.fromCharCode(0x2080 + digit)} / ∂ pixel|, ` +
    `max ${max.toPrecision(2)}`;
}

/** Black saliency view with a caption saying why. */
function clearSaliency(caption: string): void {
  const { g, W, H } = canvas('saliency');
  g.fillStyle = '#000';
  g.fillRect(0, 0, W, H);
  state.saliency = null;
  el('saliency-label').textContent = caption;
}

function setUpDrawing(): void {
  const { c, g, W, H } = canvas('draw');
  g.fillStyle = '#000';
  g.fillRect(0, 0, W, H);
  drawGrey('seen', new Float32Array(784));
  clearSaliency('saliency: draw a digit');
  let last: { x: number; y: number } | null = null;
  const at = (e: PointerLike) => {
    const r = c.getBoundingClientRect();
    return { x: ((e.clientX - r.left) * W) / r.width, y: ((e.clientY - r.top) * H) / r.height };
  };
  c.addEventListener('pointerdown', (e) => {
    e.preventDefault();
    c.setPointerCapture?.(e.pointerId);
    last = at(e);
    strokes++;
  });
  c.addEventListener('pointermove', (e) => {
    if (last === null) return;
    const p = at(e);
    g.strokeStyle = '#fff';
    g.lineWidth = 20;
    g.lineCap = 'round';
    g.beginPath();
    g.moveTo(last.x, last.y);
    g.lineTo(p.x, p.y);
    g.stroke();
    last = p;
  });
  const end = () => {
    if (last === null) return;
    last = null;
    predictDrawn();
  };
  c.addEventListener('pointerup', end);
  c.addEventListener('pointerleave', end);
  el('clear').addEventListener('click', () => {
    g.fillStyle = '#000';
    g.fillRect(0, 0, W, H);
    drawGrey('seen', new Float32Array(784));
    strokes = 0;
    predictDrawn();
  });
}

function frame(t: number): void {
  state.frames.push(t);
  el('progress').textContent = progressLine || 'starting…';
  drawLoss();
  drawAccuracy();
  page.requestAnimationFrame(frame);
}

function fail(e: unknown): void {
  setStatus('error');
  state.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  el('error').textContent = state.error;
}

setBackend('reference'); // this thread only classifies the drawn digit
setUpDrawing();
el('pause').addEventListener('click', () => {
  if (run === null) return;
  if (state.status === 'training') {
    void run.pause().then(() => {
      setStatus('paused');
      el('pause').textContent = 'resume';
    });
  } else if (state.status === 'paused') {
    void run.resume().then(() => {
      setStatus('training');
      el('pause').textContent = 'pause';
    });
  }
});
el('stop').addEventListener('click', () => run?.stop());
el('restart').addEventListener('click', () => void start().catch(fail));
page.requestAnimationFrame(frame);
void refreshModel();
void start().catch(fail);
