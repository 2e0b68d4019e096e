// examples/browser/spirals.ts: trains a small network on the spirals problem live in a web page,
// drawing the loss curve and the decision regions on <canvas>, and shows float64 gradient
// checks of a few layers. Loaded by spirals.html from dist/examples/browser/spirals.js, it imports
// only the browser entry (dist/src/browser.js), as a native ES module, with no bundler.
//   npm run build && node examples/browser/serve.mjs   then open the printed address
import { kernels, setBackend, Tensor, type optim } from '../../src/browser.js';
import {
  accuracy,
  adamStep,
  layerGradchecks,
  predict,
  spiralNet,
  spirals,
  type GradcheckRow,
} from './toy.js';

// The few DOM members used here (the project's lib has no DOM types).
interface Context2D {
  fillStyle: string;
  strokeStyle: string;
  lineWidth: number;
  font: string;
  clearRect(x: number, y: number, w: number, h: number): void;
  fillRect(x: number, y: number, w: number, h: number): void;
  beginPath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  arc(x: number, y: number, r: number, start: number, end: number): void;
  stroke(): void;
  fill(): void;
  fillText(text: string, x: number, y: number): void;
}
interface Canvas {
  readonly width: number;
  readonly height: number;
  getContext(kind: '2d'): Context2D | null;
}
interface Element {
  textContent: string | null;
  value: string;
  disabled: boolean;
  addEventListener(type: string, fn: () => void): void;
}
interface Document {
  getElementById(id: string): unknown;
  readonly body: { dataset: Record<string, string> };
}
const doc = (globalThis as unknown as { document: Document }).document;

const el = (id: string): Element => {
  const e = doc.getElementById(id);
  if (e === null) throw new Error(`demo: no element #${id}`);
  return e as Element;
};
const ctx2d = (id: string): { g: Context2D; W: number; H: number } => {
  const c = doc.getElementById(id) as Canvas | null;
  const g = c?.getContext('2d');
  if (!c || !g) throw new Error(`demo: no canvas #${id}`);
  return { g, W: c.width, H: c.height };
};

const C = 3,
  STEPS = 1500,
  STEPS_PER_FRAME = 15,
  LEARNING_RATE = 0.01;
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c'];
const REGION_COLOURS = ['#c6dbef', '#fcc5c0', '#c7e9c0'];

/** "wasm (simd, unshared memory, 1 thread)" or "reference". */
function describeBackend(): string {
  const k = kernels.currentBackend() as kernels.Kernels & { info?: kernels.WasmInfo };
  if (!k.info) return k.name;
  const { simd, shared, threads } = k.info;
  return `${k.name} (${simd}, ${shared ? 'shared' : 'unshared'} memory, ${threads} thread${threads === 1 ? '' : 's'})`;
}

/** The loss per step, on a log scale, with the first and last values written out. */
function drawLoss(losses: readonly number[]): void {
  const { g, W, H } = ctx2d('loss');
  const pad = 36,
    top = Math.log10(Math.max(...losses, 1.2)),
    bottom = Math.log10(Math.max(1e-3, Math.min(...losses)));
  const lo = Math.floor(bottom),
    hi = Math.ceil(top);
  const x = (i: number): number => pad + ((W - pad - 8) * i) / (STEPS - 1);
  const y = (v: number): number => 8 + ((H - pad) * (hi - Math.log10(v))) / (hi - lo);
  g.clearRect(0, 0, W, H);
  g.strokeStyle = '#ddd';
  g.fillStyle = '#555';
  g.font = '11px sans-serif';
  g.lineWidth = 1;
  for (let e = lo; e <= hi; e++) {
    g.beginPath();
    g.moveTo(pad, y(10 ** e));
    g.lineTo(W - 8, y(10 ** e));
    g.stroke();
    g.fillText(`1e${e}`, 2, y(10 ** e) + 4);
  }
  g.fillText(`step ${losses.length} of ${STEPS}`, W - 110, H - 10);
  g.strokeStyle = '#1f77b4';
  g.lineWidth = 1.5;
  g.beginPath();
  losses.forEach((v, i) => (i === 0 ? g.moveTo(x(i), y(v)) : g.lineTo(x(i), y(v))));
  g.stroke();
}

