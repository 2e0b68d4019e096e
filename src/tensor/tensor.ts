// src/tensor/tensor.ts: Tensor, a shape over contiguous row-major storage. float32 is the
// default (training), float64 is what gradient checks use, int32 holds token ids and labels.
import { DTypeError, ShapeError, ValueError } from './errors.js';
import { floatDType, mustBeOneOf } from './names.js';
import { defaultRng, Rng } from './random.js';

export type DType = 'float32' | 'float64' | 'int32';
export type FloatDType = 'float32' | 'float64';
export type TensorData = Float32Array | Float64Array | Int32Array;
export type FloatData = Float32Array | Float64Array;

/** A Tensor known to hold floating-point data (see expectFloat in check.ts). */
export type FloatTensor = Tensor<FloatData> & { readonly dtype: FloatDType };
/** A Tensor of int32 ids or labels. */
export type IntTensor = Tensor<Int32Array> & { readonly dtype: 'int32' };

export const fmt = (shape: readonly number[]): string => `[${shape.join(',')}]`;

/** Product of the dimensions; [] (a scalar) has size 1. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function dtypeOf(data: TensorData): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  throw new DTypeError(`Tensor: data must be a Float32Array, Float64Array or Int32Array`);
}

/**
 * Allocates storage, zeroed unless `clear` is false (then its contents are unspecified until
 * written). A training loop may install one that reuses memory (kernels/stepMemory.ts).
 */
export type Allocator = (dtype: DType, length: number, clear?: boolean) => TensorData;
const plainAllocator: Allocator = (dtype, length) =>
  dtype === 'float32'
    ? new Float32Array(length)
    : dtype === 'float64'
      ? new Float64Array(length)
      : new Int32Array(length);
let allocator: Allocator = plainAllocator;
/**
 * Installs the storage allocator used by Tensor.zeros (null restores plain typed arrays) and
 * returns the one it replaces, so that a caller can put it back (see kernels/stepMemory.ts).
 */
export function setAllocator(a: Allocator | null): Allocator {
  const previous = allocator;
  allocator = a ?? plainAllocator;
  return previous;
}
/** True while an allocator other than plain typed arrays is installed (a StepMemory run). */
export function allocatorInstalled(): boolean {
  return allocator !== plainAllocator;
}
export function allocate(dtype: DType, length: number, clear = true): TensorData {
  return allocator(dtype, length, clear);
}

function checkShape(fn: string, shape: readonly number[]): void {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ShapeError(
      `${fn}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`,
    );
  }
}

function checkDType(fn: string, dtype: string): asserts dtype is DType {
  if (dtype !== 'float32' && dtype !== 'float64' && dtype !== 'int32')
    throw new DTypeError(mustBeOneOf(fn, 'dtype', dtype, ['float32', 'float64', 'int32']));
}

export class Tensor<D extends TensorData = TensorData> {
  readonly data: D;
  readonly shape: readonly number[];
  readonly dtype: DType;

