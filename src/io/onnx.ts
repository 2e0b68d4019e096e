// src/io/onnx.ts: ONNX export (https://onnx.ai, opset 17, IR version 8). The graph takes 'input',
// the tensor model.loss(X) takes (batch dimension 'N' dynamic), and returns 'scores' (N, classes;
// a Sequential's output as it is, e.g. the DCGAN generator's images),
// in eval mode: batch norm with our running statistics and eps, dropout as identity. Messages are
// written with src/io/protobuf.ts; field numbers are those of onnx/onnx.proto (ModelProto,
// GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto, TypeProto,
// TensorShapeProto, OperatorSetIdProto, StringStringEntryProto).
import { Tensor, ValueError, type FloatTensor } from '../tensor/index.js';
import * as models from '../models/index.js';
import * as nn from '../nn/index.js';
import { ProtoWriter } from './protobuf.js';
import { gateWeightToTorch, reorderBias } from './torchStateDict.js';
import type { TorchPreprocessing } from './torchPy.js';
import { VERSION } from './version.js';

const OPSET = 17;
const IR_VERSION = 8; // the IR of ONNX 1.12, which introduced opset 17
const FLOAT = 1,
  INT64 = 7,
  DOUBLE = 11; // TensorProto.DataType

export interface ExportOnnxOptions {
  /** One sample's shape, e.g. [1, 28, 28]; default: what the model's weights imply (Sequential: required). */
  readonly inputShape?: readonly number[];
  /** Stored in metadata_props as JSON (the graph itself does not preprocess). */
  readonly preprocessing?: TorchPreprocessing;
  readonly classNames?: readonly string[];
  /** The element type of the graph: 'float32' (default, what ONNX Runtime's CPU kernels all take) or 'float64'. */
  readonly dtype?: 'float32' | 'float64';
}

/** An attribute: an int, ints, a string, or { float } (epsilon, alpha). */
type Attr = number | readonly number[] | string | { readonly float: number };

/** The graph under construction: nodes, initializers, and fresh value names. */
class Graph {
  readonly nodes: ProtoWriter[] = [];
  readonly initializers: ProtoWriter[] = [];
  private count = 0;
  constructor(readonly elemType: number) {}

  fresh(hint: string): string {
    return `${hint}_${this.count++}`;
  }

  node(
    op: string,
    inputs: readonly string[],
    attrs: Record<string, Attr> = {},
    output?: string,
  ): string {
    const out = output ?? this.fresh(op.toLowerCase());
    const n = new ProtoWriter();
    for (const i of inputs) n.string(1, i);
    n.string(2, out).string(3, out).string(4, op);
    for (const [name, v] of Object.entries(attrs)) n.message(5, attribute(name, v));
    this.nodes.push(n);
    return out;
  }

  /** A float initializer in the graph's element type. */
  weight(hint: string, t: FloatTensor, shape: readonly number[] = t.shape): string {
    const name = this.fresh(hint);
    const w = new ProtoWriter()
      .packedInts(1, [...shape])
      .int(2, this.elemType)
      .string(8, name);
    const bytes = this.elemType === DOUBLE ? Float64Array.from(t.data) : Float32Array.from(t.data);
    w.bytes(9, new Uint8Array(bytes.buffer));
    this.initializers.push(w);
    return name;
  }

  int64s(hint: string, values: readonly number[]): string {
    const name = this.fresh(hint);
    const w = new ProtoWriter().packedInts(1, [values.length]).int(2, INT64).string(8, name);
    this.initializers.push(w.packedInts(7, values));
    return name;
  }
}

/** AttributeProto: name 1, f 2, i 3, s 4, ints 8, type 20 (FLOAT 1, INT 2, STRING 3, INTS 7). */
function attribute(name: string, v: Attr): ProtoWriter {
  const a = new ProtoWriter().string(1, name);
  if (typeof v === 'string') return a.bytes(4, new TextEncoder().encode(v)).int(20, 3);
  if (typeof v === 'number') return a.int(3, v).int(20, 2);
  if ('float' in v) return a.float(2, v.float).int(20, 1);
  return a.packedInts(8, v).int(20, 7);
}

