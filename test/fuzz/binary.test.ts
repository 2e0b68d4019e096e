// test/fuzz/binary.test.ts: the seeded mutation fuzzer over the binary formats: safetensors,
// .npy (and .npy.gz), IDX (plain and gzipped), CIFAR-10 batches and PNG. Every case must be
// accepted or refused with the library's own error type, quickly, without a giant allocation
// (see mutate.ts). The limits are lowered (maxBytes) so that "bounded" is checked at a size a
// test can afford; the defaults are the same code with a larger number.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  loadCifar10,
  loadNpyDataset,
  parseCifar10,
  parseIdx,
  parseNpy,
  readIdx,
  readNpy,
} from '../../src/data/index.js';
import {
  crc32,
  decodePng,
  decodeSafetensors,
  encodePng,
  encodeSafetensors,
} from '../../src/io/index.js';
import { deflate } from '../../src/io/zlib.js';
import { Tensor } from '../../src/tensor/index.js';
import {
  concat,
  expectGraceful,
  FuzzRng,
  HUGE_U32,
  mutateBytes,
  mutateJson,
  PROTO_NAMES,
  setU32,
  tally,
  type Tally,
} from './mutate.js';

/** FUZZ_SEED=n runs other seeds (FUZZ_CASES=n more cases) than the suite's fixed ones. */
const CASES = Number(process.env.FUZZ_CASES ?? 300);
const SEED_BASE = Number(process.env.FUZZ_SEED ?? 0) * 1000;
const LIMIT = 2 ** 24; // maxBytes of the file loaders in these cases (16 MiB)
const dir = mkdtempSync(join(tmpdir(), 'layerwise-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs CASES seeded cases of one format; `make(rng)` gives a case's name and loader. */
function fuzz(
  format: string,
  seed: number,
  make: (rng: FuzzRng, i: number) => () => unknown,
): Tally {
  const t = tally();
  for (let i = 0; i < CASES; i++) {
    const rng = new FuzzRng((SEED_BASE + seed) * 100_003 + i);
    expectGraceful(`${format} case ${i} (seed ${seed})`, make(rng, i), t);
  }
  // the fuzzer must reach the checks: most cases are refused, and some damage is undetectable
  expect(t.refused).toBeGreaterThan(CASES / 3);
  if (process.env.FUZZ_REPORT)
    console.log(`${format}: ${t.refused} refused, ${t.accepted} accepted`);
  return t;
}

// ------------------------------------------------------------------------------- safetensors

const SAFE = encodeSafetensors(
  {
    a: Tensor.randn([3, 4], { seed: 1 }),
    b: Tensor.from([1, 2, 3, 4, 5], [5], 'int32'),
    c: Tensor.randn([2, 2], { seed: 2, dtype: 'float64' }),
  },
  { note: 'x' },
);

/** The container around a header JSON text (length field consistent with it). */
function safetensorsWith(headerText: string, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function safetensorsCase(bytes: Uint8Array, rng: FuzzRng): Uint8Array {
  const N = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + N)));
  const data = bytes.subarray(8 + N);
  switch (rng.int(4)) {
    case 0:
      return mutateBytes(bytes, rng);
    case 1: {
      const out = bytes.slice(); // the u64 header length: extreme low and high words
      setU32(out, 0, rng.pick(HUGE_U32), true);
      setU32(out, 4, rng.pick([0, 0, 1, 0xffffffff]), true);
      return out;
    }
    default:
      return safetensorsWith(
        mutateJson(header, rng, ['F16', 'BF16', 'I64', 'U8', 'BOOL', 'X']),
        data,
      );
  }
}

describe('fuzz: safetensors', () => {
  it(`${CASES} mutated files: accepted or a SafetensorsError, bounded`, () => {
    fuzz('safetensors', 1, (rng) => {
      const bytes = safetensorsCase(SAFE, rng);
      return () => decodeSafetensors(bytes, 'x.safetensors');
    });
  });
});

// -------------------------------------------------------------------------------------- .npy

function npyBytes(descr: string, shapeText: string, data: Uint8Array, major = 1): Uint8Array {
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const pre = major === 1 ? 10 : 12;
  dict += ' '.repeat((64 - ((pre + dict.length + 1) % 64)) % 64) + '\n';
  const head = new Uint8Array(pre);
  head.set([0x93, 78, 85, 77, 80, 89, major, 0]);
  const view = new DataView(head.buffer);
  if (major === 1) view.setUint16(8, dict.length, true);
  else view.setUint32(8, dict.length, true);
  return concat([head, new TextEncoder().encode(dict), data]);
}
const F32 = new Uint8Array(new Float32Array([0, 1, 2, 3, 4, 5]).buffer);
const NPY = npyBytes('<f4', '(2, 3)', F32);
const DESCRS = ['<f4', '<f8', '|u1', '<i4', '<i8', '>f4', '<f2', '|O', '<U3', ...PROTO_NAMES];
const SHAPES = [
  '(2, 3)',
  '(6,)',
  '()',
  '(4294967295, 4294967295)',
  '(99999999999999999999,)',
  '(-1,)',
  '(0, 1000000000)',
  '(2, 3, 1, 1, 1)',
  "('a',)",
  '(2**40,)',
  '(1e9,)',
];

