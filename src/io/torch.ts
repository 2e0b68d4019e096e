// src/io/torch.ts: the PyTorch bridge's plan. Every built-in classifier and every nn.Sequential
// chain of the built-in modules has an equivalent torch network made of standard torch.nn
// modules. One description of it, the plan, serves both directions (torchStateDict.ts) and the
// exported model.py (torchPy.ts):
//   - the torch modules in order, as Python constructor calls;
//   - how each tensor of torch's state dict maps onto one of ours, with the layout changes:
//     nn.Linear's weight is our W transposed ((out, in) against our (in, out)); the recurrent
//     weights are transposed and their gate blocks reordered (our LSTM i, f, o, g is torch's
//     i, f, g, o); torch's second recurrent bias (bias_hh) is exported as zeros and added into
//     ours on import; BatchNorm's running_mean / running_var are our running statistics (ours is
//     the biased variance estimate, see the README) and num_batches_tracked is a counter that
//     layerwise does not keep (exported as 0; torch's eval output does not read it).
import { ValueError, type FloatTensor } from '../tensor/index.js';
import * as models from '../models/index.js';
import * as nn from '../nn/index.js';

/** One module of the torch network: its state-dict prefix and the Python that builds it. */
interface TorchModule {
  readonly name: string; // '' for the positional modules of nn.Sequential(...)
  readonly python: string; // e.g. 'nn.Conv2d(1, 16, kernel_size=5, padding=2)'
}

/** How one torch tensor corresponds to one of ours (keys are full dotted keys). */
export type Mapping =
  | { readonly kind: 'copy'; readonly torch: string; readonly ours: string }
  /** ours (in, out) = torch (out, in)ᵀ */
  | { readonly kind: 'transpose'; readonly torch: string; readonly ours: string }
  /** ours (In, G·H) = torch (G·H, In)ᵀ with torch's gate block k = our block gates[k] */
  | Gated<'gateWeight'>
  /** ours (G·H) = torch (G·H) with the blocks reordered */
  | Gated<'gateBias'>
  /** torch's bias_hh: exported as zeros, added into our bias on import where `foldable[k]` */
  | (Gated<'hiddenBias'> & { readonly foldable: readonly boolean[] })
  /** torch's num_batches_tracked (int64, 0-d); no counterpart in layerwise */
  | { readonly kind: 'counter'; readonly torch: string };

export interface Gated<K extends string> {
  readonly kind: K;
  readonly torch: string;
  readonly ours: string;
  readonly gates: readonly number[];
}

/** The torch network equivalent to a model, and how the state dicts correspond. */
export interface TorchPlan {
  /** Named modules (built-in models: nn.Sequential(OrderedDict)) or positional (Sequential). */
  readonly modules: readonly TorchModule[];
  readonly named: boolean;
  readonly mappings: readonly Mapping[];
  /** Helper classes of model.py the modules use ('FlattenLinear', 'BatchFirstLSTM', ...). */
  readonly helpers: ReadonlySet<string>;
  readonly dtype: 'float32' | 'float64';
}

const LSTM_GATES = [0, 1, 3, 2]; // torch i, f, g, o from our i, f, o, g
export type AnyModel = { readonly params: Record<string, FloatTensor> };

