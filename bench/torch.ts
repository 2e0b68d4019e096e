// bench/torch.ts: `npm run bench torch`: the training steps of bench/wasm.ts (MLP and CNN, SGD)
// and of the main job (`layerwise train`'s default network and recipe: batch norm, dropout, Adam),
// each on 1 and 2 threads of the wasm backend beside PyTorch on 1 and 2 threads
// (bench/torch_steps.py, run by Debian's /usr/bin/python3 when it can import torch, with glibc
// malloc thresholds raised and OpenBLAS where one is found: its best configuration). The runs
// of one network are interleaved (ours 1t, torch 1t, ours 2t, torch 2t) to share the machine's
// drift, in ROUNDS rounds: each figure is the median of its rounds. Ratios: each figure over
// torch-1t, then (medians of each round's ratios) ours (2 threads) over torch's best and 2t/1t.
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { buildModel, resolveModelSpec } from '../src/cli/modelSpec.js';
import { TRAIN_FLAGS } from '../src/cli/train.js';
import { setBackend, stepMemory } from '../src/kernels/index.js';
import type { Model } from '../src/models/index.js';
import { adam, type OptimConfig, type RuleName } from '../src/optim/index.js';
import { Solver } from '../src/solver/index.js';
import { Tensor, type FloatTensor } from '../src/tensor/index.js';
import { runInfo, stealMeter, timeMs, type BenchRow } from './common.js';
import { BENCH_STEP, benchNet, layerwiseStep } from './wasm.js';

/** Timing of every step measurement, ours and torch's alike (timeMs's median). */
// 1 s of steps after 0.3 s of warm-up on both sides: a 0.5 ms MLP step needs that many runs for a
// steady median (and V8 its tier-up); torch_steps.py gets the same settings.
const TIMING = { warmup: 5, warmupMs: 300, reps: 5, minMs: 1000, maxReps: 5000 } as const;
const THREADS = [1, 2] as const;

/** What torch_steps.py replies to one request. */
interface TorchReply {
  readonly samplesPerSec: number;
  readonly msMedian: number;
  readonly steps: number;
  readonly blas: string | null;
  readonly blasThreads: number | null;
  readonly minorFaultsPerStep: number;
  readonly error?: string;
}

/** One network of the comparison: how torch_steps.py builds it, and our steps (one per path). */
interface Net {
  readonly label: string;
  readonly torch: Record<string, unknown>; // the request, less threads and timing
  readonly batch: number;
  /** Our paths by name (e.g. 'Solver', 'plain loop'): each times itself, returning ms per step. */
  readonly ours: Record<string, () => Promise<number>>;
}

export async function benchTorch(): Promise<BenchRow[]> {
  const torch = await TorchChild.start();
  const rows: BenchRow[] = [];
  try {
    for (const net of nets()) rows.push(...(await compare(net, torch)));
    if (torch) console.log(torch.summary());
  } finally {
    torch?.close();
    setBackend('auto', {}); // back to the default instance (one thread per core)
  }
  return rows;
}

/**
 * Rounds of the interleaved measurements (LAYERWISE_BENCH_ROUNDS, default 3): a shared machine's
 * speed drifts by tens of percent between seconds, so each figure is the median of its rounds and
 * each ratio the median of the ratios within a round (of measurements taken seconds apart).
 */
const ROUNDS = Math.max(1, Number(process.env.LAYERWISE_BENCH_ROUNDS ?? 3) || 3);

/** The steal share of each network's rounds, for bench/results/latest.json. */
const stealByNet: Record<string, number | null> = {};

/** One round's figures of a network, samples/s by path ('torch' for torch) and thread label. */
type Round = Record<string, Record<string, number>>;

/** Times one network: ROUNDS rounds of (per thread count, each of our paths, then torch). */
async function compare(net: Net, torch: TorchChild | null): Promise<BenchRow[]> {
  const rate = (ms: number): number => (net.batch * 1000) / ms;
  const rounds: Round[] = [],
    steal = stealMeter();
  for (let r = 0; r < ROUNDS; r++) {
    const round: Round = { torch: {} };
    for (const threads of THREADS) {
      setBackend('wasm', { threads });
      for (const [path, time] of Object.entries(net.ours))
        (round[path] ??= {})[`layerwise-${threads}t`] = rate(await time());
      const { warmupMs, minMs, maxReps } = TIMING;
      const got = await torch?.measure({ ...net.torch, threads, warmupMs, minMs, maxReps });
      if (got) round.torch[`torch-${threads}t`] = got.samplesPerSec;
    }
    rounds.push(round);
  }
  const paths = Object.keys(net.ours),
    stolen = steal();
  if (stolen !== null)
    console.log(
      `torch      ${net.label}: the hypervisor took ${(100 * stolen).toFixed(1)}% of the CPU time (steal)${stolen > 0.05 ? ': the machine was not quiet, the figures are not comparable' : ''}`,
    );
  stealByNet[net.label] = stolen;
  runInfo.steal = stealByNet;
  return paths.map((path) => {
    const name = paths.length > 1 ? `${net.label}, ${path}` : net.label;
    const values = medians(rounds.map((round) => ({ ...round.torch, ...round[path] })));
    const extraRatios = medians(rounds.map((round) => roundRatios(round, path, paths[0])));
    if (ROUNDS > 1) console.log(`torch      ${name}: ${spread(rounds, path)}`);
    const hasTorch = values['torch-1t'] !== undefined;
    return {
      section: 'torch',
      name,
      unit: 'samples/s',
      values,
      baseline: hasTorch ? 'torch-1t' : 'layerwise-1t',
      higherIsBetter: true,
      extraRatios,
    };
  });
}

