// src/cli/modelSpec.ts: --model: the built-in networks (cnn, mlp, fc) and architecture files
// (a registered model type with options, or a list of nn modules), resolved to a JSON spec that
// the checkpoint stores so that eval, predict and --resume rebuild the same network.
import { readFileSync } from 'node:fs';
import * as models from '../models/index.js';
import type { Model } from '../models/index.js';
import {
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  Dropout,
  Flatten,
  GroupNorm,
  LayerNorm,
  LeakyReLU,
  Linear,
  MaxPool2d,
  ReLU,
  Sequential,
  Sigmoid,
  Tanh,
  Unflatten,
  type Module,
} from '../nn/index.js';
import {
  didYouMean,
  FileError as LibraryFileError,
  Rng,
  Tensor,
  unknownName,
} from '../tensor/index.js';
import { FileError } from './data.js';
import { checkModelSize } from './modelSize.js';

/** One module of a sequential architecture: its type and its arguments by name. */
export type LayerSpec = { readonly type: string } & Readonly<Record<string, unknown>>;

/** A resolved model: a model class with options, or a chain of nn modules. */
export type ModelSpec =
  | { readonly type: string; readonly options: Readonly<Record<string, unknown>> }
  | {
      readonly sequential: readonly LayerSpec[];
      readonly loss?: 'softmax' | 'svm';
      readonly reg?: number;
      readonly seed?: number;
    };

export const BUILTIN_MODELS = ['cnn', 'mlp', 'fc', 'vit'] as const;

/** The help text of the architecture-file format. */
export function architectureHelp(): string {
  return `Architecture files (--model FILE.json) hold either a model class and its options,
  { "type": "FullyConnectedNet", "options": { "hiddenDims": [200, 100], "normalization": "batchnorm" } }
(inputDim, numClasses and seed are filled in from the data and --seed when absent), or a chain of
nn modules, trained with the softmax loss:
  { "sequential": [
      { "type": "Conv2d", "inChannels": 1, "outChannels": 16, "kernelSize": 3, "pad": 1 },
      { "type": "BatchNorm2d", "numFeatures": 16 }, { "type": "ReLU" },
      { "type": "MaxPool2d", "kernelSize": 2 }, { "type": "Flatten" },
      { "type": "Linear", "inFeatures": 3136, "outFeatures": 10 } ],
    "reg": 0 }
Modules and their keys: ${MODULE_NAMES.map((n) => `${n}(${[...LAYERS[n].args, ...LAYERS[n].options].join(', ')})`).join(', ')}.
`;
}

/** The modules of a sequential file: positional arguments, then option keys. */
const LAYERS: Record<
  string,
  { args: readonly string[]; options: readonly string[]; make: (a: unknown[], o: object) => Module }
> = {
  Conv2d: {
    args: ['inChannels', 'outChannels', 'kernelSize'],
    options: ['stride', 'pad', 'bias', 'weightScale'],
    make: (a, o) => new Conv2d(a[0] as number, a[1] as number, a[2] as number, o),
  },
  ConvTranspose2d: {
    args: ['inChannels', 'outChannels', 'kernelSize'],
    options: ['stride', 'pad', 'outputPad', 'bias', 'weightScale'],
    make: (a, o) => new ConvTranspose2d(a[0] as number, a[1] as number, a[2] as number, o),
  },
  Linear: {
    args: ['inFeatures', 'outFeatures'],
    options: ['bias', 'weightScale'],
    make: (a, o) => new Linear(a[0] as number, a[1] as number, o),
  },
  ReLU: { args: [], options: [], make: () => new ReLU() },
  LeakyReLU: {
    args: [],
    options: ['negativeSlope'],
    make: (_, o) => new LeakyReLU((o as { negativeSlope?: number }).negativeSlope),
  },
  Sigmoid: { args: [], options: [], make: () => new Sigmoid() },
  Tanh: { args: [], options: [], make: () => new Tanh() },
  BatchNorm1d: {
    args: ['numFeatures'],
    options: ['eps', 'momentum'],
    make: (a, o) => new BatchNorm1d(a[0] as number, o),
  },
  BatchNorm2d: {
    args: ['numFeatures'],
    options: ['eps', 'momentum'],
    make: (a, o) => new BatchNorm2d(a[0] as number, o),
  },
  LayerNorm: {
    args: ['normalizedShape'],
    options: ['eps'],
    make: (a, o) => new LayerNorm(a[0] as number, o),
  },
  GroupNorm: {
    args: ['numGroups', 'numChannels'],
    options: ['eps'],
    make: (a, o) => new GroupNorm(a[0] as number, a[1] as number, o),
  },
  Dropout: { args: [], options: ['p'], make: (_, o) => new Dropout((o as { p?: number }).p) },
  Flatten: { args: [], options: [], make: () => new Flatten() },
  Unflatten: { args: ['shape'], options: [], make: (a) => new Unflatten(a[0] as number[]) },
  MaxPool2d: {
    args: ['kernelSize'],
    options: ['stride'],
    make: (a, o) => new MaxPool2d(a[0] as number, (o as { stride?: number }).stride),
  },
  AvgPool2d: {
    args: ['kernelSize'],
    options: ['stride'],
    make: (a, o) => new AvgPool2d(a[0] as number, (o as { stride?: number }).stride),
  },
};
export const MODULE_NAMES = Object.keys(LAYERS);

