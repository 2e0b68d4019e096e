// Output paths are checked before any work: --out folders that cannot be made (/proc/x made
// Node's recursive mkdir spin forever), files where folders are needed and the other way round.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCaption } from '../../src/cli/caption.js';
import { checkOutputFile, makeOutputFolder } from '../../src/cli/outputs.js';
import { FileError } from '../../src/tensor/index.js';

const dir = mkdtempSync(join(tmpdir(), 'layerwise-out-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MAIN = resolve('dist/src/cli/main.js');

describe('makeOutputFolder', () => {
  it('makes missing levels and refuses what cannot be a folder, at once', () => {
    makeOutputFolder('cmd', '--out', join(dir, 'a', 'b', 'c'));
    makeOutputFolder('cmd', '--out', join(dir, 'a', 'b')); // exists: fine
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    expect(() => makeOutputFolder('cmd', '--out', file)).toThrow(
      `cmd: ${file}: cannot create the --out folder: exists and is not a folder`,
    );
    expect(() => makeOutputFolder('cmd', '--out', join(file, 'sub'))).toThrow(
      `cmd: ${join(file, 'sub')}: cannot create the --out folder: ${file} is not a folder`,
    );
  });

  it('fails on /proc/x instead of spinning (its parent exists but mkdir gives ENOENT)', () => {
    expect(() => makeOutputFolder('cmd', '--out', '/proc/x/y')).toThrow(
      /^cmd: \/proc\/x\/y: cannot create the --out folder: \/proc does not accept new folders \(ENOENT/,
    );
    expect(() => makeOutputFolder('cmd', '--out', '/proc/x/y')).toThrow(FileError);
  });

  it('layerwise train --out /proc/x fails with one line (the command used to spin at 100% CPU)', () => {
    const r = spawnSync(
      process.execPath,
      [MAIN, 'train', '--limit', '50', '--epochs', '1', '--out', '/proc/x'],
      { encoding: 'utf8', timeout: 60_000, cwd: dir },
    );
    expect(r.stderr).toMatch(
      /^layerwise train: \/proc\/x: cannot create the --out folder: \/proc does not accept new folders \(ENOENT[^\n]*\n$/,
    );
    expect(r.status).toBe(1);
  });
});

describe('checkOutputFile', () => {
  it('refuses a folder, or a file in a missing folder', () => {
    expect(() => checkOutputFile('cmd', '--checkpoint', dir)).toThrow(
      `cmd: ${dir}: is a folder; --checkpoint names a file to write`,
    );
    const lost = join(dir, 'none', 'ckpt.safetensors');
    expect(() => checkOutputFile('cmd', '--checkpoint', lost)).toThrow(
      `cmd: ${lost}: cannot write --checkpoint: ${join(dir, 'none')} is not a folder`,
    );
    checkOutputFile('cmd', '--checkpoint', join(dir, 'ok.safetensors'));
  });
});

describe('layerwise caption checks its outputs and sizes before training', () => {
  it('--out naming a file, --checkpoint naming a folder, absurd --hidden', async () => {
    const file = join(dir, 'plain');
    writeFileSync(file, 'x');
    await expect(runCaption(['--out', file])).rejects.toThrow(
      `layerwise caption: ${file}: cannot create the --out folder: exists and is not a folder`,
    );
    const folder = join(dir, 'ckpts');
    mkdirSync(folder);
    await expect(runCaption(['--checkpoint', folder])).rejects.toThrow(
      `layerwise caption: ${folder}: is a folder; --checkpoint names a file to write`,
    );
    const link = join(dir, 'epoch-1');
    symlinkSync(folder, link);
    await expect(runCaption(['--checkpoint', join(dir, 'epoch-{epoch}')])).rejects.toThrow(
      `layerwise caption: ${link}: is a folder; --checkpoint names a file to write`,
    );
    await expect(runCaption(['--hidden', '1000000'])).rejects.toThrow(
      'layerwise caption: --hidden 1000000: Wh [1000000,4000000] would need 16000000000000 bytes, more than the limit of 2147483648',
    );
    await expect(runCaption(['--train-images', '1000000000'])).rejects.toThrow(
      'layerwise caption: --train-images 1000000000: the composed images [1000000000,1,28,112] would need',
    );
  });
});

describe('the npm package', () => {
  it('answers require() with a hint to use import', () => {
    const app = join(dir, 'app');
    mkdirSync(join(app, 'node_modules'), { recursive: true });
    symlinkSync(resolve('.'), join(app, 'node_modules', 'layerwise'));
    const r = spawnSync(
      process.execPath,
      ['-e', "try { require('layerwise') } catch (e) { console.log(e.code + ': ' + e.message) }"],
      { cwd: app, encoding: 'utf8' },
    );
    expect(r.stdout).toMatch(
      /^ERR_REQUIRE_ESM: layerwise is an ES module package and cannot be loaded with require\(\)\. Use import instead: .*await import\('layerwise'\)/,
    );
  });

  it('ships dist/src but not dist/bench or dist/examples', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      encoding: 'utf8',
    });
    const files = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0].files.map(
      (f) => f.path,
    );
    expect(files).toContain('dist/src/index.js');
    expect(files).toContain('cjs/index.cjs');
    expect(files.filter((f) => /^dist\/(bench|examples)\//.test(f))).toEqual([]);
  });
});