/** What a module turns x into; `flat` says whether x is known to be 2-D. */
interface Step {
  readonly x: string;
  readonly flat: boolean;
}

const LSTM_GATES = [0, 2, 1, 3]; // ONNX i, o, f, c from our i, f, o, g
const GRU_GATES = [1, 0, 2]; // ONNX z, r, h from our r, z, n

class Exporter {
  constructor(
    readonly g: Graph,
    readonly fn: string,
  ) {}

  linear(s: Step, W: FloatTensor, b: FloatTensor | null): Step {
    const x = s.flat ? s.x : this.g.node('Flatten', [s.x], { axis: 1 });
    const inputs = [x, this.g.weight('W', W)];
    if (b !== null) inputs.push(this.g.weight('b', b));
    return { x: this.g.node('Gemm', inputs), flat: true };
  }

  batchnorm(
    s: Step,
    gamma: FloatTensor,
    beta: FloatTensor,
    mean: FloatTensor,
    v: FloatTensor,
    eps: number,
  ): Step {
    const names = [gamma, beta, mean, v].map((t, i) =>
      this.g.weight(['gamma', 'beta', 'mean', 'var'][i], t),
    );
    return {
      x: this.g.node('BatchNormalization', [s.x, ...names], { epsilon: { float: eps } }),
      flat: s.flat,
    };
  }

  layernorm(s: Step, gamma: FloatTensor, beta: FloatTensor, eps: number): Step {
    const inputs = [s.x, this.g.weight('gamma', gamma), this.g.weight('beta', beta)];
    const attrs = { axis: -1, epsilon: { float: eps } };
    return { x: this.g.node('LayerNormalization', inputs, attrs), flat: s.flat };
  }

  /**
   * Group norm without opset 18's GroupNormalization: x (N, C, ...) as (N, groups, rest) through
   * InstanceNormalization (unit scale, zero bias: the statistics of each sample and group), back
   * to (N, C, rest) for gamma and beta (C, 1), then to x's own shape.
   */
  groupnorm(s: Step, gamma: FloatTensor, beta: FloatTensor, groups: number, eps: number): Step {
    const C = gamma.size,
      g = this.g;
    const shape = g.node('Shape', [s.x]);
    const grouped = g.node('Reshape', [s.x, g.int64s('shape', [0, groups, -1])]);
    const ones = Tensor.full([groups], 1, gamma.dtype),
      zeros = Tensor.zeros([groups], gamma.dtype);
    const normed = g.node(
      'InstanceNormalization',
      [grouped, g.weight('one', ones), g.weight('zero', zeros)],
      {
        epsilon: { float: eps },
      },
    );
    const perChannel = g.node('Reshape', [normed, g.int64s('shape', [0, C, -1])]);
    const scaled = g.node('Mul', [perChannel, g.weight('gamma', gamma, [C, 1])]);
    const shifted = g.node('Add', [scaled, g.weight('beta', beta, [C, 1])]);
    return { x: g.node('Reshape', [shifted, shape]), flat: s.flat };
  }

  /** Our (and torch's) weight layout (C_in, F, HH, WW) is ONNX's ConvTranspose W. */
  convTranspose(s: Step, m: nn.ConvTranspose2d): Step {
    const [, , KH, KW] = m.params.weight.shape,
      { stride, pad, outputPad } = m;
    const inputs = [s.x, this.g.weight('W', m.params.weight), this.g.weight('b', m.params.bias)];
    const attrs = {
      kernel_shape: [KH, KW],
      strides: [stride, stride],
      pads: [pad, pad, pad, pad],
      output_padding: [outputPad, outputPad],
    };
    return { x: this.g.node('ConvTranspose', inputs, attrs), flat: false };
  }

  unary(s: Step, op: string): Step {
    return { x: this.g.node(op, [s.x]), flat: s.flat };
  }

  leakyRelu(s: Step, slope: number): Step {
    return { x: this.g.node('LeakyRelu', [s.x], { alpha: { float: slope } }), flat: s.flat };
  }