function npyCase(rng: FuzzRng): Uint8Array {
  switch (rng.int(4)) {
    case 0:
      return mutateBytes(NPY, rng);
    case 1: {
      const out = NPY.slice(); // version and header-length fields
      if (rng.int(2) === 0) out[6] = rng.pick([0, 1, 2, 3, 4, 255]);
      else setU32(out, 8, rng.pick(HUGE_U32), true);
      return out;
    }
    case 2:
      return npyBytes(rng.pick(DESCRS), rng.pick(SHAPES), F32, rng.pick([1, 2, 3]));
    default: {
      // a key renamed to a prototype name, or a NaN/Inf in the data
      if (rng.int(2) === 0) {
        const f = new Float32Array([0, 1, NaN, Infinity, -Infinity, 5]);
        return npyBytes('<f4', '(2, 3)', new Uint8Array(f.buffer));
      }
      const text = new TextDecoder('latin1').decode(NPY);
      const key = rng.pick(['descr', 'fortran_order', 'shape']);
      return new Uint8Array(
        Buffer.from(text.replace(`'${key}'`, `'${rng.pick(PROTO_NAMES)}'`), 'latin1'),
      );
    }
  }
}

describe('fuzz: .npy', () => {
  it(`${CASES} mutated arrays: parseNpy accepts or refuses with a FileError`, () => {
    fuzz('npy', 2, (rng) => {
      const bytes = npyCase(rng);
      return () => parseNpy(bytes, 'x.npy');
    });
  });

  it(`${CASES} mutated .npy.gz files and data sets: bounded, non-finite X refused`, () => {
    const set = join(dir, 'npyset');
    mkdirSync(set, { recursive: true });
    const y = npyBytes('<i8', '(2,)', new Uint8Array(new BigInt64Array([0n, 1n]).buffer));
    for (const part of ['train', 'test']) writeFileSync(join(set, `y_${part}.npy`), y);
    writeFileSync(join(set, 'X_test.npy'), NPY);
    fuzz('npy.gz / loadNpyDataset', 3, (rng, i) => {
      const bytes = npyCase(rng);
      if (i % 2 === 0) {
        const path = join(dir, `case${i}.npy.gz`);
        writeFileSync(path, rng.int(3) === 0 ? mutateBytes(gzipSync(NPY), rng) : gzipSync(bytes));
        return () => readNpy(path, { maxBytes: LIMIT });
      }
      writeFileSync(join(set, 'X_train.npy'), bytes);
      return () => loadNpyDataset(set, { maxBytes: LIMIT, valFraction: 0 });
    });
    const f = new Float32Array([0, 1, NaN, 3, 4, 5]);
    writeFileSync(join(set, 'X_train.npy'), npyBytes('<f4', '(2, 3)', new Uint8Array(f.buffer)));
    expect(() => loadNpyDataset(set, { valFraction: 0 })).toThrow(
      `loadNpyDataset: ${join(set, 'X_train.npy')}: has a non-finite value (NaN) at flat index 2`,
    );
  });
});

// --------------------------------------------------------------------------------------- IDX

function idxBytes(typeCode: number, dims: number[], data: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  head.set([0, 0, typeCode, dims.length]);
  dims.forEach((d, i) => new DataView(head.buffer).setUint32(4 + 4 * i, d));
  return concat([head, data]);
}
const IDX = idxBytes(
  0x08,
  [4, 3, 3],
  new Uint8Array(36).map((_, i) => i * 7),
);

function idxCase(rng: FuzzRng): Uint8Array {
  if (rng.int(2) === 0) return mutateBytes(IDX, rng);
  const out = IDX.slice();
  switch (rng.int(3)) {
    case 0:
      setU32(out, 4 + 4 * rng.int(3), rng.pick(HUGE_U32), false);
      return out;
    case 1:
      out[3] = rng.int(256); // dimension count
      return out;
    default:
      out[2] = rng.pick([0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x00, 0x0a, 0xff]);
      return out;
  }
}