/** The plan of `model`; `fn` names the caller in errors. */
export function torchPlan(fn: string, model: unknown): TorchPlan {
  if (model instanceof nn.Sequential) {
    const b = new PlanBuilder(false);
    b.sequential(fn, model, '');
    return b.done(model);
  }
  const b = new PlanBuilder(true);
  if (model instanceof models.LinearClassifier) {
    b.add('flatten', 'nn.Flatten()');
    b.linear('fc', 'W', 'b', model.params.W);
  } else if (model instanceof models.TwoLayerNet) {
    b.add('flatten', 'nn.Flatten()');
    b.linear('fc1', 'W1', 'b1', model.params.W1);
    b.add('relu1', 'nn.ReLU()');
    b.linear('fc2', 'W2', 'b2', model.params.W2);
  } else if (model instanceof models.FullyConnectedNet) {
    b.add('flatten', 'nn.Flatten()');
    const L = model.numLayers;
    for (let i = 1; i < L; i++) {
      b.linear(`fc${i}`, `W${i}`, `b${i}`, model.params[`W${i}`]);
      const width = model.params[`W${i}`].shape[1];
      if (model.normalization === 'batchnorm') b.batchnorm(`bn${i}`, 'BatchNorm1d', width, i);
      if (model.normalization === 'layernorm') b.layernorm(`ln${i}`, width, i);
      if (model.normalization === 'groupnorm') b.groupnorm(`gn${i}`, model.groups, width, i);
      b.add(`relu${i}`, 'nn.ReLU()');
      if (model.dropout > 0) b.add(`dropout${i}`, `nn.Dropout(${py(model.dropout)})`);
    }
    b.linear(`fc${L}`, `W${L}`, `b${L}`, model.params[`W${L}`]);
  } else if (model instanceof models.ThreeLayerConvNet) {
    const [F, C, K] = model.params.W1.shape;
    b.add('conv1', `nn.Conv2d(${C}, ${F}, kernel_size=${K}, padding=${(K - 1) / 2})`);
    b.map({ kind: 'copy', torch: 'conv1.weight', ours: 'W1' });
    b.map({ kind: 'copy', torch: 'conv1.bias', ours: 'b1' });
    const bn = model.normalization === 'batchnorm',
      gn = model.normalization === 'groupnorm';
    if (bn) b.batchnorm('bn1', 'BatchNorm2d', F, 1);
    if (gn) b.groupnorm('gn1', model.groups, F, 1);
    b.add('relu1', 'nn.ReLU()');
    b.add('pool1', 'nn.MaxPool2d(kernel_size=2, stride=2)');
    b.add('flatten', 'nn.Flatten()');
    b.linear('fc2', 'W2', 'b2', model.params.W2);
    if (bn) b.batchnorm('bn2', 'BatchNorm1d', model.params.W2.shape[1], 2);
    if (gn) b.groupnorm('gn2', model.groups, model.params.W2.shape[1], 2); // torch's takes (N, C)
    b.add('relu2', 'nn.ReLU()');
    if (model.dropout > 0) b.add('dropout2', `nn.Dropout(${py(model.dropout)})`);
    b.linear('fc3', 'W3', 'b3', model.params.W3);
  } else {
    throw new ValueError(
      `${fn}: no torch equivalent is known for a ${describe(model)}; the built-in classifiers (LinearClassifier, TwoLayerNet, FullyConnectedNet, ThreeLayerConvNet) and nn.Sequential chains are supported`,
    );
  }
  return b.done(model as AnyModel);
}

function describe(model: unknown): string {
  if (model === null || typeof model !== 'object') return String(model);
  return (model as object).constructor?.name ?? 'object';
}

/** A Python literal for a number: JS's shortest round-trip form is valid Python. */
function py(v: number): string {
  if (!Number.isFinite(v)) throw new ValueError(`torch export: ${v} has no Python literal`);
  return String(v);
}

class PlanBuilder {
  readonly modules: TorchModule[] = [];
  readonly mappings: Mapping[] = [];
  readonly helpers = new Set<string>();
  constructor(readonly named: boolean) {}

  add(name: string, python: string): void {
    this.modules.push({ name, python });
  }

  map(m: Mapping): void {
    this.mappings.push(m);
  }

  /** nn.Linear(in, out) over the 2-D input; W (in, out) is ours. */
  linear(name: string, W: string, b: string | null, weight: FloatTensor): void {
    const [inF, outF] = weight.shape;
    this.add(name, `nn.Linear(${inF}, ${outF}${b === null ? ', bias=False' : ''})`);
    this.map({ kind: 'transpose', torch: `${name}.weight`, ours: W });
    if (b !== null) this.map({ kind: 'copy', torch: `${name}.bias`, ours: b });
  }

  /** The batch norm of a built-in model: params gammaI, betaI, buffers runningMeanI, runningVarI. */
  batchnorm(name: string, cls: 'BatchNorm1d' | 'BatchNorm2d', n: number, i: number): void {
    // the models use batchnormForward's defaults: eps 1e-5, momentum 0.9 (torch's 0.1)
    this.add(name, `nn.${cls}(${n})`);
    this.norm(name, `gamma${i}`, `beta${i}`);
    this.map({ kind: 'copy', torch: `${name}.running_mean`, ours: `runningMean${i}` });
    this.map({ kind: 'copy', torch: `${name}.running_var`, ours: `runningVar${i}` });
    this.map({ kind: 'counter', torch: `${name}.num_batches_tracked` });
  }

  layernorm(name: string, n: number, i: number): void {
    this.add(name, `nn.LayerNorm(${n})`);
    this.norm(name, `gamma${i}`, `beta${i}`);
  }

  /** The group norm of a built-in model (eps 1e-5, as torch's default): params gammaI, betaI. */
  groupnorm(name: string, groups: number, n: number, i: number): void {
    this.add(name, `nn.GroupNorm(${groups}, ${n})`);
    this.norm(name, `gamma${i}`, `beta${i}`);
  }

  private norm(name: string, gamma: string, beta: string): void {
    this.map({ kind: 'copy', torch: `${name}.weight`, ours: gamma });
    this.map({ kind: 'copy', torch: `${name}.bias`, ours: beta });
  }

