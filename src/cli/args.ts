// src/cli/args.ts: declarative flags on top of node:util parseArgs, with one-line errors that
// name the flag and suggest the right one.
import { parseArgs } from 'node:util';
import { didYouMean, mustBeOneOf } from '../tensor/index.js';

/** A user error: printed as one line with a non-zero exit, never as a stack trace. */
export class CliError extends Error {
  override name = 'CliError';
}

export interface FlagSpec {
  readonly type: 'string' | 'number' | 'int' | 'boolean';
  readonly help: string;
  readonly default?: string | number | boolean;
  readonly choices?: readonly string[];
  readonly min?: number;
  /** The value must be above min, not equal to it (a learning rate > 0). */
  readonly minExclusive?: boolean;
  readonly short?: string;
  /** Shown in help instead of the type, e.g. 'DIR'. */
  readonly metavar?: string;
}
export type FlagSpecs = Record<string, FlagSpec>;
export type FlagValues = Record<string, string | number | boolean | undefined>;

/** Parses argv against specs: returns typed flag values and the positional arguments. */
export function parseFlags(
  command: string,
  argv: readonly string[],
  specs: FlagSpecs,
): { flags: FlagValues; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = {
      type: spec.type === 'boolean' ? 'boolean' : 'string',
      ...(spec.short ? { short: spec.short } : {}),
    };
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv, specs),
      options,
      allowPositionals: true,
      strict: true,
      allowNegative: true,
    } as Parameters<typeof parseArgs>[0]);
  } catch (err) {
    throw new CliError(explainParseError(command, err as Error, Object.keys(options)));
  }
  const raw = parsed.values as Record<string, string | boolean | undefined>;
  const flags: FlagValues = { help: raw.help ?? false };
  for (const [name, spec] of Object.entries(specs)) {
    const v = raw[name];
    flags[name] = v === undefined ? spec.default : convert(command, name, spec, v);
  }
  return { flags, positionals: parsed.positionals };
}

function convert(
  command: string,
  name: string,
  spec: FlagSpec,
  v: string | boolean,
): string | number | boolean {
  if (spec.type === 'boolean') return v as boolean;
  const s = String(v);
  if (spec.choices && !spec.choices.includes(s)) {
    throw new CliError(mustBeOneOf(command, `--${name}`, s, spec.choices));
  }
  if (spec.type === 'string') return s;
  const n = Number(s);
  // decimal notation only: Number() would also take '0x2', '0b1', ' 2 ', 'Infinity'
  if (!DECIMAL.test(s) || !Number.isFinite(n) || (spec.type === 'int' && !Number.isInteger(n))) {
    throw new CliError(
      `${command}: --${name} must be ${spec.type === 'int' ? 'an integer' : 'a number'}, got '${s}'`,
    );
  }
  if (spec.min !== undefined && (spec.minExclusive ? n <= spec.min : n < spec.min)) {
    const op = spec.minExclusive ? '>' : '>=';
    throw new CliError(`${command}: --${name} must be ${op} ${spec.min}, got ${s}`);
  }
  return n;
}

/** A number as the flags take it: optional sign, digits with an optional fraction, exponent. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * argv with a long value flag followed by a negative number ('--lr', '-1') joined into '--lr=-1':
 * parseArgs would call it ambiguous (it might be an option), so a range check could never say
 * what is wrong with it.
 */
function joinNegativeValues(argv: readonly string[], specs: FlagSpecs): string[] {
  const takesValue = new Set<string>();
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.type === 'boolean') continue;
    takesValue.add(`--${name}`);
  }
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i],
      next = argv[i + 1];
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (takesValue.has(a) && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function explainParseError(command: string, err: Error, known: string[]): string {
  const unknown = /Unknown option '(-{1,2})([^']+)'/.exec(err.message);
  if (unknown) {
    const flag = `${unknown[1]}${unknown[2]}`,
      hint = didYouMean(
        flag,
        known.map((k) => `--${k}`),
      );
    return `${command}: unknown option '${flag}'${hint} (see '${command} --help')`;
  }
  const missing = /Option '(?:-\w, )?--([^ ]+) <value>' argument missing/.exec(err.message);
  if (missing) return `${command}: --${missing[1]} needs a value`;
  return `${command}: ${err.message.split('\n')[0]}`;
}

/** The help text of a command: usage line, description and one line per flag. */
export function formatHelp(usage: string, description: string, specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const meta =
      spec.type === 'boolean'
        ? ''
        : ` ${spec.metavar ?? (spec.choices ? spec.choices.join('|') : spec.type === 'string' ? 'VALUE' : 'N')}`;
    const left = `  ${spec.short ? `-${spec.short}, ` : ''}--${name}${meta}`;
    const def =
      spec.default !== undefined && spec.default !== false ? ` (default: ${spec.default})` : '';
    return [left, `${spec.help}${def}`] as const;
  });
  const width = Math.min(38, Math.max(...rows.map(([l]) => l.length), 10) + 2);
  const lines = rows.map(([l, r]) =>
    l.length >= width ? `${l}\n${' '.repeat(width)}${r}` : `${l.padEnd(width)}${r}`,
  );
  return `Usage: ${usage}\n\n${description}\n\nOptions:\n${lines.join('\n')}\n  -h, --help${' '.repeat(Math.max(1, width - 12))}show this help\n`;
}