/** What the data gives a model: one sample's shape [C, H, W] (or [D]) and the class count. */
export interface ModelShape {
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly seed: number;
}

/** The spec of --model `arg`: a built-in name or an architecture file (checked, with the file named). */
export function resolveModelSpec(command: string, arg: string, shape: ModelShape): ModelSpec {
  const D = shape.inputShape.reduce((a, b) => a * b, 1);
  const common = { numClasses: shape.numClasses, seed: shape.seed };
  if (arg === 'cnn') {
    const inputDim = shape.inputShape.length === 3 ? [...shape.inputShape] : [1, 1, D];
    return {
      type: 'ThreeLayerConvNet',
      options: {
        inputDim,
        numFilters: 16,
        filterSize: 5,
        hiddenDim: 100,
        weightScale: 0.05,
        normalization: 'batchnorm',
        dropout: 0.3,
        ...common,
      },
    };
  }
  if (arg === 'vit') {
    // a small Vision Transformer: 7x7 patches (16 tokens + the class token on 28x28 digits)
    const inputDim = shape.inputShape.length === 3 ? [...shape.inputShape] : [1, 1, D];
    const patchSize = inputDim[1] % 7 === 0 && inputDim[2] % 7 === 0 ? 7 : 4;
    return {
      type: 'VisionTransformer',
      options: {
        inputDim,
        patchSize,
        embedDim: 64,
        numHeads: 4,
        numLayers: 3,
        mlpDim: 128,
        dropout: 0,
        ...common,
      },
    };
  }
  if (arg === 'mlp')
    return {
      type: 'TwoLayerNet',
      options: { inputDim: D, hiddenDim: 256, weightScale: 0.01, ...common },
    };
  if (arg === 'fc') {
    return {
      type: 'FullyConnectedNet',
      options: {
        inputDim: D,
        hiddenDims: [256, 128],
        normalization: 'batchnorm',
        dropout: 0.2,
        weightScale: 0.05,
        ...common,
      },
    };
  }
  return readArchitecture(command, arg, shape);
}

