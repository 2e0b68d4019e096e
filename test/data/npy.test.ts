// test/data/npy.test.ts: .npy files written by numpy (test/fixtures/gen/npy.py), malformed
// headers, and the X_train.npy/y_train.npy data set convention.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { npyToTensor, parseNpy } from '../../src/data/npy.js';
import { loadNpyDataset, readNpy } from '../../src/data/npyFiles.js';
import { fixture } from '../helpers.js';

interface NpyCase {
  name: string;
  npy: string;
  dtype?: string;
  shape?: number[];
  values?: number[];
}
const fx = fixture<{ good: NpyCase[]; bad: NpyCase[] }>('npy');
const bytesOf = (c: NpyCase) => new Uint8Array(Buffer.from(c.npy, 'base64'));
const bad = (name: string) => bytesOf(fx.bad.find((c) => c.name === name)!);

/** A v1.0 .npy file built by hand: header text padded to a multiple of 64 bytes, then data. */
function npy(header: string, data: Uint8Array = new Uint8Array(0), version = 1): Uint8Array {
  const lenBytes = version === 1 ? 2 : 4;
  const pad = 64 - ((8 + lenBytes + header.length + 1) % 64);
  const h = header + ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(8 + lenBytes + h.length + data.length);
  out.set([0x93, 78, 85, 77, 80, 89, version, 0]);
  new DataView(out.buffer).setUint32(8, h.length, true);
  if (version === 1) new DataView(out.buffer).setUint16(8, h.length, true);
  out.set(new TextEncoder().encode(h), 8 + lenBytes);
  out.set(data, 8 + lenBytes + h.length);
  return out;
}
const f4 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);

describe('readNpy on files written by numpy', () => {
  it.each(fx.good.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const a = parseNpy(bytesOf(c), c.name);
    expect(a.dtype).toBe(c.dtype);
    expect(a.shape).toEqual(c.shape);
    const want = c.dtype === 'float32' ? c.values!.map(Math.fround) : c.values;
    expect(Array.from(a.data)).toEqual(want);
    const typed = {
      float32: Float32Array,
      float64: Float64Array,
      uint8: Uint8Array,
      int32: Int32Array,
      int64: Int32Array,
    }[a.dtype];
    expect(a.data).toBeInstanceOf(typed);
  });
  it('npyToTensor keeps the values: floats keep their dtype, integers become int32, uint8 float32', () => {
    const get = (name: string) =>
      npyToTensor(parseNpy(bytesOf(fx.good.find((c) => c.name === name)!)));
    expect([
      get('float32-2x3-v1').dtype,
      get('float64-4-v2').dtype,
      get('int64-6').dtype,
      get('uint8-2x2x3-v3').dtype,
    ]).toEqual(['float32', 'float64', 'int32', 'float32']);
    const u8 = fx.good.find((c) => c.name === 'uint8-2x2x3-v3')!;
    expect(Array.from(get('uint8-2x2x3-v3').data)).toEqual(u8.values);
    expect(get('uint8-2x2x3-v3').shape).toEqual([2, 2, 3]);
    expect(get('float32-scalar').shape).toEqual([]);
  });
  it('reads from a file and names it in errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'layerwise-npy-'));
    const path = join(dir, 'a.npy');
    writeFileSync(path, bytesOf(fx.good[0]));
    expect(readNpy(path).shape).toEqual([2, 3]);
    expect(() => readNpy(join(dir, 'none.npy'))).toThrow(
      `readNpy: ${join(dir, 'none.npy')}: no such file`,
    );
  });
});

