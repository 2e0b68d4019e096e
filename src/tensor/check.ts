// src/tensor/check.ts: argument checks shared by every public function. Each throws an Error
// whose message names the function, the argument and the shapes or values involved.
import { DTypeError, ShapeError, ValueError } from './errors.js';
import { fmt, Tensor, type FloatTensor } from './tensor.js';

/** Class labels or token ids: an int32 Tensor or any array-like of integers. */
export type Labels = Tensor | ArrayLike<number>;

/** Throws unless `t` is a Tensor (catches plain arrays passed where a Tensor is needed). */
export function expectTensor(fn: string, arg: string, t: unknown): asserts t is Tensor {
  if (!(t instanceof Tensor)) {
    const got = t === null ? 'null' : Array.isArray(t) ? 'an array' : typeof t;
    throw new TypeError(`${fn}: ${arg} must be a Tensor, got ${got}`);
  }
}

/** Throws "fn: arg has shape [..] but <reason>" unless t.shape equals want (-1 = any size). */
export function expectShape(
  fn: string,
  arg: string,
  t: Tensor,
  want: readonly number[],
  reason = `expected ${fmt(want.map((d) => (d === -1 ? '*' : d)) as unknown as number[])}`,
): void {
  expectTensor(fn, arg, t);
  const ok = t.shape.length === want.length && want.every((d, i) => d === -1 || d === t.shape[i]);
  if (!ok) throw new ShapeError(`${fn}: ${arg} has shape ${fmt(t.shape)} but ${reason}`);
}

/** Throws unless t has exactly `ndim` dimensions, naming the layout expected. */
export function expectNdim(fn: string, arg: string, t: Tensor, ndim: number, layout: string): void {
  expectTensor(fn, arg, t);
  if (t.shape.length !== ndim) {
    throw new ShapeError(`${fn}: ${arg} has shape ${fmt(t.shape)} but must be ${ndim}-D ${layout}`);
  }
}

/** Throws unless t holds float32 or float64 data. */
export function expectFloat(fn: string, arg: string, t: Tensor): asserts t is FloatTensor {
  expectTensor(fn, arg, t);
  if (t.dtype !== 'float32' && t.dtype !== 'float64') {
    throw new DTypeError(`${fn}: ${arg} has dtype ${t.dtype} but must be float32 or float64`);
  }
}

/** Throws unless every tensor has the dtype of the first (layers never mix precisions). */
export function expectSameDType(fn: string, tensors: Record<string, Tensor>): void {
  const entries = Object.entries(tensors);
  const [firstName, first] = entries[0];
  for (const [name, t] of entries.slice(1)) {
    if (t.dtype !== first.dtype) {
      throw new DTypeError(
        `${fn}: ${name} has dtype ${t.dtype} but ${firstName} has dtype ${first.dtype}`,
      );
    }
  }
}

/** Throws unless x is a finite number (catches NaN, Infinity, undefined and strings). */
export function expectNumber(
  fn: string,
  arg: string,
  x: unknown,
  range?: {
    min?: number;
    max?: number;
    integer?: boolean;
    minExclusive?: boolean;
    maxExclusive?: boolean;
  },
): asserts x is number {
  if (typeof x !== 'number' || !Number.isFinite(x)) {
    throw new ValueError(`${fn}: ${arg} must be a finite number, got ${String(x)}`);
  }
  if (range?.integer && !Number.isInteger(x))
    throw new ValueError(`${fn}: ${arg} must be an integer, got ${x}`);
  if (range?.min !== undefined && (range.minExclusive ? x <= range.min : x < range.min)) {
    throw new ValueError(
      `${fn}: ${arg} must be ${range.minExclusive ? '>' : '>='} ${range.min}, got ${x}`,
    );
  }
  if (range?.max !== undefined && (range.maxExclusive ? x >= range.max : x > range.max)) {
    throw new ValueError(
      `${fn}: ${arg} must be ${range.maxExclusive ? '<' : '<='} ${range.max}, got ${x}`,
    );
  }
}

/**
 * Checks labels against N rows of C classes and returns them as an Int32Array (the same
 * array when it already is one). Throws on a wrong count, a non-integer or y[i] outside [0, C).
 */
export function labelsOf(fn: string, arg: string, y: Labels, N: number, C: number): Int32Array {
  const values: ArrayLike<number> = y instanceof Tensor ? y.data : y;
  if (values === null || typeof values !== 'object' || typeof values.length !== 'number') {
    throw new TypeError(`${fn}: ${arg} must be a Tensor or an array of class indices`);
  }
  if (values.length !== N) {
    const shape = y instanceof Tensor ? fmt(y.shape) : `[${values.length}]`;
    throw new ShapeError(`${fn}: ${arg} has shape ${shape} but the scores have ${N} rows`);
  }
  for (let i = 0; i < N; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < 0 || v >= C) {
      throw new ValueError(`${fn}: ${arg}[${i}] = ${v} is outside [0, ${C})`);
    }
  }
  return values instanceof Int32Array ? values : Int32Array.from(values);
}

/** Throws if any element of a float tensor is NaN or infinite. */
export function expectFinite(fn: string, arg: string, t: Tensor): void {
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) {
      throw new ValueError(
        `${fn}: ${arg} has a non-finite value (${d[i]}) at flat index ${i} of shape ${fmt(t.shape)}`,
      );
    }
  }
}

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
    if (known.includes(key)) continue;
    const hint = suggestName(key, known);
    throw new ValueError(
      `${fn}: unknown option '${key}'${hint ? ` (did you mean '${hint}'?)` : ` (known: ${known.join(', ')})`}`,
    );
  }
}
