// Crash safety of `layerwise train` (issue 17): child processes on a tiny, fast configuration are
// killed at seeded moments, with SIGKILL or with two SIGINTs, many of them aimed at the
// checkpoint save that follows each epoch line. Whatever survives must resume: a run that
// printed its second epoch line has a checkpoint (the previous one survives any crash), every
// checkpoint left on disk resumes and finishes, every model file left is complete, and no
// temporary file survives the next run in that folder.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/io/index.js';
import { Rng } from '../../src/tensor/index.js';

const MAIN = resolve('dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'layerwise-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// 200 rows in batches of 16: 13 iterations per epoch, a 3 MB checkpoint written after each.
const ARGS = ['train', '--model', 'mlp', '--limit', '200', '--epochs', '2', '--batch-size', '16'];
const TRIALS = 8;
const env = { ...process.env, LAYERWISE_BACKEND: 'reference' };

interface Trial {
  readonly out: string;
  readonly signal: 'SIGKILL' | 'double SIGINT';
  /** Kill this many ms after the first progress output, or after the epoch line (at a save). */
  readonly delayMs: number;
  readonly afterEpoch: number | null;
}

interface Outcome {
  readonly code: number | null;
  readonly stderr: string;
  /** Epoch lines printed before the kill; each is printed before its epoch's save begins. */
  readonly epochsSeen: number;
  /** The run printed its last line ("wrote ..."): every file was complete before the signal. */
  readonly finished: boolean;
}

function runUntilKilled(t: Trial): Promise<Outcome> {
  const child = spawn(process.execPath, [MAIN, ...ARGS, '--out', t.out], { cwd: dir, env });
  let stdout = '',
    stderr = '',
    armed = false,
    epochsSeen = 0;
  const kill = () => {
    if (t.signal === 'SIGKILL') {
      child.kill('SIGKILL');
      return;
    }
    child.kill('SIGINT');
    setTimeout(() => child.kill('SIGINT'), Math.floor(t.delayMs / 3));
  };
  const arm = () => {
    if (armed) return;
    armed = true;
    setTimeout(kill, t.delayMs);
  };
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString();
    epochsSeen = (stdout.match(/^epoch \d+\/\d+ {2}loss/gm) ?? []).length;
    if (t.afterEpoch !== null && epochsSeen >= t.afterEpoch) arm();
  });
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
    if (t.afterEpoch === null && stderr.includes('iteration')) arm();
  });
  return new Promise((done) =>
    child.on('close', (code) =>
      done({ code, stderr, epochsSeen, finished: /^wrote /m.test(stdout) }),
    ),
  );
}

/** `layerwise train --resume ckpt`, without blocking this worker (vitest's RPC needs it). */
function resume(ckpt: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, 'train', '--resume', ckpt], { cwd: dir, env });
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((done) => child.on('close', (code) => done({ code, stderr })));
}

const tempFiles = (out: string) => readdirSync(join(dir, out)).filter((f) => f.endsWith('.tmp'));

describe('layerwise train killed at seeded moments', () => {
  it(`${TRIALS} kills (SIGKILL and double SIGINT): every survivor resumes, no temp file outlives the next run`, async () => {
    expect(existsSync(MAIN), `${MAIN} is missing: run 'npm run build'`).toBe(true);
    const rng = new Rng(2024);
    const trials: Trial[] = Array.from({ length: TRIALS }, (_, i) => ({
      out: `run${i}`,
      signal: i % 2 === 0 ? 'SIGKILL' : 'double SIGINT',
      delayMs: Math.floor(rng.uniform() * (i < TRIALS / 2 ? 1500 : 15)),
      afterEpoch: i < TRIALS / 2 ? null : 1 + (Math.floor(i / 2) % 2),
    }));
    const outcomes: Outcome[] = [];
    for (let i = 0; i < trials.length; i += 2) {
      outcomes.push(...(await Promise.all(trials.slice(i, i + 2).map(runUntilKilled))));
    }
    let resumed = 0,
      leftovers = 0;
    for (const [i, t] of trials.entries()) {
      const o = outcomes[i],
        what = `${t.out} (${t.signal}, ${t.delayMs} ms after ${t.afterEpoch === null ? 'start' : `epoch ${t.afterEpoch}`})`;
      expect(o.stderr, what).not.toMatch(/Error|at .*\.js/);
      // A Ctrl-C is caught from the start of training to the exit; only one that lands in Node's
      // own teardown, after the last file and line were written, can still end the process.
      if (t.signal === 'double SIGINT' && !o.finished) expect([0, 130], what).toContain(o.code);
      const ckpt = join(t.out, 'checkpoint.safetensors');
      const hasCheckpoint = existsSync(join(dir, ckpt));
      // epoch line k follows the save of epoch k - 1: that checkpoint survives any kill
      if (o.epochsSeen >= 2 || o.code === 130) expect(hasCheckpoint, what).toBe(true);
      const model = join(dir, t.out, 'model.safetensors');
      if (existsSync(model)) expect(() => readSafetensors(model), what).not.toThrow();
      if (!hasCheckpoint) continue;
      leftovers += tempFiles(t.out).length;
      // a temp file of a dead process (no pid is this large) must go too
      writeFileSync(join(dir, t.out, '.checkpoint.safetensors.999999999.x.0.tmp'), 'partial');
      const r = await resume(ckpt);
      expect(r.stderr, what).not.toMatch(/Error/);
      expect(r.code, `${what}: ${r.stderr}`).toBe(0);
      expect(existsSync(join(dir, t.out, 'metrics.json')), what).toBe(true);
      expect(tempFiles(t.out), what).toEqual([]);
      resumed++;
    }
    console.log(
      `kill test: ${TRIALS} kills, ${resumed} checkpoints resumed to the end, ${leftovers} temp files of killed writes cleaned up`,
    );
    expect(resumed).toBeGreaterThan(0);
  });
});