  /** Wraps data (not copied) as a tensor of the given shape; data.length must equal the size. */
  constructor(data: D, shape: readonly number[]) {
    checkShape('Tensor', shape);
    const dtype = dtypeOf(data);
    if (data.length !== sizeOf(shape)) {
      throw new ShapeError(
        `Tensor: data has ${data.length} elements but shape ${fmt(shape)} needs ${sizeOf(shape)}`,
      );
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
  }

  get size(): number {
    return this.data.length;
  }

  get ndim(): number {
    return this.shape.length;
  }

  static zeros(shape: readonly number[], dtype?: FloatDType): FloatTensor;
  static zeros(shape: readonly number[], dtype: 'int32'): IntTensor;
  static zeros(shape: readonly number[], dtype: DType): Tensor;
  static zeros(shape: readonly number[], dtype: DType = 'float32'): Tensor {
    checkShape('Tensor.zeros', shape);
    checkDType('Tensor.zeros', dtype);
    return new Tensor(allocate(dtype, sizeOf(shape)), shape);
  }

  /**
   * A tensor whose contents are unspecified until written (torch.empty), for outputs that a
   * kernel overwrites in full. Plain typed arrays come zeroed anyway; inside StepMemory.run the
   * clearing is skipped, so whatever the previous step left there shows where nothing is written.
   */
  static empty(shape: readonly number[], dtype?: FloatDType): FloatTensor;
  static empty(shape: readonly number[], dtype: DType): Tensor;
  static empty(shape: readonly number[], dtype: DType = 'float32'): Tensor {
    checkShape('Tensor.empty', shape);
    checkDType('Tensor.empty', dtype);
    return new Tensor(allocate(dtype, sizeOf(shape), false), shape);
  }

  /** A tensor filled with `value`. */
  static full(shape: readonly number[], value: number, dtype?: FloatDType): FloatTensor;
  static full(shape: readonly number[], value: number, dtype: DType): Tensor;
  static full(shape: readonly number[], value: number, dtype: DType = 'float32'): Tensor {
    const t = Tensor.zeros(shape, dtype);
    t.data.fill(value);
    return t;
  }

  /**
   * Standard normal samples times `std` (default 1) from a seeded generator (Rng); without a
   * seed, from the process-wide generator. Pass `rng` to draw from a generator you own.
   */
  static randn(
    shape: readonly number[],
    opts: { seed?: number; dtype?: FloatDType; std?: number; rng?: Rng } = {},
  ): FloatTensor {
    const dtype = floatDType('Tensor.randn', opts.dtype ?? 'float32');
    const rng = opts.rng ?? (opts.seed !== undefined ? new Rng(opts.seed) : defaultRng());
    const std = opts.std ?? 1;
    const t = Tensor.zeros(shape, dtype);
    const d = t.data;
    for (let i = 0; i < d.length; i++) d[i] = std * rng.normal();
    return t;
  }

  /** Uniform samples in [low, high). */
  static rand(
    shape: readonly number[],
    opts: { seed?: number; dtype?: FloatDType; low?: number; high?: number; rng?: Rng } = {},
  ): FloatTensor {
    const dtype = floatDType('Tensor.rand', opts.dtype ?? 'float32');
    const rng = opts.rng ?? (opts.seed !== undefined ? new Rng(opts.seed) : defaultRng());
    const low = opts.low ?? 0,
      high = opts.high ?? 1;
    const t = Tensor.zeros(shape, dtype);
    const d = t.data;
    for (let i = 0; i < d.length; i++) d[i] = low + (high - low) * rng.uniform();
    return t;
  }

  /** Copies values (a flat array-like, or nested arrays) into a new tensor of the given shape. */
  static from(
    values: ArrayLike<number> | readonly unknown[],
    shape?: readonly number[],
    dtype?: FloatDType,
  ): FloatTensor;
  static from(
    values: ArrayLike<number> | readonly unknown[],
    shape: readonly number[] | undefined,
    dtype: 'int32',
  ): IntTensor;
  static from(
    values: ArrayLike<number> | readonly unknown[],
    shape: readonly number[] | undefined,
    dtype: DType,
  ): Tensor;
  static from(
    values: ArrayLike<number> | readonly unknown[],
    shape?: readonly number[],
    dtype: DType = 'float32',
  ): Tensor {
    checkDType('Tensor.from', dtype);
    const flat = flatten(values);
    const s = shape ?? inferShape(values);
    checkShape('Tensor.from', s);
    if (flat.length !== sizeOf(s)) {
      throw new ShapeError(
        `Tensor.from: got ${flat.length} values but shape ${fmt(s)} needs ${sizeOf(s)}`,
      );
    }
    const t = Tensor.zeros(s, dtype);
    const d = t.data;
    for (let i = 0; i < flat.length; i++) {
      const v = Number(flat[i]);
      if (dtype === 'int32' && !Number.isInteger(v)) {
        throw new ValueError(
          `Tensor.from: value ${flat[i]} at index ${i} is not an integer (dtype int32)`,
        );
      }
      d[i] = v;
    }
    return t;
  }

  /** A view with a new shape over the same data; one dimension may be -1 (inferred). */
  reshape<T extends Tensor>(this: T, shape: readonly number[]): T {
    const inferred = shape.indexOf(-1);
    let s = shape;
    if (inferred >= 0) {
      const rest = sizeOf(shape.filter((_, i) => i !== inferred));
      if (shape.lastIndexOf(-1) !== inferred || rest === 0 || this.size % rest !== 0) {
        throw new ShapeError(
          `reshape: cannot reshape ${fmt(this.shape)} (size ${this.size}) to ${fmt(shape)}`,
        );
      }
      s = shape.map((d, i) => (i === inferred ? this.size / rest : d));
    }
    checkShape('reshape', s);
    if (sizeOf(s) !== this.size) {
      throw new ShapeError(
        `reshape: cannot reshape ${fmt(this.shape)} (size ${this.size}) to ${fmt(shape)}`,
      );
    }
    return new Tensor(this.data, s) as T;
  }

  /** A deep copy with its own storage. */
  clone<T extends Tensor>(this: T): T {
    const t = Tensor.zeros(this.shape, this.dtype);
    t.data.set(this.data);
    return t as T;
  }

  /** A copy converted to another dtype (float -> int32 truncates toward zero). */
  astype(dtype: DType): Tensor {
    const t = Tensor.zeros(this.shape, dtype);
    if (dtype === 'int32') for (let i = 0; i < this.size; i++) t.data[i] = Math.trunc(this.data[i]);
    else t.data.set(this.data);
    return t;
  }

  /** The element at a full index, e.g. t.get(n, c, h, w). */
  get(...index: number[]): number {
    return this.data[this.offset('get', index)];
  }

  set(value: number, ...index: number[]): void {
    this.data[this.offset('set', index)] = value;
  }

  private offset(fn: string, index: number[]): number {
    if (index.length !== this.shape.length) {
      throw new ShapeError(
        `Tensor.${fn}: index has ${index.length} dimensions but the tensor has shape ${fmt(this.shape)}`,
      );
    }
    let off = 0;
    for (let i = 0; i < index.length; i++) {
      const k = index[i],
        d = this.shape[i];
      if (!Number.isInteger(k) || k < 0 || k >= d) {
        throw new RangeError(
          `Tensor.${fn}: index ${fmt(index)} is outside shape ${fmt(this.shape)}`,
        );
      }
      off = off * d + k;
    }
    return off;
  }

  /** Nested plain arrays, for printing and JSON. */
  toArray(): unknown {
    const build = (dim: number, off: number): unknown => {
      if (dim === this.shape.length) return this.data[off];
      const stride = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, off + i * stride));
    };
    return build(0, 0);
  }

  toString(): string {
    return `Tensor(${this.dtype}, ${fmt(this.shape)})`;
  }
}

