// layerwise export / import and eval --output, end to end on a tiny trained run: the ONNX file run
// by onnxruntime-web gives eval's scores, the torch export imports back to the same model.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEmbeddedMnist, parseNpy } from '../../src/data/index.js';
import { readSafetensors, saveModel } from '../../src/io/index.js';
import { DCGANGenerator } from '../../src/models/index.js';
import { Tensor } from '../../src/tensor/index.js';

ort.env.wasm.numThreads = 1;
const MAIN = resolve('dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'layerwise-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  const r = cli('train', '--limit', '300', '--epochs', '1', '--batch-size', '32', '--out', 'run');
  expect(r.code, r.stderr).toBe(0); // stderr carries the progress bar
}, 120_000);

describe('layerwise export, import and eval --output', () => {
  it('eval --output writes the scores and classes as .npy and as .json', () => {
    const npy = cli('eval', 'run/model.safetensors', '--limit', '300', '--output', 'scores.npy');
    expect(npy.code).toBe(0);
    expect(npy.stdout).toContain('wrote scores.npy, scores.classes.npy');
    const scores = parseNpy(readFileSync(join(dir, 'scores.npy')));
    const classes = parseNpy(readFileSync(join(dir, 'scores.classes.npy')));
    expect(scores.dtype).toBe('float32');
    expect(scores.shape[1]).toBe(10);
    expect(classes.shape).toEqual([scores.shape[0]]);
    const json = cli('eval', 'run/model.safetensors', '--limit', '300', '--output', 'scores.json');
    expect(json.code).toBe(0);
    const out = JSON.parse(readFileSync(join(dir, 'scores.json'), 'utf8')) as {
      classNames: string[];
      samples: { id: string; scores: number[]; predicted: number; predictedName: string }[];
    };
    expect(out.samples.length).toBe(scores.shape[0]);
    expect(out.samples[3].scores).toEqual(Array.from(scores.data.subarray(30, 40)));
    expect(out.samples[3].predicted).toBe(classes.data[3]);
    expect(out.samples[3].predictedName).toBe(out.classNames[classes.data[3]]);
    const bad = cli('eval', 'run/model.safetensors', '--output', 'scores.csv');
    expect(bad.stderr).toBe(
      "layerwise eval: --output must name a .json or .npy file, got 'scores.csv'\n",
    );
    expect(bad.code).toBe(2);
  });

  it("--format onnx: onnxruntime-web gives eval's scores on the test digits", async () => {
    const r = cli('export', 'run/model.safetensors', '--format', 'onnx', '--out', 'model.onnx');
    expect(r.code).toBe(0);
    const all = cli('eval', 'run/model.safetensors', '--limit', '100000', '--output', 'all.npy');
    expect(all.code, all.stderr).toBe(0);
    const ours = parseNpy(readFileSync(join(dir, 'all.npy'))).data;
    const X = loadEmbeddedMnist().XTest; // the default cnn uses no preprocessing
    const session = await ort.InferenceSession.create(readFileSync(join(dir, 'model.onnx')));
    const input = new ort.Tensor('float32', X.data as Float32Array, X.shape);
    const theirs = (await session.run({ input })).scores.data as Float32Array;
    expect(theirs.length).toBe(ours.length);
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(theirs[i] - ours[i]));
    expect(worst).toBeLessThan(1e-4);
  });

  it('--format torch writes a state dict and model.py that import takes back exactly', () => {
    const r = cli('export', 'run/model.safetensors', '--format', 'torch', '--out', 'torch');
    expect(r.code).toBe(0);
    const sd = readSafetensors(join(dir, 'torch/model.safetensors'));
    expect(Object.keys(sd.tensors)).toContain('bn1.num_batches_tracked');
    expect(sd.tensors['fc2.weight'].shape).toEqual([100, 3136]);
    expect(sd.metadata.format).toBe('pt');
    const py = readFileSync(join(dir, 'torch/model.py'), 'utf8');
    expect(py).toContain('("conv1", nn.Conv2d(1, 16, kernel_size=5, padding=2)),');
    expect(py).toContain('def preprocess(x):');
    const imp = cli(
      'import',
      'torch/model.safetensors',
      '--model',
      'cnn',
      '--out',
      'back.safetensors',
    );
    expect(imp.stderr).toBe('');
    const a = readSafetensors(join(dir, 'run/model.safetensors')).tensors;
    const b = readSafetensors(join(dir, 'back.safetensors')).tensors;
    for (const k of Object.keys(a)) expect(Array.from(b[k].data)).toEqual(Array.from(a[k].data));
    const e1 = cli('eval', 'run/model.safetensors', '--limit', '300').stdout.split('\n')[1];
    const e2 = cli('eval', 'back.safetensors', '--limit', '300').stdout.split('\n')[1];
    expect(e2).toBe(e1);
  });

  it('refuses a state dict that does not fit the architecture, listing the keys', () => {
    const r = cli('import', 'torch/model.safetensors', '--model', 'mlp', '--out', 'x.safetensors');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^layerwise import: torch\/model.safetensors: the state dict does not fit the model \(strict\): missing keys 'fc1.weight', 'fc1.bias'; unexpected keys 'conv1.weight'/,
    );
    expect(cli('export', 'run/model.safetensors', '--out', 'x').stderr).toBe(
      'layerwise export: --format onnx or --format torch is required\n',
    );
  });

  it("exports a model file of io.saveModel too: the GAN's generator, run by onnxruntime-web", async () => {
    const gen = new DCGANGenerator({ latentDim: 5, width: 2, seed: 3 });
    saveModel(join(dir, 'generator.safetensors'), gen, { inputShape: [5] }); // as 'layerwise gan'
    const r = cli('export', 'generator.safetensors', '--format', 'onnx', '--out', 'gen.onnx');
    expect(r.code, r.stderr).toBe(0);
    const session = await ort.InferenceSession.create(readFileSync(join(dir, 'gen.onnx')));
    const z = Tensor.randn([3, 5], { seed: 4 });
    const out = await session.run({
      input: new ort.Tensor('float32', z.data as Float32Array, [3, 5]),
    });
    expect(out.scores.dims).toEqual([3, 1, 28, 28]);
    const ours = gen.eval().forward(z);
    const theirs = out.scores.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < ours.size; i++) worst = Math.max(worst, Math.abs(theirs[i] - ours.data[i]));
    expect(worst).toBeLessThan(1e-5);
    const t = cli('export', 'generator.safetensors', '--format', 'torch', '--out', 'gen-torch');
    expect(t.code, t.stderr).toBe(0);
    const py = readFileSync(join(dir, 'gen-torch', 'model.py'), 'utf8');
    expect(py).toContain('"""DCGANGenerator saved by io.saveModel, exported by layerwise');
    expect(py).toContain('nn.ConvTranspose2d(4, 2, kernel_size=4, stride=2, padding=1)');
    expect(
      Object.keys(readSafetensors(join(dir, 'gen-torch', 'model.safetensors')).tensors),
    ).toContain('4.weight');
    const bad = cli('export', 'scores.json', '--format', 'onnx', '--out', 'x.onnx');
    expect(bad.code).toBe(1); // a file error, as in eval
    expect(bad.stderr).toMatch(/^layerwise export: scores.json: not a layerwise checkpoint/);
  });
});
