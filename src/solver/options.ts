// src/solver/options.ts: the Solver's options, checked in one place. resolveOptions turns what a
// caller (or a training checkpoint) gives into Settings: every value checked, defaults filled
// in, the update rule looked up and the learning-rate schedule resolved for the data size.
import {
  checkSchedule,
  getUpdateRule,
  RULE_DEFAULTS,
  type OptimConfig,
  type RuleName,
  type ScheduleOptions,
  type UpdateRule,
} from '../optim/index.js';
import {
  expectNumber,
  expectOptions,
  Tensor,
  ValueError,
  type FloatTensor,
  type Labels,
  type Rng,
} from '../tensor/index.js';
import type { SolverModel } from './data.js';

/** Reported after every iteration (the CLI draws its progress bar from it). */
export interface SolverProgress {
  /** The epoch this iteration belongs to, from 1. */
  readonly epoch: number;
  readonly numEpochs: number;
  /** Iterations done so far, from 1. */
  readonly iteration: number;
  readonly iterationsPerEpoch: number;
  readonly totalIterations: number;
  /** Loss of this iteration's minibatch. */
  readonly loss: number;
  /** The latest train / validation accuracy (or evaluate result); null before the first epoch ends. */
  readonly trainAcc: number | null;
  readonly valAcc: number | null;
  /** True on the last iteration of an epoch (accuracies were just measured). */
  readonly epochEnd: boolean;
  /** The learning rate used by this iteration. */
  readonly learningRate: number;
  /** Training samples per second since train() or trainAsync() was called. */
  readonly samplesPerSecond: number;
}

export interface SolverOptions<M extends SolverModel = SolverModel> {
  /** A rule name ('sgd', 'sgdMomentum', 'nesterov', 'rmsprop', 'adagrad', 'adam', 'adamw')
   *  or a function (optim.UpdateRule); default 'sgd'. */
  updateRule?: RuleName | UpdateRule;
  /** Hyperparameters of the rule (learningRate, momentum, ...), copied for every param; default {}. */
  optimConfig?: OptimConfig;
  /** Per-epoch learning-rate factor of schedule 'step' (the classic lr_decay); default 1. */
  lrDecay?: number;
  /** 'step' (lrDecay once per epoch) or 'cosine' (annealed per iteration to minLrFactor·lr); default 'step'. */
  schedule?: 'step' | 'cosine';
  /** Linear warm-up, in epochs (converted to iterations) or iterations; default 0. Give one of them. */
  warmupEpochs?: number;
  warmupIterations?: number;
  /** The floor of the cosine schedule as a fraction of the base rate; default 0. */
  minLrFactor?: number;
  /** Minibatch size; default 100. The last minibatch of an epoch holds the remainder. */
  batchSize?: number;
  /** Default 10. */
  numEpochs?: number;
  /** Training rows sampled (from the Solver's rng) for the train accuracy check; null = all; default 1000. */
  numTrainSamples?: number | null;
  /** Validation rows sampled for the validation check; null = all (default). */
  numValSamples?: number | null;
  /** With verbose, log the loss every printEvery iterations; default 10. */
  printEvery?: number;
  /** Log progress lines through `log`; default false. */
  verbose?: boolean;
  /** Where verbose lines go; default console.log. */
  log?: (line: string) => void;
  /**
   * Path of a training checkpoint written (atomically) at the end of every epoch; '{epoch}' in
   * it is replaced by the epoch number (one file per epoch). Resume with Solver.resume.
   */
  checkpoint?: string | null;
  /** Seed of the Solver's rng (shuffling, subsampling, augment); without it runs are not reproducible. */
  seed?: number;
  /** Stop after this many epochs without a better validation accuracy; null = never (default). */
  patience?: number | null;
  /** Clip gradients to this global L2 norm (torch clip_grad_norm_); null = off (default). */
  clipNorm?: number | null;
  /** Called after every iteration; throwing from it interrupts training (state stays consistent). */
  onProgress?: (progress: SolverProgress) => void;
  /** Applied to every training minibatch X; must draw any randomness from the given rng (the Solver's). */
  augment?: (X: FloatTensor, rng: Rng) => FloatTensor;
  /** 'accuracy' (argmax of loss(X) against labels, the default) or 'none' (no checks, no best params). */
  metric?: 'accuracy' | 'none';
  /**
   * Replaces the accuracy check: a score of the model on (X, y), higher is better (e.g. minus
   * the validation loss). Called on the train subsample and on the validation data each epoch.
   */
  evaluate?(model: M, X: Tensor, y: Labels): number;
}

