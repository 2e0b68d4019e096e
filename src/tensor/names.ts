// src/tensor/names.ts: checks of names chosen from a fixed set (a mode, a kind, a dtype, an option
// key), with the one message format for each and a "did you mean" suggestion when a known name is
// close. Everything that refuses a name goes through here; src/tensor/check.ts holds the checks
// of tensors, numbers and ids.
import { preview } from './check.js';
import { DTypeError, ValueError } from './errors.js';

/** Levenshtein distance, for "did you mean" suggestions. */
function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** The known name closest to `name` (ignoring case, _ and -), if any is close enough. */
export function suggestName(name: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[_-]/g, '');
  let best: string | undefined,
    bestD = Infinity;
  for (const k of known) {
    const d = editDistance(norm(name), norm(k));
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** " (did you mean 'x'?)" when a known name is close to `name`, else ''. */
export function didYouMean(name: string, known: readonly string[]): string {
  const hint = suggestName(name, known);
  return hint === undefined ? '' : ` (did you mean '${hint}'?)`;
}

/**
 * "unknown <what> '<name>' (did you mean 'x'?)", or "... (known: a, b, c)" when no known name is
 * close. Callers put their function (and file) in front: `${fn}: ${unknownName(...)}`.
 */
export function unknownName(what: string, name: string, known: readonly string[]): string {
  const hint = didYouMean(name, known) || ` (known: ${known.join(', ')})`;
  return `unknown ${what} '${name}'${hint}`;
}

/** A choice as messages quote it: 'adam' for a string, null and numbers as they are. */
const quote = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : preview(v));

/** "'a', 'b' or 'c'": the allowed choices of a "must be" message. */
export function choiceList(known: readonly unknown[]): string {
  const quoted = known.map(quote);
  return quoted.length <= 1
    ? quoted.join('')
    : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
}

/** "fn: arg must be 'a', 'b' or 'c', got 'x'", plus " (did you mean 'b'?)" when one is close. */
export function mustBeOneOf(
  fn: string,
  arg: string,
  value: unknown,
  known: readonly unknown[],
): string {
  const names = known.filter((k): k is string => typeof k === 'string');
  const hint = typeof value === 'string' ? didYouMean(value, names) : '';
  return `${fn}: ${arg} must be ${choiceList(known)}, got ${quote(value)}${hint}`;
}

/** Returns value when it is one of `known`; otherwise throws a ValueError (see mustBeOneOf). */
export function expectOneOf<T>(fn: string, arg: string, value: unknown, known: readonly T[]): T {
  if (!known.includes(value as T)) throw new ValueError(mustBeOneOf(fn, arg, value, known));
  return value as T;
}

/**
 * Returns dtype when it is 'float32' or 'float64'; otherwise throws a DTypeError
 * "fn: dtype must be 'float32' or 'float64', got 'int32'". The one check of a dtype option.
 */
export function floatDType(fn: string, dtype: unknown, arg = 'dtype'): 'float32' | 'float64' {
  if (dtype !== 'float32' && dtype !== 'float64')
    throw new DTypeError(mustBeOneOf(fn, arg, dtype, ['float32', 'float64']));
  return dtype;
}

/** Throws on an option key that `fn` does not know, suggesting the closest known one. */
export function expectOptions(
  fn: string,
  opts: object | undefined,
  known: readonly string[],
): void {
  if (opts === undefined) return;
  if (opts === null || typeof opts !== 'object')
    throw new TypeError(`${fn}: options must be an object`);
  for (const key of Object.keys(opts)) {
    if (!known.includes(key)) throw new ValueError(`${fn}: ${unknownName('option', key, known)}`);
  }
}
