// src/cli/export.ts: `layerwise export` (a trained model to PyTorch or ONNX) and `layerwise
// import` (a PyTorch state dict of a supported architecture back to a layerwise model file).
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  exportOnnx,
  fromTorchStateDict,
  loadModel,
  readModelInfo,
  readSafetensors,
  saveModel,
  toTorchStateDict,
  torchInt64Keys,
  torchModelPy,
  writeFileAtomic,
  writeSafetensors,
  VERSION,
  type ModelDescription,
} from '../io/index.js';
import { CliError, formatHelp, parseFlags, type FlagSpecs } from './args.js';
import { DATASETS, FileError, type DatasetName } from './data.js';
import { buildModel, resolveModelSpec } from './modelSpec.js';
import { DCGANGenerator } from '../models/index.js';
import type { Model } from '../nn/index.js';
import { CLI_KEY, loadCheckpointModel, oneLine, readCheckpointFile, type RunInfo } from './run.js';

const EXPORT = 'layerwise export';
const IMPORT = 'layerwise import';

export const EXPORT_FLAGS: FlagSpecs = {
  format: { type: 'string', choices: ['onnx', 'torch'], help: 'what to write (required)' },
  out: {
    type: 'string',
    metavar: 'PATH',
    help: 'the .onnx file (onnx) or the folder for model.safetensors and model.py (torch)',
  },
};

const EXPORT_HELP = `Writes a model trained by 'layerwise train' (model.safetensors or checkpoint.safetensors), or
any model file of io.saveModel (e.g. the generator.safetensors of 'layerwise gan'), for another
runtime:
  --format onnx   one ONNX file (opset 17, dynamic batch): input 'input' is the tensor the model
                  takes after preprocessing, output 'scores'; the preprocessing, class names and
                  input shape are in the model's metadata_props.
  --format torch  OUT/model.safetensors, a state dict that torch's load_state_dict(strict=True)
                  takes, and OUT/model.py: build_model(), preprocess(x), load_model().`;

export function runExport(argv: readonly string[]): number {
  const { flags, positionals } = parseFlags(EXPORT, argv, EXPORT_FLAGS);
  if (flags.help) {
    const usage = 'layerwise export <model.safetensors> --format onnx|torch --out PATH';
    process.stdout.write(formatHelp(usage, EXPORT_HELP, EXPORT_FLAGS));
    return 0;
  }
  if (positionals.length !== 1) {
    throw new CliError(
      `${EXPORT}: expected one model file, got ${positionals.length} arguments (see '${EXPORT} --help')`,
    );
  }
  const format = flags.format as 'onnx' | 'torch' | undefined;
  if (format === undefined)
    throw new CliError(`${EXPORT}: --format onnx or --format torch is required`);
  const out = flags.out as string | undefined;
  if (out === undefined) throw new CliError(`${EXPORT}: --out is required`);
  const path = positionals[0];
  const { model, desc, what } = exportable(path);
  try {
    if (format === 'onnx') {
      const bytes = exportOnnx(model, desc);
      writeFileAtomic(out, bytes);
      process.stdout.write(`wrote ${out} (${bytes.length.toLocaleString('en-US')} bytes)\n`);
      return 0;
    }
    makeFolder(out);
    const sd = toTorchStateDict(model);
    const source = { source: path, layerwise: VERSION, model: model.config ?? null, ...desc };
    const meta = { 'layerwise.export': JSON.stringify(source) };
    writeSafetensors(join(out, 'model.safetensors'), sd, meta, { int64: torchInt64Keys(sd) });
    const py = torchModelPy(model, { ...desc, description: what });
    writeFileAtomic(join(out, 'model.py'), py);
  } catch (e) {
    if (e instanceof FileError || e instanceof CliError) throw e;
    throw new FileError(EXPORT, path, oneLine(e));
  }
  process.stdout.write(
    `wrote ${join(out, 'model.safetensors')} and ${join(out, 'model.py')}\n` +
      `  python3 -c 'import sys; sys.path.insert(0, "${out}"); from model import load_model; print(load_model())'\n`,
  );
  return 0;
}

/**
 * The model to export and what describes it: a file of `layerwise train` through its run info,
 * else any model file of io.saveModel through its stored description (a DCGANGenerator's input
 * shape, when none is stored, is its latent vector).
 */
function exportable(path: string): {
  model: Model;
  desc: { preprocessing?: RunInfo['preprocessing']; classNames?: string[]; inputShape?: number[] };
  what: string;
} {
  const contents = readCheckpointFile(EXPORT, path);
  if (contents.metadata[CLI_KEY] !== undefined) {
    const { model, info } = loadCheckpointModel(EXPORT, path);
    const { preprocessing, classNames, inputShape } = info;
    const type = 'type' in info.model ? info.model.type : 'Sequential';
    return {
      model,
      desc: { preprocessing, classNames, inputShape },
      what: `${type} trained by layerwise train`,
    };
  }
  let model: Model, stored: ModelDescription;
  try {
    model = loadModel(path) as Model;
    stored = readModelInfo(path);
  } catch (e) {
    throw new FileError(EXPORT, path, `not a layerwise model file (${oneLine(e)})`);
  }
  const inputShape =
    stored.inputShape ?? (model instanceof DCGANGenerator ? [model.latentDim] : undefined);
  const desc = {
    ...(stored.preprocessing ? { preprocessing: stored.preprocessing } : {}),
    ...(stored.classNames ? { classNames: [...stored.classNames] } : {}),
    ...(inputShape ? { inputShape: [...inputShape] } : {}),
  };
  return { model, desc, what: `${model.constructor.name} saved by io.saveModel` };
}