/** The ratios of one round for `path`: ours (2 threads) over torch's best, 2t/1t, and path/first. */
function roundRatios(round: Round, path: string, first: string): Record<string, number> {
  const ours = round[path],
    torchRates = Object.values(round.torch);
  const ratios: Record<string, number> = {};
  if (torchRates.length > 0)
    ratios['ours/torch-best'] = ours['layerwise-2t'] / Math.max(...torchRates);
  ratios['ours 2t/1t'] = ours['layerwise-2t'] / ours['layerwise-1t'];
  if (path !== first)
    ratios[`${path}/${first}`] = ours['layerwise-2t'] / round[first]['layerwise-2t'];
  return ratios;
}

/** The median of each key over the records. */
function medians(records: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(records[0] ?? {})) {
    const v = records.map((r) => r[key]).sort((a, b) => a - b),
      m = v.length >> 1;
    out[key] = v.length % 2 === 1 ? v[m] : (v[m - 1] + v[m]) / 2;
  }
  return out;
}

/** "torch-1t 150000-162000 | ..." : each figure's least and greatest over the rounds. */
function spread(rounds: readonly Round[], path: string): string {
  const all = rounds.map((round) => ({ ...round.torch, ...round[path] }));
  return Object.keys(all[0])
    .map((key) => {
      const v = all.map((r) => r[key]);
      return `${key} ${Math.round(Math.min(...v))}-${Math.round(Math.max(...v))}`;
    })
    .join('  |  ')
    .concat(`  (samples/s over ${rounds.length} rounds; the row gives medians)`);
}

/** The bench MLP and CNN (SGD, through step memory as the Solver runs them) and the main job. */
function nets(): Net[] {
  const { batch, learningRate } = BENCH_STEP;
  const y = labels(batch);
  const benchStep = (kind: 'mlp' | 'cnn'): Net => {
    const X = Tensor.randn(kind === 'mlp' ? [batch, 784] : [batch, 1, 28, 28], { seed: 6 });
    const time = async (): Promise<number> => {
      const model = benchNet(kind),
        mem = stepMemory();
      try {
        return await timeMs(() => layerwiseStep(model, X, y, mem), TIMING);
      } finally {
        mem.release();
      }
    };
    const label =
      kind === 'mlp' ? 'train step MLP 784-100-10 b64' : 'train step CNN 32c5-pool-100-10 b64';
    return {
      label,
      torch: { model: kind, batch, lr: learningRate },
      batch,
      ours: { 'step memory': time },
    };
  };
  return [benchStep('mlp'), benchStep('cnn'), mainJob()];
}

/** The labels of every bench step: (i·7) mod 10. */
function labels(n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i * 7) % 10);
}

/**
 * `layerwise train`'s default run as one training step: the network --model cnn builds for
 * 28x28 digits (src/cli/modelSpec.ts), the default optimizer, learning rate and batch size
 * (src/cli/train.ts), once through the Solver (shuffled minibatches, step memory, the cosine
 * schedule; no augmentation and no accuracy checks) and once through the README's plain loop:
 * model.loss(X, y), then optim.adam on every parameter, with fresh arrays every step.
 */
