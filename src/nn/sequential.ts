// src/nn/sequential.ts: Sequential, a chain of modules that is itself a module and a Model: the
// Solver trains it like the classic models, through params/buffers keyed by dotted path
// ('0.weight', '1.runningMean') and loss(X, y?).
import { softmaxLoss, svmLoss } from '../layers/index.js';
import { addL2 } from './internal.js';
import {
  inputGradientOfTrace,
  type Classifier,
  type InputGradient,
  type LossResult,
  type TraceStep,
} from './model.js';
import {
  expectOneOf,
  defaultRng,
  expectFloat,
  expectNumber,
  expectOptions,
  Rng,
  ValueError,
  type FloatTensor,
  type Labels,
  type Tensor,
} from '../tensor/index.js';
import { Dropout } from './dropout.js';
import { Module } from './module.js';
import { GroupNorm } from './groupnorm.js';
import { BatchNorm1d, BatchNorm2d, LayerNorm } from './normalization.js';

export interface SequentialOptions {
  loss?: 'softmax' | 'svm'; // the loss of loss(X, y), default 'softmax'
  /** L2 strength: 0.5·reg·Σ w² over every 'weight' except those of normalisation modules. */
  reg?: number;
  /** Seeds `rng`, the generator shared by every Dropout that has none of its own. */
  seed?: number;
}
const OPTIONS = ['loss', 'reg', 'seed'] as const;

/** Every module below m (not m itself), depth first. */
function descendants(m: Module): Module[] {
  return m.children().flatMap(([, c]) => [c, ...descendants(c)]);
}

/**
 * out = the modules applied in order; backward runs them in reverse. As a Model: loss(X) puts
 * every module in eval mode and returns the scores; loss(X, y) puts them in train mode, scores
 * with the softmax (or SVM) loss, backpropagates and returns one gradient per param key.
 */
export class Sequential extends Module implements Classifier {
  readonly modules: readonly Module[];
  readonly lossType: 'softmax' | 'svm';
  readonly reg: number;
  /** Draws the masks of the dropouts that had no generator (present when there are any). */
  readonly rng?: Rng;
  /** The param keys L2 applies to (see SequentialOptions.reg). */
  readonly l2Keys: readonly string[];

  constructor(...items: [...Module[]] | [...Module[], SequentialOptions]) {
    super();
    const fn = 'Sequential';
    const last = items[items.length - 1];
    const options: SequentialOptions = last !== undefined && !(last instanceof Module) ? last : {};
    const modules: Module[] = [];
    for (const m of items as ReadonlyArray<Module | SequentialOptions>)
      if (m instanceof Module) modules.push(m);
    if (modules.length !== items.length - (last === options ? 1 : 0)) {
      throw new TypeError(
        `${fn}: arguments must be modules, optionally followed by one options object`,
      );
    }
    modules.forEach((m, i) => {
      const first = modules.indexOf(m);
      if (first !== i) {
        throw new ValueError(
          `${fn}: module ${i} is the same object as module ${first}; ` +
            'each position needs its own instance (it keeps the cache of its forward)',
        );
      }
    });
    expectOptions(fn, options, OPTIONS);
    this.lossType = expectOneOf(fn, 'loss', options.loss ?? 'softmax', ['softmax', 'svm'] as const);
    this.reg = options.reg ?? 0;
    expectNumber(fn, 'reg', this.reg, { min: 0 });
    if (options.seed !== undefined) expectNumber(fn, 'seed', options.seed);
    this.modules = modules;

    modules.forEach((m, i) => {
      this.proxy(this.params, `${i}.`, m.params);
      this.proxy(this.buffers, `${i}.`, m.buffers);
    });
    this.l2Keys = modules.flatMap((m, i) => decayKeys(m).map((k) => `${i}.${k}`));
    const unseeded = descendants(this).filter(
      (m): m is Dropout => m instanceof Dropout && m.rng === undefined,
    );
    if (unseeded.length > 0) {
      const rng =
        options.seed !== undefined ? new Rng(options.seed) : new Rng(defaultRng().nextUint32());
      for (const d of unseeded) d.rng = rng;
      this.rng = rng;
    }
  }