function readArchitecture(command: string, file: string, shape: ModelShape): ModelSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const { reason } = LibraryFileError.cannotRead(command, file, e);
    const models = `--model is ${BUILTIN_MODELS.join(', ')} or an architecture file`;
    throw new FileError(command, file, `${reason} (${models})${didYouMean(file, BUILTIN_MODELS)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FileError(command, file, `not valid JSON (${(e as Error).message})`);
  }
  const bad = (why: string): never => {
    throw new FileError(command, file, why);
  };
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    bad('must be a JSON object with "type" and "options", or "sequential"');
  const o = json as Record<string, unknown>;
  let spec: ModelSpec;
  if (Object.hasOwn(o, 'sequential')) {
    checkSequential(bad, o);
    spec = {
      ...(o as object),
      seed: typeof o.seed === 'number' ? o.seed : shape.seed,
    } as ModelSpec;
  } else spec = classSpec(bad, o, shape);
  checkModelSize(bad, spec, shape.inputShape);
  return spec;
}

function classSpec(
  bad: (why: string) => never,
  o: Record<string, unknown>,
  shape: ModelShape,
): ModelSpec {
  unknownKeys(bad, '', o, ['type', 'options']);
  if (typeof o.type !== 'string') bad('"type" must name a model class, e.g. "FullyConnectedNet"');
  const options = o.options ?? {};
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    bad('"options" must be an object');
  const type = o.type as string;
  const D = shape.inputShape.reduce((a, b) => a * b, 1);
  const inputDim =
    type === 'ThreeLayerConvNet' || type === 'VisionTransformer' ? [...shape.inputShape] : D;
  return {
    type,
    options: { inputDim, numClasses: shape.numClasses, seed: shape.seed, ...(options as object) },
  };
}

function unknownKeys(
  bad: (why: string) => never,
  where: string,
  o: object,
  known: readonly string[],
): void {
  for (const key of Object.keys(o))
    if (!known.includes(key)) bad(`${where}${unknownName('key', key, known)}`);
}

function checkLayer(bad: (why: string) => never, m: unknown, i: number): void {
  if (m === null || typeof m !== 'object' || typeof (m as { type?: unknown }).type !== 'string') {
    bad(`sequential[${i}] must be an object with a "type"`);
  }
  const type = (m as LayerSpec).type,
    layer = layerOf(type);
  if (layer === undefined) {
    return bad(`sequential[${i}]: ${unknownName('module type', type, MODULE_NAMES)}`);
  }
  const where = `sequential[${i}] (${type}): `;
  unknownKeys(bad, where, m as object, ['type', ...layer.args, ...layer.options]);
  for (const arg of layer.args)
    if (!Object.hasOwn(m as object, arg)) bad(`${where}"${arg}" is missing`);
}

/** The module of a type name; own properties only (a type 'constructor' is no module). */
function layerOf(type: string): (typeof LAYERS)[string] | undefined {
  return Object.hasOwn(LAYERS, type) ? LAYERS[type] : undefined;
}

/** Checks a sequential spec's shape (from a file or a checkpoint); `bad` names where it came from. */
function checkSequential(bad: (why: string) => never, o: Record<string, unknown>): void {
  unknownKeys(bad, '', o, ['sequential', 'loss', 'reg', 'seed']);
  if (!Array.isArray(o.sequential) || o.sequential.length === 0)
    bad('"sequential" must be a non-empty array of modules');
  (o.sequential as unknown[]).forEach((m, i) => checkLayer(bad, m, i));
}

/**
 * Builds the model of a spec (from a file, or stored in a checkpoint: checked again here, before
 * anything is allocated, against MAX_MODEL_BYTES too, with one sample of `inputShape` when it
 * is known); `where` (the file or checkpoint) prefixes any error.
 */
export function buildModel(spec: ModelSpec, where: string, inputShape?: readonly number[]): Model {
  const bad = (why: string): never => {
    throw new FileError(`${where}: ${why}`);
  };
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec))
    bad('the model spec must be an object');
  checkModelSize(bad, spec, inputShape);
  if (Object.hasOwn(spec, 'sequential')) {
    checkSequential(bad, spec as Record<string, unknown>);
    return buildSequential(spec as Extract<ModelSpec, { sequential: unknown }>, where);
  }
  if (!('type' in spec) || typeof spec.type !== 'string') return bad('the model spec has no type');
  const options = spec.options as unknown;
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    bad('the model options must be an object');
  const ctor = Object.hasOwn(models, spec.type)
    ? (models as Record<string, unknown>)[spec.type]
    : undefined;
  const isModel =
    typeof ctor === 'function' &&
    typeof (ctor.prototype as { loss?: unknown } | undefined)?.loss === 'function';
  if (!isModel || spec.type === 'CaptioningRNN' || spec.type === 'CaptioningTransformer') {
    const known = [
      'LinearClassifier',
      'TwoLayerNet',
      'FullyConnectedNet',
      'ThreeLayerConvNet',
      'VisionTransformer',
    ];
    throw new FileError(`${where}: ${unknownName('model type', spec.type, known)}`);
  }
  try {
    return new (ctor as new (o: object) => Model)(spec.options);
  } catch (e) {
    throw new FileError(`${where}: ${(e as Error).message}`);
  }
}

function buildSequential(
  spec: Extract<ModelSpec, { sequential: readonly LayerSpec[] }>,
  where: string,
): Sequential {
  const rng = new Rng(spec.seed ?? 0);
  const mods = spec.sequential.map((m, i) => {
    const layer = LAYERS[m.type]; // checked by checkSequential
    const args = layer.args.map((a) => m[a]);
    const opts: Record<string, unknown> = {};
    for (const k of layer.options) if (m[k] !== undefined) opts[k] = m[k];
    if (m.type === 'Conv2d' || m.type === 'ConvTranspose2d' || m.type === 'Linear') opts.rng = rng;
    try {
      return layer.make(args, opts);
    } catch (e) {
      throw new FileError(`${where}: sequential[${i}] (${m.type}): ${(e as Error).message}`);
    }
  });
  try {
    return new Sequential(...mods, {
      loss: spec.loss ?? 'softmax',
      reg: spec.reg ?? 0,
      seed: (spec.seed ?? 0) + 1,
    });
  } catch (e) {
    throw new FileError(`${where}: ${(e as Error).message}`);
  }
}

/** Runs one zero sample through the model: a network that does not fit the data fails here, naming `where`. */
export function checkModelFitsData(model: Model, where: string, shape: ModelShape): void {
  let scores: Tensor;
  try {
    scores = model.loss(Tensor.zeros([1, ...shape.inputShape]));
  } catch (e) {
    throw new FileError(
      `${where}: the network does not fit inputs of shape [${shape.inputShape.join(',')}]: ${(e as Error).message}`,
    );
  }
  if (scores.shape.length !== 2 || scores.shape[1] !== shape.numClasses) {
    throw new FileError(
      `${where}: the network gives scores of shape [${scores.shape.join(',')}] for one sample but the data has ${shape.numClasses} classes`,
    );
  }
}