function mainJob(): Net {
  const optimizer = TRAIN_FLAGS.optimizer.default as RuleName,
    lr = TRAIN_FLAGS.lr.default as number,
    batch = TRAIN_FLAGS['batch-size'].default as number;
  if (optimizer !== 'adam') {
    throw new Error(
      `bench/torch.ts: layerwise train now defaults to '${optimizer}', not adam; update torch_steps.py's main`,
    );
  }
  const spec = resolveModelSpec('bench', 'cnn', {
    inputShape: [1, 28, 28],
    numClasses: 10,
    seed: 0,
  });
  const make = (): Model => buildModel(spec, 'bench: --model cnn');
  const options = 'options' in spec ? spec.options : {};
  const torchOptions = Object.fromEntries(
    ['numFilters', 'filterSize', 'hiddenDim', 'dropout'].map((k) => [k, options[k]]),
  );
  if (options.normalization !== 'batchnorm' || JSON.stringify(options.inputDim) !== '[1,28,28]') {
    throw new Error(
      `bench/torch.ts: --model cnn is no longer torch_steps.py's main network: ${JSON.stringify(options)}`,
    );
  }
  const X = Tensor.randn([batch, 1, 28, 28], { seed: 6 }),
    y = labels(batch);
  const plain = async (): Promise<number> => {
    const model = make();
    const configs: Record<string, OptimConfig> = {};
    for (const k of Object.keys(model.params)) configs[k] = { learningRate: lr };
    return timeMs(() => {
      const { grads } = model.loss(X, y);
      for (const k of Object.keys(model.params)) adam(model.params[k], grads[k], configs[k]);
    }, TIMING);
  };
  return {
    label: `main job: train default net b${batch}`,
    torch: { model: 'main', batch, lr, options: torchOptions },
    batch,
    ours: { Solver: () => solverStepMs(make(), batch, lr), 'plain loop': plain },
  };
}

/**
 * ms per iteration of a Solver training `model` with Adam at `lr` on random digits (16 batches
 * an epoch): iteration times from onProgress, after TIMING's warm-up (iterations and time),
 * until its reps and minMs are reached (or maxReps iterations), median, as timeMs measures.
 */
async function solverStepMs(model: Model, batch: number, lr: number): Promise<number> {
  const N = 16 * batch;
  const XTrain: FloatTensor = Tensor.randn([N, 1, 28, 28], { seed: 7 });
  const yTrain = labels(N);
  const times: number[] = [];
  let last = 0,
    start = 0,
    warmedAt = -1; // the iteration that ended the warm-up
  const began = performance.now();
  const onProgress = ({ iteration }: { iteration: number }): void => {
    const t = performance.now();
    if (warmedAt < 0 && iteration >= TIMING.warmup && t - began >= TIMING.warmupMs)
      warmedAt = iteration;
    if (warmedAt >= 0 && iteration > warmedAt) times.push(t - last);
    else start = t;
    last = t;
  };
  const solver = new Solver(
    model,
    { XTrain, yTrain },
    {
      updateRule: 'adam',
      optimConfig: { learningRate: lr },
      batchSize: batch,
      numEpochs: 1000,
      schedule: 'cosine',
      metric: 'none',
      seed: 0,
      onProgress,
    },
  );
  const done = (): boolean =>
    times.length >= TIMING.maxReps || (times.length >= TIMING.reps && last - start >= TIMING.minMs);
  await solver.trainAsync({ shouldStop: done, yieldEveryMs: 1e9 });
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/**
 * Debian's python3-torch: /usr/bin/python3 (PATH's python3 may be another one), or only
 * LAYERWISE_TORCH_PYTHON when that is set (e.g. a venv's python; a missing path skips the rows).
 */
function findTorchPython(): { python: string; version: string } | { skip: string } {
  const env = process.env.LAYERWISE_TORCH_PYTHON;
  const candidates = env ? [env] : ['/usr/bin/python3'];
  const why: string[] = [];
  for (const python of candidates) {
    if (!existsSync(python)) {
      why.push(`${python}: not found`);
      continue;
    }
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.status === 0) return { python, version: r.stdout.trim() };
    why.push(`${python}: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`);
  }
  return { skip: why.join('; ') };
}

/** An OpenBLAS libblas.so.3 directory: LAYERWISE_TORCH_BLAS_DIR, or Debian's libopenblas0-* ones. */
function openBlasDir(): string | null {
  const env = process.env.LAYERWISE_TORCH_BLAS_DIR;
  if (env) return env;
  for (const arch of existsSync('/usr/lib') ? readdirSync('/usr/lib') : []) {
    for (const variant of ['openblas-openmp', 'openblas-pthread', 'openblas-serial']) {
      const dir = `/usr/lib/${arch}/${variant}`;
      if (existsSync(`${dir}/libblas.so.3`)) return dir;
    }
  }
  return null;
}

/**
 * torch's environment: glibc malloc keeps freed memory instead of returning it (thresholds above
 * the steps' largest tensors, ~6 MB), so that no step page-faults on fresh mmaps; OpenBLAS first
 * on the library path. A variable the user set is kept.
 */
function torchEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    MALLOC_MMAP_THRESHOLD_: String(32 * 2 ** 20), // glibc's maximum on 64-bit
    MALLOC_TRIM_THRESHOLD_: String(2 ** 30),
    MALLOC_TOP_PAD_: String(64 * 2 ** 20),
    ...process.env,
  };
  const blas = openBlasDir();
  if (blas) env.LD_LIBRARY_PATH = [blas, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return env;
}

