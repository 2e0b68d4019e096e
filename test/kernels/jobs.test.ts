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
