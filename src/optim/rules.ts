// src/optim/rules.ts: the update rules. Each mutates w in place from its gradient dw and keeps
// its state (velocity, moments, step count) in the config object it returns, so one config per
// parameter is all a training loop has to carry. The arithmetic and the defaults are those of
// torch.optim (https://pytorch.org/docs/1.13/optim.html), step for step.
import { kernelsFor, residentArray, residentZeros } from '../kernels/index.js';
import {
  unknownName,
  expectFloat,
  expectNumber,
  expectOptions,
  fmt,
  ShapeError,
  DTypeError,
  ValueError,
  type FloatData,
  type FloatTensor,
} from '../tensor/index.js';

/**
 * Hyperparameters and state of one parameter's update rule. Only the keys a rule uses are
 * allowed in its config (an unknown key is rejected with a suggestion). State is plain typed
 * arrays (the dtype of w) and numbers, so a config can be written to a checkpoint as it is.
 * Under the wasm backend float32 state arrays live in WASM memory (kernels.residentZeros): a
 * state array passed in may be replaced by a copy there, so read it from the returned config.
 */
export interface OptimConfig {
  /**
   * Step size (all rules). Defaults as torch: rmsprop, adagrad 1e-2; adam, adamw 1e-3; and
   * sgd, sgdMomentum, nesterov 1e-2 (torch's SGD has no default; this is the classic solver's).
   */
  learningRate?: number;
  /** Heavy-ball coefficient mu (sgdMomentum, nesterov: 0.9; rmsprop: 0). */
  momentum?: number;
  /** rmsprop's alpha, the decay of the running mean of squared gradients (0.99). */
  decayRate?: number;
  /** adam, adamw: decay of the first moment (0.9). */
  beta1?: number;
  /** adam, adamw: decay of the second moment (0.999). */
  beta2?: number;
  /** Added to the denominator (rmsprop, adam, adamw 1e-8; adagrad 1e-10 as in torch). */
  epsilon?: number;
  /** L2 penalty added to the gradient (torch style), default 0; adamw: decoupled decay, default 0.01. */
  weightDecay?: number;
  /** State of sgdMomentum, nesterov and rmsprop with momentum: the momentum buffer. */
  velocity?: FloatData;
  /** State of rmsprop (running mean of g²) and adagrad (running sum of g²). */
  cache?: FloatData;
  /** State of adam, adamw: first moment, second moment, number of steps taken. */
  m?: FloatData;
  v?: FloatData;
  t?: number;
}

/** An update rule: mutates w from dw, returns the (filled-in) config carrying its state. */
export type UpdateRule = (w: FloatTensor, dw: FloatTensor, config?: OptimConfig) => OptimConfig;

export type RuleName =
  'sgd' | 'sgdMomentum' | 'nesterov' | 'rmsprop' | 'adagrad' | 'adam' | 'adamw';

type Hyper =
  'learningRate' | 'momentum' | 'decayRate' | 'beta1' | 'beta2' | 'epsilon' | 'weightDecay';
type StateKey = 'velocity' | 'cache' | 'm' | 'v';

