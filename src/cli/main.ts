#!/usr/bin/env node
// src/cli/main.ts: the `layerwise` command. Picks the backend (--backend / LAYERWISE_BACKEND),
// dispatches to a subcommand, and turns errors into one line and an exit code: 2 for a wrong
// flag or value (CliError), 1 for a missing or malformed file or any other failure; the only
// place in layerwise that sets an exit code.
import { setBackend, type BackendName } from '../kernels/index.js';
import { FileError, mustBeOneOf } from '../tensor/index.js';
import { CliError } from './args.js';
import { runCaption } from './caption.js';
import { runEval } from './eval.js';
import { runExport, runImport } from './export.js';
import { runGan } from './gan.js';
import { runGradcheck } from './gradcheck.js';
import { runPredict } from './predict.js';
import { oneLine } from './run.js';
import { runTrain } from './train.js';
import { runVisualize } from './visualize.js';

const VERSION = '0.1.0';
const BACKENDS: readonly BackendName[] = ['auto', 'reference', 'wasm'];

const HELP = `layerwise - train and inspect neural networks written as forward/backward pairs

Usage:
  layerwise train [options]                    train a network (default: a conv net on the digits that ship with layerwise)
  layerwise eval <checkpoint> [options]         accuracy and confusion matrix of a trained model
  layerwise predict <checkpoint> <image.png...>  classify PNG images
  layerwise gradcheck [options]                 check every layer's gradients numerically
  layerwise caption [options]                   train and sample the image-captioning RNN
  layerwise export <model> --format onnx|torch --out PATH   the model for ONNX Runtime or PyTorch
  layerwise import <state.safetensors> --model SPEC --out FILE   a PyTorch state dict back
  layerwise gan [options]                       train a DCGAN on the digits and write sample grids
  layerwise visualize saliency|fool|classes|activations <checkpoint> [image.png...]
                                                pictures of what a trained model has learnt
  layerwise <command> --help                    help of a command
  layerwise --version                           print the version

Global options:
  --backend auto|reference|wasm   the float32 kernels (default: LAYERWISE_BACKEND, else auto:
                                  WebAssembly SIMD when it loads, else the reference)
`;

type Command = (argv: readonly string[]) => number | Promise<number>;
const COMMANDS: Record<string, Command> = {
  train: runTrain,
  eval: runEval,
  predict: runPredict,
  gradcheck: runGradcheck,
  gan: runGan,
  caption: (argv) => runCaption([...argv]),
  export: runExport,
  import: runImport,
  visualize: runVisualize,
};

/** Removes --backend X / --backend=X from argv and returns the chosen backend (or the environment's). */
function takeBackend(argv: string[]): BackendName | null {
  let chosen: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') break;
    if (a === '--backend' || a.startsWith('--backend=')) {
      const value = a === '--backend' ? argv[i + 1] : a.slice('--backend='.length);
      if (value === undefined) throw new CliError('layerwise: --backend needs a value');
      argv.splice(i, a === '--backend' ? 2 : 1);
      i--;
      chosen = value;
    }
  }
  const env = process.env.LAYERWISE_BACKEND;
  const name = chosen ?? (env === undefined || env === '' ? null : env);
  if (name !== null && !BACKENDS.includes(name as BackendName)) {
    const from = chosen !== null ? '--backend' : 'LAYERWISE_BACKEND';
    throw new CliError(mustBeOneOf('layerwise', from, name, BACKENDS));
  }
  return name as BackendName | null;
}

async function main(args: string[]): Promise<number> {
  const argv = [...args];
  const backend = takeBackend(argv);
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (cmd === '--version' || cmd === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (command === undefined) {
    throw new CliError(`layerwise: unknown command '${cmd}' (try 'layerwise --help')`);
  }
  if (backend !== null) setBackend(backend);
  return command(rest);
}

function report(err: unknown): number {
  if (err instanceof CliError) {
    process.stderr.write(`${oneLine(err)}\n`);
    return 2;
  }
  if (err instanceof FileError) {
    process.stderr.write(`${oneLine(err)}\n`);
    return 1;
  }
  if (process.env.LAYERWISE_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.stderr.write(`layerwise: ${oneLine(err)}\n`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = report(err);
  },
);