  /**
   * The modules of `seq`, positional, with keys under `prefix` ('' or '3.'); returns the Python
   * of a nested chain. Tracks whether the tensor between modules is known to be 2-D: our Linear
   * flattens (N, d1..dk) itself, torch's applies to the last axis, so a Linear that may see more
   * than two axes becomes FlattenLinear (nn.Linear over x.flatten(1)).
   */
  sequential(fn: string, seq: nn.Sequential, prefix: string): string {
    let flat = false;
    const parts: string[] = [];
    seq.modules.forEach((m, i) => {
      const key = `${prefix}${i}.`;
      const where = `module ${prefix}${i}`;
      const { python, flatAfter } = this.module(fn, m, key, where, flat);
      flat = flatAfter ?? flat;
      parts.push(python);
      if (prefix === '') this.add('', python);
    });
    return `nn.Sequential(${parts.join(', ')})`;
  }

  private module(
    fn: string,
    m: nn.Module,
    key: string,
    where: string,
    flat: boolean,
  ): { python: string; flatAfter?: boolean } {
    const biasFree =
      m instanceof nn.Linear || m instanceof nn.Conv2d || m instanceof nn.ConvTranspose2d;
    if (biasFree && !m.hasBias) zeroBias(fn, m, where);
    if (m instanceof nn.Linear) {
      const cls = flat ? 'nn.Linear' : 'FlattenLinear';
      if (!flat) this.helpers.add('FlattenLinear');
      this.map({ kind: 'transpose', torch: `${key}weight`, ours: `${key}weight` });
      if (m.hasBias) this.map({ kind: 'copy', torch: `${key}bias`, ours: `${key}bias` });
      const bias = m.hasBias ? '' : ', bias=False';
      return { python: `${cls}(${m.inFeatures}, ${m.outFeatures}${bias})`, flatAfter: true };
    }
    // torch's Conv2d weight (F, C, HH, WW) and ConvTranspose2d weight (C_in, F, HH, WW) are ours
    if (m instanceof nn.Conv2d || m instanceof nn.ConvTranspose2d) return this.conv(m, key);
    if (m instanceof nn.GroupNorm) {
      this.map({ kind: 'copy', torch: `${key}weight`, ours: `${key}weight` });
      this.map({ kind: 'copy', torch: `${key}bias`, ours: `${key}bias` });
      const eps = m.eps !== 1e-5 ? `, eps=${py(m.eps)}` : '';
      return { python: `nn.GroupNorm(${m.numGroups}, ${m.numChannels}${eps})` };
    }
    if (m instanceof nn.BatchNorm1d || m instanceof nn.BatchNorm2d) {
      const cls = m instanceof nn.BatchNorm1d ? 'BatchNorm1d' : 'BatchNorm2d';
      const args = [`${m.numFeatures}`];
      if (m.eps !== 1e-5) args.push(`eps=${py(m.eps)}`);
      const momentum = Number((1 - m.momentum).toPrecision(12)); // ours 0.9 is torch's 0.1
      if (momentum !== 0.1) args.push(`momentum=${py(momentum)}`);
      this.map({ kind: 'copy', torch: `${key}weight`, ours: `${key}weight` });
      this.map({ kind: 'copy', torch: `${key}bias`, ours: `${key}bias` });
      this.map({ kind: 'copy', torch: `${key}running_mean`, ours: `${key}runningMean` });
      this.map({ kind: 'copy', torch: `${key}running_var`, ours: `${key}runningVar` });
      this.map({ kind: 'counter', torch: `${key}num_batches_tracked` });
      return { python: `nn.${cls}(${args.join(', ')})`, flatAfter: cls === 'BatchNorm1d' };
    }
    if (m instanceof nn.LayerNorm) {
      this.map({ kind: 'copy', torch: `${key}weight`, ours: `${key}weight` });
      this.map({ kind: 'copy', torch: `${key}bias`, ours: `${key}bias` });
      const eps = m.eps !== 1e-5 ? `, eps=${py(m.eps)}` : '';
      return { python: `nn.LayerNorm(${m.normalizedShape}${eps})` };
    }
    if (m instanceof nn.MaxPool2d || m instanceof nn.AvgPool2d) {
      const { poolHeight: ph, poolWidth: pw, stride } = m.poolParam;
      const cls = m instanceof nn.MaxPool2d ? 'MaxPool2d' : 'AvgPool2d';
      const size = ph === pw ? `${ph}` : `(${ph}, ${pw})`;
      return { python: `nn.${cls}(kernel_size=${size}, stride=${stride})`, flatAfter: false };
    }
    if (m instanceof nn.ReLU) return { python: 'nn.ReLU()' };
    if (m instanceof nn.LeakyReLU)
      return { python: `nn.LeakyReLU(negative_slope=${py(m.negativeSlope)})` };
    if (m instanceof nn.Sigmoid) return { python: 'nn.Sigmoid()' };
    if (m instanceof nn.Tanh) return { python: 'nn.Tanh()' };
    if (m instanceof nn.Dropout) return { python: `nn.Dropout(${py(m.p)})` };
    if (m instanceof nn.Flatten) return { python: 'nn.Flatten()', flatAfter: true };
    if (m instanceof nn.Unflatten) {
      const shape = m.shape.length === 1 ? `(${m.shape[0]},)` : `(${m.shape.join(', ')})`;
      return { python: `nn.Unflatten(1, ${shape})`, flatAfter: m.shape.length === 1 };
    }
    if (m instanceof nn.RNN) return this.recurrent(m, key, 'RNN', [0], [true]);
    if (m instanceof nn.LSTM)
      return this.recurrent(m, key, 'LSTM', LSTM_GATES, [true, true, true, true]);
    // torch's GRU: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)); ours has b_hn = 0
    if (m instanceof nn.GRU) return this.recurrent(m, key, 'GRU', [0, 1, 2], [true, true, false]);
    if (m instanceof nn.TemporalLinear) {
      this.map({ kind: 'transpose', torch: `${key}weight`, ours: `${key}weight` });
      this.map({ kind: 'copy', torch: `${key}bias`, ours: `${key}bias` });
      return { python: `nn.Linear(${m.inFeatures}, ${m.outFeatures})`, flatAfter: false };
    }
    if (m instanceof nn.Embedding) {
      this.map({ kind: 'copy', torch: `${key}weight`, ours: `${key}weight` });
      return { python: `nn.Embedding(${m.numEmbeddings}, ${m.embeddingDim})`, flatAfter: false };
    }
    if (m instanceof nn.Sequential) return { python: this.sequential(fn, m, key) };
    throw new ValueError(
      `${fn}: ${where} (${m.constructor.name}) has no torch equivalent in layerwise's bridge`,
    );
  }