  conv(s: Step, W: FloatTensor, b: FloatTensor | null, stride: number, pad: number): Step {
    const [, , KH, KW] = W.shape;
    const inputs = [s.x, this.g.weight('W', W)];
    if (b !== null) inputs.push(this.g.weight('b', b));
    const attrs = { kernel_shape: [KH, KW], strides: [stride, stride], pads: [pad, pad, pad, pad] };
    return { x: this.g.node('Conv', inputs, attrs), flat: false };
  }

  pool(s: Step, op: 'MaxPool' | 'AveragePool', ph: number, pw: number, stride: number): Step {
    const attrs = { kernel_shape: [ph, pw], strides: [stride, stride] };
    return { x: this.g.node(op, [s.x], attrs), flat: false };
  }

  /** ONNX's RNN, LSTM and GRU run time-major: (N, T, D) is transposed in and out. */
  recurrent(s: Step, m: nn.RNN | nn.LSTM | nn.GRU): Step {
    const [op, gates] =
      m instanceof nn.LSTM
        ? ['LSTM', LSTM_GATES]
        : m instanceof nn.GRU
          ? ['GRU', GRU_GATES]
          : ['RNN', [0]];
    const H = m.hiddenSize,
      G = gates.length;
    const W = this.g.weight('W', gateWeightToTorch(m.params.Wx, gates), [1, G * H, m.inputSize]);
    const R = this.g.weight('R', gateWeightToTorch(m.params.Wh, gates), [1, G * H, H]);
    const bias = Tensor.zeros([2 * G * H], m.params.b.dtype);
    bias.data.set(reorderBias(m.params.b, gates).data); // [Wb | Rb], Rb = 0
    const B = this.g.weight('B', bias, [1, 2 * G * H]);
    const xt = this.g.node('Transpose', [s.x], { perm: [1, 0, 2] }); // (T, N, D)
    const attrs: Record<string, Attr> = { hidden_size: H };
    if (op === 'GRU') attrs.linear_before_reset = 1; // torch's and ours: r ⊙ (h·Wh_n)
    const y = this.g.node(op, [xt, W, R, B], attrs); // (T, 1, N, H)
    const squeezed = this.g.node('Squeeze', [y, this.g.int64s('axes', [1])]);
    return { x: this.g.node('Transpose', [squeezed], { perm: [1, 0, 2] }), flat: false };
  }

  temporalLinear(s: Step, W: FloatTensor, b: FloatTensor): Step {
    const y = this.g.node('MatMul', [s.x, this.g.weight('W', W)]);
    return { x: this.g.node('Add', [y, this.g.weight('b', b)]), flat: false };
  }

  module(s: Step, m: nn.Module, where: string): Step {
    const p = m.params;
    // a bias-free Linear or Conv2d still holds a zero bias, which forward adds: export it as it is
    if (m instanceof nn.Linear) return this.linear(s, p.weight, p.bias);
    if (m instanceof nn.Conv2d) return this.conv(s, p.weight, p.bias, m.stride, m.pad);
    if (m instanceof nn.ConvTranspose2d) return this.convTranspose(s, m);
    if (m instanceof nn.GroupNorm) return this.groupnorm(s, p.weight, p.bias, m.numGroups, m.eps);
    if (m instanceof nn.BatchNorm1d || m instanceof nn.BatchNorm2d) {
      const { runningMean, runningVar } = m.buffers;
      return this.batchnorm(s, p.weight, p.bias, runningMean, runningVar, m.eps);
    }
    if (m instanceof nn.LayerNorm) return this.layernorm(s, p.weight, p.bias, m.eps);
    if (m instanceof nn.MaxPool2d || m instanceof nn.AvgPool2d) {
      const { poolHeight, poolWidth, stride } = m.poolParam;
      return this.pool(
        s,
        m instanceof nn.MaxPool2d ? 'MaxPool' : 'AveragePool',
        poolHeight,
        poolWidth,
        stride,
      );
    }
    if (m instanceof nn.ReLU) return this.unary(s, 'Relu');
    if (m instanceof nn.Sigmoid) return this.unary(s, 'Sigmoid');
    if (m instanceof nn.Tanh) return this.unary(s, 'Tanh');
    if (m instanceof nn.LeakyReLU) return this.leakyRelu(s, m.negativeSlope);
    if (m instanceof nn.Dropout) return s; // identity in eval mode
    if (m instanceof nn.Flatten)
      return { x: this.g.node('Flatten', [s.x], { axis: 1 }), flat: true };
    if (m instanceof nn.Unflatten) {
      const shape = this.g.int64s('shape', [0, ...m.shape]);
      return { x: this.g.node('Reshape', [s.x, shape]), flat: m.shape.length === 1 };
    }
    if (m instanceof nn.RNN || m instanceof nn.LSTM || m instanceof nn.GRU)
      return this.recurrent(s, m);
    if (m instanceof nn.TemporalLinear) return this.temporalLinear(s, p.weight, p.bias);
    if (m instanceof nn.Sequential) {
      return m.modules.reduce((acc, child, i) => this.module(acc, child, `${where}.${i}`), s);
    }
    const missing =
      m instanceof nn.Embedding
        ? 'Gather over integer token ids (the graph input is float)'
        : 'an op';
    throw new ValueError(
      `${this.fn}: module ${where} (${m.constructor.name}) cannot be exported: no ${missing} in the exporter`,
    );
  }
}

