import { describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import { wordEmbeddingBackward, wordEmbeddingForward } from '../../src/layers/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, numericGrad, randn64, snapshot } from '../helpers.js';

type Entry = { shape: number[]; data: number[] };
const fx = fixture<Record<string, Entry>>('embedding');

describe('word embedding', () => {
  it('matches torch.nn.functional.embedding, repeated ids accumulating in dW (float64)', () => {
    const x = Tensor.from(fx.x.data, fx.x.shape, 'int32');
    const W = fromFixture(fx.W),
      dout = fromFixture(fx.dout);
    const { out, cache } = wordEmbeddingForward(x, W);
    expect(out.shape).toEqual([3, 4, 5]);
    expect(relError(out, fromFixture(fx.out))).toBe(0);
    const { dW } = wordEmbeddingBackward(dout, cache);
    expect(relError(dW, fromFixture(fx.dW))).toBeLessThan(1e-12);
  });

  it('dW matches centred differences (float64)', () => {
    const x = Tensor.from(
      [
        [2, 0, 2],
        [1, 2, 4],
      ],
      [2, 3],
      'int32',
    );
    const W = randn64([5, 3], 1),
      dout = randn64([2, 3, 3], 2);
    const { dW } = wordEmbeddingBackward(dout, wordEmbeddingForward(x, W).cache);
    expect(
      relError(
        dW,
        numericGrad((t) => wordEmbeddingForward(x, t).out, W, dout),
      ),
    ).toBeLessThan(1e-7);
  });

  it('accepts nested arrays and a flat array of ids', () => {
    const W = randn64([4, 2], 3);
    const a = wordEmbeddingForward(
      [
        [1, 3],
        [0, 1],
      ],
      W,
    ).out;
    const b = wordEmbeddingForward(Tensor.from([1, 3, 0, 1], [2, 2], 'int32'), W).out;
    expect(a.shape).toEqual([2, 2, 2]);
    expect(relError(a, b)).toBe(0);
    expect(wordEmbeddingForward(Int32Array.from([3, 3, 3]), W).out.shape).toEqual([3, 2]);
  });

  it('rejects ids outside [0, V), non-integers and float id tensors with a clear error', () => {
    const W = Tensor.zeros([4, 2]);
    expect(() => wordEmbeddingForward(Tensor.from([[0, 4]], [1, 2], 'int32'), W)).toThrow(
      'wordEmbeddingForward: x[0,1] = 4 is outside [0, 4)',
    );
    expect(() =>
      wordEmbeddingForward(
        [
          [0, 1],
          [2, -1],
        ],
        W,
      ),
    ).toThrow('wordEmbeddingForward: x[1,1] = -1 is outside [0, 4)');
    expect(() => wordEmbeddingForward([0.5], W)).toThrow(
      'wordEmbeddingForward: x[0] = 0.5 is not an integer in [0, 4)',
    );
    expect(() => wordEmbeddingForward(Tensor.zeros([1, 2]), W)).toThrow(
      "wordEmbeddingForward: x has dtype float32 but token ids must be int32 (use .astype('int32'))",
    );
    const { cache } = wordEmbeddingForward([[0, 1]], W);
    expect(() => wordEmbeddingBackward(Tensor.zeros([1, 2, 3]), cache)).toThrow(
      'wordEmbeddingBackward: dout has shape [1,2,3] but the forward output was [1,2,2]',
    );
  });

  it('does not touch x, W, dout or cache; the output does not alias W; N = 1, T = 1 works', () => {
    const x = Tensor.from([[3]], [1, 1], 'int32'),
      W = randn64([4, 2], 5);
    const unchanged = snapshot(x, W);
    const { out, cache } = wordEmbeddingForward(x, W);
    out.data[0] = 123;
    expect(W.get(3, 0)).not.toBe(123);
    const dout = randn64([1, 1, 2], 6),
      same = snapshot(dout);
    x.data[0] = 0; // the cache holds its own copy of the ids
    const { dW } = wordEmbeddingBackward(dout, cache);
    x.data[0] = 3;
    expect([dW.get(3, 0), dW.get(3, 1)]).toEqual([dout.data[0], dout.data[1]]);
    expect(unchanged() && same()).toBe(true);
  });
});
