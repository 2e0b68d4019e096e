// src/io/atomic.ts: whole-file atomic writes, and the clean-up of temporary files that a killed
// writer left behind (those of living processes are kept).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeStaleTempFiles, writeFileAtomic } from '../../src/io/index.js';

const dir = mkdtempSync(join(tmpdir(), 'layerwise-atomic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('replaces a file whole and leaves no temporary file', () => {
    const path = join(dir, 'a.json');
    writeFileAtomic(path, 'old');
    writeFileAtomic(path, new Uint8Array([110, 101, 119]));
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('keeps the old file and removes its temporary file when the write fails', () => {
    const path = join(dir, 'b.json');
    writeFileAtomic(path, 'old');
    expect(() => writeFileAtomic(join(dir, 'missing', 'b.json'), 'x')).toThrow(/ENOENT/);
    expect(readFileSync(path, 'utf8')).toBe('old');
  });
});

describe('removeStaleTempFiles', () => {
  it("removes the temporary files of dead processes, keeps a living process's and other files", () => {
    const sub = mkdtempSync(join(dir, 'stale-'));
    // the id of a process that has exited
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    }).stdout;
    const stale = `.checkpoint.safetensors.${dead}.m0k2.0.tmp`;
    const living = `.model.safetensors.${process.pid}.m0k2.1.tmp`;
    for (const f of [stale, living, 'notes.tmp', 'checkpoint.safetensors'])
      writeFileSync(join(sub, f), 'x');
    expect(removeStaleTempFiles(sub)).toEqual([stale]);
    expect(readdirSync(sub).sort()).toEqual([living, 'checkpoint.safetensors', 'notes.tmp'].sort());
    expect(removeStaleTempFiles(join(dir, 'no-such-folder'))).toEqual([]);
  });
});
