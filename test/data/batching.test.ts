// test/data/batching.test.ts: row gathering and the seeded train/validation holdout.
import { describe, expect, it } from 'vitest';
import {
  gatherLabels,
  gatherRows,
  holdoutSplit,
  splitValidation,
} from '../../src/data/batching.js';
import { Tensor } from '../../src/tensor/index.js';

describe('batching helpers', () => {
  it('gatherRows copies rows in the given order; gatherLabels follows', () => {
    const X = Tensor.from([0, 1, 2, 3, 4, 5], [3, 2]);
    expect(Array.from(gatherRows(X, [2, 0, 2]).data)).toEqual([4, 5, 0, 1, 4, 5]);
    expect(gatherRows(X, []).shape).toEqual([0, 2]);
    expect(Array.from(gatherLabels([7, 8, 9], [1, 1]))).toEqual([8, 8]);
    expect(() => gatherRows(X, [3])).toThrow(
      'gatherRows: indices[0] = 3 is outside [0, 3) for X of shape [3,2]',
    );
  });
  it('holdoutSplit partitions 0..N-1 into sorted train and validation lists', () => {
    const { train, val } = holdoutSplit(10, 0.3, 1);
    expect(val.length).toBe(3);
    expect([...train, ...val].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(train)).toEqual([...train].sort((a, b) => a - b));
    expect(holdoutSplit(10, 0.3, 1)).toEqual({ train, val });
    const s = splitValidation(
      Tensor.from([0, 10, 20, 30], [4, 1]),
      new Int32Array([0, 1, 2, 3]),
      0.5,
      9,
    );
    expect(Array.from(s.XVal.data)).toEqual(Array.from(s.yVal, (v) => v * 10));
    expect(() => holdoutSplit(10, 1, 0)).toThrow('holdoutSplit: valFraction must be < 1, got 1');
  });
});
