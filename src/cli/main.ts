#!/usr/bin/env node
// src/cli/main.ts: the `layerwise` command. Parses arguments, calls the public API, prints; the
// only place in layerwise that sets an exit code.

const HELP = `layerwise - train and inspect neural networks written as forward/backward pairs

Usage:
  layerwise --help        show this help
  layerwise --version     print the version
`;

function main(argv: string[]): number {
  const [cmd] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (cmd === '--version') {
    process.stdout.write('0.1.0\n');
    return 0;
  }
  process.stderr.write(`layerwise: unknown command '${cmd}' (try 'layerwise --help')\n`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
