// test/data/cifar10.test.ts: CIFAR-10 binary batches written record by record in a temporary
// folder, and the malformed-file failure modes.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CIFAR10_CLASSES, parseCifar10 } from '../../src/data/cifar10.js';
import { loadCifar10 } from '../../src/data/cifar10Files.js';

/** n records; record r of batch b: label (b + r) % 10, pixel p = (7 b + 3 r + p) % 256. */
function batch(b: number, n: number): Uint8Array {
  const out = new Uint8Array(n * 3073);
  for (let r = 0; r < n; r++) {
    out[r * 3073] = (b + r) % 10;
    for (let p = 0; p < 3072; p++) out[r * 3073 + 1 + p] = (7 * b + 3 * r + p) % 256;
  }
  return out;
}

function cifarDir(opts: { sub?: boolean; meta?: string } = {}): string {
  const top = mkdtempSync(join(tmpdir(), 'layerwise-cifar-'));
  const dir = opts.sub ? join(top, 'cifar-10-batches-bin') : top;
  if (opts.sub) mkdirSync(dir);
  for (let b = 1; b <= 5; b++) writeFileSync(join(dir, `data_batch_${b}.bin`), batch(b, 2));
  writeFileSync(join(dir, 'test_batch.bin'), batch(0, 3));
  if (opts.meta !== undefined) writeFileSync(join(dir, 'batches.meta.txt'), opts.meta);
  return top;
}

describe('loadCifar10', () => {
  it('reads the six batches as (N, 3, 32, 32) / 255 in batch order, with a seeded holdout', () => {
    const d = loadCifar10(cifarDir(), { valFraction: 0.2, seed: 1 });
    expect(d.XTrain.shape).toEqual([8, 3, 32, 32]);
    expect(d.XVal.shape).toEqual([2, 3, 32, 32]);
    expect(d.XTest.shape).toEqual([3, 3, 32, 32]);
    expect(Array.from(d.yTest)).toEqual([0, 1, 2]);
    // test record 1: channel 1 (green), row 2, column 5 is pixel p = 1024 + 2 * 32 + 5
    expect(d.XTest.get(1, 1, 2, 5)).toBe(Math.fround(((3 + 1024 + 69) % 256) / 255));
    expect([...d.yTrain, ...d.yVal].sort()).toEqual([1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
    expect(d.classNames).toEqual(CIFAR10_CLASSES);
  });
  it('finds the cifar-10-batches-bin sub-folder, reads batches.meta.txt, stops at maxTrain', () => {
    const names = 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n';
    const d = loadCifar10(cifarDir({ sub: true, meta: names }), {
      valFraction: 0,
      maxTrain: 3,
      maxTest: 1,
    });
    expect(d.XTrain.shape).toEqual([3, 3, 32, 32]);
    expect(Array.from(d.yTrain)).toEqual([1, 2, 2]); // batch 1 records 0, 1, then batch 2 record 0
    expect(d.XTest.shape[0]).toBe(1);
    expect(d.classNames).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']);
  });
  it('names a missing batch', () => {
    const dir = mkdtempSync(join(tmpdir(), 'layerwise-cifar-'));
    writeFileSync(join(dir, 'data_batch_1.bin'), batch(1, 1));
    expect(() => loadCifar10(dir)).toThrow(
      `loadCifar10: missing ${[2, 3, 4, 5].map((b) => join(dir, `data_batch_${b}.bin`)).join(', ')}, ${join(dir, 'test_batch.bin')}`,
    );
  });
  it('names a truncated batch', () => {
    const dir = cifarDir();
    writeFileSync(join(dir, 'data_batch_3.bin'), batch(3, 2).subarray(0, 5000));
    expect(() => loadCifar10(dir)).toThrow(
      `loadCifar10: ${join(dir, 'data_batch_3.bin')}: has 5000 bytes, not a whole number of 3073-byte records`,
    );
  });
  it('names a record with a label outside 0..9', () => {
    const dir = cifarDir(),
      bad = batch(0, 3);
    bad[2 * 3073] = 10;
    writeFileSync(join(dir, 'test_batch.bin'), bad);
    expect(() => loadCifar10(dir)).toThrow(
      `loadCifar10: ${join(dir, 'test_batch.bin')}: record 2 has label 10 (must be 0..9)`,
    );
  });
  it('names a meta file with the wrong number of classes', () => {
    const dir = cifarDir({ meta: 'a\nb\n' });
    expect(() => loadCifar10(dir)).toThrow(
      `loadCifar10: ${join(dir, 'batches.meta.txt')}: lists 2 class names, expected 10`,
    );
  });
});

describe('parseCifar10 (bytes, no file access)', () => {
  it('parses records into (N, 3, 32, 32) images v/255 and labels, and names bad data', () => {
    const bytes = batch(2, 3);
    const { X, y } = parseCifar10(bytes);
    expect(X.shape).toEqual([3, 3, 32, 32]);
    expect([...y]).toEqual([2, 3, 4]);
    expect(X.data[3072 + 5]).toBe(Math.fround((7 * 2 + 3 * 1 + 5) / 255)); // record 1, pixel 5
    expect(() => parseCifar10(bytes.subarray(0, 100), 'b.bin')).toThrow(
      'parseCifar10: b.bin: has 100 bytes, not a whole number of 3073-byte records',
    );
    const bad = bytes.slice();
    bad[3073] = 10;
    expect(() => parseCifar10(bad)).toThrow(
      'parseCifar10: CIFAR-10 data: record 1 has label 10 (must be 0..9)',
    );
  });
});
