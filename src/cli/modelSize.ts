// src/cli/modelSize.ts: how many bytes the network of a --model spec would take, estimated from
// the spec alone (parameters, and the largest activations of a batch when the input shape is
// known), so that buildModel refuses an absurd architecture file or checkpoint before anything is
// allocated.
import { preview } from '../tensor/index.js';
import type { ModelSpec } from './modelSpec.js';

/**
 * The most bytes a network built from a spec may take (2 GiB): its parameters, plus the largest
 * activation of a batch of 64 samples when the input shape is known. A larger spec is refused
 * before anything is allocated, naming the options of its largest tensor.
 */
export const MAX_MODEL_BYTES = 2 ** 31;
const ESTIMATE_BATCH = 64;

/** One tensor of a network: what it is, the options that size it, and its element count. */
interface SizeTerm {
  readonly what: string;
  readonly options: string;
  readonly elements: number;
  /** An activation (counted for a batch) rather than a parameter. */
  readonly activation?: boolean;
}

/** Refuses a spec whose network would take more than MAX_MODEL_BYTES. */
export function checkModelSize(
  bad: (why: string) => never,
  spec: ModelSpec,
  inputShape: readonly number[] | undefined,
): void {
  const terms = sizeTerms(spec, inputShape);
  const isF64 =
    'options' in spec && (spec.options as Record<string, unknown> | undefined)?.dtype === 'float64';
  const itemBytes = isF64 ? 8 : 4;
  const bytesOf = (t: SizeTerm) => t.elements * itemBytes * (t.activation ? ESTIMATE_BATCH : 1);
  const total = terms.reduce((s, t) => s + bytesOf(t), 0);
  if (!(total > MAX_MODEL_BYTES)) return;
  const largest = terms.reduce((a, b) => (bytesOf(b) > bytesOf(a) ? b : a));
  const batch = largest.activation ? ` for a batch of ${ESTIMATE_BATCH}` : '';
  bad(
    `${largest.options}: ${largest.what} would need ${bytesOf(largest)} bytes${batch} (the network ${total} bytes), more than the limit of ${MAX_MODEL_BYTES}`,
  );
}

/** A positive finite number, else 1 (the constructors refuse what is not a size, with their own message). */
const size = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 1);
const shapeText = (dims: readonly unknown[]) => `[${dims.map((d) => preview(d)).join(',')}]`;

/** The tensors of a spec's network that can be large. */
function sizeTerms(spec: ModelSpec, inputShape: readonly number[] | undefined): SizeTerm[] {
  if (Object.hasOwn(spec, 'sequential')) {
    const layers = (spec as { sequential: unknown }).sequential;
    return Array.isArray(layers) ? sequentialTerms(layers, inputShape) : [];
  }
  const { type, options } = spec as { type: unknown; options: unknown };
  if (options === null || typeof options !== 'object') return [];
  const o = options as Record<string, unknown>;
  const w = (what: string, opts: string, dims: unknown[]): SizeTerm => ({
    what: `${what} ${shapeText(dims)}`,
    options: opts,
    elements: dims.reduce((p: number, d) => p * size(d), 1),
  });
  const D = Array.isArray(o.inputDim)
    ? o.inputDim.reduce((p: number, d) => p * size(d), 1)
    : o.inputDim;
  switch (type) {
    case 'LinearClassifier':
      return [w('W', 'inputDim, numClasses', [D, o.numClasses])];
    case 'TwoLayerNet':
      return [
        w('W1', 'inputDim, hiddenDim', [D, o.hiddenDim]),
        w('W2', 'hiddenDim, numClasses', [o.hiddenDim, o.numClasses]),
      ];
    case 'FullyConnectedNet': {
      const hidden: unknown[] = Array.isArray(o.hiddenDims) ? o.hiddenDims : [];
      const dims = [D, ...hidden, o.numClasses];
      const name = (i: number) =>
        i === 0 ? 'inputDim' : i === dims.length - 1 ? 'numClasses' : `hiddenDims[${i - 1}]`;
      return dims
        .slice(1)
        .map((d, i) => w(`W${i + 1}`, `${name(i)}, ${name(i + 1)}`, [dims[i], d]));
    }
    case 'ThreeLayerConvNet': {
      const [C, H, W] = Array.isArray(o.inputDim) ? o.inputDim : [1, 1, 1];
      const F = o.numFilters,
        fs = o.filterSize;
      const pooled = Math.floor(size(H) / 2) * Math.floor(size(W) / 2);
      return [
        w('W1', 'numFilters, filterSize', [F, C, fs, fs]),
        { ...w('the conv output', 'numFilters, inputDim', [F, H, W]), activation: true },
        w('W2', 'numFilters, hiddenDim', [size(F) * pooled, o.hiddenDim]),
        w('W3', 'hiddenDim, numClasses', [o.hiddenDim, o.numClasses]),
      ];
    }
    default:
      return [];
  }
}

