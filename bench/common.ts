// bench/common.ts: timing and reporting shared by the benchmark sections. Benchmarks compare
// layerwise with TensorFlow.js in the same process on the same inputs and report ratios.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';

export interface BenchRow {
  readonly section: string; // e.g. 'gemm'
  readonly name: string; // e.g. 'n=256'
  readonly unit: string; // 'GFLOP/s', 'ms', 'samples/s'
  /** Results by implementation, e.g. { 'layerwise-reference': 5.1, 'tfjs-cpu': 0.7 }. */
  readonly values: Record<string, number>;
  /** Which implementation the ratios are taken against. */
  readonly baseline: string;
  /** true when bigger is better (rates); false for times. */
  readonly higherIsBetter: boolean;
  /** false for rows of plain measurements with no meaningful ratio (e.g. MB/step). */
  readonly ratios?: boolean;
  /**
   * Further ratios by label, > 1 when the first named is better, e.g.
   * { 'ours/torch-best': 1.15, 'ours 2t/1t': 1.6 }: printed after the values and written as they are.
   */
  readonly extraRatios?: Readonly<Record<string, number>>;
}

/**
 * The share of CPU time the hypervisor took from this virtual machine (steal, /proc/stat) since
 * the meter was made: a call returns it as a fraction of all CPU time, or null without /proc.
 * Figures taken while it is high (another tenant on our cores) measure the neighbours, not us.
 */
export function stealMeter(): () => number | null {
  const read = (): number[] | null => {
    try {
      const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1);
      return cpu.map(Number); // user nice system idle iowait irq softirq steal ...
    } catch {
      return null;
    }
  };
  const start = read();
  return () => {
    const now = read();
    if (start === null || now === null) return null;
    const d = now.map((v, i) => v - (start[i] ?? 0));
    const all = d.slice(0, 8).reduce((a, b) => a + b, 0);
    return all > 0 ? d[7] / all : null;
  };
}

/** What a section wants kept beside its rows (e.g. which PyTorch and BLAS it ran): written by writeJson. */
export const runInfo: Record<string, unknown> = {};

/**
 * Median (or least) wall time in ms of fn over `reps` runs after the warm-up, continuing until
 * ~minMs of runs or maxReps (default 50) of them. The warm-up is `warmup` runs and, with
 * warmupMs, at least that long (V8 tiers WebAssembly and JS up during the first milliseconds:
 * a step of half a millisecond wants a few hundred of them first).
 */
export async function timeMs(
  fn: () => unknown | Promise<unknown>,
  opts: {
    warmup?: number;
    warmupMs?: number;
    reps?: number;
    minMs?: number;
    maxReps?: number;
    stat?: 'median' | 'min';
  } = {},
): Promise<number> {
  const warmup = opts.warmup ?? 1,
    minMs = opts.minMs ?? 300,
    maxReps = opts.maxReps ?? 50;
  const warmStart = performance.now();
  for (let i = 0; i < warmup || performance.now() - warmStart < (opts.warmupMs ?? 0); i++)
    await fn();
  const times: number[] = [];
  const start = performance.now();
  while (
    times.length < (opts.reps ?? 3) ||
    (performance.now() - start < minMs && times.length < maxReps)
  ) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  // 'min' for kernel throughput on a shared machine: the run least disturbed by other tenants
  return opts.stat === 'min' ? times[0] : times[Math.floor(times.length / 2)];
}

/** The ratio of `impl` to the baseline, oriented so that > 1 means impl is better. */
export function ratio(row: BenchRow, impl: string): number {
  const v = row.values[impl],
    base = row.values[row.baseline];
  return row.higherIsBetter ? v / base : base / v;
}

export function machineName(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'} x${cpus.length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

/** Prints a section as a table, each implementation with its ratio to the baseline. */
export function printRows(rows: readonly BenchRow[]): void {
  for (const row of rows) {
    const parts = Object.entries(row.values).map(([impl, v]) => {
      const r =
        impl === row.baseline || row.ratios === false
          ? ''
          : ` (${ratio(row, impl).toFixed(2)}x ${row.baseline})`;
      return `${impl} ${v.toFixed(v >= 100 ? 0 : 2)}${r}`;
    });
    const extra = Object.entries(row.extraRatios ?? {}).map(([k, v]) => `${k} ${v.toFixed(2)}x`);
    const tail = extra.length > 0 ? `  ||  ${extra.join(', ')}` : '';
    console.log(
      `${row.section.padEnd(10)} ${row.name.padEnd(28)} ${row.unit.padEnd(10)} ${parts.join('  |  ')}${tail}`,
    );
  }
}

export function writeJson(path: string, rows: readonly BenchRow[]): void {
  mkdirSync(new URL('.', `file://${path}`).pathname, { recursive: true });
  const ratios = rows.map((r) =>
    r.ratios === false
      ? {}
      : Object.fromEntries(
          Object.keys(r.values)
            .filter((k) => k !== r.baseline)
            .map((k) => [k, ratio(r, k)]),
        ),
  );
  writeFileSync(
    path,
    JSON.stringify(
      {
        machine: machineName(),
        date: new Date().toISOString(),
        info: runInfo,
        rows: rows.map((r, i) => ({ ...r, ratios: ratios[i] })),
      },
      null,
      2,
    ),
  );
}
