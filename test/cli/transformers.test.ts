// `layerwise train --model vit` (spawned from dist/, as the other CLI tests) and
// `layerwise caption --model transformer` (in process): small runs end to end, their pictures,
// their checkpoints, and the comparison with the RNN captioner.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFlags } from '../../src/cli/args.js';
import { CAPTION_FLAGS, captionTask } from '../../src/cli/caption.js';
import { decodePng, loadModel } from '../../src/io/index.js';
import { TEXT_HEIGHT } from '../../src/io/internal.js';
import { CaptioningTransformer, VisionTransformer } from '../../src/models/index.js';

const MAIN = resolve('dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'layerwise-transformers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('layerwise train --model vit', () => {
  it('trains a ViT, saves a loadable model, and draws each head over the patches', () => {
    const r = spawnSync(
      process.execPath,
      [MAIN, 'train', '--model', 'vit', '--limit', '200', '--epochs', '1', '--out', 'vit'],
      { cwd: dir, encoding: 'utf8', env: { ...process.env, LAYERWISE_BACKEND: '' } },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/training vit on mnist/);
    expect(r.stdout).toMatch(/test accuracy [\d.]+%/);
    const model = loadModel(join(dir, 'vit', 'model.safetensors'));
    expect(model).toBeInstanceOf(VisionTransformer);
    expect((model as VisionTransformer).numPatches).toBe(16);
    const metrics = JSON.parse(readFileSync(join(dir, 'vit', 'metrics.json'), 'utf8'));
    expect(metrics.files).toContain('attention.png');
    // 8 rows (test digits) of 1 + 4 heads cells, 28 pixels at scale 3 with 3-pixel borders, a
    // label line over each cell, a title line on top and the colour scale below
    const png = decodePng(readFileSync(join(dir, 'vit', 'attention.png')));
    expect([png.width, png.height]).toEqual([5 * 84 + 6 * 3, pictureHeight(8, 84)]);
    expect(png.channels).toBe(3);
  });
});

/** The height of labelledGridPng's picture: title, rows of (label + cell) and the colour scale. */
const pictureHeight = (rows: number, cellH: number) =>
  TEXT_HEIGHT + 6 + rows * (cellH + TEXT_HEIGHT + 4 + 3) + 2 * TEXT_HEIGHT + 9;

describe('layerwise caption --model transformer', () => {
  it('trains the transformer and the RNN on the same images and reports both', () => {
    const out = join(dir, 'caption');
    const { flags } = parseFlags(
      'layerwise caption',
      [
        ...['--model', 'transformer', '--features', 'random', '--train-images', '200'],
        ...['--val-images', '20', '--test-images', '20', '--epochs', '1', '--hidden', '8'],
        ...['--wordvec', '4', '--width', '8', '--heads', '2', '--layers', '1', '--samples', '0'],
        ...['--beam', '1', '--out', out],
      ],
      CAPTION_FLAGS,
    );
    const lines: string[] = [];
    captionTask(flags, (l) => lines.push(l));
    const text = lines.join('\n');
    expect(text).toMatch(
      /captioning: CaptioningTransformer \(width 8, 2 heads, 1 layers, pre-norm\)/,
    );
    expect(text).toMatch(/same 20 held-out images:/);
    expect(text).toMatch(/CaptioningRNN \(lstm\) +exact [\d.]+%, per-word [\d.]+%/);
    expect(text).toMatch(/CaptioningTransformer +exact [\d.]+%, per-word [\d.]+%/);
    expect(text).toMatch(/(wins by [\d.]+ points of exact captions|tie on exact captions)/);
    const tf = loadModel<CaptioningTransformer>(join(out, 'transformer-captioner.safetensors'));
    expect(tf).toBeInstanceOf(CaptioningTransformer);
    const png = decodePng(readFileSync(join(out, 'attention.png')));
    expect(png.channels).toBe(3);
    // one column per generated word (1 to 5) and the true-digits column, of 112-pixel images at
    // scale 2 with 3-pixel borders
    expect((png.width - 3) % (28 * 4 * 2 + 3)).toBe(0);
    expect((png.width - 3) / (28 * 4 * 2 + 3)).toBeGreaterThanOrEqual(2);
    expect((png.width - 3) / (28 * 4 * 2 + 3)).toBeLessThanOrEqual(6);
    // 4 images x 2 heads rows of 56-pixel-high cells
    expect(png.height).toBe(pictureHeight(8, 56));
  });
});
