// test/cli/spawn.ts: runs the built CLI (dist/, which pretest builds) as a user would, in a folder.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

export const MAIN = resolve('dist/src/cli/main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `layerwise ...args` run in `dir`, with the default backend (LAYERWISE_BACKEND cleared). */
export function cliIn(dir: string): (...args: string[]) => CliResult {
  return (...args) => {
    const r = spawnSync(process.execPath, [MAIN, ...args], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, LAYERWISE_BACKEND: '' },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
}
