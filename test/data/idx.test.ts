// test/data/idx.test.ts: IDX files (plain and gzip) built byte by byte in a temporary folder,
// the MNIST folder convention, and one test per malformed-file failure mode.
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseIdx } from '../../src/data/idx.js';
import { loadMnistIdx, readIdx } from '../../src/data/idxFiles.js';

/** IDX bytes: 0, 0, type code, ndim, dims (uint32 BE), then `body` as given. */
function idx(typeCode: number, shape: number[], body: number[] | Uint8Array): Uint8Array {
  const head = [0, 0, typeCode, shape.length];
  for (const d of shape) head.push(d >>> 24, (d >>> 16) & 255, (d >>> 8) & 255, d & 255);
  return new Uint8Array([...head, ...body]);
}
const tmp = () => mkdtempSync(join(tmpdir(), 'layerwise-idx-'));

describe('readIdx', () => {
  it('reads every type code, big-endian, in row-major order', () => {
    expect(parseIdx(idx(0x08, [2, 3], [0, 1, 2, 253, 254, 255]))).toEqual({
      dtype: 'uint8',
      shape: [2, 3],
      data: new Uint8Array([0, 1, 2, 253, 254, 255]),
    });
    expect(Array.from(parseIdx(idx(0x09, [2], [0xff, 0x7f])).data)).toEqual([-1, 127]);
    expect(Array.from(parseIdx(idx(0x0b, [2], [0x01, 0x02, 0xff, 0xfe])).data)).toEqual([258, -2]);
    expect(Array.from(parseIdx(idx(0x0c, [1], [0x80, 0, 0, 1])).data)).toEqual([-2147483647]);
    expect(Array.from(parseIdx(idx(0x0d, [1], [0x3f, 0xc0, 0, 0])).data)).toEqual([1.5]);
    expect(Array.from(parseIdx(idx(0x0e, [1], [0xc0, 0x04, 0, 0, 0, 0, 0, 0])).data)).toEqual([
      -2.5,
    ]);
  });
  it('reads plain and .gz files alike', () => {
    const dir = tmp(),
      bytes = idx(0x08, [1, 2, 2], [9, 8, 7, 6]);
    writeFileSync(join(dir, 'a-idx3-ubyte'), bytes);
    writeFileSync(join(dir, 'a-idx3-ubyte.gz'), gzipSync(bytes));
    expect(readIdx(join(dir, 'a-idx3-ubyte'))).toEqual(readIdx(join(dir, 'a-idx3-ubyte.gz')));
    expect(readIdx(join(dir, 'a-idx3-ubyte')).shape).toEqual([1, 2, 2]);
  });
});

describe('readIdx errors name the file', () => {
  it('too short', () => {
    expect(() => parseIdx(new Uint8Array([0, 0, 8]), 'f')).toThrow(
      'readIdx: f: file is too short for an IDX header (3 bytes)',
    );
  });
  it('bad magic number', () => {
    expect(() => parseIdx(new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3, 4]), 'f')).toThrow(
      'readIdx: f: bad magic number 0x1f8b0800 (an IDX file starts with two zero bytes, a type code and a dimension count)',
    );
  });
  it('unknown type code', () => {
    expect(() => parseIdx(idx(0x0a, [1], [0]), 'f')).toThrow(
      'readIdx: f: unknown data type code 0x0a',
    );
  });
  it('zero dimensions', () => {
    expect(() => parseIdx(idx(0x08, [], []), 'f')).toThrow(
      'readIdx: f: the header declares 0 dimensions',
    );
  });
  it('truncated header', () => {
    expect(() => parseIdx(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1, 0, 0]), 'f')).toThrow(
      'readIdx: f: truncated header: 3 dimensions need 16 bytes, the file has 10',
    );
  });
  it('truncated data, an absurd shape refused before allocating', () => {
    expect(() => parseIdx(idx(0x08, [60000, 28, 28], [1, 2, 3]), 'f')).toThrow(
      'readIdx: f: truncated: shape [60000,28,28] of uint8 needs 47040000 bytes of data but the file has 3',
    );
    expect(() => parseIdx(idx(0x0e, [0xffffffff, 0xffffffff], []), 'f')).toThrow(
      /^readIdx: f: truncated: shape \[4294967295,4294967295\] of float64 needs .* bytes of data but the file has 0$/,
    );
  });
  it('extra bytes after the data', () => {
    expect(() => parseIdx(idx(0x08, [2], [1, 2, 3]), 'f')).toThrow(
      'readIdx: f: 1 unexpected bytes after the data of shape [2]',
    );
  });
  it('corrupt gzip', () => {
    const dir = tmp(),
      path = join(dir, 'x-idx1-ubyte.gz');
    writeFileSync(path, gzipSync(idx(0x08, [3], [1, 2, 3])).subarray(0, 12));
    expect(() => readIdx(path)).toThrow(new RegExp(`^readIdx: ${path}: cannot decompress \\(`));
  });
  it('missing file', () => {
    const path = join(tmp(), 'none');
    expect(() => readIdx(path)).toThrow(`readIdx: ${path}: no such file`);
  });
});