describe('fuzz: IDX', () => {
  it(`${CASES} mutated IDX files: parseIdx accepts or refuses with a FileError`, () => {
    fuzz('idx', 4, (rng) => {
      const bytes = idxCase(rng);
      return () => parseIdx(bytes, 'x-idx3-ubyte');
    });
  });

  it(`${CASES} mutated gzipped IDX files: decompressed no further than the header declares`, () => {
    fuzz('idx.gz', 5, (rng, i) => {
      const path = join(dir, `case${i}-idx3-ubyte.gz`);
      const gz = gzipSync(idxCase(rng));
      writeFileSync(path, rng.int(3) === 0 ? mutateBytes(gz, rng) : gz);
      return () => readIdx(path, { maxBytes: LIMIT });
    });
  });

  it('a gzip bomb is refused at its header, and one that lies about its size at the header size', () => {
    const big = join(dir, 'big-idx1-ubyte.gz'); // declares 2^31 bytes, holds 10
    writeFileSync(big, gzipSync(idxBytes(0x08, [2 ** 31], new Uint8Array(10))));
    expect(() => readIdx(big)).toThrow(
      `readIdx: ${big}: its header declares 2147483656 bytes, more than the limit of 1073741824 bytes (raise it with the maxBytes option)`,
    );
    const liar = join(dir, 'liar-idx1-ubyte.gz'); // declares 10 bytes, inflates to 64 MiB
    writeFileSync(liar, gzipSync(idxBytes(0x08, [10], new Uint8Array(2 ** 26))));
    const before = process.memoryUsage().arrayBuffers;
    expect(() => readIdx(liar)).toThrow(
      `readIdx: ${liar}: decompresses to more than the 18 bytes its header declares`,
    );
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(2 ** 24);
  });
});

// ---------------------------------------------------------------------------------- CIFAR-10

const RECORDS = new Uint8Array(3 * 3073).map((_, i) => (i % 3073 === 0 ? i % 10 : i & 0xff));

describe('fuzz: CIFAR-10', () => {
  it(`${CASES} mutated batches: parseCifar10 and loadCifar10 accept or refuse with a FileError`, () => {
    const root = join(dir, 'cifar');
    mkdirSync(root, { recursive: true });
    const files = [1, 2, 3, 4, 5].map((b) => `data_batch_${b}.bin`).concat('test_batch.bin');
    for (const f of files) writeFileSync(join(root, f), RECORDS);
    fuzz('cifar10', 6, (rng, i) => {
      const bytes = mutateBytes(RECORDS, rng);
      if (rng.int(2) === 0) bytes[3073 * rng.int(3)] = rng.pick([10, 200, 255]); // a label
      if (i % 3 !== 0) return () => parseCifar10(bytes, 'x.bin');
      const f = rng.pick(files);
      writeFileSync(join(root, f), bytes);
      return () => {
        try {
          return loadCifar10(root, { maxBytes: LIMIT });
        } finally {
          writeFileSync(join(root, f), RECORDS);
        }
      };
    });
  });
});

// --------------------------------------------------------------------------------------- PNG

const PNG = encodePng(
  new Uint8Array(5 * 4 * 3).map((_, i) => i * 5),
  5,
  4,
  3,
);

/** A chunk with a correct CRC, so that the fields behind it are what gets checked. */
function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length),
    view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

function pngWith(ihdr: Uint8Array, idat: Uint8Array): Uint8Array {
  return concat([
    PNG.subarray(0, 8),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

function pngCase(rng: FuzzRng): Uint8Array {
  if (rng.int(3) === 0) return mutateBytes(PNG, rng);
  const ihdr = PNG.slice(16, 29);
  const view = new DataView(ihdr.buffer);
  switch (rng.int(4)) {
    case 0:
      view.setUint32(rng.pick([0, 4]), rng.pick([...HUGE_U32, 8192, 4096, 65536]));
      break;
    case 1:
      ihdr[8] = rng.pick([0, 1, 2, 3, 4, 5, 8, 16, 32, 255]); // bit depth
      ihdr[9] = rng.pick([0, 1, 2, 3, 4, 5, 6, 7, 255]); // colour type
      break;
    case 2:
      ihdr[10 + rng.int(3)] = rng.pick([1, 2, 255]); // compression, filter, interlace
      break;
    default: {
      // a zlib bomb: a big image of zeros, deflated to a few kB
      const side = rng.pick([1024, 2048, 8192]);
      view.setUint32(0, side);
      view.setUint32(4, side);
      ihdr[8] = 8;
      ihdr[9] = 0;
      return pngWith(ihdr, deflate(new Uint8Array(Math.min(side * (side + 1), 2 ** 23))));
    }
  }
  const idatLength = new DataView(PNG.buffer).getUint32(33);
  return pngWith(ihdr, PNG.subarray(41, 41 + idatLength));
}

describe('fuzz: PNG', () => {
  it(`${CASES} mutated images: decodePng accepts or refuses with a FileError, bounded`, () => {
    fuzz('png', 7, (rng) => {
      const bytes = pngCase(rng);
      return () => decodePng(bytes, 'x.png', { maxBytes: 2 ** 22 });
    });
  });

  it('refuses an 8192 x 8192 image by default before inflating it', () => {
    const ihdr = PNG.slice(16, 29),
      view = new DataView(ihdr.buffer);
    view.setUint32(0, 8192);
    view.setUint32(4, 8192);
    ihdr[9] = 0;
    const bomb = pngWith(ihdr, deflate(new Uint8Array(1000)));
    expect(() => decodePng(bomb, 'bomb.png')).toThrow(
      'decodePng: bomb.png: a 8192x8192 image (colour type 0, 8-bit) inflates to 67117056 bytes, more than the limit of 67108864 bytes (raise it with the maxBytes option)',
    );
  });
});