  /** nn.Conv2d or nn.ConvTranspose2d (whose padding crops the output, as ours does). */
  private conv(
    m: nn.Conv2d | nn.ConvTranspose2d,
    key: string,
  ): { python: string; flatAfter: boolean } {
    const transposed = m instanceof nn.ConvTranspose2d;
    const [d0, d1, KH, KW] = m.params.weight.shape; // (F, C, ..) or, transposed, (C, F, ..)
    const [C, F] = transposed ? [d0, d1] : [d1, d0];
    const args = [`${C}`, `${F}`, `kernel_size=${KH === KW ? KH : `(${KH}, ${KW})`}`];
    if (m.stride !== 1) args.push(`stride=${m.stride}`);
    if (m.pad !== 0) args.push(`padding=${m.pad}`);
    if (transposed && m.outputPad !== 0) args.push(`output_padding=${m.outputPad}`);
    if (!m.hasBias) args.push('bias=False');
    this.map({ kind: 'copy', torch: `${key}weight`, ours: `${key}weight` });
    if (m.hasBias) this.map({ kind: 'copy', torch: `${key}bias`, ours: `${key}bias` });
    const cls = transposed ? 'ConvTranspose2d' : 'Conv2d';
    return { python: `nn.${cls}(${args.join(', ')})`, flatAfter: false };
  }

  private recurrent(
    m: nn.RNN | nn.LSTM | nn.GRU,
    key: string,
    cell: 'RNN' | 'LSTM' | 'GRU',
    gates: readonly number[],
    foldable: readonly boolean[],
  ): { python: string; flatAfter: boolean } {
    this.helpers.add(`BatchFirst${cell}`);
    this.map({ kind: 'gateWeight', torch: `${key}weight_ih_l0`, ours: `${key}Wx`, gates });
    this.map({ kind: 'gateWeight', torch: `${key}weight_hh_l0`, ours: `${key}Wh`, gates });
    this.map({ kind: 'gateBias', torch: `${key}bias_ih_l0`, ours: `${key}b`, gates });
    this.map({ kind: 'hiddenBias', torch: `${key}bias_hh_l0`, ours: `${key}b`, gates, foldable });
    return { python: `BatchFirst${cell}(${m.inputSize}, ${m.hiddenSize})`, flatAfter: false };
  }

  done(model: AnyModel): TorchPlan {
    const first = Object.values(model.params)[0];
    return {
      modules: this.modules,
      named: this.named,
      mappings: this.mappings,
      helpers: this.helpers,
      dtype: first?.dtype === 'float64' ? 'float64' : 'float32',
    };
  }
}

/** torch's bias=False has no bias to hold ours: it must still be the zeros it was built with. */
function zeroBias(fn: string, m: nn.Linear | nn.Conv2d | nn.ConvTranspose2d, where: string): void {
  if (m.params.bias.data.some((v) => v !== 0)) {
    throw new ValueError(
      `${fn}: ${where} (${m.constructor.name}) was built without a bias but its bias holds non-zero values; torch's bias=False cannot hold them`,
    );
  }
}
