// The `layerwise` command, spawned as a process from dist/ (npm test builds it first: pretest).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEmbeddedMnist } from '../../src/data/index.js';
import {
  decodePng,
  encodePng,
  readModelInfo,
  readSafetensors,
  VERSION,
  writeSafetensors,
} from '../../src/io/index.js';
import { cliIn, MAIN, type CliResult as Result } from './spawn.js';

const dir = mkdtempSync(join(tmpdir(), 'layerwise-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = cliIn(dir);
/** A failing command: exactly one line on stderr (no stack trace) and the exit code. */
function expectError(r: Result, code: number, message: string): void {
  expect(r.stderr).toBe(`${message}\n`);
  expect(r.code).toBe(code);
}
const pngSize = (path: string) => {
  const img = decodePng(readFileSync(path), path);
  return [img.width, img.height];
};
/**
 * filters.png (vis.filtersPng): F filters side by side (up to 16 a row), each at least 48 pixels
 * wide, and with test images a row of F first-layer outputs for each of 4 images below them.
 */
function expectFilters(path: string, F: number, side: number, withImages: boolean): void {
  const [w, h] = pngSize(path);
  const drawn = side * Math.min(16, Math.floor(64 / side)); // pixels per filter
  expect(drawn).toBeGreaterThanOrEqual(48);
  expect(w).toBeGreaterThan(Math.min(F, 16) * drawn);
  expect(h).toBeGreaterThan(Math.ceil(F / 16) * drawn + (withImages ? 4 * 28 : 0));
}
// A small conv net so that a run takes a second or two.
const TINY = ['--limit', '300', '--epochs', '2', '--batch-size', '16', '--warmup', '0'];

beforeAll(() => {
  expect(
    existsSync(MAIN),
    `${MAIN} is missing: run 'npm run build' (npm test does it in pretest)`,
  ).toBe(true);
});

describe('layerwise --help', () => {
  it('prints the commands, and each command its options', () => {
    const top = cli('--help');
    expect(top.code).toBe(0);
    for (const c of ['train', 'eval', 'predict', 'gradcheck', 'caption', '--backend'])
      expect(top.stdout).toContain(c);
    for (const [cmd, flag] of [
      ['train', '--resume'],
      ['eval', '--split'],
      ['predict', '--top'],
      ['gradcheck', '--only'],
    ]) {
      const r = cli(cmd, '--help');
      expect(r.code, cmd).toBe(0);
      expect(r.stdout).toContain(`Usage: layerwise ${cmd}`);
      expect(r.stdout).toContain(flag);
    }
    expect(cli('train', '--help').stdout).toContain('"sequential"');
  });
});

describe('wrong flags and values: one line, exit 2', () => {
  it('names the flag and suggests the right one', () => {
    expectError(
      cli('train', '--epoch', '3'),
      2,
      "layerwise train: unknown option '--epoch' (did you mean '--epochs'?) (see 'layerwise train --help')",
    );
    expectError(
      cli('train', '--epochs', 'x'),
      2,
      "layerwise train: --epochs must be an integer, got 'x'",
    );
    expectError(cli('train', '--epochs', '0'), 2, 'layerwise train: --epochs must be >= 1, got 0');
    expectError(cli('train', '--lr'), 2, 'layerwise train: --lr needs a value');
    expectError(
      cli('train', '--optimizer', 'adm'),
      2,
      "layerwise train: --optimizer must be 'sgd', 'sgdMomentum', 'nesterov', 'rmsprop', 'adagrad', 'adam' or 'adamw', got 'adm' (did you mean 'adam'?)",
    );
    expectError(
      cli('train', '--augment', 'rotate'),
      2,
      "layerwise train: --augment must be auto, none, shift:N or flip-crop:N, got 'rotate'",
    );
    expectError(
      cli('train', '--dataset', 'cifar10'),
      2,
      'layerwise train: --dataset cifar10 needs --data-dir DIR',
    );
    expectError(
      cli('--backend', 'gpu', 'gradcheck'),
      2,
      "layerwise: --backend must be 'auto', 'reference' or 'wasm', got 'gpu'",
    );
    expectError(
      cli('frobnicate'),
      2,
      "layerwise: unknown command 'frobnicate' (try 'layerwise --help')",
    );
    expectError(
      cli('eval'),
      2,
      "layerwise eval: expected one checkpoint file, got 0 arguments (see 'layerwise eval --help')",
    );
  });

  it('missing files: one line naming the file, exit 1', () => {
    expectError(
      cli('train', '--model', 'arch.json'),
      1,
      'layerwise train: arch.json: no such file (--model is cnn, mlp, fc, vit or an architecture file)',
    );
    expectError(
      cli('train', '--dataset', 'npy', '--data-dir', 'nowhere'),
      1,
      'layerwise train: nowhere: no such folder (--data-dir)',
    );
    expectError(
      cli('eval', 'none.safetensors'),
      1,
      'layerwise eval: none.safetensors: no such file',
    );
  });

  it('architecture files: errors name the file and the bad entry', () => {
    writeFileSync(
      join(dir, 'bad1.json'),
      '{ "sequential": [ { "type": "ReLU" }, { "type": "Conv2D", "inChannels": 1 } ] }',
    );
    expectError(
      cli('train', '--model', 'bad1.json'),
      1,
      "layerwise train: bad1.json: sequential[1]: unknown module type 'Conv2D' (did you mean 'Conv2d'?)",
    );
    writeFileSync(
      join(dir, 'bad2.json'),
      '{ "sequential": [ { "type": "Linear", "inFeatures": 784, "outFeature": 10 } ] }',
    );
    expectError(
      cli('train', '--model', 'bad2.json'),
      1,
      "layerwise train: bad2.json: sequential[0] (Linear): unknown key 'outFeature' (did you mean 'outFeatures'?)",
    );
    writeFileSync(
      join(dir, 'bad3.json'),
      '{ "type": "FullyConnectedNet", "options": { "hiddenDim": [10] } }',
    );
    expectError(
      cli('train', '--model', 'bad3.json'),
      1,
      "layerwise train: bad3.json: FullyConnectedNet: unknown option 'hiddenDim' (did you mean 'hiddenDims'?)",
    );
    writeFileSync(
      join(dir, 'bad4.json'),
      '{ "sequential": [ { "type": "Flatten" }, { "type": "Linear", "inFeatures": 100, "outFeatures": 10 } ] }',
    );
    const r = cli('train', '--model', 'bad4.json');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^layerwise train: bad4\.json: the network does not fit inputs of shape \[1,28,28\]: .+\n$/,
    );
    writeFileSync(join(dir, 'bad5.json'), '{ "sequential": [ ');
    expect(cli('train', '--model', 'bad5.json').stderr).toMatch(
      /^layerwise train: bad5\.json: not valid JSON \(.+\)\n$/,
    );
  });
});

describe('train, eval and predict', () => {
  const out = join(dir, 'run');
  let train: Result;
  beforeAll(() => {
    train = cli('train', ...TINY, '--out', 'run');
  }, 120_000);

  it('trains, prints per-epoch lines and the test accuracy, writes the files', () => {
    expect(train.stderr).not.toMatch(/Error|at .*\.js/);
    expect(train.code).toBe(0);
    expect(train.stdout).toMatch(/^training cnn on mnist \(300 train \/ 300 val \/ 300 test\)/);
    expect(train.stdout).toMatch(
      /\nepoch 1\/2 {2}loss \d\.\d{4} {2}train acc \d+\.\d% {2}val acc \d+\.\d% {2}lr \d\.\de-\d {2}[\d,]+ samples\/s {2}\d+:\d\d\n/,
    );
    expect(train.stdout).toMatch(/\ntest accuracy \d+\.\d\d% \(\d+\/300\)/);
    expect(train.stderr).toMatch(/iteration 1\/38 {2}epoch 1\/2 {2}loss/); // the plain progress lines (not a TTY)
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.epochs).toHaveLength(2);
    expect(metrics.lossHistory).toHaveLength(38);
    expect(metrics.testCount).toBe(300);
    expect(metrics.testAcc).toBeGreaterThan(0.25); // 300 digits, 38 steps: well above chance (10%)
    expect(train.stdout).toContain(`test accuracy ${(metrics.testAcc * 100).toFixed(2)}%`);
    expect(['wasm', 'reference']).toContain(metrics.backend);
    expect(pngSize(join(out, 'curves.png'))).toEqual([960, 360]);
    expectFilters(join(out, 'filters.png'), metrics.model.options.numFilters, 5, true);
    const ckpt = readSafetensors(join(out, 'checkpoint.safetensors'));
    expect(ckpt.metadata['layerwise.kind']).toBe('training');
    const info = JSON.parse(
      readSafetensors(join(out, 'model.safetensors')).metadata['layerwise.cli'],
    );
    expect(info.preprocessing).toEqual({ kind: 'none' });
    expect(info.inputShape).toEqual([1, 28, 28]);
    // the library's own description of the model, as io.readModelInfo reads it
    for (const name of ['model.safetensors', 'checkpoint.safetensors']) {
      const described = readModelInfo(join(out, name));
      expect(described.library).toBe(VERSION);
      expect(described.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      expect(described.inputShape).toEqual([1, 28, 28]);
      expect(described.preprocessing).toEqual({ kind: 'none' });
    }
  });

  it('eval: the accuracy train reported, and a confusion matrix', () => {
    const r = cli('eval', 'run/model.safetensors');
    expect(r.code).toBe(0);
    const acc = /test accuracy (\d+\.\d\d)%/.exec(train.stdout)?.[1];
    expect(r.stdout).toContain(`accuracy ${acc}%`);
    const rows = r.stdout.split('\n').filter((l) => /^\d\s/.test(l));
    expect(rows).toHaveLength(10);
    const total = rows
      .flatMap((l) => l.trim().split(/\s+/).slice(1, 11).map(Number))
      .reduce((a, b) => a + b, 0);
    expect(total).toBe(300);
  });

  it('predict: PNGs of a digit in grey, in RGB at another size, dark on light', () => {
    const d = loadEmbeddedMnist();
    const i = 1500,
      label = d.yTest[i]; // a 7
    const grey = Uint8Array.from(d.XTest.data.subarray(i * 784, (i + 1) * 784), (v) =>
      Math.round(v * 255),
    );
    writeFileSync(join(dir, 'digit.png'), encodePng(grey, 28, 28, 1));
    const rgb = new Uint8Array(56 * 56 * 3); // twice the size, black on white, RGB
    for (let y = 0; y < 56; y++)
      for (let x = 0; x < 56; x++)
        rgb.fill(255 - grey[(y >> 1) * 28 + (x >> 1)], (y * 56 + x) * 3, (y * 56 + x) * 3 + 3);
    writeFileSync(join(dir, 'digit-rgb.png'), encodePng(rgb, 56, 56, 3));
    const r = cli('predict', 'run/model.safetensors', 'digit.png', 'digit-rgb.png', '--top', '2');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^digit\.png {6}\d {2}\(\d \d+\.\d%, \d \d+\.\d%\)$/);
    expect(lines[1]).toMatch(/^digit-rgb\.png {2}\d {2}\(/);
    expect(lines[0].split(/\s+/)[1]).toBe(String(label));
    expect(lines[1].split(/\s+/)[1]).toBe(String(label));
  });

  it('missing and malformed files: one line naming the file, exit 1', () => {
    writeFileSync(join(dir, 'junk.safetensors'), 'not a checkpoint at all');
    const junk = cli('eval', 'junk.safetensors');
    expect(junk.code).toBe(1);
    expect(junk.stderr).toMatch(
      /^layerwise eval: junk\.safetensors: not a layerwise checkpoint \(.+\)\n$/,
    );
    writeFileSync(join(dir, 'junk.png'), 'not a png');
    expectError(
      cli('predict', 'run/model.safetensors', 'junk.png'),
      1,
      'layerwise predict: junk.png: not a PNG file (bad signature)',
    );
    expectError(
      cli('predict', 'run/model.safetensors', 'nothere.png'),
      1,
      'layerwise predict: nothere.png: no such file',
    );
    expectError(
      cli('predict', 'junk.safetensors'),
      2,
      "layerwise predict: expected a checkpoint and at least one PNG image (see 'layerwise predict --help')",
    );
    expectError(
      cli('train', '--resume', 'run/model.safetensors'),
      1,
      'layerwise train: run/model.safetensors: is not a training checkpoint (use the checkpoint.safetensors of the run)',
    );
    // run info whose class names or input shape contradict the weights is refused, not used
    const { tensors, metadata } = readSafetensors(join(out, 'model.safetensors'));
    const runInfo = JSON.parse(metadata['layerwise.cli']);
    const damaged = (name: string, change: Record<string, unknown>) =>
      writeSafetensors(join(dir, name), tensors, {
        ...metadata,
        'layerwise.cli': JSON.stringify({ ...runInfo, ...change }),
      });
    damaged('names.safetensors', { classNames: ['a', 'b', 'c'] });
    expectError(
      cli('predict', 'names.safetensors', 'digit.png'),
      1,
      'layerwise predict: names.safetensors: has 3 class names but the model gives 10 scores a sample (scores [1,10])',
    );
    damaged('shape.safetensors', { inputShape: [3, 28, 28] });
    expect(cli('eval', 'shape.safetensors').stderr).toMatch(
      /^layerwise eval: shape\.safetensors: the stored input shape \[3,28,28\] does not fit the model \(.+\)\n$/,
    );
    expectError(
      cli('train', '--resume', 'run/checkpoint.safetensors', '--lr', '1'),
      2,
      'layerwise train: --resume continues the saved run with its own options; drop --lr',
    );
  });

  it('fc: the first-layer weights drawn as 28x28 images', () => {
    const r = cli('train', '--model', 'fc', '--limit', '200', '--epochs', '1', '--out', 'fc');
    expect(r.code).toBe(0);
    expectFilters(join(dir, 'fc', 'filters.png'), 64, 28, false);
  });

  it('a sequential architecture file trains, and eval rebuilds it', () => {
    writeFileSync(
      join(dir, 'seq.json'),
      JSON.stringify({
        sequential: [
          { type: 'Conv2d', inChannels: 1, outChannels: 4, kernelSize: 3, pad: 1 },
          { type: 'ReLU' },
          { type: 'MaxPool2d', kernelSize: 2 },
          { type: 'Flatten' },
          { type: 'Linear', inFeatures: 784, outFeatures: 10 },
        ],
      }),
    );
    const r = cli(
      'train',
      '--model',
      'seq.json',
      '--limit',
      '200',
      '--epochs',
      '1',
      '--out',
      'seq',
    );
    expect(r.code).toBe(0);
    expectFilters(join(dir, 'seq', 'filters.png'), 4, 3, true);
    const acc = /test accuracy (\d+\.\d\d)%/.exec(r.stdout)?.[1];
    expect(cli('eval', 'seq/model.safetensors').stdout).toContain(`accuracy ${acc}%`);
  });
});

describe('Ctrl-C and --resume', () => {
  // fc: batch norm (buffers) and dropout (the model's rng), cheap enough for three runs
  const args = ['train', '--model', 'fc', '--limit', '2000', '--epochs', '2', '--batch-size', '16'];

  it('the first SIGINT saves a checkpoint and exits 130; --resume finishes the run as if uninterrupted', async () => {
    const child = spawn(process.execPath, [MAIN, ...args, '--out', 'stopped'], {
      cwd: dir,
      env: { ...process.env, LAYERWISE_BACKEND: '' },
    });
    let stderr = '',
      signalled = false;
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (!signalled && stderr.includes('iteration 1/')) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((done) => child.on('close', done));
    const ckpt = join('stopped', 'checkpoint.safetensors');
    expect(stderr).toContain(
      `interrupted: saved ${ckpt}; resume with: npx layerwise train --resume ${ckpt}\n`,
    );
    expect(stderr).not.toMatch(/Error|at .*\.js/);
    expect(code).toBe(130);
    const state = JSON.parse(readSafetensors(join(dir, ckpt)).metadata['layerwise.training']);
    expect(state.iteration).toBeGreaterThan(0);
    expect(state.iteration).toBeLessThan(250); // stopped early: 2 epochs of 125 iterations
    expect(existsSync(join(dir, 'stopped', 'metrics.json'))).toBe(false);

    const resumed = cli('train', '--resume', ckpt);
    expect(resumed.stderr).not.toMatch(/Error/);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(
      new RegExp(`^resuming at epoch \\d \\(iteration ${state.iteration}\\) fc on mnist`),
    );
    const straight = cli(...args, '--out', 'straight');
    expect(straight.code).toBe(0);
    const a = JSON.parse(readFileSync(join(dir, 'stopped', 'metrics.json'), 'utf8'));
    const b = JSON.parse(readFileSync(join(dir, 'straight', 'metrics.json'), 'utf8'));
    expect(a.lossHistory).toHaveLength(250);
    expect(a.lossHistory).toEqual(b.lossHistory);
    expect(a.valAccHistory).toEqual(b.valAccHistory);
    expect(a.testAcc).toBe(b.testAcc);
  });
});

describe('layerwise gradcheck', () => {
  it('checks every layer in float64 and passes', () => {
    const r = cli('gradcheck');
    expect(r.code).toBe(0);
    for (const layer of [
      'affine',
      'batchnorm (Alt)',
      'spatial batchnorm',
      'conv (naive)',
      'max pool',
      'relu-max pool (fused)',
      'lstm sequence',
      'gru sequence',
      'temporal softmax loss',
    ]) {
      expect(r.stdout).toMatch(
        new RegExp(
          `\\n${layer.replace(/[()]/g, '\\$&')} +d\\w+ +\\d\\.\\d\\de-\\d+ +1e-[57] +pass\\n`,
        ),
      );
    }
    expect(r.stdout).toMatch(/all \d+ layers pass\n$/);
    expectError(
      cli('gradcheck', '--only', 'quantum'),
      2,
      "layerwise gradcheck: no layer matches --only 'quantum'",
    );
  });
});