/** The class the net predicts over [-1, 1]², cell by cell, with the training points on top. */
function drawRegions(net: ReturnType<typeof spiralNet>, X: ArrayLike<number>, y: Int32Array): void {
  const { g, W, H } = ctx2d('regions');
  const cells = 80,
    grid = new Float32Array(cells * cells * 2);
  const toX = (px: number): number => (2 * px) / W - 1,
    toY = (py: number): number => 1 - (2 * py) / H;
  for (let r = 0; r < cells; r++) {
    for (let c = 0; c < cells; c++) {
      grid[2 * (r * cells + c)] = toX(((c + 0.5) * W) / cells);
      grid[2 * (r * cells + c) + 1] = toY(((r + 0.5) * H) / cells);
    }
  }
  const labels = predict(net.loss(new Tensor(grid, [cells * cells, 2]))); // scores (cells², C)
  for (let r = 0; r < cells; r++) {
    for (let c = 0; c < cells; c++) {
      g.fillStyle = REGION_COLOURS[labels[r * cells + c]];
      g.fillRect(
        Math.floor((c * W) / cells),
        Math.floor((r * H) / cells),
        Math.ceil(W / cells),
        Math.ceil(H / cells),
      );
    }
  }
  for (let n = 0; n < y.length; n++) {
    g.fillStyle = COLOURS[y[n]];
    g.beginPath();
    g.arc(((X[2 * n] + 1) * W) / 2, ((1 - X[2 * n + 1]) * H) / 2, 2.5, 0, 2 * Math.PI);
    g.fill();
  }
}

/** One line per check: layer, gradient, relative error, bound, verdict. */
function showGradchecks(rows: readonly GradcheckRow[]): boolean {
  const lines = rows.map((r) => {
    const ok = r.relError < r.bound;
    return `${(r.layer + ' ' + r.grad).padEnd(20)} ${r.relError.toExponential(2).padStart(9)}  < ${r.bound.toExponential(0)}  ${ok ? 'ok' : 'FAIL'}`;
  });
  el('gradchecks').textContent = lines.join('\n');
  return rows.every((r) => r.relError < r.bound);
}

const train = spirals(100, C, 1),
  test = spirals(50, C, 2);
let run = 0;

/** Trains a fresh net from `seed`, STEPS_PER_FRAME steps per timer tick, redrawing as it goes. */
function start(seed: number): void {
  const id = ++run; // a restart abandons the previous run at its next tick
  setBackend(el('backend').value === 'reference' ? 'reference' : 'auto');
  el('backendInfo').textContent = describeBackend();
  doc.body.dataset.status = 'training';
  const net = spiralNet(C, 64, seed);
  const configs: Record<string, optim.OptimConfig> = {};
  const losses: number[] = [];
  let ms = 0;
  const tick = (): void => {
    if (id !== run) return;
    const t0 = performance.now();
    for (let s = 0; s < STEPS_PER_FRAME && losses.length < STEPS; s++) {
      losses.push(adamStep(net, configs, train.X, train.y, LEARNING_RATE));
    }
    ms += performance.now() - t0;
    drawLoss(losses);
    const last = losses.length === STEPS;
    if (last || losses.length % 75 === 0) drawRegions(net, train.X.data, train.y);
    const trainAcc = accuracy(net.loss(train.X), train.y);
    el('progress').textContent =
      `step ${losses.length}/${STEPS}  loss ${losses[losses.length - 1].toFixed(4)}  ` +
      `train acc ${(100 * trainAcc).toFixed(1)}%` +
      (ms > 0 ? `  ${(ms / losses.length).toFixed(2)} ms/step` : ''); // 0 under a headless virtual clock
    if (!last) {
      setTimeout(tick, 0);
      return;
    }
    const testAcc = accuracy(net.loss(test.X), test.y);
    el('progress').textContent += `  test acc ${(100 * testAcc).toFixed(1)}%`;
    el('summary').textContent = JSON.stringify({
      backend: describeBackend(),
      steps: STEPS,
      firstLoss: losses[0],
      finalLoss: losses[STEPS - 1],
      trainAcc,
      testAcc,
      msPerStep: ms / STEPS,
    });
    doc.body.dataset.status = 'done';
  };
  tick();
}

let seed = 0;
// ?backend=reference starts on the reference kernels (e.g. to compare speed, or headless checks)
if (
  new URLSearchParams(
    (globalThis as unknown as { location: { search: string } }).location.search,
  ).get('backend') === 'reference'
) {
  el('backend').value = 'reference';
}
el('restart').addEventListener('click', () => start(++seed));
el('backend').addEventListener('change', () => start(seed));
start(seed);
setTimeout(() => {
  const ok = showGradchecks(layerGradchecks(0));
  doc.body.dataset.gradchecks = ok ? 'pass' : 'fail';
}, 0);
