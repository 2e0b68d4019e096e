// test/data/mnist.test.ts: the embedded MNIST digits against JSON.parse of the package files,
// the documented split sizes, and the seeded validation holdout.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { EMBEDDED_MNIST_COUNTS, loadEmbeddedMnist } from '../../src/data/mnist.js';

const require = createRequire(import.meta.url);
const packageDigits = (d: number): number[] =>
  JSON.parse(readFileSync(require.resolve(`mnist/src/digits/${d}.json`), 'utf8')).data;
/** Bytewise equality of two typed arrays (vitest's deep equality is slow on millions of values). */
const same = (a: ArrayBufferView, b: ArrayBufferView) =>
  Buffer.compare(
    Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  ) === 0;
const count = (y: Int32Array) =>
  Array.from({ length: 10 }, (_, d) => y.filter((v) => v === d).length);

describe('loadEmbeddedMnist', () => {
  const all = loadEmbeddedMnist({ valFraction: 0 }); // training part in package order, no holdout

  it('matches JSON.parse of every package file, value k/255 for the k the package rounded', () => {
    let trainRow = 0,
      testRow = 0;
    // the package value of each level k is k/255 rounded to 3 decimals; map it back to k/255
    const expected = new Map<number, number>();
    for (let k = 0; k < 256; k++) expected.set(Number((k / 255).toFixed(3)), Math.fround(k / 255));
    for (let d = 0; d < 10; d++) {
      const values = packageDigits(d),
        n = values.length / 784,
        nTrain = Math.floor((4 * n) / 5);
      expect(n).toBe(EMBEDDED_MNIST_COUNTS[d]);
      for (let i = 0; i < n; i++) {
        const [X, y, row] =
          i < nTrain ? [all.XTrain, all.yTrain, trainRow++] : [all.XTest, all.yTest, testRow++];
        expect(y[row]).toBe(d);
        const ours = X.data.subarray(row * 784, (row + 1) * 784);
        for (let p = 0; p < 784; p++) {
          if (ours[p] !== expected.get(values[i * 784 + p])) {
            throw new Error(
              `digit ${d} sample ${i} pixel ${p}: package ${values[i * 784 + p]}, loaded ${ours[p]}`,
            );
          }
        }
      }
    }
    expect([trainRow, testRow]).toEqual([7996, 2004]);
  });
  it('has the documented split: 7,196 train / 800 validation / 2,004 test by default', () => {
    const d = loadEmbeddedMnist();
    expect(d.XTrain.shape).toEqual([7196, 1, 28, 28]);
    expect(d.XVal.shape).toEqual([800, 1, 28, 28]);
    expect(d.XTest.shape).toEqual([2004, 1, 28, 28]);
    expect(d.XTrain.dtype).toBe('float32');
    expect(d.yTrain).toBeInstanceOf(Int32Array);
    expect(count(d.yTest)).toEqual([201, 226, 199, 207, 196, 173, 203, 214, 189, 196]);
    expect(count(d.yTrain).map((c, i) => c + count(d.yVal)[i])).toEqual([
      800, 901, 792, 825, 784, 690, 811, 856, 755, 782,
    ]);
    expect(d.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });
  it('holds out a seeded validation set: same seed same split, another seed another', () => {
    const a = loadEmbeddedMnist({ seed: 5, valFraction: 0.2 }),
      b = loadEmbeddedMnist({ seed: 5, valFraction: 0.2 });
    const c = loadEmbeddedMnist({ seed: 6, valFraction: 0.2 });
    expect(a.XVal.shape[0]).toBe(1599);
    expect(
      same(a.XVal.data, b.XVal.data) && same(a.yVal, b.yVal) && same(a.XTrain.data, b.XTrain.data),
    ).toBe(true);
    expect(same(a.XVal.data, c.XVal.data)).toBe(false);
    expect(same(a.XTest.data, c.XTest.data)).toBe(true); // the test set never depends on the seed
  });
  it('returns fresh tensors on every call (the cache holds bytes only)', () => {
    const a = loadEmbeddedMnist();
    a.XTrain.data.fill(7);
    a.yTest.fill(3);
    const b = loadEmbeddedMnist();
    expect(b.XTrain.data[0]).toBe(0);
    expect(count(b.yTest)[0]).toBe(201);
  });
  it('rejects unknown options and a valFraction outside [0, 1)', () => {
    expect(() => loadEmbeddedMnist({ valFrac: 0.1 } as never)).toThrow(
      "loadEmbeddedMnist: unknown option 'valFrac' (known: valFraction, seed)",
    );
    expect(() => loadEmbeddedMnist({ valFractoin: 0.1 } as never)).toThrow(
      "loadEmbeddedMnist: unknown option 'valFractoin' (did you mean 'valFraction'?)",
    );
    expect(() => loadEmbeddedMnist({ valFraction: 1 })).toThrow(
      'loadEmbeddedMnist: valFraction must be < 1, got 1',
    );
  });
});
