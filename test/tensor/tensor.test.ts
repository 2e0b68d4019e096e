import { describe, expect, it } from 'vitest';
import {
  argmaxRows,
  expectOptions,
  expectShape,
  labelsOf,
  Tensor,
} from '../../src/tensor/index.js';

describe('Tensor', () => {
  it('argmaxRows: the first largest score of each row; comparisons with NaN are false; scores must be (N, C)', () => {
    const s = Tensor.from(
      [
        [1, 3, 3],
        [NaN, -1, -2],
        [-0, 0, -5],
        [2, NaN, 7],
      ],
      undefined,
      'float64',
    );
    expect(Array.from(argmaxRows(s))).toEqual([1, 0, 0, 2]);
    expect(() => argmaxRows(Tensor.zeros([3]))).toThrow(
      /argmaxRows: scores has shape \[3\] but must be \(N, C\)/,
    );
  });
  it('empty gives the shape and dtype asked for (zeroed outside step memory) and checks its arguments', () => {
    const e = Tensor.empty([3, 2], 'float64');
    expect(e.shape).toEqual([3, 2]);
    expect(e.data).toBeInstanceOf(Float64Array);
    expect([...e.data]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Tensor.empty([4]).dtype).toBe('float32');
    expect(() => Tensor.empty([2, -1])).toThrow(
      /Tensor.empty: shape must be a list of non-negative integers/,
    );
    expect(() => Tensor.empty([2], 'float16' as 'float32')).toThrow(/Tensor.empty: dtype must be/);
  });
  it('creates zeros, full, from and randn with the requested dtype', () => {
    const z = Tensor.zeros([2, 3]);
    expect(z.dtype).toBe('float32');
    expect(z.shape).toEqual([2, 3]);
    expect(z.size).toBe(6);
    expect([...z.data]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Tensor.zeros([4], 'float64').data).toBeInstanceOf(Float64Array);
    expect(Tensor.zeros([4], 'int32').data).toBeInstanceOf(Int32Array);
    expect([...Tensor.full([2], 7, 'float64').data]).toEqual([7, 7]);
    const t = Tensor.from([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.get(1, 2)).toBe(6);
    expect(Tensor.from([1, 2, 3, 4], [2, 2], 'int32').dtype).toBe('int32');
    const r = Tensor.randn([3, 4], { seed: 1, dtype: 'float64' });
    expect(r.dtype).toBe('float64');
    expect([...r.data]).toEqual([...Tensor.randn([3, 4], { seed: 1, dtype: 'float64' }).data]);
    expect([...r.data]).not.toEqual([...Tensor.randn([3, 4], { seed: 2, dtype: 'float64' }).data]);
  });

  it('reshapes as a view that shares data, inferring one -1', () => {
    const t = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
    const v = t.reshape([3, -1]);
    expect(v.shape).toEqual([3, 2]);
    v.data[0] = 42;
    expect(t.get(0, 0)).toBe(42);
    expect(() => t.reshape([4, 2])).toThrow('reshape: cannot reshape [2,3] (size 6) to [4,2]');
    expect(() => t.reshape([4, -1])).toThrow('reshape: cannot reshape [2,3] (size 6) to [4,-1]');
  });

  it('clones into separate storage', () => {
    const t = Tensor.from([1, 2], [2], 'float64');
    const c = t.clone();
    c.data[0] = 9;
    expect(t.data[0]).toBe(1);
    expect(c.dtype).toBe('float64');
  });

  it('rejects inconsistent data, shapes, dtypes and indices with clear messages', () => {
    expect(() => new Tensor(new Float32Array(5), [2, 3])).toThrow(
      'Tensor: data has 5 elements but shape [2,3] needs 6',
    );
    expect(() => Tensor.zeros([2, -1])).toThrow(
      'Tensor.zeros: shape must be a list of non-negative integers, got [2,-1]',
    );
    expect(() => Tensor.zeros([2], 'float16' as never)).toThrow(
      "Tensor.zeros: dtype must be 'float32', 'float64' or 'int32', got 'float16'",
    );
    expect(() => Tensor.from([1, 2, 3], [2, 2])).toThrow(
      'Tensor.from: got 3 values but shape [2,2] needs 4',
    );
    expect(() => Tensor.from([1.5], [1], 'int32')).toThrow(
      'Tensor.from: value 1.5 at index 0 is not an integer (dtype int32)',
    );
    expect(() => Tensor.zeros([2, 2]).get(2, 0)).toThrow(
      'Tensor.get: index [2,0] is outside shape [2,2]',
    );
  });
});

describe('checks', () => {
  it('name the function, the argument and the shapes', () => {
    expect(() =>
      expectShape('f', 'w', Tensor.zeros([5, 3]), [4, -1], 'x flattens to [2,4]'),
    ).toThrow('f: w has shape [5,3] but x flattens to [2,4]');
    expect(() => labelsOf('softmaxLoss', 'y', [0, 12, 1], 3, 10)).toThrow(
      'softmaxLoss: y[1] = 12 is outside [0, 10)',
    );
    expect(() => labelsOf('softmaxLoss', 'y', [0, 1], 3, 10)).toThrow(
      'softmaxLoss: y has shape [2] but the scores have 3 rows',
    );
    expect(() => labelsOf('svmLoss', 'y', [0.5], 1, 10)).toThrow(
      'svmLoss: y[0] = 0.5 is outside [0, 10)',
    );
  });

  it('suggests the right option name', () => {
    expect(() => expectOptions('Solver', { lr_decay: 0.9 }, ['lrDecay', 'batchSize'])).toThrow(
      "Solver: unknown option 'lr_decay' (did you mean 'lrDecay'?)",
    );
    expect(() => expectOptions('Solver', { zzz: 1 }, ['lrDecay', 'batchSize'])).toThrow(
      "Solver: unknown option 'zzz' (known: lrDecay, batchSize)",
    );
  });
});
