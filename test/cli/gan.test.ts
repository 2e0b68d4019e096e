// test/cli/gan.test.ts: `layerwise gan`, spawned from dist/ (npm test builds it first): help, a
// tiny run's files (sample grids, loss plot, a generator io.loadModel rebuilds, metrics) and the
// errors of bad flags.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePng, loadModel } from '../../src/io/index.js';
import { DCGANGenerator } from '../../src/models/index.js';

const MAIN = resolve('dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'layerwise-gan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, LAYERWISE_BACKEND: '' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('layerwise gan', () => {
  it('--help lists the flags and the outputs; the main help lists the command', () => {
    const r = cli('gan', '--help');
    expect(r.code).toBe(0);
    for (const flag of ['--epochs', '--out', '--loss', '--seed', '--classifier'])
      expect(r.stdout).toContain(flag);
    expect(r.stdout).toContain('generator.safetensors');
    expect(cli('--help').stdout).toContain('layerwise gan [options]');
  });

  it('a tiny run writes a grid per epoch, losses.png, a loadable generator and metrics.json', () => {
    const r = cli(
      'gan',
      '--epochs',
      '2',
      '--limit',
      '300',
      '--batch-size',
      '32',
      '--loss',
      'lsgan',
      '--out',
      'g',
    );
    expect(r.stderr.includes('Error'), r.stderr).toBe(false);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/epoch 2\/2 {2}D loss \d+\.\d{4} {2}G loss \d+\.\d{4}/);
    for (const f of ['samples-epoch-1.png', 'samples-epoch-2.png', 'losses.png'])
      expect(existsSync(join(dir, 'g', f)), f).toBe(true);
    const grid = decodePng(readFileSync(join(dir, 'g', 'samples-epoch-2.png')));
    expect([grid.width, grid.height]).toEqual([8 * 28 * 3 + 9, 8 * 28 * 3 + 9]);
    const generator = loadModel<DCGANGenerator>(join(dir, 'g', 'generator.safetensors'));
    expect(generator).toBeInstanceOf(DCGANGenerator);
    const metrics = JSON.parse(readFileSync(join(dir, 'g', 'metrics.json'), 'utf8'));
    expect(metrics.loss).toBe('lsgan');
    expect(metrics.epochs).toHaveLength(2);
  }, 60_000);

  it('rejects an unknown loss with the choices', () => {
    const r = cli('gan', '--loss', 'wgan');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('wgan');
    expect(r.stderr).toContain('vanilla');
  });
});