/** The weights of a chain of modules, and (when the input shape is known) their outputs. */
function sequentialTerms(layers: unknown[], inputShape: readonly number[] | undefined): SizeTerm[] {
  const terms: SizeTerm[] = [];
  const known = inputShape?.every((d) => Number.isInteger(d) && d > 0) === true;
  let shape: number[] | null = known ? [...(inputShape as number[])] : null;
  layers.forEach((m, i) => {
    if (m === null || typeof m !== 'object') return;
    const o = m as Record<string, unknown>,
      at = `sequential[${i}] (${typeof o.type === 'string' ? o.type : preview(o.type)})`;
    const weight = (opts: string, dims: unknown[]) =>
      terms.push({
        what: `its parameters ${shapeText(dims)}`,
        options: `${at} ${opts}`,
        elements: dims.reduce((p: number, d) => p * size(d), 1),
      });
    const [kh, kw] = Array.isArray(o.kernelSize) ? o.kernelSize : [o.kernelSize, o.kernelSize];
    switch (o.type) {
      case 'Conv2d': {
        weight('inChannels, outChannels, kernelSize', [o.outChannels, o.inChannels, kh, kw]);
        if (shape === null || shape.length !== 3) return void (shape = null);
        const stride = size(o.stride),
          pad = typeof o.pad === 'number' && o.pad >= 0 ? o.pad : 0;
        const Hout = Math.floor((shape[1] + 2 * pad - size(kh)) / stride) + 1;
        const Wout = Math.floor((shape[2] + 2 * pad - size(kw)) / stride) + 1;
        shape = [size(o.outChannels), Math.max(1, Hout), Math.max(1, Wout)];
        break;
      }
      case 'ConvTranspose2d': {
        weight('inChannels, outChannels, kernelSize', [o.inChannels, o.outChannels, kh, kw]);
        if (shape === null || shape.length !== 3) return void (shape = null);
        const stride = size(o.stride),
          pad = typeof o.pad === 'number' && o.pad >= 0 ? o.pad : 0,
          extra = typeof o.outputPad === 'number' && o.outputPad >= 0 ? o.outputPad : 0;
        const Hout = (shape[1] - 1) * stride - 2 * pad + size(kh) + extra;
        const Wout = (shape[2] - 1) * stride - 2 * pad + size(kw) + extra;
        shape = [size(o.outChannels), Math.max(1, Hout), Math.max(1, Wout)];
        break;
      }
      case 'Unflatten':
        shape = Array.isArray(o.shape) ? o.shape.map(size) : null;
        break;
      case 'Linear':
        weight('inFeatures, outFeatures', [o.inFeatures, o.outFeatures]);
        shape = [size(o.outFeatures)];
        break;
      case 'MaxPool2d':
      case 'AvgPool2d': {
        if (shape === null || shape.length !== 3) return void (shape = null);
        const stride = size(o.stride ?? kh);
        const Hout = Math.floor((shape[1] - size(kh)) / stride) + 1;
        const Wout = Math.floor((shape[2] - size(kw)) / stride) + 1;
        shape = [shape[0], Math.max(1, Hout), Math.max(1, Wout)];
        break;
      }
      case 'Flatten':
        if (shape !== null) shape = [shape.reduce((p, d) => p * d, 1)];
        break;
      case 'BatchNorm1d':
      case 'BatchNorm2d': // gamma, beta, running mean and variance
        weight('numFeatures', [4, o.numFeatures]);
        break;
      case 'LayerNorm': // gamma, beta
        weight('normalizedShape', [2, o.normalizedShape]);
        break;
      case 'GroupNorm': // gamma, beta
        weight('numChannels', [2, o.numChannels]);
        break;
      default:
        break;
    }
    if (shape !== null) {
      terms.push({
        what: `its output ${shapeText(shape)} per sample`,
        options: at,
        elements: shape.reduce((p, d) => p * d, 1),
        activation: true,
      });
    }
  });
  return terms;
}