/** The graph of a built-in model or a Sequential; returns the scores' name and the sample shape. */
function buildGraph(
  ex: Exporter,
  model: unknown,
  inputShape: readonly number[] | undefined,
): { sample: readonly number[]; scores: string; flat?: boolean } {
  const fn = ex.fn;
  const input: Step = { x: 'input', flat: false };
  if (model instanceof nn.Sequential) {
    if (inputShape === undefined)
      throw new ValueError(`${fn}: a Sequential needs options.inputShape (one sample's shape)`);
    const out = ex.module(input, model, 'Sequential');
    return { sample: inputShape, scores: out.x, flat: out.flat };
  }
  if (model instanceof models.LinearClassifier) {
    const { W, b } = model.params;
    return { sample: inputShape ?? [W.shape[0]], scores: ex.linear(input, W, b).x };
  }
  if (model instanceof models.TwoLayerNet) {
    const p = model.params;
    const h = ex.unary(ex.linear(input, p.W1, p.b1), 'Relu');
    return { sample: inputShape ?? [p.W1.shape[0]], scores: ex.linear(h, p.W2, p.b2).x };
  }
  if (model instanceof models.FullyConnectedNet) {
    const p = model.params,
      buf = model.buffers,
      L = model.numLayers;
    let s = input;
    for (let i = 1; i < L; i++) {
      s = ex.linear(s, p[`W${i}`], p[`b${i}`]);
      if (model.normalization === 'batchnorm')
        s = ex.batchnorm(
          s,
          p[`gamma${i}`],
          p[`beta${i}`],
          buf[`runningMean${i}`],
          buf[`runningVar${i}`],
          1e-5,
        );
      if (model.normalization === 'layernorm')
        s = ex.layernorm(s, p[`gamma${i}`], p[`beta${i}`], 1e-5);
      if (model.normalization === 'groupnorm')
        s = ex.groupnorm(s, p[`gamma${i}`], p[`beta${i}`], model.groups, 1e-5);
      s = ex.unary(s, 'Relu');
    }
    return {
      sample: inputShape ?? [p.W1.shape[0]],
      scores: ex.linear(s, p[`W${L}`], p[`b${L}`]).x,
    };
  }
  if (model instanceof models.ThreeLayerConvNet) {
    const p = model.params,
      buf = model.buffers,
      bn = model.normalization === 'batchnorm',
      gn = model.normalization === 'groupnorm';
    const K = p.W1.shape[2];
    let s = ex.conv(input, p.W1, p.b1, 1, (K - 1) / 2);
    if (bn) s = ex.batchnorm(s, p.gamma1, p.beta1, buf.runningMean1, buf.runningVar1, 1e-5);
    if (gn) s = ex.groupnorm(s, p.gamma1, p.beta1, model.groups, 1e-5);
    s = ex.pool(ex.unary(s, 'Relu'), 'MaxPool', 2, 2, 2);
    s = ex.linear(s, p.W2, p.b2);
    if (bn) s = ex.batchnorm(s, p.gamma2, p.beta2, buf.runningMean2, buf.runningVar2, 1e-5);
    if (gn) s = ex.groupnorm(s, p.gamma2, p.beta2, model.groups, 1e-5);
    return {
      sample: inputShape ?? model.inputDim,
      scores: ex.linear(ex.unary(s, 'Relu'), p.W3, p.b3).x,
    };
  }
  const name = (model as object | null)?.constructor?.name ?? String(model);
  throw new ValueError(
    `${fn}: a ${name} cannot be exported; ONNX export covers LinearClassifier, TwoLayerNet, FullyConnectedNet, ThreeLayerConvNet and nn.Sequential chains`,
  );
}