  /** Adds to `into` a live view of `from` under `prefix`: reading or replacing a key reaches the module. */
  private proxy(
    into: Record<string, FloatTensor>,
    prefix: string,
    from: Record<string, FloatTensor>,
  ): void {
    for (const key of Object.keys(from)) {
      Object.defineProperty(into, prefix + key, {
        enumerable: true,
        get: () => from[key],
        set: (t: FloatTensor) => {
          from[key] = t;
        },
      });
    }
  }

  override children(): ReadonlyArray<readonly [string, Module]> {
    return this.modules.map((m, i) => [String(i), m] as const);
  }

  forward(x: Tensor): FloatTensor {
    expectFloat('Sequential.forward', 'x', x);
    let out: FloatTensor = x;
    for (const m of this.modules) out = m.forward(out);
    return out;
  }

  /** Runs every module's backward in reverse; grads gets their gradients under dotted keys. */
  backward(dout: Tensor): FloatTensor {
    expectFloat('Sequential.backward', 'dout', dout);
    let d: FloatTensor = dout;
    for (let i = this.modules.length - 1; i >= 0; i--) d = this.modules[i].backward(d);
    this.modules.forEach((m, i) => {
      for (const [k, g] of Object.entries(m.grads)) this.grads[`${i}.${k}`] = g;
    });
    return d;
  }

  loss(X: Tensor): FloatTensor;
  loss(X: Tensor, y: Labels): LossResult;
  loss(X: Tensor, y?: Labels): FloatTensor | LossResult {
    expectFloat('Sequential.loss', 'X', X);
    if (y === undefined) return this.eval().forward(X);
    const scores = this.train().forward(X);
    const { loss, dx } = this.lossType === 'svm' ? svmLoss(scores, y) : softmaxLoss(scores, y);
    this.backward(dx);
    const grads: Record<string, FloatTensor> = {};
    for (const key of Object.keys(this.params)) grads[key] = this.grads[key];
    return { loss: addL2(loss, grads, this.params, this.l2Keys, this.reg), grads };
  }

  /**
   * Puts every module in eval mode (as loss(X) does), runs the forward, then dscores (N, C) back
   * to X through every module, the first included (see Classifier). The modules' grads are
   * overwritten by this backward; params and buffers are unchanged.
   */
  inputGradient(X: Tensor, dscores: Tensor): InputGradient {
    const fn = 'Sequential.inputGradient';
    expectFloat(fn, 'X', X);
    return inputGradientOfTrace(fn, this.eval().traceModules(X, ''), dscores);
  }

  /**
   * The eval-mode forward one module at a time, named by position and class ('0 Conv2d',
   * '1 ReLU'; a nested Sequential's modules as '2.0 Linear'). Each step's backward is the
   * module's backward.
   */
  trace(X: Tensor): TraceStep[] {
    expectFloat('Sequential.trace', 'X', X);
    return this.eval().traceModules(X, '');
  }

  private traceModules(X: FloatTensor, prefix: string): TraceStep[] {
    const steps: TraceStep[] = [];
    let h = X;
    this.modules.forEach((m, i) => {
      const name = `${prefix}${i}`;
      const mine =
        m instanceof Sequential
          ? m.traceModules(h, `${name}.`)
          : [
              {
                name: `${name} ${m.constructor.name}`,
                out: m.forward(h),
                backward: m.backward.bind(m),
              },
            ];
      steps.push(...mine);
      if (mine.length > 0) h = mine[mine.length - 1].out; // an empty Sequential is the identity
    });
    return steps;
  }

  override toString(): string {
    return `Sequential(\n${this.modules.map((m, i) => `  (${i}): ${String(m).replace(/\n/g, '\n  ')}`).join('\n')}\n)`;
  }
}

const isNormalization = (m: Module): boolean =>
  m instanceof BatchNorm1d ||
  m instanceof BatchNorm2d ||
  m instanceof LayerNorm ||
  m instanceof GroupNorm;

/** The param keys of m that L2 applies to: 'weight', except in normalisation modules. */
function decayKeys(m: Module): string[] {
  if (m instanceof Sequential) return [...m.l2Keys];
  if (isNormalization(m)) return [];
  return Object.keys(m.params).filter((k) => k === 'weight');
}
