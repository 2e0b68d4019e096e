// test/io/plot.test.ts: the plots decode as valid PNGs of the stated size, draw what they are
// asked to (series colours, a legend, text), and image grids put each pixel where it belongs.
import { describe, expect, it } from 'vitest';
import { decodePng } from '../../src/io/png.js';
import {
  formatTick,
  imageGridPng,
  linePlotPng,
  niceTicks,
  PLOT_COLOURS,
} from '../../src/io/plot.js';
import { Tensor } from '../../src/tensor/index.js';

/** Number of pixels of an RGB image equal to colour c. */
function countColour(img: { data: Uint8Array; channels: number }, c: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < img.data.length; i += img.channels)
    if (img.data[i] === c[0] && img.data[i + 1] === c[1] && img.data[i + 2] === c[2]) n++;
  return n;
}

describe('linePlotPng', () => {
  const loss = Array.from({ length: 200 }, (_, i) => 2.3 * Math.exp(-i / 50) + 0.05);
  it('draws two panels side by side at the stated size, each series in its own colour', () => {
    const png = linePlotPng(
      [
        {
          series: [{ name: 'loss', y: loss }],
          title: 'Training loss',
          xLabel: 'iteration',
          yLabel: 'loss',
          logY: true,
        },
        {
          series: [
            { name: 'train', y: [0.5, 0.7, 0.8] },
            { name: 'val', y: [0.4, 0.6, 0.65], x: [1, 2, 3] },
          ],
          title: 'Accuracy',
        },
      ],
      { width: 800, height: 300 },
    );
    const img = decodePng(png);
    expect([img.width, img.height, img.channels]).toEqual([800, 300, 3]);
    expect(countColour(img, PLOT_COLOURS[0])).toBeGreaterThan(200);
    expect(countColour(img, PLOT_COLOURS[1])).toBeGreaterThan(50);
    expect(countColour(img, [255, 255, 255])).toBeGreaterThan(800 * 300 * 0.5);
    expect(countColour(img, [0, 0, 0])).toBeGreaterThan(500); // frames, ticks and text
  });
  it('default size is 480 per panel by 360; a title adds ink at the top', () => {
    const plain = decodePng(linePlotPng({ series: [{ name: 'a', y: [1, 2] }] }));
    expect([plain.width, plain.height]).toEqual([480, 360]);
    const titled = decodePng(linePlotPng({ series: [{ name: 'a', y: [1, 2] }], title: 'HELLO' }));
    const topInk = (img: typeof plain) =>
      countColour({ data: img.data.subarray(0, 480 * 12 * 3), channels: 3 }, [0, 0, 0]);
    expect(topInk(plain)).toBe(0);
    expect(topInk(titled)).toBeGreaterThan(20);
  });
  it('copes with a single point, non-finite values and an empty series', () => {
    const img = decodePng(
      linePlotPng({
        series: [
          { name: 'one', y: [3] },
          { name: 'gaps', y: [1, NaN, Infinity, 2] },
          { name: 'none', y: [] },
        ],
      }),
    );
    expect(countColour(img, PLOT_COLOURS[0])).toBeGreaterThan(0);
    expect(countColour(img, PLOT_COLOURS[1])).toBeGreaterThan(0);
    const long = Float64Array.from({ length: 200000 }, (_, i) => 1 / (1 + i)); // a long loss history
    const big = decodePng(linePlotPng({ series: [{ name: 'loss', y: long }], logY: true }));
    expect(countColour(big, PLOT_COLOURS[0])).toBeGreaterThan(100);
  });
  it('names bad input', () => {
    expect(() => linePlotPng({ series: [{ name: 'a', y: [1, 2], x: [1] }] })).toThrow(
      'linePlotPng: plots[0].series[0] has 1 x values but 2 y values',
    );
    expect(() => linePlotPng([])).toThrow('linePlotPng: plots is empty');
    expect(() => linePlotPng({ series: [] }, { width: 50 })).toThrow(
      'linePlotPng: width must be an integer in [120, 16384], got 50',
    );
    expect(() => linePlotPng({ series: [], logy: true } as never)).toThrow(
      "linePlotPng: plots[0]: unknown option 'logy' (did you mean 'logY'?)",
    );
  });
  it('picks 1-2-5 ticks and short labels', () => {
    expect(niceTicks(0, 10)).toEqual({ ticks: [0, 2, 4, 6, 8, 10], step: 2 });
    expect(niceTicks(0.47, 0.91).step).toBeCloseTo(0.1, 12);
    expect(formatTick(0.30000000000000004, 0.1)).toBe('0.3');
    expect(formatTick(250, 50)).toBe('250');
    expect(formatTick(0.0001, 0.0001)).toBe('1e-4');
    expect(formatTick(2e6, 1e6)).toBe('2e6');
    expect([
      formatTick(10 ** -3),
      formatTick(10 ** Math.log10(0.35)),
      formatTick(100),
      formatTick(1e-6),
    ]).toEqual(['0.001', '0.35', '100', '1e-6']);
  });
});

describe('imageGridPng', () => {
  it('places each image in its cell with white padding, normalising each image', () => {
    // two 1x2 grey images: [0, 4] and [1, 1] (constant -> mid grey); scale 2, pad 1, 2 columns
    const png = imageGridPng(Tensor.from([0, 4, 1, 1], [2, 1, 1, 2]), {
      scale: 2,
      pad: 1,
      cols: 2,
    });
    const img = decodePng(png);
    expect([img.width, img.height, img.channels]).toEqual([2 * 4 + 3, 2 + 2, 1]);
    const row = (y: number) => Array.from(img.data.subarray(y * 11, (y + 1) * 11));
    expect(row(0)).toEqual(Array(11).fill(255));
    expect(row(1)).toEqual([255, 0, 0, 255, 255, 255, 128, 128, 128, 128, 255]);
    expect(row(2)).toEqual(row(1));
    expect(row(3)).toEqual(Array(11).fill(255));
  });
  it("'all' shares one range, 'none' clamps to [0, 1]; RGB stays RGB", () => {
    const X = Tensor.from([0, 2, 1, 4], [2, 1, 1, 2]);
    const all = decodePng(imageGridPng(X, { pad: 0, cols: 2, normalize: 'all' }));
    expect(Array.from(all.data)).toEqual([0, 128, 64, 255]);
    const none = decodePng(
      imageGridPng(Tensor.from([-1, 0.5], [1, 1, 1, 2]), { pad: 0, normalize: 'none' }),
    );
    expect(Array.from(none.data)).toEqual([0, 128]);
    const rgb = decodePng(
      imageGridPng(Tensor.from([0, 1, 0.5], [1, 3, 1, 1]), { pad: 0, normalize: 'none' }),
    );
    expect([rgb.channels, ...rgb.data]).toEqual([3, 0, 255, 128]);
  });
  it('names a bad shape and bad options', () => {
    expect(() => imageGridPng(Tensor.zeros([2, 2, 3, 3]))).toThrow(
      'imageGridPng: images has shape [2,2,3,3] but must be (N, C, H, W) with N >= 1 and C = 1 or 3',
    );
    expect(() => imageGridPng(Tensor.zeros([1, 1, 3, 3]), { scale: 0 })).toThrow(
      'imageGridPng: scale must be an integer >= 1, got 0',
    );
  });
});
