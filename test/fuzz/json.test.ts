// test/fuzz/json.test.ts: the seeded mutation fuzzer over the JSON-carrying formats: architecture
// files (--model FILE.json, and the model spec a checkpoint stores) and model checkpoints
// (io.loadModel: safetensors whose metadata holds the model config as JSON). Verdicts as in
// mutate.ts: accepted, or refused with the library's own error type, fast and bounded.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildModel, resolveModelSpec, type ModelSpec } from '../../src/cli/modelSpec.js';
import { decodeSafetensors, encodeSafetensors, loadModel, saveModel } from '../../src/io/index.js';
import { TwoLayerNet } from '../../src/models/index.js';
import {
  expectGraceful,
  FuzzRng,
  mutateBytes,
  mutateJson,
  PROTO_NAMES,
  tally,
  type Json,
} from './mutate.js';

const CASES = Number(process.env.FUZZ_CASES ?? 300);
const SEED_BASE = Number(process.env.FUZZ_SEED ?? 0) * 1000;
const dir = mkdtempSync(join(tmpdir(), 'layerwise-fuzz-json-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ARCHITECTURES: Json[] = [
  {
    sequential: [
      { type: 'Conv2d', inChannels: 1, outChannels: 4, kernelSize: 3, pad: 1 },
      { type: 'BatchNorm2d', numFeatures: 4 },
      { type: 'ReLU' },
      { type: 'MaxPool2d', kernelSize: 2 },
      { type: 'Flatten' },
      { type: 'Linear', inFeatures: 784, outFeatures: 10 },
    ],
    reg: 0,
  },
  { type: 'FullyConnectedNet', options: { hiddenDims: [20, 10], normalization: 'batchnorm' } },
  { type: 'ThreeLayerConvNet', options: { numFilters: 4, filterSize: 3, hiddenDim: 8 } },
  { type: 'TwoLayerNet', options: { hiddenDim: 16 } },
];
const MODULES = ['Conv2d', 'Linear', 'ReLU', 'Flatten', 'MaxPool2d', 'BatchNorm2d', 'Dropout'];
const SHAPE = { inputShape: [1, 28, 28], numClasses: 10, seed: 0 };

describe('fuzz: architecture JSON', () => {
  it(`${CASES} mutated architecture files: resolved and built, or a FileError`, () => {
    const t = tally();
    for (let i = 0; i < CASES; i++) {
      const rng = new FuzzRng((SEED_BASE + 11) * 100_003 + i);
      const path = join(dir, `arch${i}.json`);
      const text = mutateJson(rng.pick(ARCHITECTURES), rng, MODULES);
      writeFileSync(path, rng.int(10) === 0 ? text.slice(0, rng.int(text.length)) : text);
      expectGraceful(
        `architecture case ${i}`,
        () => {
          const spec = resolveModelSpec('train', path, SHAPE);
          return buildModel(spec, `train: ${path}`, SHAPE.inputShape);
        },
        t,
      );
      // the same spec stored in a checkpoint (parsed, unchecked) is checked again when rebuilt
      let stored: unknown = null;
      try {
        stored = JSON.parse(text);
      } catch {
        continue;
      }
      expectGraceful(
        `stored spec case ${i}`,
        () => buildModel(stored as ModelSpec, 'eval: ckpt', SHAPE.inputShape),
        t,
      );
    }
    expect(t.refused).toBeGreaterThan(CASES / 3);
    if (process.env.FUZZ_REPORT)
      console.log(`architecture: ${t.refused} refused, ${t.accepted} accepted`);
  });
});

describe('fuzz: model checkpoints (io.loadModel)', () => {
  it(`${CASES} mutated model files: loaded, or refused with a library error, bounded`, () => {
    const good = join(dir, 'model.safetensors');
    saveModel(good, new TwoLayerNet({ inputDim: 6, hiddenDim: 5, numClasses: 3, seed: 0 }));
    const bytes = new Uint8Array(readFileSync(good));
    const { tensors, metadata } = decodeSafetensors(bytes);
    const t = tally();
    for (let i = 0; i < CASES; i++) {
      const rng = new FuzzRng((SEED_BASE + 12) * 100_003 + i);
      const path = join(dir, `ckpt${i}.safetensors`);
      let mutated: Uint8Array;
      if (rng.int(3) === 0) mutated = mutateBytes(bytes, rng);
      else {
        // one metadata value (config, param names, kind, version) mutated as JSON
        const meta = { ...metadata };
        const key = rng.pick(Object.keys(meta));
        let value: unknown;
        try {
          value = JSON.parse(meta[key]);
        } catch {
          value = meta[key];
        }
        const names = [...PROTO_NAMES, 'LinearClassifier', 'CaptioningRNN', 'Sequential'];
        meta[key] = mutateJson(value as never, rng, names);
        mutated = encodeSafetensors(tensors, meta);
      }
      writeFileSync(path, mutated);
      expectGraceful(`checkpoint case ${i}`, () => loadModel(path), t);
    }
    expect(t.refused).toBeGreaterThan(CASES / 3);
    if (process.env.FUZZ_REPORT)
      console.log(`checkpoint: ${t.refused} refused, ${t.accepted} accepted`);
  });
});
