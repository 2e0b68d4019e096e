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
/**
 * A value as messages show it, short whatever it is: strings and numbers as JSON, arrays to 3
 * levels and 8 items, objects as {...}, cut at 80 characters. (String() or JSON.stringify of a
 * 10,000-deep array from a damaged file would overflow the stack.)
 */
export function preview(v: unknown, depth = 0): string {
  let text: string;
  if (Array.isArray(v)) {
    const items = v.slice(0, 8).map((x) => (depth >= 2 ? '...' : preview(x, depth + 1)));
    text = `[${items.join(',')}${v.length > 8 ? ',...' : ''}]`;
  } else if (v !== null && typeof v === 'object') text = '{...}';
  else if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'symbol')
    text = String(v);
  else text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

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
    throw new ValueError(
      `${fn}: ${arg} must be a finite number, got ${typeof x === 'string' ? x : preview(x)}`,
    );
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

/** Integer ids (class labels, token ids, row indices): a Tensor, an array-like, or rows (N, T). */
export type Ids = Tensor | ArrayLike<number> | ReadonlyArray<ArrayLike<number>>;

/** Where an id sits, for messages: 3 -> '3', flat index 5 of shape [2,3] -> '1,2', 'cat' -> "'cat'". */
function positionOf(at: number | string, shape: readonly number[] | undefined): string {
  if (typeof at === 'string') return `'${at}'`;
  if (shape === undefined || shape.length <= 1) return String(at);
  const index = new Array<number>(shape.length);
  for (let d = shape.length - 1, rest = at; d >= 0; d--) {
    index[d] = rest % shape[d];
    rest = Math.floor(rest / shape[d]);
  }
  return index.join(',');
}

/**
 * Throws unless v is an integer in [0, size), the one check of a class label, token id or row
 * index: "fn: arg[pos] = v is outside [0, size)", or "fn: arg[pos] = v is not an integer in
 * [0, size)" for 1.5, NaN or '3'. pos is `at` as an index into `shape` (flat index 5 of [2,3] reads '1,2') or a
 * quoted key; `why` is appended (e.g. "for X of shape [3,2]").
 */
export function expectId(
  fn: string,
  arg: string,
  v: unknown,
  at: number | string,
  size: number,
  opts?: { shape?: readonly number[]; why?: string },
): asserts v is number {
  if (Number.isInteger(v) && (v as number) >= 0 && (v as number) < size) return;
  const problem = `is ${Number.isInteger(v) ? 'outside' : 'not an integer in'} [0, ${size})`;
  const why = opts?.why === undefined ? '' : ` ${opts.why}`;
  throw new ValueError(
    `${fn}: ${arg}[${positionOf(at, opts?.shape)}] = ${typeof v === 'string' ? v : preview(v)} ${problem}${why}`,
  );
}

/**
 * Reads ids into a flat Int32Array (the same array when x is an Int32Array or an int32 Tensor)
 * and their shape, each checked by expectId against [0, size). Nested arrays must be
 * rectangular; `expected` names what x must be in the TypeError for anything else.
 */
export function idsOf(
  fn: string,
  arg: string,
  x: Ids,
  size: number,
  expected = 'a Tensor or an array of integer ids',
): { ids: Int32Array; shape: number[] } {
  let values: ArrayLike<unknown>, shape: number[];
  if (x instanceof Tensor) {
    [values, shape] = [x.data, [...x.shape]];
  } else if (Array.isArray(x) && x.length > 0 && typeof x[0] === 'object' && x[0] !== null) {
    const rows = x as ReadonlyArray<ArrayLike<number>>,
      T = rows[0].length;
    const flat = new Array<unknown>(rows.length * T);
    rows.forEach((row, n) => {
      if (row === null || typeof row !== 'object' || row.length !== T) {
        throw new ShapeError(`${fn}: ${arg}[${n}] has ${row?.length} ids but ${arg}[0] has ${T}`);
      }
      for (let t = 0; t < T; t++) flat[n * T + t] = row[t];
    });
    [values, shape] = [flat, [rows.length, T]];
  } else if (
    x !== null &&
    typeof x === 'object' &&
    typeof (x as ArrayLike<number>).length === 'number'
  ) {
    values = x as ArrayLike<number>;
    shape = [values.length];
  } else {
    throw new TypeError(`${fn}: ${arg} must be ${expected}`);
  }
  const where = { shape };
  for (let i = 0; i < values.length; i++) expectId(fn, arg, values[i], i, size, where);
  const ids = values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>);
  return { ids, shape };
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
  for (let i = 0; i < N; i++) expectId(fn, arg, values[i], i, C);
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
