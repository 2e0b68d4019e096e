// test/io/png.test.ts: PNG encode/decode against files built independently (test/fixtures/gen/
// png.py, checked with Pillow), malformed files, and the conversion to a model input.
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  crc32,
  decodePng,
  encodePng,
  resizeWeights,
  toModelInput,
  type PngImage,
} from '../../src/io/png.js';
import { loadEmbeddedMnist } from '../../src/data/mnist.js';
import { Rng } from '../../src/tensor/index.js';
import { fixture } from '../helpers.js';

interface PngCase {
  name: string;
  png: string;
  width: number;
  height: number;
  channels: number;
  pixels: number[];
}
const { cases } = fixture<{ cases: PngCase[] }>('png');

/** A PNG from (type, data) chunks, with correct CRCs (to build files with one field wrong). */
function buildPng(chunks: [string, Uint8Array][]): Uint8Array {
  const parts: number[] = [137, 80, 78, 71, 13, 10, 26, 10];
  for (const [type, data] of chunks) {
    const body = new Uint8Array([...type].map((ch) => ch.charCodeAt(0)).concat([...data]));
    const u32 = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
    parts.push(...u32(data.length), ...body, ...u32(crc32(body)));
  }
  return new Uint8Array(parts);
}

/** The chunks of a valid PNG, to edit one and rebuild. */
function chunksOf(png: Uint8Array): [string, Uint8Array][] {
  const out: [string, Uint8Array][] = [];
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let pos = 8; pos < png.length;) {
    const len = view.getUint32(pos);
    out.push([
      String.fromCharCode(...png.subarray(pos + 4, pos + 8)),
      png.slice(pos + 8, pos + 8 + len),
    ]);
    pos += 12 + len;
  }
  return out;
}

function ihdr(
  width: number,
  height: number,
  depth: number,
  colourType: number,
  interlace = 0,
): Uint8Array {
  const b = new Uint8Array(13),
    v = new DataView(b.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  b.set([depth, colourType, 0, 0, interlace], 8);
  return b;
}

const grey2x2 = () => encodePng(new Uint8Array([0, 50, 100, 150]), 2, 2, 1);

describe('decodePng on independently written files', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const img = decodePng(new Uint8Array(Buffer.from(c.png, 'base64')), c.name);
    expect([img.width, img.height, img.channels]).toEqual([c.width, c.height, c.channels]);
    expect(Array.from(img.data)).toEqual(c.pixels);
  });
  it('covers every filter type, colour type, palette, 16-bit and Adam7', () => {
    const names = cases.map((c) => c.name);
    for (const n of [
      'l8-filters',
      'rgb8-filters',
      'la8-filters',
      'rgba8-filters',
      'palette8',
      'palette4-trns',
      'grey16',
      'rgb16',
      'grey1',
      'rgb8-adam7-9x11',
    ]) {
      expect(names).toContain(n);
    }
  });
});

