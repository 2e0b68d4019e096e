// `layerwise visualize saliency|fool|classes|activations`, spawned as a process from dist/ (npm
// test builds it first): what each subcommand prints, the PNGs it writes, and its errors.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePng } from '../../src/io/index.js';
import { cliIn } from './spawn.js';

const dir = mkdtempSync(join(tmpdir(), 'layerwise-vis-cli-'));
const model = join(dir, 'run', 'model.safetensors');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = cliIn(dir);
const pngSize = (path: string) => {
  const img = decodePng(readFileSync(path), path);
  return [img.width, img.height];
};
const vis = (...args: string[]) => cli('visualize', ...args);

beforeAll(() => {
  // a tiny default conv net: 1 epoch on at most 200 rows of each split
  const r = cli('train', '--limit', '200', '--epochs', '1', '--out', join(dir, 'run'));
  expect(r.code).toBe(0); // the progress lines go to stderr
  expect(existsSync(model)).toBe(true);
}, 60_000);

describe('layerwise visualize', () => {
  it('saliency: gradient x input by default, --method gradient the plain map; 8 pairs in a grid', () => {
    const out = join(dir, 'sal');
    const r = vis('saliency', model, '--out', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^saliency \(gradient x input\) of 8 image\(s\): \d+\.\d% of the saliency lies on the \d+\.\d% of pixels with ink \(> 0\.1\)\nwrote .*saliency\.png\n$/,
    );
    // 4 pairs a row, 2 rows of 112-pixel images
    const [w, h] = pngSize(join(out, 'saliency.png'));
    expect(w).toBeGreaterThan(4 * 2 * 112);
    expect(h).toBeGreaterThan(2 * 112);
    const plain = vis('saliency', model, '--out', out, '--method', 'gradient', '--count', '2');
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^saliency \(plain gradient\) of 2 image\(s\)/);
    const smooth = vis('saliency', model, '--out', out, '--method', 'smoothgrad', '--count', '1');
    expect(smooth.code).toBe(0);
    expect(smooth.stdout).toMatch(/^saliency \(SmoothGrad, 25 noisy copies, noise 0\.15\) of 1/);
  });

  it('fool: one line per image, a summary, fooling.png', () => {
    const out = join(dir, 'fool');
    const r = vis('fool', model, '--class', '3', '--count', '3', '--steps', '20', '--out', out);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    for (const l of lines.slice(0, 3))
      expect(l).toMatch(/^test \d+: \d: \d -> \d.* in \d+ steps, Linf \d\.\d{3}, L2 \d+\.\d{3}$/);
    expect(lines[3]).toMatch(/^fooled \d\/3 \(.*\) to class 3 within 20 steps of L2 0\.1; median/);
    expect(lines[4]).toBe(`wrote ${join(out, 'fooling.png')}`);
    expect(pngSize(join(out, 'fooling.png'))[0]).toBeGreaterThan(3 * 112);
  });

  it('classes: one image per class, or only --class K', () => {
    const out = join(dir, 'classes');
    const r = vis('classes', model, '--steps', '3', '--out', out);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(11);
    expect(lines[0]).toMatch(
      /^class 0: score -?\d+\.\d\d -> -?\d+\.\d\d over 3 iterations, predicted \d$/,
    );
    const [w10] = pngSize(join(out, 'classes.png'));
    const one = vis('classes', model, '--steps', '2', '--class', '7', '--out', out);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^class 7: score .* over 2 iterations, predicted \d\nwrote /);
    expect(pngSize(join(out, 'classes.png'))[0]).toBeLessThan(w10);
  });

  it('activations: label, predicted class and which score, one PNG per image', () => {
    const out = join(dir, 'acts');
    const r = vis('activations', model, '--count', '2', '--out', out);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      /^test \d+: label 1, predicted \d; 8 layers with the gradient of the score of class \d \(the predicted class\); wrote .*activations-1\.png$/,
    );
    const k = vis('activations', model, '--class', '4', '--out', out);
    expect(k.stdout).toMatch(/the score of class 4 \(--class\)/);
    const [w, h] = pngSize(join(out, 'activations-1.png'));
    expect(w).toBeGreaterThan(112);
    expect(h).toBeGreaterThan(112);
  });

  it('errors: one line naming the problem, a non-zero exit code', () => {
    const bad = vis('saliency', model, '--class', '10');
    expect(bad.stderr).toBe(
      'layerwise visualize: --class 10 is outside [0, 10) (the model has 10 classes)\n',
    );
    expect(bad.code).not.toBe(0);
    const missing = vis('fool', join(dir, 'nothing.safetensors'));
    expect(missing.stderr).toMatch(/nothing\.safetensors/);
    expect(missing.stderr.split('\n')).toHaveLength(2);
    expect(missing.code).not.toBe(0);
    const sub = vis('heatmap', model);
    expect(sub.stderr).toBe(
      "layerwise visualize: expected one of saliency, fool, classes, activations first, got 'heatmap' (see 'layerwise visualize --help')\n",
    );
    expect(sub.code).not.toBe(0);
    const method = vis('saliency', model, '--method', 'nope');
    expect(method.stderr).toMatch(/--method/);
    expect(method.code).not.toBe(0);
  });
});