/** The shape of one sample's output: the eval-mode forward (what the graph computes) of zeros. */
function sampleOutput(seq: nn.Sequential, sample: readonly number[]): readonly number[] {
  const dtype = Object.values(seq.params)[0]?.dtype ?? 'float32';
  return seq.loss(Tensor.zeros([1, ...sample], dtype)).shape.slice(1);
}

function valueInfo(
  name: string,
  elemType: number,
  dims: readonly (number | string)[],
): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims)
    shape.message(
      1,
      typeof d === 'string' ? new ProtoWriter().string(2, d) : new ProtoWriter().int(1, d),
    );
  const tensorType = new ProtoWriter().int(1, elemType).message(2, shape);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}

/**
 * The ONNX bytes of `model` (see the file comment). Supported: LinearClassifier, TwoLayerNet,
 * FullyConnectedNet, ThreeLayerConvNet (any normalization) and nn.Sequential chains of Linear,
 * Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d, BatchNorm1d/2d, LayerNorm, GroupNorm, ReLU,
 * LeakyReLU, Sigmoid, Tanh, Dropout, Flatten, Unflatten, RNN, LSTM, GRU and TemporalLinear (so
 * also the DCGAN generator). A module without an op throws, naming it. The preprocessing,
 * class names, input shape and model class are stored in metadata_props ('layerwise.*').
 */
export function exportOnnx(model: unknown, options: ExportOnnxOptions = {}): Uint8Array {
  const fn = 'exportOnnx';
  const elemType = (options.dtype ?? 'float32') === 'float64' ? DOUBLE : FLOAT;
  const g = new Graph(elemType);
  const ex = new Exporter(g, fn);
  const { sample, scores, flat = true } = buildGraph(ex, model, options.inputShape);
  g.node('Identity', [scores], {}, 'scores');
  const graph = new ProtoWriter();
  for (const n of g.nodes) graph.message(1, n);
  graph.string(2, 'layerwise');
  for (const t of g.initializers) graph.message(5, t);
  graph.message(11, valueInfo('input', elemType, ['N', ...sample]));
  // (N, classes), or what one zero sample gives for a Sequential whose output is not known to be
  // 2-D (e.g. the DCGAN generator's images, (N, 1, 28, 28))
  const outDims = flat ? ['N', 'classes'] : ['N', ...sampleOutput(model as nn.Sequential, sample)];
  graph.message(12, valueInfo('scores', elemType, outDims));
  const m = new ProtoWriter()
    .int(1, IR_VERSION)
    .string(2, 'layerwise')
    .string(3, VERSION)
    .message(7, graph)
    .message(8, new ProtoWriter().string(1, '').int(2, OPSET));
  const meta: Record<string, string> = {
    'layerwise.model': (model as object).constructor.name,
    'layerwise.inputShape': JSON.stringify([...sample]),
    'layerwise.preprocessing': JSON.stringify(options.preprocessing ?? { kind: 'none' }),
  };
  const config = (model as { config?: unknown }).config;
  if (config !== undefined) meta['layerwise.config'] = JSON.stringify(config);
  if (options.classNames) meta['layerwise.classNames'] = JSON.stringify([...options.classNames]);
  for (const [key, value] of Object.entries(meta))
    m.message(14, new ProtoWriter().string(1, key).string(2, value));
  return m.finish();
}