describe('encodePng', () => {
  it('crc32 gives the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
  it.each([1, 2, 3, 4] as const)(
    'decode(encode(x)) round-trips %i channel(s), noise and gradients',
    (channels) => {
      const rng = new Rng(channels),
        W = 13,
        H = 9;
      const noise = new Uint8Array(W * H * channels).map(() => rng.int(256));
      const smooth = new Uint8Array(W * H * channels).map(
        (_, i) => (i * 7 + Math.floor(i / (W * channels)) * 3) & 255,
      );
      for (const pixels of [noise, smooth]) {
        const png = encodePng(pixels, W, H, channels);
        expect(Array.from(png.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
        const img = decodePng(png);
        expect([img.width, img.height, img.channels]).toEqual([W, H, channels]);
        expect(img.data).toEqual(pixels);
      }
    },
  );
  it('writes IHDR, IDAT, IEND with 8-bit depth and the right colour type', () => {
    const chunks = chunksOf(encodePng(new Uint8Array(2 * 3 * 4), 2, 3, 4));
    expect(chunks.map(([t]) => t)).toEqual(['IHDR', 'IDAT', 'IEND']);
    expect(Array.from(chunks[0][1])).toEqual(Array.from(ihdr(2, 3, 8, 6)));
  });
  it('rejects a pixel count that does not match the size', () => {
    expect(() => encodePng(new Uint8Array(5), 2, 2, 1)).toThrow(
      'encodePng: pixels has 5 bytes but 2x2x1 needs 4',
    );
  });
});

describe('decodePng errors name the file', () => {
  it('bad signature', () => {
    const bad = grey2x2();
    bad[1] = 0x51;
    expect(() => decodePng(bad, 'x.png')).toThrow(
      'decodePng: x.png: not a PNG file (bad signature)',
    );
  });
  it('CRC mismatch', () => {
    const bad = grey2x2();
    bad[33 + 8 + 1] ^= 1; // a byte of the IDAT data (IHDR takes bytes 8..32)
    expect(() => decodePng(bad, 'x.png')).toThrow(
      /^decodePng: x\.png: CRC mismatch in chunk 'IDAT' at byte 33 \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)$/,
    );
  });
  it('truncated chunk', () => {
    const png = grey2x2(),
      idatLength = chunksOf(png)[1][1].length;
    expect(() => decodePng(png.subarray(0, 45), 'x.png')).toThrow(
      `decodePng: x.png: chunk 'IDAT' at byte 33 is truncated (needs ${idatLength + 12} bytes, 12 left)`,
    );
  });
  it('missing IEND', () => {
    const png = grey2x2();
    expect(() => decodePng(png.subarray(0, png.length - 12), 'x.png')).toThrow(
      `decodePng: x.png: truncated at byte ${png.length - 12} (no IEND chunk)`,
    );
  });
  it('absurd size in the header, before inflating anything', () => {
    const png = buildPng([
      ['IHDR', ihdr(100000, 100000, 8, 0)],
      ['IDAT', new Uint8Array(10)],
      ['IEND', new Uint8Array(0)],
    ]);
    expect(() => decodePng(png, 'big.png')).toThrow(
      `decodePng: big.png: image size 100000x100000 is larger than the 67108864 pixels supported`,
    );
  });
  it('invalid bit depth for the colour type', () => {
    const png = buildPng([
      ['IHDR', ihdr(2, 2, 4, 2)],
      ['IEND', new Uint8Array(0)],
    ]);
    expect(() => decodePng(png, 'x.png')).toThrow(
      'decodePng: x.png: bit depth 4 is invalid for colour type 2',
    );
  });
  it('image data shorter or longer than the header says', () => {
    const [head, idat, end] = chunksOf(grey2x2());
    const short = buildPng([['IHDR', ihdr(2, 3, 8, 0)], idat, end]);
    expect(() => decodePng(short, 'x.png')).toThrow(
      'decodePng: x.png: image data is truncated (6 of 9 bytes)',
    );
    const long = buildPng([['IHDR', ihdr(2, 1, 8, 0)], idat, end]);
    expect(() => decodePng(long, 'x.png')).toThrow(
      'decodePng: x.png: image data is longer than the 2x1 header says',
    );
    expect(head[0]).toBe('IHDR');
  });
  it('unknown filter type and a cut zlib stream', () => {
    const raw = new Uint8Array([5, 1, 2, 0, 3, 4]);
    const png = buildPng([
      ['IHDR', ihdr(2, 2, 8, 0)],
      ['IDAT', new Uint8Array(deflateSync(raw))],
      ['IEND', new Uint8Array(0)],
    ]);
    expect(() => decodePng(png, 'x.png')).toThrow(
      'decodePng: x.png: unknown filter type 5 on a scanline',
    );
    const z = new Uint8Array(deflateSync(new Uint8Array([0, 1, 2, 0, 3, 4])));
    const cut = buildPng([
      ['IHDR', ihdr(2, 2, 8, 0)],
      ['IDAT', z.subarray(0, 4)],
      ['IEND', new Uint8Array(0)],
    ]);
    expect(() => decodePng(cut, 'x.png')).toThrow(
      /^decodePng: x\.png: corrupt or truncated image data/,
    );
  });
  it('palette index outside PLTE and missing PLTE', () => {
    const data = new Uint8Array(deflateSync(new Uint8Array([0, 0, 2])));
    const png = buildPng([
      ['IHDR', ihdr(2, 1, 8, 3)],
      ['PLTE', new Uint8Array(6)],
      ['IDAT', data],
      ['IEND', new Uint8Array(0)],
    ]);
    expect(() => decodePng(png, 'p.png')).toThrow(
      'decodePng: p.png: palette index 2 is outside the 2-colour PLTE',
    );
    const noPlte = buildPng([
      ['IHDR', ihdr(2, 1, 8, 3)],
      ['IDAT', data],
      ['IEND', new Uint8Array(0)],
    ]);
    expect(() => decodePng(noPlte, 'p.png')).toThrow(
      'decodePng: p.png: palette image without a PLTE chunk',
    );
  });
  it('does not modify its input', () => {
    const png = grey2x2(),
      copy = png.slice();
    decodePng(png);
    expect(png).toEqual(copy);
  });
});

describe('toModelInput', () => {
  const grey = (W: number, H: number, f: (x: number, y: number) => number): PngImage => ({
    width: W,
    height: H,
    channels: 1,
    data: Uint8Array.from({ length: W * H }, (_, i) => f(i % W, Math.floor(i / W))),
  });
  it('keeps a white-on-black 28x28 digit as v / 255', () => {
    const img = grey(28, 28, (x, y) => (x > 10 && x < 15 && y > 5 ? 255 : x === 3 ? 51 : 0));
    const t = toModelInput(img, [1, 28, 28]);
    expect(t.shape).toEqual([1, 1, 28, 28]);
    expect(Array.from(t.data)).toEqual(Array.from(img.data, (v) => Math.fround(v / 255)));
  });
  it('inverts a black-on-white drawing (auto), not when told false', () => {
    const img = grey(4, 4, (x, y) => (x === 1 && y === 1 ? 0 : 255));
    const t = toModelInput(img, [1, 4, 4]);
    expect(t.data[5]).toBe(1);
    expect(t.data[0]).toBe(0);
    expect(toModelInput(img, [1, 4, 4], { invert: false }).data[0]).toBe(1);
  });
  it('composites transparent pixels on a background contrasting with the strokes', () => {
    // black opaque stroke on a fully transparent canvas -> white background -> inverted
    const data = new Uint8Array(3 * 3 * 4);
    data.set([0, 0, 0, 255], 4 * 4); // centre pixel
    const t = toModelInput({ width: 3, height: 3, channels: 4, data }, [1, 3, 3]);
    expect(Array.from(t.data)).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0]);
    // white stroke on transparent -> black background, no inversion
    data.set([255, 255, 255, 255], 4 * 4);
    expect(
      Array.from(toModelInput({ width: 3, height: 3, channels: 4, data }, [1, 3, 3]).data),
    ).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0]);
  });
  it('converts RGB to grey with BT.601 weights and grey to RGB by repetition', () => {
    const rgb: PngImage = { width: 1, height: 1, channels: 3, data: new Uint8Array([255, 0, 0]) };
    expect(toModelInput(rgb, [1, 1, 1], { invert: false }).data[0]).toBeCloseTo(0.299, 6);
    const g = toModelInput(
      grey(1, 1, () => 51),
      [3, 1, 1],
    );
    expect(Array.from(g.data)).toEqual([0.2, 0.2, 0.2].map(Math.fround));
  });
  it('shrinks by area averaging (2x2 blocks) and enlarges bilinearly', () => {
    const img = grey(4, 2, (x, y) => [0, 255, 102, 102, 51, 0, 51, 153][y * 4 + x]);
    const t = toModelInput(img, [1, 1, 2], { invert: false });
    expect(Array.from(t.data)).toEqual(
      [(0 + 255 + 51 + 0) / 4 / 255, (102 + 102 + 51 + 153) / 4 / 255].map(Math.fround),
    );
    expect(resizeWeights(2, 4)).toEqual([
      { idx: [0], w: [1] },
      { idx: [0, 1], w: [0.75, 0.25] },
      { idx: [0, 1], w: [0.25, 0.75] },
      { idx: [1], w: [1] },
    ]);
    expect(resizeWeights(3, 2)).toEqual([
      { idx: [0, 1], w: [2 / 3, 1 / 3] },
      { idx: [1, 2], w: [1 / 3, 2 / 3] },
    ]);
  });
  it("fit 'digit' crops the ink, scales it into a 20x20 box and centres its mass", () => {
    // a black 40x10 bar near the top-left of a 100x60 white picture
    const img = grey(60, 100, (x, y) => (x >= 5 && x < 15 && y >= 8 && y < 48 ? 0 : 255));
    const t = toModelInput(img, [1, 28, 28], { fit: 'digit' });
    const rows: number[] = [];
    let m = 0,
      my = 0,
      mx = 0;
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const v = t.data[y * 28 + x];
        if (v > 0.5) rows.push(y);
        m += v;
        my += v * y;
        mx += v * x;
      }
    }
    expect(Math.max(...rows) - Math.min(...rows) + 1).toBe(20); // the 40-pixel bar becomes 20
    expect(Array.from(t.data.subarray(14 * 28, 15 * 28)).reduce((a, v) => a + v, 0)).toBeCloseTo(
      5,
      6,
    ); // 10 wide -> 5
    expect(Math.abs(my / m - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(mx / m - 14)).toBeLessThanOrEqual(0.5);
    // an image with no ink falls back to stretching
    expect(
      Array.from(
        toModelInput(
          grey(4, 4, () => 255),
          [1, 2, 2],
          { fit: 'digit' },
        ).data,
      ),
    ).toEqual([0, 0, 0, 0]);
  });
  it("fit 'digit' recovers an MNIST digit drawn black on white at 4x the size", () => {
    const { XTest } = loadEmbeddedMnist();
    for (const n of [0, 500, 1500]) {
      const digit = XTest.data.subarray(n * 784, (n + 1) * 784);
      const big = grey(
        112,
        112,
        (x, y) => 255 - Math.round(255 * digit[Math.floor(y / 4) * 28 + Math.floor(x / 4)]),
      );
      const t = toModelInput(decodePng(encodePng(big.data, 112, 112, 1)), [1, 28, 28], {
        fit: 'digit',
      });
      let dot = 0,
        a = 0,
        b = 0;
      for (let i = 0; i < 784; i++) {
        dot += t.data[i] * digit[i];
        a += t.data[i] ** 2;
        b += digit[i] ** 2;
      }
      expect(dot / Math.sqrt(a * b)).toBeGreaterThan(0.9); // cosine similarity to the original (usually 1)
    }
  });
  it('rejects a bad target shape and unknown options', () => {
    expect(() =>
      toModelInput(
        grey(1, 1, () => 0),
        [2, 28, 28],
      ),
    ).toThrow('toModelInput: shape must be [C, H, W] with C = 1 or 3, got [2,28,28]');
    expect(() =>
      toModelInput(
        grey(1, 1, () => 0),
        [1, 2, 2],
        { invret: true } as never,
      ),
    ).toThrow("toModelInput: unknown option 'invret' (did you mean 'invert'?)");
  });
});