function flatten(values: ArrayLike<number> | readonly unknown[]): ArrayLike<unknown> {
  if (!Array.isArray(values)) return values;
  if (values.length === 0 || !Array.isArray(values[0])) return values;
  const out: unknown[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const e of v) walk(e);
    else out.push(v);
  };
  walk(values);
  return out;
}

function inferShape(values: ArrayLike<number> | readonly unknown[]): number[] {
  const shape: number[] = [];
  let v: unknown = values;
  while (Array.isArray(v) || ArrayBuffer.isView(v)) {
    const arr = v as ArrayLike<unknown>;
    shape.push(arr.length);
    v = arr.length > 0 ? arr[0] : undefined;
    if (!Array.isArray(v)) break;
  }
  return shape;
}

/**
 * The index of the largest score in each row (the first one on ties), e.g. the predicted class
 * of each sample. Comparisons with NaN are false: a later NaN never wins, and a NaN in the first
 * column is never replaced.   scores: (N, C) => (N)
 */
export function argmaxRows(scores: Tensor): Int32Array {
  if (scores.shape.length !== 2)
    throw new ShapeError(`argmaxRows: scores has shape ${fmt(scores.shape)} but must be (N, C)`);
  const [N, C] = scores.shape,
    s = scores.data,
    out = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (s[n * C + c] > s[n * C + best]) best = c;
    out[n] = best;
  }
  return out;
}