/** bench/torch_steps.py --serve: one interpreter answering one JSON request per line. */
class TorchChild {
  /** Every request with its reply, for bench/results/latest.json. */
  readonly replies: Array<{ request: Record<string, unknown>; reply: TorchReply }> = [];
  private readonly waiting: Array<(line: string | null) => void> = [];
  private readonly queued: Array<string | null> = [];

  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, null>,
    readonly python: string,
  ) {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => this.deliver(line));
    lines.on('close', () => this.deliver(null));
  }

  /** The child, ready; null (after a one-line note) when no python3 can import torch. */
  static async start(): Promise<TorchChild | null> {
    const found = findTorchPython();
    if ('skip' in found) {
      console.log(`torch      skipped: no python3 that imports torch (${found.skip})`);
      return null;
    }
    const script = fileURLToPath(new URL('../../bench/torch_steps.py', import.meta.url));
    const child = spawn(found.python, [script, '--serve'], {
      env: torchEnv(),
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const t = new TorchChild(child, found.python);
    const hello = await t.next();
    if (hello === null) {
      console.log(`torch      skipped: ${script} exited before it was ready`);
      return null;
    }
    t.hello = JSON.parse(hello) as Record<string, unknown>;
    return t;
  }

  /** Times one request in the child; null (with a note) if it fails. */
  async measure(request: Record<string, unknown>): Promise<TorchReply | null> {
    this.child.stdin.write(`${JSON.stringify(request)}\n`);
    const line = await this.next();
    const reply = line === null ? null : (JSON.parse(line) as TorchReply);
    if (reply === null || reply.error !== undefined) {
      console.log(
        `torch      ${JSON.stringify(request)} failed: ${reply?.error ?? 'the child exited'}`,
      );
      return null;
    }
    this.replies.push({ request, reply });
    await this.settle();
    return reply;
  }

  /**
   * Waits until the child's threads stop using the CPU (its utime + stime in /proc, polled every
   * 10 ms, unchanged over 50 ms; at most 3 s): OpenBLAS and OpenMP threads spin a while after a
   * job (measured: ~70 ms of CPU after a 2-thread CNN reply), and our next figure would share the
   * cores with them. Returns at once where there is no /proc.
   */
  private async settle(): Promise<void> {
    const stat = `/proc/${this.child.pid ?? 0}/stat`;
    const cpu = (): number | null => {
      try {
        const fields = readFileSync(stat, 'utf8').split(') ')[1].split(' ');
        return Number(fields[11]) + Number(fields[12]); // utime, stime (clock ticks)
      } catch {
        return null;
      }
    };
    const t0 = performance.now();
    let last = cpu(),
      quietSince = t0;
    if (last === null) return;
    while (performance.now() - t0 < 3000 && performance.now() - quietSince < 50) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const now = cpu();
      if (now !== last) quietSince = performance.now();
      last = now;
    }
  }

  /** What the child said at start (torch and python versions). */
  hello: Record<string, unknown> = {};

  /** One line on what ran: torch, python, BLAS, page faults; the same with every reply in runInfo. */
  summary(): string {
    const blas = this.replies.find((r) => r.reply.blas)?.reply.blas ?? 'unknown';
    const faults = Math.max(0, ...this.replies.map((r) => r.reply.minorFaultsPerStep));
    runInfo.torch = {
      python: this.python,
      ...this.hello,
      env: torchSettings(),
      replies: this.replies,
    };
    const reference = blas.includes('openblas')
      ? ''
      : ' (not OpenBLAS: linear layers ~30x slower than torch can; install libopenblas0-pthread or set LAYERWISE_TORCH_BLAS_DIR)';
    const load = (os.loadavg()[0] / os.cpus().length).toFixed(2);
    return `torch      PyTorch ${String(this.hello.torch)} (${this.python}), BLAS ${blas}${reference}, malloc thresholds raised: at most ${faults.toFixed(1)} page faults/step; load per core ${load} (above ~0.5 torch's 2-thread figures collapse: its OpenMP threads spin)`;
  }

  close(): void {
    this.child.stdin.end();
  }

  private next(): Promise<string | null> {
    const line = this.queued.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private deliver(line: string | null): void {
    const waiting = this.waiting.shift();
    if (waiting) waiting(line);
    else this.queued.push(line);
    if (line === null) for (const w of this.waiting.splice(0)) w(null);
  }
}

/** The torch child's settings that this bench chooses, for the record. */
function torchSettings(): Record<string, string | undefined> {
  const env = torchEnv();
  const keys = [
    'MALLOC_MMAP_THRESHOLD_',
    'MALLOC_TRIM_THRESHOLD_',
    'MALLOC_TOP_PAD_',
    'LD_LIBRARY_PATH',
    'OMP_WAIT_POLICY',
  ];
  return Object.fromEntries(keys.map((k) => [k, env[k]]));
}
