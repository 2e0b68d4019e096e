// src/io/torchPy.ts: model.py, the short PyTorch file that `layerwise export --format torch` writes
// beside the state dict: build_model() returns the network of torchPlan as an nn.Module,
// preprocess(x) applies the stored preprocessing, load_state_dict(path) reads the safetensors file
// with the standard library and torch only, and load_model() does all three.
import { ValueError } from '../tensor/index.js';
import { torchPlan, type TorchPlan } from './torch.js';
import { VERSION } from './version.js';

/** The input preprocessing (src/data's Preprocessing, as stored with a trained model). */
export type TorchPreprocessing =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'mean-image';
      readonly shape: readonly number[];
      readonly mean: readonly number[];
    }
  | {
      readonly kind: 'per-channel';
      readonly mean: readonly number[];
      readonly std: readonly number[];
    };

export interface TorchModelPyOptions {
  readonly preprocessing?: TorchPreprocessing;
  readonly classNames?: readonly string[];
  readonly inputShape?: readonly number[];
  /** What the model is, for the docstring, e.g. 'ThreeLayerConvNet trained by layerwise train'. */
  readonly description?: string;
}

/** model.py's imports (kept out of a template literal: a bundle must have no line starting with 'import'). */
const PY_IMPORTS = [
  'import json',
  'import os',
  'import struct',
  'from collections import OrderedDict',
  '',
  'import torch',
  'from torch import nn',
].join('\n');

const HELPERS: Record<string, string> = {
  FlattenLinear: `class FlattenLinear(nn.Linear):
    """nn.Linear over x.flatten(1): layerwise's Linear flattens (N, d1..dk) to (N, D) itself."""

    def forward(self, x):
        return super().forward(x.flatten(1))
`,
  BatchFirstRNN: recurrentHelper('RNN'),
  BatchFirstLSTM: recurrentHelper('LSTM'),
  BatchFirstGRU: recurrentHelper('GRU'),
};

function recurrentHelper(cell: string): string {
  return `class BatchFirst${cell}(nn.${cell}):
    """nn.${cell}(batch_first=True) returning only the hidden states (N, T, H), as layerwise's ${cell}."""

    def __init__(self, input_size, hidden_size):
        super().__init__(input_size, hidden_size, batch_first=True)

    def forward(self, x):
        return super().forward(x)[0]
`;
}

/** A Python list literal of numbers, wrapped at about 96 columns. */
function pyList(values: readonly number[], indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const v of values) {
    if (!Number.isFinite(v)) throw new ValueError(`torchModelPy: ${v} has no Python literal`);
    const item = `${String(v)}, `;
    if (line.length + item.length > 96 - indent.length) {
      lines.push(line.trimEnd());
      line = '';
    }
    line += item;
  }
  if (line) lines.push(line.trimEnd());
  return `[\n${lines.map((l) => `${indent}    ${l}`).join('\n')}\n${indent}]`;
}

function buildModelPy(plan: TorchPlan): string {
  const dtype = plan.dtype === 'float64' ? 'torch.float64' : 'torch.float32';
  const body = plan.named
    ? `nn.Sequential(OrderedDict([\n${plan.modules.map((m) => `        ("${m.name}", ${m.python}),`).join('\n')}\n    ]))`
    : `nn.Sequential(\n${plan.modules.map((m) => `        ${m.python},`).join('\n')}\n    )`;
  return `def build_model():
    """The network, untrained; load the weights with load_model() or load_state_dict()."""
    net = ${body}
    return net.to(${dtype})
`;
}

function preprocessPy(p: TorchPreprocessing | undefined): string {
  const doc =
    '    """x: a float tensor shaped like INPUT_SHAPE with a batch axis first -> the network\'s input."""';
  if (p === undefined || p.kind === 'none') {
    return `def preprocess(x):\n${doc}\n    return x  # the model was trained on the raw inputs\n`;
  }
  // in float64, then rounded once to x's dtype, as layerwise does
  if (p.kind === 'mean-image') {
    return `MEAN_IMAGE = torch.tensor(${pyList(p.mean, '')}, dtype=torch.float64).reshape([${p.shape.join(', ')}])


def preprocess(x):
${doc}
    return (x.double() - MEAN_IMAGE).to(x.dtype)  # x - the mean training image
`;
  }
  const inv = p.std.map((s) => 1 / s);
  return `CHANNEL_MEAN = torch.tensor(${pyList(p.mean, '')}, dtype=torch.float64)
CHANNEL_INV_STD = torch.tensor(${pyList(inv, '')}, dtype=torch.float64)


def preprocess(x):
${doc}
    shape = [1, -1] + [1] * (x.dim() - 2)  # statistics per channel (axis 1)
    return ((x.double() - CHANNEL_MEAN.view(shape)) * CHANNEL_INV_STD.view(shape)).to(x.dtype)
`;
}

const LOADER = `SAFETENSORS_DTYPES = {"F32": torch.float32, "F64": torch.float64, "I32": torch.int32, "I64": torch.int64}


def load_state_dict(path):
    """Reads a safetensors file (https://github.com/huggingface/safetensors) into a state dict."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    state = OrderedDict()
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = SAFETENSORS_DTYPES[info["dtype"]]
        raw = bytearray(data[8 + n + begin : 8 + n + end])
        flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        state[name] = flat.reshape(info["shape"]).clone()
    return state


def load_model(path=os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.safetensors")):
    """build_model() with the exported weights (strict), in eval mode."""
    model = build_model()
    model.load_state_dict(load_state_dict(path), strict=True)
    return model.eval()
`;

/**
 * The source of model.py for `model` (see the file comment). `options` carries what a trained
 * model's file records beside its weights: preprocessing, class names, input shape.
 */
export function torchModelPy(model: unknown, options: TorchModelPyOptions = {}): string {
  const plan = torchPlan('torchModelPy', model);
  const helpers = [...plan.helpers].sort().map((h) => HELPERS[h]);
  const classNames = options.classNames ? pyStrings(options.classNames) : 'None';
  const inputShape = options.inputShape ? `[${options.inputShape.join(', ')}]` : 'None';
  const what = options.description ?? describe(model);
  return `"""${what}, exported by layerwise ${VERSION} as a PyTorch module.

    from model import load_model, preprocess
    model = load_model()                       # build_model() + model.safetensors, eval mode
    scores = model(preprocess(x))              # x: (N, *INPUT_SHAPE), the scores layerwise gives

The network is built from standard torch.nn modules; its state dict (model.safetensors) loads with
strict=True. BatchNorm running_var holds layerwise's running estimate of the biased batch variance
(torch's own training updates it with the unbiased one); num_batches_tracked is 0 (not kept).
"""
${PY_IMPORTS}

CLASS_NAMES = ${classNames}
INPUT_SHAPE = ${inputShape}


${helpers.map((h) => `${h}\n\n`).join('')}${buildModelPy(plan)}

${preprocessPy(options.preprocessing)}

${LOADER}

if __name__ == "__main__":
    net = load_model()
    print(net)
    print(f"{sum(p.numel() for p in net.parameters())} parameters; input (N, *{INPUT_SHAPE})")
`;
}

function describe(model: unknown): string {
  const name = (model as object | null)?.constructor?.name;
  return `A layerwise ${name ?? 'model'}`;
}

/** A Python list of strings (a JSON string literal is a valid Python one). */
function pyStrings(values: readonly string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(', ')}]`;
}
