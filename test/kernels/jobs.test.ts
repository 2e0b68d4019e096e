// test/kernels/jobs.test.ts: the WASM backend's job table (src/kernels/wasm/jobs.ts) and its
// AssemblyScript side stay in step: the generated assembly/jobs.ts is the table's, every entry
// has its `<name>Job` in the family file it names, every AssemblyScript kernel names the
// reference function it must match, and the loaded module was built from this table.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { jobTableSource, loadJobTable } from '../../scripts/job-table.mjs';
import { reference } from '../../src/kernels/index.js';
import * as channels from '../../src/kernels/reference/channels.js';
import * as conv from '../../src/kernels/reference/conv.js';
import * as elementwise from '../../src/kernels/reference/elementwise.js';
import * as gemm from '../../src/kernels/reference/gemm.js';
import * as optim from '../../src/kernels/reference/optim.js';
import * as pool from '../../src/kernels/reference/pool.js';
import { JOB_IDS, JOB_NAMES, JOBS, jobDigest } from '../../src/kernels/wasm/jobs.js';
import { chunkBounds, chunkCount, MAX_CHUNKS } from '../../src/kernels/wasm/workers.js';
import { loadModule } from '../../src/kernels/wasm/load.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const assembly = `${root}src/kernels/wasm/assembly`;
const referenceFamilies: Record<string, object> = {
  channels,
  conv,
  elementwise,
  gemm,
  optim,
  pool,
};
const read = (file: string): string => readFileSync(file, 'utf8');

describe('the job table', () => {
  it('is what the build generated assembly/jobs.ts from (run npm run build:wasm if not)', async () => {
    const table = await loadJobTable(root);
    expect(table.names).toEqual(JOB_NAMES);
    expect(read(`${assembly}/jobs.ts`)).toBe(jobTableSource(table));
  });

  it('numbers the jobs by their position, and the module loaded here was built from it', () => {
    expect(JOB_NAMES.map((name) => JOB_IDS[name])).toEqual(JOB_NAMES.map((_, i) => i));
    expect(loadModule().exports.jobDigest()).toBe(jobDigest());
  });

  it('has every job in the family file it names, with the job signature', () => {
    for (const name of JOB_NAMES) {
      const source = read(`${assembly}/${JOBS[name].family}.ts`);
      const signature = new RegExp(
        `export function ${name}Job\\(\\s*ints: usize, floats: usize, lo: i32, hi: i32, scratch: usize,?\\s*\\): void`,
      );
      expect(source, `${JOBS[name].family}.ts: ${name}Job`).toMatch(signature);
    }
  });

  it('covers every kernel of the reference that works on buffers', () => {
    const kernels = Object.keys(reference).filter((k) => k !== 'name' && k !== 'supports');
    expect([...JOB_NAMES].sort()).toEqual(kernels.sort());
  });
});

describe('the AssemblyScript kernels', () => {
  const families = readdirSync(assembly).filter(
    (f) => f.endsWith('.ts') && !['common.ts', 'index.ts', 'jobs.ts'].includes(f),
  );

  it('are one file per family of the table', () => {
    expect(families.sort()).toEqual(
      [...new Set(JOB_NAMES.map((n) => `${JOBS[n].family}.ts`))].sort(),
    );
  });

  it('each start with a comment naming the reference function of their family they must match', () => {
    for (const file of families) {
      const lines = read(`${assembly}/${file}`).split('\n');
      const family = file.replace('.ts', '');
      const exported = Object.keys(referenceFamilies[family]);
      lines.forEach((line, i) => {
        if (!line.startsWith('export function ')) return;
        let first = i - 1; // the first line of the comment block above the function
        while (first > 0 && lines[first - 1].startsWith('//')) first--;
        const named = /^\/\/ reference\/(\w+)\.ts: (\w+)/.exec(lines[first]);
        expect(named, `${file}:${i + 1} ${line}`).not.toBeNull();
        expect(named![1], `${file}:${i + 1}`).toBe(family);
        const fn = named![2];
        expect(exported, `${file}:${i + 1}: reference/${family}.ts has no ${fn}`).toContain(fn);
      });
    }
  });
});

