// --model specs: architecture files and the specs stored in checkpoints are checked before any
// network is built (own-property lookups, sizes bounded by MAX_MODEL_BYTES).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildModel, resolveModelSpec, type ModelSpec } from '../../src/cli/modelSpec.js';
import { MAX_MODEL_BYTES } from '../../src/cli/modelSize.js';
import { FileError } from '../../src/tensor/index.js';

const dir = mkdtempSync(join(tmpdir(), 'layerwise-spec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const shape = { inputShape: [1, 28, 28], numClasses: 10, seed: 0 };
function arch(name: string, json: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof json === 'string' ? json : JSON.stringify(json));
  return path;
}
const resolve = (path: string) => resolveModelSpec('train', path, shape);

describe('architecture files', () => {
  it('refuse absurd sizes at once, naming the options and the bytes', () => {
    const path = arch('huge.json', { type: 'TwoLayerNet', options: { hiddenDim: 1e9 } });
    const before = process.memoryUsage().arrayBuffers;
    expect(() => resolve(path)).toThrow(
      `train: ${path}: inputDim, hiddenDim: W1 [784,1000000000] would need 3136000000000 bytes (the network 3176000000000 bytes), more than the limit of ${MAX_MODEL_BYTES}`,
    );
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1e6);
    const conv = arch('conv.json', {
      sequential: [{ type: 'Conv2d', inChannels: 1, outChannels: 100000, kernelSize: 3 }],
    });
    expect(() => resolve(conv)).toThrow(
      `train: ${conv}: sequential[0] (Conv2d): its output [100000,26,26] per sample would need 17305600000 bytes for a batch of 64`,
    );
    const up = arch('up.json', {
      sequential: [
        { type: 'Linear', inFeatures: 784, outFeatures: 49 },
        { type: 'Unflatten', shape: [1, 7, 7] },
        {
          type: 'ConvTranspose2d',
          inChannels: 1,
          outChannels: 100000,
          kernelSize: 4,
          stride: 2,
          pad: 1,
        },
      ],
    });
    expect(() => resolve(up)).toThrow(
      `train: ${up}: sequential[2] (ConvTranspose2d): its output [100000,14,14] per sample would need 5017600000 bytes for a batch of 64`,
    );
    const fc = arch('fc.json', { type: 'FullyConnectedNet', options: { hiddenDims: [10, 5e8] } });
    expect(() => resolve(fc)).toThrow(
      /: hiddenDims\[0\], hiddenDims\[1\]: W2 \[10,500000000\] would need 20000000000 bytes/,
    );
  });

  it('find module and model types among own names only', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const path = arch(`${name}.json`, `{ "sequential": [ { "type": "${name}" } ] }`);
      expect(() => resolve(path)).toThrow(
        new RegExp(`^train: .*: sequential\\[0\\]: unknown module type '${name}'`),
      );
      expect(() => buildModel({ type: name, options: {} }, 'x')).toThrow(
        `x: unknown model type '${name}'`,
      );
    }
  });

  it('are checked again when rebuilt from a checkpoint, before anything is built', () => {
    const stored = { sequential: [{ type: 'constructor' }] } as unknown as ModelSpec;
    expect(() => buildModel(stored, 'eval: ckpt')).toThrow(
      /^eval: ckpt: sequential\[0\]: unknown module type 'constructor'/,
    );
    const wide = {
      sequential: [{ type: 'Linear', inFeatures: 784, outFeatures: 1e9 }],
    } as unknown as ModelSpec;
    expect(() => buildModel(wide, 'eval: ckpt', [1, 28, 28])).toThrow(FileError);
    expect(() => buildModel(null as unknown as ModelSpec, 'eval: ckpt')).toThrow(
      'eval: ckpt: the model spec must be an object',
    );
    const model = buildModel(resolve(arch('ok.json', { type: 'TwoLayerNet', options: {} })), 'x');
    expect(model.params.W1.shape).toEqual([784, 100]);
  });
});
