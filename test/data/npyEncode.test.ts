import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy } from '../../src/data/index.js';
import { writeNpy } from '../../src/io/index.js';
import { Tensor } from '../../src/tensor/index.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const numpyFile = (name: string) =>
  new Uint8Array(readFileSync(here(`../fixtures/npy_write/${name}.npy`)));
const dir = mkdtempSync(join(tmpdir(), 'layerwise-npy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('encodeNpy', () => {
  it("writes numpy's own bytes for every dtype, 0-d and empty arrays (test/fixtures/gen/npy_write.py)", () => {
    const cases: Record<string, Parameters<typeof encodeNpy>[0]> = {
      f4_2x3: Tensor.from([0.5, -1.25, 3.0, 1e-8, 2 ** 100, -0], [2, 3], 'float32'),
      f8_4: Tensor.from([0.1, -0.2, 1e300, 5e-324], [4], 'float64'),
      i4_scalar: Tensor.from([-7], [], 'int32'),
      i8_2x2: {
        dtype: 'int64',
        shape: [2, 2],
        data: Int32Array.from([0, -5, 2147483647, -2147483648]),
      },
      u1_3: { dtype: 'uint8', shape: [3], data: Uint8Array.from([0, 7, 255]) },
      f4_empty: Tensor.zeros([0, 3]),
    };
    for (const [name, array] of Object.entries(cases)) {
      expect({ name, bytes: Array.from(encodeNpy(array)) }).toEqual({
        name,
        bytes: Array.from(numpyFile(name)),
      });
    }
  });

  it('round-trips through parseNpy, and writeNpy writes the same bytes to a file', () => {
    const t = Tensor.randn([3, 2, 5], { seed: 1, dtype: 'float64' });
    const back = parseNpy(encodeNpy(t));
    expect(back.dtype).toBe('float64');
    expect(back.shape).toEqual([3, 2, 5]);
    expect(Array.from(back.data)).toEqual(Array.from(t.data));
    const path = join(dir, 'scores.npy');
    writeNpy(path, t);
    expect(new Uint8Array(readFileSync(path))).toEqual(encodeNpy(t));
  });

  it('refuses a shape that does not match the data', () => {
    expect(() => encodeNpy({ dtype: 'uint8', shape: [2, 2], data: new Uint8Array(3) })).toThrow(
      'encodeNpy: shape [2,2] holds 4 values but the data has 3',
    );
  });
});