describe('the split of a job into chunks (workers.ts: chunkBounds, which runJob reads)', () => {
  /** The chunk sizes in units, after checking that the bounds cover [0, total) in whole units. */
  const sizes = (bounds: number[], total: number, unit: number): number[] => {
    expect(bounds[0]).toBe(0);
    expect(bounds.at(-1)).toBe(total);
    for (const b of bounds.slice(0, -1)) expect(b % unit).toBe(0);
    return bounds.slice(1).map((hi, i) => Math.ceil(hi / unit) - bounds[i] / unit);
  };

  it('gives a job that names its chunks per thread even chunks, one unit apart at most', () => {
    for (const [total, unit, T, cpt] of [
      [100, 8, 2, 1],
      [100, 8, 2, 3],
      [784, 4, 2, 3],
      [13, 1, 2, 3],
      [5, 8, 2, 3],
      [1_600_000, 1024, 2, 3],
    ]) {
      const s = sizes(chunkBounds(total, unit, T, cpt), total, unit);
      expect(Math.max(...s) - Math.min(...s), `${total}/${unit}`).toBeLessThanOrEqual(1);
    }
    expect(chunkBounds(100, 8, 2, 1)).toEqual([0, 48, 100]); // 13 units of 8 columns: 6 and 7
  });

  it('gives any other job guided chunks: large first, none larger than the one before, the last small', () => {
    for (const [total, unit, T] of [
      [64, 1, 2],
      [2048, 1, 2],
      [627_200, 1024, 2],
      [8, 1, 2],
      [3, 1, 2],
      [100, 1, 4],
    ]) {
      const bounds = chunkBounds(total, unit, T),
        s = sizes(bounds, total, unit),
        units = Math.ceil(total / unit);
      for (let i = 1; i < s.length; i++) expect(s[i]).toBeLessThanOrEqual(s[i - 1]);
      expect(s[0]).toBe(Math.ceil(units / (2 * T)));
      expect(s.at(-1), `${total}/${unit}`).toBeLessThanOrEqual(Math.ceil(units / (8 * T)));
      expect(s.length).toBeLessThanOrEqual(MAX_CHUNKS);
    }
    expect(sizes(chunkBounds(64, 1, 2), 64, 1)).toEqual([16, 12, 9, 7, 5, 4, 4, 4, 3]);
    expect(chunkBounds(0, 4, 2)).toEqual([0, 0]); // one empty chunk
  });

  it('makes equal chunks, as many for each thread, when there are few units per chunk', () => {
    expect(chunkCount(8, 6, 2)).toBe(4); // the CNN's 32 filters in 4-filter tiles: 4 chunks of 2
    expect(chunkCount(12, 6, 2)).toBe(6);
    expect(chunkCount(7, 6, 2)).toBe(6); // no equal split for both threads: as wanted
    expect(chunkCount(64, 6, 2)).toBe(6); // many units a chunk: the sizes barely differ
    expect(chunkCount(3, 6, 2)).toBe(3);
    expect(chunkCount(0, 6, 2)).toBe(1);
  });

  it('gives a gemm that re-packs a large operand in every chunk fewer chunks', () => {
    const per = (M: number, K: number, N: number, opts = {}): number | undefined =>
      JOBS.gemm.plan(
        new Float32Array(M * N),
        new Float32Array(M * K),
        new Float32Array(K * N),
        M,
        K,
        N,
        opts,
      ).split.chunksPerThread;
    expect(per(64, 6272, 100)).toBe(1); // the CNN's fc forward: columns, all of op(a) each chunk
    expect(per(64, 784, 100)).toBe(1); // the MLP's
    expect(per(6272, 64, 100, { transA: true })).toBe(3); // its weight gradient: a small op(b)
    expect(per(64, 100, 6272, { transB: true })).toBe(3); // its dx
  });
});