describe('readNpy refuses what it cannot read, naming the file', () => {
  it('Fortran order', () => {
    expect(() => parseNpy(bad('fortran'), 'f.npy')).toThrow(
      'readNpy: f.npy: Fortran-order arrays are not supported; save a C-order array (np.ascontiguousarray)',
    );
  });
  it('big-endian', () => {
    expect(() => parseNpy(bad('big-endian'), 'b.npy')).toThrow(
      "readNpy: b.npy: big-endian data ('>f4') is not supported; save it little-endian, e.g. a.astype('<f4')",
    );
  });
  it('object arrays', () => {
    expect(() => parseNpy(bad('object'), 'o.npy')).toThrow(
      "readNpy: o.npy: object arrays ('|O') are not supported",
    );
  });
  it('unsupported dtype', () => {
    expect(() => parseNpy(bad('int16'), 'i.npy')).toThrow(
      "readNpy: i.npy: unsupported dtype '<i2' (supported: '<f4' float32, '<f8' float64, '|u1' uint8, '<i4' int32, '<i8' int64)",
    );
  });
  it('structured dtype', () => {
    expect(() => parseNpy(bad('structured'), 's.npy')).toThrow(
      'readNpy: s.npy: structured dtypes are not supported',
    );
  });
  it('int64 outside int32', () => {
    expect(() => parseNpy(bad('int64-too-big'), 'l.npy')).toThrow(
      'readNpy: l.npy: int64 value 1099511627776 at flat index 1 does not fit in int32',
    );
  });
  it('bad magic string', () => {
    expect(() => parseNpy(new TextEncoder().encode('PK\x03\x04 not an npy file'), 'z.npy')).toThrow(
      'readNpy: z.npy: not a .npy file (bad magic string)',
    );
  });
  it('unknown version', () => {
    const b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", f4(1));
    b[6] = 4;
    expect(() => parseNpy(b, 'v.npy')).toThrow('readNpy: v.npy: unsupported format version 4.0');
  });
  it('header length beyond the file', () => {
    const b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", f4(1), 2);
    new DataView(b.buffer).setUint32(8, 0xfffffff0, true);
    expect(() => parseNpy(b, 'h.npy')).toThrow(
      `readNpy: h.npy: truncated: the header claims ${0xfffffff0} bytes but the file has ${b.length - 12} after the length field`,
    );
  });
  it('truncated data, before allocating an absurd shape', () => {
    const b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f4(1, 2, 3));
    expect(() => parseNpy(b, 't.npy')).toThrow(
      'readNpy: t.npy: truncated: shape (2, 3) of float32 needs 24 bytes of data but the file has 12',
    );
    const huge = npy(
      "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000, 100000), }",
      f4(1),
    );
    expect(() => parseNpy(huge, 't.npy')).toThrow(
      'readNpy: t.npy: truncated: shape (100000, 100000, 100000) of float64 needs 8000000000000000 bytes of data but the file has 4',
    );
  });
  it('extra bytes after the data', () => {
    const b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", f4(1, 2));
    expect(() => parseNpy(b, 'x.npy')).toThrow(
      'readNpy: x.npy: 4 unexpected bytes after the data of shape (1,)',
    );
  });
  it('malformed header dict and wrong keys', () => {
    const b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,, }", f4(1));
    expect(() => parseNpy(b, 'm.npy')).toThrow(
      /^readNpy: m\.npy: malformed header \(expected a non-negative integer at character 53\): "\{/,
    );
    const k = npy("{'descr': '<f4', 'shape': (1,), }", f4(1));
    expect(() => parseNpy(k, 'k.npy')).toThrow(
      'readNpy: k.npy: header keys are descr,shape, expected descr, fortran_order, shape',
    );
  });
});

