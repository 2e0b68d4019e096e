// Flag parsing: negative values reach the range checks, numbers are parsed strictly.
import { describe, expect, it } from 'vitest';
import { CliError, parseFlags, type FlagSpecs } from '../../src/cli/args.js';

const SPECS: FlagSpecs = {
  lr: { type: 'number', default: 1e-3, min: 0, minExclusive: true, help: '' },
  epochs: { type: 'int', default: 1, min: 1, help: '' },
  shift: { type: 'number', help: '' },
  name: { type: 'string', help: '' },
  verbose: { type: 'boolean', help: '' },
};
const parse = (...argv: string[]) => parseFlags('cmd', argv, SPECS);
const fails = (message: string, ...argv: string[]) => {
  expect(() => parse(...argv)).toThrow(CliError);
  expect(() => parse(...argv)).toThrow(message);
};

describe('parseFlags', () => {
  it('gives a negative number to its flag, so the range check names the problem', () => {
    fails('cmd: --lr must be > 0, got -1', '--lr', '-1');
    fails('cmd: --lr must be > 0, got 0', '--lr', '0');
    fails('cmd: --epochs must be >= 1, got -3', '--epochs', '-3');
    expect(parse('--shift', '-2.5', '--verbose').flags).toMatchObject({
      shift: -2.5,
      verbose: true,
    });
    expect(parse('--shift', '-.5').flags.shift).toBe(-0.5);
    expect(parse('--name', '-1').flags.name).toBe('-1');
    expect(parse('--', '--lr', '-1').positionals).toEqual(['--lr', '-1']);
  });

  it('takes decimal numbers only', () => {
    for (const bad of ['0x2', '0b1', '0o7', ' 2', '2 ', 'Infinity', '1e', '1_000', ''])
      fails(`cmd: --epochs must be an integer, got '${bad}'`, `--epochs=${bad}`);
    fails("cmd: --lr must be a number, got '0x10'", '--lr', '0x10');
    expect(parse('--epochs', '3', '--lr', '2e-3').flags).toMatchObject({ epochs: 3, lr: 2e-3 });
    expect(parse('--epochs', '1e2', '--lr', '+.5').flags).toMatchObject({ epochs: 100, lr: 0.5 });
    fails("cmd: --epochs must be an integer, got '2.5'", '--epochs', '2.5');
  });
});