describe('loadMnistIdx', () => {
  // 12 training images 3x2 (pixel p of image n = 10 n + p), labels n % 4; 5 test images
  function mnistDir(
    opts: { gz?: boolean; prefix?: string; names?: 'kaggle'; testLabels?: number } = {},
  ): string {
    const dir = tmp(),
      p = opts.prefix ?? '',
      gz = opts.gz ? '.gz' : '',
      sep = opts.names === 'kaggle' ? '.' : '-';
    const put = (name: string, bytes: Uint8Array) =>
      writeFileSync(join(dir, name + gz), opts.gz ? gzipSync(bytes) : bytes);
    const images = (N: number) =>
      idx(
        0x08,
        [N, 3, 2],
        Array.from({ length: N * 6 }, (_, i) => 10 * Math.floor(i / 6) + (i % 6)),
      );
    const labels = (N: number) =>
      idx(
        0x08,
        [N],
        Array.from({ length: N }, (_, n) => n % 4),
      );
    put(`${p}train-images${sep}idx3-ubyte`, images(12));
    put(`${p}train-labels${sep}idx1-ubyte`, labels(12));
    put(`${p}t10k-images${sep}idx3-ubyte`, images(5));
    put(`${p}t10k-labels${sep}idx1-ubyte`, labels(opts.testLabels ?? 5));
    return dir;
  }
  it('loads the four files as (N, 1, H, W) / 255 with a seeded holdout', () => {
    for (const opts of [{}, { gz: true }, { names: 'kaggle' as const }]) {
      const d = loadMnistIdx(mnistDir(opts), { valFraction: 0.25, seed: 3 });
      expect(d.XTrain.shape).toEqual([9, 1, 3, 2]);
      expect(d.XVal.shape).toEqual([3, 1, 3, 2]);
      expect(d.XTest.shape).toEqual([5, 1, 3, 2]);
      expect(Array.from(d.yTest)).toEqual([0, 1, 2, 3, 0]);
      expect(Array.from(d.XTest.data.subarray(6, 12))).toEqual(
        [10, 11, 12, 13, 14, 15].map((v) => Math.fround(v / 255)),
      );
      expect(d.classNames).toEqual(['0', '1', '2', '3']);
      // every training image lands in exactly one of train/val, labels travelling with it
      const firstPixels = [
        ...d.XTrain.data.filter((_, i) => i % 6 === 0),
        ...d.XVal.data.filter((_, i) => i % 6 === 0),
      ].map((v) => Math.round(v * 255) / 10);
      expect([...firstPixels].sort((a, b) => a - b)).toEqual([
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
      ]);
      expect([...d.yTrain, ...d.yVal]).toEqual(firstPixels.map((n) => n % 4));
    }
  });
  it('picks a prefix and transposes EMNIST images; maxTrain/maxTest keep the first rows', () => {
    const dir = mnistDir({ prefix: 'emnist-digits-' });
    const d = loadMnistIdx(dir, {
      valFraction: 0,
      maxTrain: 4,
      maxTest: 2,
      classNames: ['a', 'b', 'c', 'd'],
    });
    expect(d.XTrain.shape).toEqual([4, 1, 3, 2]);
    expect(d.XTest.shape).toEqual([2, 1, 3, 2]);
    // stored (3, 2) as [[0, 1], [2, 3], [4, 5]]; an EMNIST image is stored transposed: (H, W)
    // read as x[h, w] = src[w * H + h]
    expect(Array.from(d.XTrain.data.subarray(0, 6), (v) => Math.round(v * 255))).toEqual([
      0, 3, 1, 4, 2, 5,
    ]);
    expect(d.classNames).toEqual(['a', 'b', 'c', 'd']);
  });
  it('names an image/label count mismatch', () => {
    const dir = mnistDir({ testLabels: 4 });
    expect(() => loadMnistIdx(dir)).toThrow(
      `loadMnistIdx: ${join(dir, 't10k-images-idx3-ubyte')} has 5 images but ${join(dir, 't10k-labels-idx1-ubyte')} has 4 labels`,
    );
  });
  it('names a missing file, an ambiguous folder and too few class names', () => {
    const dir = tmp();
    expect(() => loadMnistIdx(dir)).toThrow(
      `loadMnistIdx: no train-images-idx3-ubyte[.gz] file in ${dir}`,
    );
    const two = mnistDir();
    for (const name of [
      'train-images-idx3-ubyte',
      'train-labels-idx1-ubyte',
      't10k-images-idx3-ubyte',
      't10k-labels-idx1-ubyte',
    ]) {
      writeFileSync(join(two, `emnist-${name}`), new Uint8Array(0));
    }
    expect(() => loadMnistIdx(two)).toThrow(
      `loadMnistIdx: ${two} holds several data sets (prefixes '', 'emnist-'); pass the prefix option`,
    );
    expect(() => loadMnistIdx(two, { prefix: '', classNames: ['a'] })).toThrow(
      `loadMnistIdx: ${join(two, 'train-labels-idx1-ubyte')} has label 3 but only 1 class names were given`,
    );
  });
  it('names files of different data sets mixed in one folder', () => {
    const dir = mnistDir();
    renameSync(join(dir, 't10k-images-idx3-ubyte'), join(dir, 'fashion-t10k-images-idx3-ubyte'));
    expect(() => loadMnistIdx(dir)).toThrow(
      `loadMnistIdx: the files in ${dir} have different prefixes ('', '', 'fashion-', ''); pass the prefix option`,
    );
  });
  it('rejects labels stored as images and unknown options', () => {
    const dir = mnistDir();
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idx(0x0c, [12], new Uint8Array(48)));
    expect(() => loadMnistIdx(dir)).toThrow(
      `loadMnistIdx: ${join(dir, 'train-labels-idx1-ubyte')} holds int32 [12], expected uint8 labels (N)`,
    );
    expect(() => loadMnistIdx(dir, { valFracton: 0.1 } as never)).toThrow(
      "loadMnistIdx: unknown option 'valFracton' (did you mean 'valFraction'?)",
    );
  });
});
