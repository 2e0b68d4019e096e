import { describe, expect, it } from 'vitest';
import {
  argmaxRows,
  didYouMean,
  DTypeError,
  expectId,
  expectOneOf,
  expectOptions,
  expectShape,
  FileError,
  floatDType,
  idsOf,
  labelsOf,
  mustBeOneOf,
  Tensor,
  unknownName,
  ValueError,
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
      'svmLoss: y[0] = 0.5 is not an integer in [0, 10)',
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

describe('the one id check (expectId, idsOf)', () => {
  it('states position, value and range in one format, for any shape', () => {
    expect(() => expectId('f', 'y', 12, 3, 10)).toThrow('f: y[3] = 12 is outside [0, 10)');
    expect(() => expectId('f', 'y', -1, 5, 4, { shape: [2, 3] })).toThrow(
      'f: y[1,2] = -1 is outside [0, 4)',
    );
    expect(() => expectId('f', 'y', 1.5, 0, 4)).toThrow(
      'f: y[0] = 1.5 is not an integer in [0, 4)',
    );
    expect(() => expectId('f', 'y', '3', 0, 4)).toThrow('f: y[0] = 3 is not an integer in [0, 4)');
    expect(() => expectId('f', 'y', NaN, 0, 4)).toThrow(ValueError);
    expect(() => expectId('f', 'map', 7, 'cat', 3, { why: 'for 3 words' })).toThrow(
      "f: map['cat'] = 7 is outside [0, 3) for 3 words",
    );
    expect(() => expectId('f', 'y', 3, 0, 4)).not.toThrow();
  });

  it('idsOf reads tensors, flat arrays and rectangular rows, sharing an Int32Array', () => {
    const flat = new Int32Array([0, 2, 1]);
    expect(idsOf('f', 'x', flat, 3).ids).toBe(flat);
    const t = Tensor.from([0, 1, 2, 0], [2, 2], 'int32');
    expect(idsOf('f', 'x', t, 3)).toEqual({ ids: t.data, shape: [2, 2] });
    const rows = idsOf(
      'f',
      'x',
      [
        [0, 1],
        [2, 0],
      ],
      3,
    );
    expect([...rows.ids]).toEqual([0, 1, 2, 0]);
    expect(rows.shape).toEqual([2, 2]);
    expect(() =>
      idsOf(
        'f',
        'x',
        [
          [0, 1],
          [2, 3],
        ],
        3,
      ),
    ).toThrow('f: x[1,1] = 3 is outside [0, 3)');
    expect(() => idsOf('f', 'x', [[0, 1], [2]], 3)).toThrow('f: x[1] has 1 ids but x[0] has 2');
    expect(() => idsOf('f', 'x', 5 as never, 3)).toThrow(
      'f: x must be a Tensor or an array of integer ids',
    );
  });
});

describe('the one name check (names.ts)', () => {
  it('expectOneOf lists the choices, quotes the value and suggests a close one', () => {
    expect(expectOneOf('f', 'mode', 'test', ['train', 'test'])).toBe('test');
    expect(() => expectOneOf('f', 'mode', 'eval', ['train', 'test'])).toThrow(
      new ValueError("f: mode must be 'train' or 'test', got 'eval'"),
    );
    expect(() => expectOneOf('f', 'norm', 'batchnrm', ['batchnorm', 'layernorm', null])).toThrow(
      new ValueError(
        "f: norm must be 'batchnorm', 'layernorm' or null, got 'batchnrm' (did you mean 'batchnorm'?)",
      ),
    );
    expect(expectOneOf('f', 'norm', null, ['batchnorm', null])).toBeNull();
    expect(mustBeOneOf('f', 'k', 3, ['a'])).toBe("f: k must be 'a', got 3");
  });

  it('floatDType throws a DTypeError, the class every dtype check uses', () => {
    expect(floatDType('f', 'float64')).toBe('float64');
    expect(() => floatDType('Linear', 'int32')).toThrow(DTypeError);
    expect(() => floatDType('Linear', 'int32')).toThrow(
      "Linear: dtype must be 'float32' or 'float64', got 'int32'",
    );
    expect(() => Tensor.randn([1], { dtype: 'int32' as 'float32' })).toThrow(DTypeError);
  });

  it('unknownName and didYouMean: a suggestion when one is close, else the known names', () => {
    expect(unknownName('updateRule', 'adma', ['sgd', 'adam'])).toBe(
      "unknown updateRule 'adma' (did you mean 'adam'?)",
    );
    expect(unknownName('key', 'zzz', ['a', 'b'])).toBe("unknown key 'zzz' (known: a, b)");
    expect(didYouMean('zzzzzz', ['a'])).toBe('');
  });
});

describe('FileError', () => {
  it('keeps the function, the path and the reason apart', () => {
    const e = new FileError('readNpy', 'x.npy', 'truncated');
    expect(e.message).toBe('readNpy: x.npy: truncated');
    expect([e.name, e.fn, e.path, e.reason]).toEqual([
      'FileError',
      'readNpy',
      'x.npy',
      'truncated',
    ]);
    const missing = FileError.cannotRead(
      'readIdx',
      'a',
      Object.assign(new Error('x'), { code: 'ENOENT' }),
    );
    expect(missing.message).toBe('readIdx: a: no such file');
    expect(FileError.cannotRead('readIdx', 'a', new Error('EISDIR: illegal')).reason).toBe(
      'cannot read (EISDIR: illegal)',
    );
  });
});