function makeFolder(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new FileError(EXPORT, dir, `cannot create the --out folder (${oneLine(e)})`);
  }
  if (!statSync(dir).isDirectory()) throw new FileError(EXPORT, dir, 'is not a folder');
}

export const IMPORT_FLAGS: FlagSpecs = {
  format: { type: 'string', choices: ['torch'], default: 'torch', help: 'what FILE holds' },
  model: {
    type: 'string',
    metavar: 'SPEC',
    help: "the architecture: cnn, mlp, fc or an architecture file, as for 'layerwise train --model'",
  },
  out: { type: 'string', metavar: 'FILE', help: 'the layerwise model file to write (required)' },
  'input-shape': {
    type: 'string',
    default: '1,28,28',
    metavar: 'C,H,W',
    help: 'the shape of one input sample',
  },
  'class-names': {
    type: 'string',
    metavar: 'A,B,..',
    help: "the classes' names, comma-separated (default: 0, 1, ..., 9)",
  },
  dataset: {
    type: 'string',
    choices: DATASETS,
    default: 'mnist',
    help: "the data set 'layerwise eval' uses by default",
  },
};

const IMPORT_HELP = `Reads a PyTorch state dict (safetensors, e.g. written by 'layerwise export --format torch' and
trained further in PyTorch) into the layerwise network --model describes, strictly (every key must
fit, none may be missing), and writes a model file that eval and predict take. No preprocessing is
applied to inputs of the imported model.`;

export function runImport(argv: readonly string[]): number {
  const { flags, positionals } = parseFlags(IMPORT, argv, IMPORT_FLAGS);
  if (flags.help) {
    const usage = 'layerwise import --format torch <state.safetensors> --model SPEC --out FILE';
    process.stdout.write(formatHelp(usage, IMPORT_HELP, IMPORT_FLAGS));
    return 0;
  }
  if (positionals.length !== 1) {
    throw new CliError(
      `${IMPORT}: expected one state-dict file, got ${positionals.length} arguments (see '${IMPORT} --help')`,
    );
  }
  const spec = flags.model as string | undefined,
    out = flags.out as string | undefined;
  if (spec === undefined) throw new CliError(`${IMPORT}: --model is required`);
  if (out === undefined) throw new CliError(`${IMPORT}: --out is required`);
  const inputShape = parseShape(flags['input-shape'] as string);
  const classNames =
    flags['class-names'] === undefined
      ? Array.from({ length: 10 }, (_, i) => String(i))
      : String(flags['class-names']).split(',');
  const shape = { inputShape, numClasses: classNames.length, seed: 0 };
  const modelSpec = resolveModelSpec(IMPORT, spec, shape);
  const model = buildModel(modelSpec, `${IMPORT}: --model ${spec}`);
  const file = positionals[0];
  let tensors;
  try {
    tensors = readSafetensors(file).tensors;
  } catch (e) {
    throw FileError.restate(IMPORT, e);
  }
  try {
    fromTorchStateDict(model, tensors, { strict: true });
  } catch (e) {
    throw new FileError(IMPORT, file, oneLine(e).replace(/^fromTorchStateDict: /, ''));
  }
  const info: RunInfo = {
    version: 1,
    model: modelSpec,
    preprocessing: { kind: 'none' },
    classNames,
    inputShape,
    data: { dataset: flags.dataset as DatasetName, dataDir: null, limit: null },
    settings: {
      ...{ model: spec, optimizer: 'none', lr: 0, batchSize: 0, epochs: 0, seed: 0 },
      ...{ schedule: 'cosine', lrDecay: 1, warmup: 0, augment: 'none', preprocess: 'none', out },
    },
    epochs: [],
    trainSeconds: 0,
    samplesSeen: 0,
  };
  const description = { preprocessing: info.preprocessing, classNames, inputShape };
  // one atomic write, the run info and the library's description in the same file
  saveModel(out, model, { metadata: { [CLI_KEY]: JSON.stringify(info) }, ...description });
  process.stdout.write(`wrote ${out} (${spec} from ${file})\n`);
  return 0;
}

function parseShape(text: string): number[] {
  const dims = text.split(',').map((d) => Number(d));
  if (dims.length === 0 || dims.some((d) => !Number.isSafeInteger(d) || d < 1)) {
    throw new CliError(
      `${IMPORT}: --input-shape must be positive integers like 1,28,28, got '${text}'`,
    );
  }
  return dims;
}