export const OPTION_NAMES = [
  'updateRule',
  'optimConfig',
  'lrDecay',
  'schedule',
  'warmupEpochs',
  'warmupIterations',
  'minLrFactor',
  'batchSize',
  'numEpochs',
  'numTrainSamples',
  'numValSamples',
  'printEvery',
  'verbose',
  'log',
  'checkpoint',
  'seed',
  'patience',
  'clipNorm',
  'onProgress',
  'augment',
  'metric',
  'evaluate',
] as const;

/** Options that are plain values, saved in a training checkpoint and used as Solver.resume's defaults. */
export const SAVED_OPTIONS = [
  'optimConfig',
  'lrDecay',
  'schedule',
  'warmupEpochs',
  'warmupIterations',
  'minLrFactor',
  'batchSize',
  'numEpochs',
  'numTrainSamples',
  'numValSamples',
  'printEvery',
  'verbose',
  'checkpoint',
  'seed',
  'patience',
  'clipNorm',
  'metric',
] as const;
export type SavedOptions = Pick<SolverOptions, (typeof SAVED_OPTIONS)[number]>;

/** Function options a checkpoint cannot hold but that change the result: resume needs them again. */
export const HOOKS = ['augment', 'evaluate'] as const;
export type HookName = (typeof HOOKS)[number];

/** The options after checking, with every default filled in (see SolverOptions for each). */
export interface Settings {
  readonly batchSize: number;
  readonly numEpochs: number;
  readonly iterationsPerEpoch: number;
  readonly totalIterations: number;
  readonly numTrainSamples: number | null;
  readonly numValSamples: number | null;
  readonly printEvery: number;
  readonly patience: number | null;
  readonly clipNorm: number | null;
  readonly metric: 'accuracy' | 'none';
  /** True when the model is scored each epoch (metric 'accuracy' or an evaluate hook). */
  readonly checks: boolean;
  readonly seed: number | undefined;
  readonly rule: UpdateRule;
  /** The rule's name, or null for a custom function. */
  readonly ruleName: RuleName | null;
  /** The hyperparameters every param's config starts from. */
  readonly optimConfig: OptimConfig;
  /** optimConfig.learningRate with the rule's default; undefined for a custom rule without one. */
  readonly baseLr: number | undefined;
  readonly schedule: Required<ScheduleOptions>;
  /** False when the learning rate never changes (no decay, warm-up or cosine). */
  readonly scheduled: boolean;
  readonly checkpoint: string | null;
}

/**
 * Checks every option and fills in the defaults, for a Solver over N training rows. `fn`
 * starts every message. Throws on an unknown option, naming the closest known one.
 */
export function resolveOptions(fn: string, options: SolverOptions<never>, N: number): Settings {
  expectOptions(fn, options, OPTION_NAMES);
  const int = (key: string, v: unknown, min: number): number => {
    expectNumber(fn, key, v, { integer: true, min });
    return v;
  };
  const orNull = (
    key: 'numTrainSamples' | 'numValSamples' | 'patience',
    fallback: number | null,
  ) =>
    options[key] === null || (options[key] === undefined && fallback === null)
      ? null
      : int(key, options[key] ?? fallback, 1);
  const batchSize = int('batchSize', options.batchSize ?? 100, 1);
  const numEpochs = int('numEpochs', options.numEpochs ?? 10, 0);
  const numTrainSamples = orNull('numTrainSamples', 1000);
  const numValSamples = orNull('numValSamples', null);
  const printEvery = int('printEvery', options.printEvery ?? 10, 1);
  const patience = orNull('patience', null);
  if (options.clipNorm != null)
    expectNumber(fn, 'clipNorm', options.clipNorm, { min: 0, minExclusive: true });
  const metric = checkHooks(fn, options);
  if (options.seed !== undefined) expectNumber(fn, 'seed', options.seed);
  if (options.verbose !== undefined && typeof options.verbose !== 'boolean')
    throw new TypeError(`${fn}: verbose must be true or false`);

  const iterationsPerEpoch = Math.ceil(N / batchSize);
  const totalIterations = numEpochs * iterationsPerEpoch;
  const optimConfig = options.optimConfig ?? {};
  const { rule, ruleName, baseLr } = resolveRule(fn, options.updateRule ?? 'sgd', optimConfig);
  if (options.warmupEpochs !== undefined && options.warmupIterations !== undefined) {
    throw new ValueError(`${fn}: give warmupEpochs or warmupIterations, not both`);
  }
  const warmupEpochs = options.warmupEpochs ?? 0;
  expectNumber(fn, 'warmupEpochs', warmupEpochs, { min: 0 });
  const schedule = checkSchedule(fn, {
    schedule: options.schedule,
    lrDecay: options.lrDecay,
    warmupIterations: options.warmupIterations ?? Math.round(warmupEpochs * iterationsPerEpoch),
    minLrFactor: options.minLrFactor,
    iterationsPerEpoch,
    totalIterations,
  });
  const scheduled =
    schedule.schedule === 'cosine' || schedule.lrDecay !== 1 || schedule.warmupIterations > 0;
  if (scheduled && baseLr === undefined) {
    throw new ValueError(
      `${fn}: a learning-rate schedule needs optimConfig.learningRate with a custom updateRule`,
    );
  }
  return {
    batchSize,
    numEpochs,
    iterationsPerEpoch,
    totalIterations,
    numTrainSamples,
    numValSamples,
    printEvery,
    patience,
    clipNorm: options.clipNorm ?? null,
    metric,
    checks: metric !== 'none' || options.evaluate !== undefined,
    seed: options.seed,
    rule,
    ruleName,
    optimConfig,
    baseLr,
    schedule,
    scheduled,
    checkpoint: options.checkpoint ?? null,
  };
}

