import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  SafetensorsError,
  writeFileAtomic,
  writeSafetensors,
} from '../../src/io/index.js';
import { Rng, Tensor } from '../../src/tensor/index.js';
import { fixture } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'layerwise-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

function sample(): Record<string, Tensor> {
  return {
    w: Tensor.randn([3, 4], { seed: 1 }),
    b: Tensor.randn([5], { seed: 2, dtype: 'float64' }),
    ids: Tensor.from([1, -2, 3, 2147483647], [2, 2], 'int32'),
    scalar: Tensor.from([7.5], [], 'float64'),
    none: Tensor.zeros([0, 3]),
  };
}

/** A file from a header object and data bytes, laid out by hand. */
function rawFile(
  header: unknown,
  data: Uint8Array = new Uint8Array(0),
  lengthOverride?: bigint,
): Uint8Array {
  const json = new TextEncoder().encode(
    typeof header === 'string' ? header : JSON.stringify(header),
  );
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips every dtype, empty and 0-d tensors, and metadata bit for bit', () => {
    const t = sample();
    const back = decodeSafetensors(encodeSafetensors(t, { a: '1', json: '{"x":[1,2]}' }));
    expect(back.metadata).toEqual({ format: 'pt', a: '1', json: '{"x":[1,2]}' });
    expect(Object.keys(back.tensors)).toEqual(Object.keys(t));
    for (const [k, v] of Object.entries(t)) {
      expect(back.tensors[k].dtype).toBe(v.dtype);
      expect(back.tensors[k].shape).toEqual(v.shape);
      expect(Array.from(back.tensors[k].data)).toEqual(Array.from(v.data));
    }
  });

  it('aligns the data to 8 bytes, as the reference writer does', () => {
    const bytes = encodeSafetensors({ x: Tensor.zeros([1], 'float64') }, { k: 'v' });
    const N = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + N) % 8).toBe(0);
  });

  it('writes the int32 tensors named in int64 as I64, which read back as int32', () => {
    const steps = Tensor.from([0, -5, 2147483647], [3], 'int32');
    const bytes = encodeSafetensors({ steps, w: Tensor.zeros([2]) }, {}, { int64: ['steps'] });
    const N = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + N))) as Record<
      string,
      { dtype: string; data_offsets: number[] }
    >;
    expect(header.steps.dtype).toBe('I64');
    expect(header.steps.data_offsets).toEqual([0, 24]);
    const wide = new BigInt64Array(bytes.slice(8 + N, 8 + N + 24).buffer);
    expect(Array.from(wide)).toEqual([0n, -5n, 2147483647n]);
    expect(Array.from(decodeSafetensors(bytes).tensors.steps.data)).toEqual([0, -5, 2147483647]);
    expect(() => encodeSafetensors({ w: Tensor.zeros([2]) }, {}, { int64: ['w'] })).toThrow(
      "encodeSafetensors: 'w' is stored as I64, so it must be int32, not float32",
    );
  });

  it('refuses an I64 value outside the int32 range, naming the tensor and the index', () => {
    const data = new Uint8Array(new BigInt64Array([1n, 2n ** 31n]).buffer);
    const file = rawFile({ n: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, data);
    expect(() => decodeSafetensors(file, 'f')).toThrow(
      "readSafetensors: f: tensor 'n' (I64) holds 2147483648 at index 1, outside the int32 range layerwise reads I64 into",
    );
  });

  it('is read by an independent Python reader (standard library only)', () => {
    const path = join(dir, 'model.safetensors');
    const t = sample();
    writeSafetensors(path, t, { 'layerwise.config': '{"type":"X"}' });
    const out = execFileSync('python3', [here('../fixtures/gen/read_safetensors.py'), path], {
      encoding: 'utf8',
    });
    const py = JSON.parse(out) as {
      metadata: Record<string, string>;
      tensors: Record<string, { dtype: string; shape: number[]; data: number[] }>;
    };
    expect(py.metadata).toEqual({ format: 'pt', 'layerwise.config': '{"type":"X"}' });
    const names = { float32: 'F32', float64: 'F64', int32: 'I32' };
    for (const [k, v] of Object.entries(t)) {
      expect(py.tensors[k].dtype).toBe(names[v.dtype]);
      expect(py.tensors[k].shape).toEqual(v.shape);
      expect(py.tensors[k].data).toEqual(Array.from(v.data));
    }
  });

  it('reads a file written by an independent Python script', () => {
    const want = fixture<{
      metadata: Record<string, string>;
      tensors: Record<string, { dtype: string; shape: number[]; data: number[] }>;
    }>('small_safetensors');
    const { tensors, metadata } = readSafetensors(here('../fixtures/small.safetensors'));
    expect(metadata).toEqual(want.metadata);
    const dtypes = {
      ...{ F32: 'float32', F64: 'float64', I32: 'int32', F16: 'float32', BF16: 'float32' },
      ...{ I64: 'int32', U8: 'int32', BOOL: 'int32' },
    } as Record<string, string>;
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(want.tensors).sort());
    for (const [k, v] of Object.entries(want.tensors)) {
      expect(tensors[k].dtype).toBe(dtypes[v.dtype]);
      expect(tensors[k].shape).toEqual(v.shape);
      expect(Array.from(tensors[k].data)).toEqual(v.data);
    }
  });

  it('names the file when it is truncated, at every length', () => {
    const path = join(dir, 'cut.safetensors');
    const bytes = encodeSafetensors(sample(), { m: 'x' });
    writeFileSync(path, bytes.subarray(0, bytes.length - 3));
    expect(() => readSafetensors(path)).toThrow(
      `readSafetensors: ${path}: tensor 'scalar' has data_offsets [104, 112] outside the 109 bytes of data (truncated file?)`,
    );
    writeFileSync(path, bytes.subarray(0, 5));
    expect(() => readSafetensors(path)).toThrow(
      `readSafetensors: ${path}: file is truncated: 5 bytes, a safetensors file has at least 8`,
    );
    for (let n = 0; n < bytes.length; n++) {
      expect(() => decodeSafetensors(bytes.subarray(0, n))).toThrow(SafetensorsError);
    }
  });

  it('refuses a header that claims a huge size before allocating anything', () => {
    const huge = rawFile({}, new Uint8Array(0), 2n ** 62n);
    expect(() => decodeSafetensors(huge, 'f')).toThrow(
      `readSafetensors: f: header claims ${2 ** 62} bytes but the file has only 2 after the length field (truncated or not safetensors)`,
    );
  });

  it('refuses shapes, dtypes and offsets that do not fit', () => {
    const data = new Uint8Array(16);
    const bad = (header: unknown) => () => decodeSafetensors(rawFile(header, data), 'f');
    expect(bad({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } })).toThrow(
      "readSafetensors: f: tensor 'x' has shape [3] and dtype F32, which need 12 bytes, but data_offsets span 16",
    );
    expect(bad({ x: { dtype: 'F32', shape: [1e9, 1e9, 1e9], data_offsets: [0, 16] } })).toThrow(
      "tensor 'x' has shape [1000000000,1000000000,1000000000] and dtype F32, which need more than the file holds, but data_offsets span 16",
    );
    expect(bad({ x: { dtype: 'F32', shape: [8], data_offsets: [0, 32] } })).toThrow(
      "readSafetensors: f: tensor 'x' has data_offsets [0, 32] outside the 16 bytes of data (truncated file?)",
    );
    expect(bad({ x: { dtype: 'F8_E4M3', shape: [8], data_offsets: [0, 8] } })).toThrow(
      "readSafetensors: f: tensor 'x' has dtype F8_E4M3; layerwise reads F32, F64, I32, F16, BF16, I64, U8, BOOL",
    );
    expect(bad({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 16] } })).toThrow(
      "tensor 'x' has an invalid shape [-1]",
    );
    expect(bad({ x: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } })).toThrow(
      "readSafetensors: f: tensor 'x' starts at byte 8 but the previous tensor ends at 0 (a gap)",
    );
    expect(
      bad({
        x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
        y: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
      }),
    ).toThrow(
      "readSafetensors: f: tensor 'y' at bytes [8, 16) overlaps the previous tensor, which ends at 16",
    );
    expect(bad({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } })).toThrow(
      'readSafetensors: f: the tensors cover 8 bytes of data but the file has 16 (truncated or trailing bytes)',
    );
    expect(
      bad({ __metadata__: { a: 1 }, x: { dtype: 'F64', shape: [2], data_offsets: [0, 16] } }),
    ).toThrow("readSafetensors: f: __metadata__['a'] must be a string, got 1");
    expect(bad('[1, 2]')).toThrow(
      'readSafetensors: f: header must be a JSON object starting with \'{\', got "[1, 2]"',
    );
    expect(bad('{"x": ')).toThrow(/readSafetensors: f: header is not valid JSON/);
  });

  it('throws only SafetensorsError on corrupted headers (fuzz)', () => {
    const bytes = encodeSafetensors(sample(), { m: 'x' });
    const N = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const rng = new Rng(5);
    for (let trial = 0; trial < 300; trial++) {
      const b = bytes.slice();
      const flips = 1 + rng.int(3);
      for (let k = 0; k < flips; k++) b[rng.int(8 + N)] = rng.int(256);
      try {
        decodeSafetensors(b);
      } catch (e) {
        expect(e).toBeInstanceOf(SafetensorsError);
      }
    }
  });

  it('refuses to write a non-string metadata value or a reserved name', () => {
    expect(() => encodeSafetensors({}, { a: 1 as unknown as string })).toThrow(
      "encodeSafetensors: metadata 'a' must be a string, got number",
    );
    expect(() => encodeSafetensors({ __metadata__: Tensor.zeros([1]) })).toThrow(
      "encodeSafetensors: '__metadata__' is not a valid tensor name",
    );
  });
});

describe('writeFileAtomic', () => {
  it('replaces the file and leaves no temporary file behind', () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const path = join(sub, 'a.txt');
    writeFileAtomic(path, 'first');
    writeFileAtomic(path, new TextEncoder().encode('second'));
    expect(readFileSync(path, 'utf8')).toBe('second');
    expect(readdirSync(sub)).toEqual(['a.txt']);
  });
  it('leaves the old contents and no temporary file when the final rename fails', () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const target = join(sub, 'target');
    mkdirSync(target);
    writeFileSync(join(target, 'keep.txt'), 'old');
    expect(() => writeFileAtomic(target, 'new')).toThrow(/EISDIR|ENOTEMPTY|EEXIST|EPERM/);
    expect(readdirSync(sub)).toEqual(['target']);
    expect(readFileSync(join(target, 'keep.txt'), 'utf8')).toBe('old');
  });
  it('throws and cleans up when the directory does not exist', () => {
    expect(() => writeFileAtomic(join(dir, 'missing', 'a.txt'), 'x')).toThrow(/ENOENT/);
  });
});