/** The defaults of each rule (torch.optim's; torch's SGD has none for lr, 1e-2 is the classic solver's). */
export const RULE_DEFAULTS: Readonly<Record<RuleName, Readonly<Partial<Record<Hyper, number>>>>> = {
  sgd: { learningRate: 1e-2, weightDecay: 0 },
  sgdMomentum: { learningRate: 1e-2, momentum: 0.9, weightDecay: 0 },
  nesterov: { learningRate: 1e-2, momentum: 0.9, weightDecay: 0 },
  rmsprop: { learningRate: 1e-2, decayRate: 0.99, epsilon: 1e-8, momentum: 0, weightDecay: 0 },
  adagrad: { learningRate: 1e-2, epsilon: 1e-10, weightDecay: 0 },
  adam: { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
  adamw: { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 1e-2 },
};

const STATE: Readonly<Record<RuleName, readonly (StateKey | 't')[]>> = {
  sgd: [],
  sgdMomentum: ['velocity'],
  nesterov: ['velocity'],
  rmsprop: ['cache', 'velocity'],
  adagrad: ['cache'],
  adam: ['m', 'v', 't'],
  adamw: ['m', 'v', 't'],
};

/** Allowed range of each hyperparameter (torch's checks, plus betas and decay below 1). */
const RANGES: Readonly<Record<Hyper, { min: number; max?: number; maxExclusive?: boolean }>> = {
  learningRate: { min: 0 },
  momentum: { min: 0 },
  decayRate: { min: 0, max: 1 },
  beta1: { min: 0, max: 1, maxExclusive: true },
  beta2: { min: 0, max: 1, maxExclusive: true },
  epsilon: { min: 0 },
  weightDecay: { min: 0 },
};

/** Everything a rule needs after validation: hyperparameters with defaults filled in. */
type Filled = OptimConfig & Required<Pick<OptimConfig, 'learningRate'>>;

/**
 * Checks w, dw and the config of rule `name`, fills in defaults (in the config object itself)
 * and returns it. State arrays already present must match w's dtype and size (e.g. after a
 * checkpoint was loaded into the wrong parameter).
 */
function prepare(
  name: RuleName,
  w: FloatTensor,
  dw: FloatTensor,
  config: OptimConfig | undefined,
): Filled {
  expectFloat(name, 'w', w);
  expectFloat(name, 'dw', dw);
  if (dw.shape.length !== w.shape.length || dw.shape.some((d, i) => d !== w.shape[i])) {
    throw new ShapeError(`${name}: dw has shape ${fmt(dw.shape)} but w has shape ${fmt(w.shape)}`);
  }
  if (dw.dtype !== w.dtype)
    throw new DTypeError(`${name}: dw has dtype ${dw.dtype} but w has dtype ${w.dtype}`);
  const cfg = config ?? {};
  const defaults = RULE_DEFAULTS[name];
  const hypers = Object.keys(defaults) as Hyper[];
  expectOptions(name, cfg, [...hypers, ...STATE[name]]);
  for (const key of hypers) {
    if (cfg[key] === undefined) cfg[key] = defaults[key];
    expectNumber(name, key, cfg[key], RANGES[key]);
  }
  for (const key of STATE[name]) {
    if (key === 't') {
      if (cfg.t === undefined) cfg.t = 0;
      expectNumber(name, 't', cfg.t, { min: 0, integer: true });
      continue;
    }
    const s = cfg[key];
    // rmsprop keeps a momentum buffer only when it uses one
    if (s === undefined && key === 'velocity' && name === 'rmsprop' && cfg.momentum === 0) continue;
    if (s === undefined) {
      // float32 state lives where the wasm kernels use it in place (kernels.residentZeros)
      cfg[key] = w.dtype === 'float64' ? new Float64Array(w.size) : residentZeros(w.size);
    } else if (
      !(s instanceof (w.dtype === 'float64' ? Float64Array : Float32Array)) ||
      s.length !== w.size
    ) {
      const isArray = s instanceof Float64Array || s instanceof Float32Array;
      const what = isArray ? `${s.constructor.name}(${s.length})` : typeof s;
      throw new ValueError(
        `${name}: config.${key} is ${what} but w is ${w.dtype} with ${w.size} elements`,
      );
    } else if (s instanceof Float32Array) {
      cfg[key] = residentArray(s); // e.g. state read from a checkpoint: moved there once
    }
  }
  return cfg as Filled;
}

/** Vanilla SGD: g = dw + weightDecay·w;  w -= learningRate·g. */
export function sgd(w: FloatTensor, dw: FloatTensor, config?: OptimConfig): OptimConfig {
  const cfg = prepare('sgd', w, dw, config);
  // w −= lr·(dw + weightDecay·w), on the kernels (a WASM SIMD loop for float32)
  kernelsFor(w.dtype).sgdStep(w.data, dw.data, cfg.learningRate, cfg.weightDecay as number);
  return cfg;
}

/**
 * SGD with heavy-ball momentum, torch's form: v = mu·v + g;  w -= learningRate·v, with
 * g = dw + weightDecay·w. (v starts at 0, so the first v is g, as torch's clone of the gradient.)
 */
export function sgdMomentum(w: FloatTensor, dw: FloatTensor, config?: OptimConfig): OptimConfig {
  const cfg = prepare('sgdMomentum', w, dw, config);
  momentumStep(w, dw, cfg, false);
  return cfg;
}

/** Nesterov momentum as torch's nesterov=True: v = mu·v + g;  w -= learningRate·(g + mu·v). */
export function nesterov(w: FloatTensor, dw: FloatTensor, config?: OptimConfig): OptimConfig {
  const cfg = prepare('nesterov', w, dw, config);
  momentumStep(w, dw, cfg, true);
  return cfg;
}

function momentumStep(w: FloatTensor, dw: FloatTensor, cfg: Filled, lookahead: boolean): void {
  const lr = cfg.learningRate,
    mu = cfg.momentum as number,
    wd = cfg.weightDecay as number;
  const x = w.data,
    dx = dw.data,
    v = cfg.velocity as FloatData;
  for (let i = 0; i < x.length; i++) {
    const g = dx[i] + wd * x[i];
    v[i] = mu * v[i] + g;
    x[i] -= lr * (lookahead ? g + mu * v[i] : v[i]);
  }
}

/**
 * RMSprop (torch, centered=False): cache = a·cache + (1 − a)·g²;  w -= lr·g / (√cache + eps),
 * a = decayRate. With momentum mu > 0: v = mu·v + g / (√cache + eps);  w -= lr·v.
 */
export function rmsprop(w: FloatTensor, dw: FloatTensor, config?: OptimConfig): OptimConfig {
  const cfg = prepare('rmsprop', w, dw, config);
  const lr = cfg.learningRate,
    a = cfg.decayRate as number,
    eps = cfg.epsilon as number;
  const mu = cfg.momentum as number,
    wd = cfg.weightDecay as number;
  const x = w.data,
    dx = dw.data,
    c = cfg.cache as FloatData,
    v = cfg.velocity as FloatData;
  for (let i = 0; i < x.length; i++) {
    const g = dx[i] + wd * x[i];
    c[i] = a * c[i] + (1 - a) * g * g;
    const step = g / (Math.sqrt(c[i]) + eps);
    if (mu > 0) {
      v[i] = mu * v[i] + step;
      x[i] -= lr * v[i];
    } else {
      x[i] -= lr * step;
    }
  }
  return cfg;
}

/** Adagrad (torch, lr_decay = 0): cache += g²;  w -= lr·g / (√cache + eps). */
export function adagrad(w: FloatTensor, dw: FloatTensor, config?: OptimConfig): OptimConfig {
  const cfg = prepare('adagrad', w, dw, config);
  const lr = cfg.learningRate,
    eps = cfg.epsilon as number,
    wd = cfg.weightDecay as number;
  const x = w.data,
    dx = dw.data,
    c = cfg.cache as FloatData;
  for (let i = 0; i < x.length; i++) {
    const g = dx[i] + wd * x[i];
    c[i] += g * g;
    x[i] -= lr * (g / (Math.sqrt(c[i]) + eps));
  }
  return cfg;
}

/**
 * Adam (Kingma & Ba, torch's arithmetic): t += 1;  m = b1·m + (1 − b1)·g;  v = b2·v + (1 − b2)·g²;
 * w -= lr/bc1 · m / (√v/√bc2 + eps), bc_k = 1 − b_k^t; g = dw + weightDecay·w (L2 in the gradient).
 */
export function adam(w: FloatTensor, dw: FloatTensor, config?: OptimConfig): OptimConfig {
  const cfg = prepare('adam', w, dw, config);
  adamStep(w, dw, cfg, cfg.weightDecay as number);
  return cfg;
}

/**
 * AdamW (Loshchilov & Hutter, torch's arithmetic): w *= 1 − lr·weightDecay (decoupled decay,
 * default 0.01), then the Adam step on the raw gradient.
 */
export function adamw(w: FloatTensor, dw: FloatTensor, config?: OptimConfig): OptimConfig {
  const cfg = prepare('adamw', w, dw, config);
  const shrink = 1 - cfg.learningRate * (cfg.weightDecay as number);
  const x = w.data;
  for (let i = 0; i < x.length; i++) x[i] *= shrink;
  adamStep(w, dw, cfg, 0);
  return cfg;
}

function adamStep(w: FloatTensor, dw: FloatTensor, cfg: Filled, l2: number): void {
  const lr = cfg.learningRate,
    b1 = cfg.beta1 as number,
    b2 = cfg.beta2 as number,
    eps = cfg.epsilon as number;
  const t = (cfg.t as number) + 1;
  cfg.t = t;
  const stepSize = lr / (1 - b1 ** t);
  const invBc2Sqrt = 1 / Math.sqrt(1 - b2 ** t); // one multiply per element instead of a division
  // per element: g = dw + l2·w;  m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²;
  // w −= stepSize·m / (√v·invBc2Sqrt + eps), i.e. stepSize·m / (√v/√bc2 + eps) (kernels: adamStep)
  kernelsFor(w.dtype).adamStep(w.data, dw.data, cfg.m as FloatData, cfg.v as FloatData, {
    beta1: b1,
    beta2: b2,
    stepSize,
    invBc2Sqrt,
    eps,
    l2,
  });
}

/** The rules by name, for the Solver's `updateRule: 'adam'` and the CLI. */
export const updateRules: Readonly<Record<RuleName, UpdateRule>> = {
  sgd,
  sgdMomentum,
  nesterov,
  rmsprop,
  adagrad,
  adam,
  adamw,
};

/** Looks a rule up by name; an unknown name throws with the closest known one suggested. */
export function getUpdateRule(fn: string, name: string): UpdateRule {
  if (!Object.hasOwn(updateRules, name)) {
    throw new ValueError(`${fn}: ${unknownName('updateRule', name, Object.keys(updateRules))}`);
  }
  return updateRules[name as RuleName];
}
