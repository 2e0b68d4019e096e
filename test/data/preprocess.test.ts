// test/data/preprocess.test.ts: preprocessing against numpy (test/fixtures/gen/preprocess.py),
// JSON round trips and the validation of stored preprocessing.
import { describe, expect, it } from 'vitest';
import {
  applyPreprocessing,
  fitPreprocessing,
  parsePreprocessing,
  type Preprocessing,
} from '../../src/data/preprocess.js';
import { relError } from '../../src/gradcheck/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, snapshot } from '../helpers.js';

type Entry = { shape: number[]; data: number[] };
const fx = fixture<{
  X: Entry;
  Xnew: Entry;
  meanImage: Entry;
  meanImageApplied: Entry;
  channelMean: number[];
  channelStd: number[];
  perChannelApplied: Entry;
}>('preprocess');

describe('fitPreprocessing / applyPreprocessing', () => {
  const X = fromFixture(fx.X),
    Xnew = fromFixture(fx.Xnew);
  it('mean-image matches numpy and survives JSON', () => {
    const p = fitPreprocessing(X, 'mean-image');
    if (p.kind !== 'mean-image') throw new Error('kind');
    expect(p.shape).toEqual([3, 2, 4]);
    expect(relError(p.mean, fx.meanImage.data)).toBeLessThan(1e-12);
    const restored = parsePreprocessing(JSON.parse(JSON.stringify(p)));
    const unchanged = snapshot(Xnew);
    const out = applyPreprocessing(Xnew, restored);
    expect(unchanged()).toBe(true);
    expect(out.dtype).toBe('float64');
    expect(relError(out, fromFixture(fx.meanImageApplied))).toBeLessThan(1e-12);
  });
  it('per-channel matches numpy (biased std) in float64 and float32', () => {
    const p = fitPreprocessing(X, 'per-channel');
    if (p.kind !== 'per-channel') throw new Error('kind');
    expect(relError(p.mean, fx.channelMean)).toBeLessThan(1e-12);
    expect(relError(p.std, fx.channelStd)).toBeLessThan(1e-12);
    expect(relError(applyPreprocessing(Xnew, p), fromFixture(fx.perChannelApplied))).toBeLessThan(
      1e-12,
    );
    const X32 = Tensor.from(fx.Xnew.data, fx.Xnew.shape, 'float32');
    const out32 = applyPreprocessing(X32, p);
    expect(out32.dtype).toBe('float32');
    expect(relError(out32, fx.perChannelApplied.data)).toBeLessThan(1e-5);
  });
  it("'none' copies; a constant channel is centred, not divided by 0", () => {
    const none = applyPreprocessing(Xnew, fitPreprocessing(X, 'none'));
    expect(none).not.toBe(Xnew);
    expect(none.data).toEqual(Xnew.data);
    const flat = Tensor.full([3, 2, 1, 1], 0.5);
    flat.data[1] = 0.2; // channel 1 of sample 0 differs
    const p = fitPreprocessing(flat, 'per-channel');
    if (p.kind !== 'per-channel') throw new Error('kind');
    expect(p.mean[0]).toBe(0.5);
    expect(p.mean[1]).toBeCloseTo((0.2 + 0.5 + 0.5) / 3, 7);
    expect(p.std[0]).toBe(1);
    expect(Array.from(applyPreprocessing(flat, p).data.filter((_, i) => i % 2 === 0))).toEqual([
      0, 0, 0,
    ]);
  });
  it('names a shape that does not fit what was fitted', () => {
    const p = fitPreprocessing(X, 'mean-image');
    expect(() => applyPreprocessing(Tensor.zeros([2, 3, 4, 2]), p)).toThrow(
      'applyPreprocessing: X has shape [2,3,4,2] but the mean image has shape [3,2,4]',
    );
    const q = fitPreprocessing(X, 'per-channel');
    expect(() => applyPreprocessing(Tensor.zeros([2, 1, 28, 28]), q)).toThrow(
      'applyPreprocessing: X has shape [2,1,28,28] but the statistics are for 3 channels (axis 1)',
    );
    expect(() => fitPreprocessing(X, 'zca' as never)).toThrow(
      "fitPreprocessing: kind must be 'mean-image', 'per-channel' or 'none', got 'zca'",
    );
  });
  it('parsePreprocessing names the bad field of a stored preprocessing', () => {
    const bad: [unknown, string][] = [
      [{ kind: 'mean-image', shape: [2], mean: [1] }, "'mean' has 1 values but shape [2] needs 2"],
      [
        { kind: 'per-channel', mean: [0], std: [0] },
        "'std' must be an array of positive finite numbers",
      ],
      [
        { kind: 'per-channel', mean: [0, 1], std: [1] },
        "'mean' has 2 values and 'std' 1; they must match and be non-empty",
      ],
      [{ kind: 'none', mean: [] }, "kind 'none': unknown key 'mean' (known: kind)"],
      [{ kind: 'whiten' }, "kind must be 'mean-image', 'per-channel' or 'none', got 'whiten'"],
      [null, 'expected an object'],
    ];
    for (const [value, why] of bad) {
      expect(() => parsePreprocessing(value)).toThrow(
        `parsePreprocessing: invalid preprocessing: ${why}`,
      );
    }
    const ok: Preprocessing = { kind: 'mean-image', shape: [1, 1], mean: [0.25] };
    expect(parsePreprocessing(ok)).toEqual(ok);
  });
});