describe('loadNpyDataset', () => {
  const write = (dir: string, name: string, header: string, data: Uint8Array) =>
    writeFileSync(join(dir, name), npy(header, data));
  const u8 = (n: number, f: (i: number) => number) =>
    Uint8Array.from({ length: n }, (_, i) => f(i));
  const i64 = (...v: number[]) => new Uint8Array(new BigInt64Array(v.map(BigInt)).buffer);

  function makeDir(opts: { nhwc?: boolean; val?: boolean; classes?: boolean } = {}): string {
    const dir = mkdtempSync(join(tmpdir(), 'layerwise-npyds-'));
    const shape = opts.nhwc ? '(N, 2, 2, 3)' : '(N, 3, 2, 2)';
    const X = (N: number) => u8(N * 12, (i) => i % 256);
    const hdr = (descr: string, s: string, N: number) =>
      `{'descr': '${descr}', 'fortran_order': False, 'shape': ${s.replace('N', String(N))}, }`;
    write(dir, 'X_train.npy', hdr('|u1', shape, 10), X(10));
    write(dir, 'y_train.npy', hdr('<i8', '(N,)', 10), i64(0, 1, 2, 0, 1, 2, 0, 1, 2, 0));
    write(dir, 'X_test.npy', hdr('|u1', shape, 3), X(3));
    write(dir, 'y_test.npy', hdr('<i8', '(N,)', 3), i64(2, 1, 0));
    if (opts.val) {
      write(dir, 'X_val.npy', hdr('|u1', shape, 2), X(2));
      write(dir, 'y_val.npy', hdr('<i8', '(N,)', 2), i64(1, 1));
    }
    if (opts.classes) writeFileSync(join(dir, 'classes.txt'), 'cat\ndog\nbird\n');
    return dir;
  }

  it('reads the four files, scales uint8 by 1/255 and holds out a seeded 10%', () => {
    const d = loadNpyDataset(makeDir({ classes: true }));
    expect(d.XTrain.shape).toEqual([9, 3, 2, 2]);
    expect(d.XVal.shape).toEqual([1, 3, 2, 2]);
    expect(d.XTest.shape).toEqual([3, 3, 2, 2]);
    expect(Array.from(d.yTest)).toEqual([2, 1, 0]);
    expect(d.XTest.data[13]).toBe(Math.fround(13 / 255));
    expect(d.classNames).toEqual(['cat', 'dog', 'bird']);
    expect(d.yTrain.length + d.yVal.length).toBe(10);
  });
  it('uses X_val.npy when present, and transposes NHWC', () => {
    const d = loadNpyDataset(makeDir({ val: true, nhwc: true }), { layout: 'NHWC' });
    expect(d.XTrain.shape).toEqual([10, 3, 2, 2]);
    expect(Array.from(d.yVal)).toEqual([1, 1]);
    // NHWC source index ((n*2 + h)*2 + w)*3 + c holds that index (mod 256)
    expect(d.XTrain.get(1, 2, 1, 0) * 255).toBeCloseTo(((1 * 2 + 1) * 2 + 0) * 3 + 2, 4);
    expect(d.classNames).toEqual(['0', '1', '2']);
  });
  it('gives 3-D float X a channel axis, keeps float values, rejects integer X', () => {
    const dir = mkdtempSync(join(tmpdir(), 'layerwise-npyds-'));
    const hdr = (descr: string, shape: string) =>
      `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
    write(dir, 'X_train.npy', hdr('<f4', '(2, 1, 3)'), f4(0.5, -1, 2, 3, 4, 5));
    write(dir, 'y_train.npy', hdr('<i4', '(2,)'), new Uint8Array(new Int32Array([1, 0]).buffer));
    write(dir, 'X_test.npy', hdr('<f4', '(1, 1, 3)'), f4(7, 8, 9));
    write(dir, 'y_test.npy', hdr('<f8', '(1,)'), new Uint8Array(new Float64Array([1]).buffer));
    const d = loadNpyDataset(dir, { valFraction: 0 });
    expect(d.XTrain.shape).toEqual([2, 1, 1, 3]);
    expect(Array.from(d.XTrain.data)).toEqual([0.5, -1, 2, 3, 4, 5]);
    expect(Array.from(d.yTest)).toEqual([1]);
    write(dir, 'X_test.npy', hdr('<i4', '(1, 1, 3)'), new Uint8Array(12));
    expect(() => loadNpyDataset(dir)).toThrow(
      `loadNpyDataset: ${join(dir, 'X_test.npy')} holds int32 data; X must be uint8 (scaled by 1/255), float32 or float64`,
    );
  });
  it('names a missing file and a count mismatch', () => {
    const dir = makeDir();
    expect(() => loadNpyDataset(join(dir, 'nope'))).toThrow(
      `loadNpyDataset: ${join(dir, 'nope')} has no X_train.npy, y_train.npy, X_test.npy, y_test.npy`,
    );
    write(
      dir,
      'y_test.npy',
      "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
      i64(0, 1),
    );
    expect(() => loadNpyDataset(dir)).toThrow(
      `loadNpyDataset: ${join(dir, 'X_test.npy')} has 3 samples but ${join(dir, 'y_test.npy')} has 2 labels`,
    );
  });
});