/** Checks the function options, the metric and the checkpoint path; returns the metric. */
function checkHooks(fn: string, options: SolverOptions<never>): 'accuracy' | 'none' {
  const metric = options.metric ?? 'accuracy';
  if (metric !== 'accuracy' && metric !== 'none') {
    throw new ValueError(`${fn}: metric must be 'accuracy' or 'none', got '${String(metric)}'`);
  }
  for (const hook of ['onProgress', 'augment', 'log', 'evaluate'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') {
      throw new TypeError(`${fn}: ${hook} must be a function`);
    }
  }
  if (options.evaluate !== undefined && metric === 'none') {
    throw new ValueError(`${fn}: evaluate and metric 'none' contradict each other; give one`);
  }
  if (options.checkpoint != null && typeof options.checkpoint !== 'string') {
    throw new TypeError(`${fn}: checkpoint must be a file path`);
  }
  return metric;
}

/**
 * The hyperparameters `config` leaves the rule after one step on a dummy param, i.e. checked
 * by the rule itself with its defaults filled in. Throws, prefixed with `where`, when the rule
 * refuses them.
 */
export function dryRun(where: string, rule: UpdateRule, config: OptimConfig): OptimConfig {
  try {
    return rule(Tensor.zeros([1], 'float64'), Tensor.zeros([1], 'float64'), { ...config });
  } catch (e) {
    throw new ValueError(`${where}: ${(e as Error).message}`, { cause: e });
  }
}

/** The rule function, its name (if named) and the base learning rate; checks optimConfig early. */
function resolveRule(
  fn: string,
  updateRule: RuleName | UpdateRule,
  optimConfig: OptimConfig,
): { rule: UpdateRule; ruleName: RuleName | null; baseLr: number | undefined } {
  if (optimConfig === null || typeof optimConfig !== 'object' || Array.isArray(optimConfig)) {
    throw new TypeError(`${fn}: optimConfig must be an object`);
  }
  if (typeof updateRule === 'function')
    return { rule: updateRule, ruleName: null, baseLr: optimConfig.learningRate };
  if (typeof updateRule !== 'string')
    throw new TypeError(`${fn}: updateRule must be a rule name or a function`);
  const rule = getUpdateRule(fn, updateRule);
  const ruleName = updateRule as RuleName;
  // Only hyperparameters belong in optimConfig (state is per param); check them now, not at step 1.
  expectOptions(
    `${fn}: optimConfig for ${ruleName}`,
    optimConfig,
    Object.keys(RULE_DEFAULTS[ruleName]),
  );
  dryRun(`${fn}: optimConfig`, rule, optimConfig);
  return {
    rule,
    ruleName,
    baseLr: optimConfig.learningRate ?? RULE_DEFAULTS[ruleName].learningRate,
  };
}

/**
 * What a resumed run must be given again because a checkpoint cannot hold functions: a custom
 * updateRule, and each hook (augment, evaluate) the saved run used. `where` names the file.
 */
export function checkResumeOptions(
  where: string,
  run: { readonly updateRule: string | null; readonly hooks: readonly HookName[] },
  options: { readonly updateRule?: unknown } & Partial<Record<HookName, unknown>>,
): void {
  if (run.updateRule === null && typeof options.updateRule !== 'function') {
    throw new ValueError(
      `${where}: the run used a custom updateRule; pass the same function in options.updateRule`,
    );
  }
  for (const hook of run.hooks) {
    if (typeof options[hook] !== 'function') {
      throw new ValueError(
        `${where}: the run used ${hook}; pass the same function in options.${hook} to continue it exactly`,
      );
    }
  }
}
