import { describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import { dropoutBackward, dropoutForward, type DropoutParam } from '../../src/layers/dropout.js';
import { defaultRng, Rng, Tensor } from '../../src/tensor/index.js';
import { numericGrad, randn64, snapshot } from '../helpers.js';

const count = (d: ArrayLike<number>, pred: (v: number) => boolean): number => {
  let k = 0;
  for (let i = 0; i < d.length; i++) if (pred(d[i])) k++;
  return k;
};

describe('dropout: statistics of the mask (seeded, so the tests are reproducible)', () => {
  // n = 200 000 units. The fraction dropped is Binomial(n, p)/n with standard deviation
  // √(p(1 − p)/n) ≤ 0.0012; the mean of out for x = 1 has standard deviation √(p/((1 − p)n)) ≤ 0.0048
  // (p ≤ 0.9). The tolerances are 5 standard deviations.
  const n = 200_000,
    x = Tensor.full([400, 500], 1, 'float64');
  for (const p of [0.1, 0.5, 0.9]) {
    it(`p = ${p}: drops a fraction p and keeps the expected value (inverted scaling)`, () => {
      const { out } = dropoutForward(x, { p, mode: 'train', seed: 123 });
      const dropped = count(out.data, (v) => v === 0) / n;
      expect(Math.abs(dropped - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
      const kept = out.data.filter((v) => v !== 0);
      expect(kept.every((v) => v === 1 / (1 - p))).toBe(true);
      const mean = Array.from(out.data).reduce((s, v) => s + v, 0) / n;
      expect(Math.abs(mean - 1)).toBeLessThan(5 * Math.sqrt(p / ((1 - p) * n)));
    });
  }

  it('drops units independently: neighbouring units are uncorrelated', () => {
    const { out } = dropoutForward(x, { p: 0.5, mode: 'train', seed: 7 });
    let both = 0;
    for (let i = 0; i + 1 < n; i += 2) if (out.data[i] === 0 && out.data[i + 1] === 0) both++;
    // P(both dropped) = 0.25 over n/2 pairs: standard deviation √(0.25·0.75/(n/2)) ≈ 0.0014
    expect(Math.abs(both / (n / 2) - 0.25)).toBeLessThan(5 * 0.0014);
  });
});

describe('dropout: modes, seeds and generators', () => {
  const x = randn64([20, 30], 1);

  it('test mode is the identity (a copy) and p = 0 keeps everything', () => {
    const test = dropoutForward(x, { p: 0.7, mode: 'test' });
    expect(test.out).not.toBe(x);
    expect([...test.out.data]).toEqual([...x.data]);
    expect([...dropoutForward(x, { p: 0, mode: 'train' }).out.data]).toEqual([...x.data]);
    const d = randn64([20, 30], 2);
    expect([...dropoutBackward(d, test.cache).dx.data]).toEqual([...d.data]);
  });

  it('p = 1 drops every unit (zeros in train mode, as torch) with a zero gradient', () => {
    const { out, cache } = dropoutForward(x, { p: 1, mode: 'train', seed: 3 });
    expect(out.data.every((v) => v === 0)).toBe(true);
    expect(dropoutBackward(randn64([20, 30], 4), cache).dx.data.every((v) => v === 0)).toBe(true);
  });

  it('the same seed gives the same mask, another seed another mask', () => {
    const a = dropoutForward(x, { p: 0.5, mode: 'train', seed: 42 }).out;
    const b = dropoutForward(x, { p: 0.5, mode: 'train', seed: 42 }).out;
    const c = dropoutForward(x, { p: 0.5, mode: 'train', seed: 43 }).out;
    expect([...a.data]).toEqual([...b.data]);
    expect([...a.data]).not.toEqual([...c.data]);
  });

  it('without a seed every call draws a fresh mask from the global generator', () => {
    const before = defaultRng().getState();
    const a = dropoutForward(x, { p: 0.5, mode: 'train' }).out;
    const b = dropoutForward(x, { p: 0.5, mode: 'train' }).out;
    expect([...a.data]).not.toEqual([...b.data]);
    expect(defaultRng().getState()).not.toEqual(before);
  });

  it('a seeded call neither reads nor resets the global generator', () => {
    const before = defaultRng().getState();
    dropoutForward(x, { p: 0.5, mode: 'train', seed: 5 });
    expect(defaultRng().getState()).toEqual(before);
  });

  it('rng draws from (and advances) the given generator: a stream of fresh masks', () => {
    const rng = new Rng(5);
    const first = dropoutForward(x, { p: 0.5, mode: 'train', rng }).out;
    const second = dropoutForward(x, { p: 0.5, mode: 'train', rng }).out;
    expect([...first.data]).toEqual([
      ...dropoutForward(x, { p: 0.5, mode: 'train', seed: 5 }).out.data,
    ]);
    expect([...second.data]).not.toEqual([...first.data]);
  });
});

describe('dropout: backward', () => {
  it('matches centred differences for a fixed mask (float64)', () => {
    const x = randn64([6, 7], 10),
      dout = randn64([6, 7], 11);
    const param: DropoutParam = { p: 0.4, mode: 'train', seed: 99 };
    const { cache } = dropoutForward(x, param);
    const { dx } = dropoutBackward(dout, cache);
    expect(
      relError(
        dx,
        numericGrad((t) => dropoutForward(t, param).out, x, dout),
      ),
    ).toBeLessThan(1e-7);
    for (let i = 0; i < dx.size; i++) expect(dx.data[i] === 0).toBe(cache.mask!.data[i] === 0);
  });

  it('leaves x, dout and the cache untouched and keeps the dtype', () => {
    const x = Tensor.randn([5, 4], { seed: 1 }),
      dout = Tensor.randn([5, 4], { seed: 2 });
    const unchanged = snapshot(x, dout);
    const { out, cache } = dropoutForward(x, { p: 0.3, mode: 'train', seed: 1 });
    const mask = snapshot(cache.mask!);
    const { dx } = dropoutBackward(dout, cache);
    expect(out.dtype).toBe('float32');
    expect(dx.dtype).toBe('float32');
    expect(unchanged()).toBe(true);
    expect(mask()).toBe(true);
  });
});

describe('dropout: errors', () => {
  const x = Tensor.zeros([2, 3], 'float64');
  it('names the function, argument and values', () => {
    expect(() => dropoutForward(x, { p: 1.5, mode: 'train' })).toThrow(
      'dropoutForward: dropoutParam.p must be <= 1, got 1.5',
    );
    expect(() => dropoutForward(x, { p: -0.1, mode: 'train' })).toThrow(
      'dropoutForward: dropoutParam.p must be >= 0, got -0.1',
    );
    expect(() => dropoutForward(x, { p: NaN, mode: 'train' })).toThrow(
      'dropoutForward: dropoutParam.p must be a finite number, got NaN',
    );
    expect(() => dropoutForward(x, { p: 0.5, mode: 'eval' as 'test' })).toThrow(
      "dropoutForward: dropoutParam.mode must be 'train' or 'test', got 'eval'",
    );
    expect(() =>
      dropoutForward(x, { prob: 0.5, mode: 'train' } as unknown as DropoutParam),
    ).toThrow("dropoutForward: unknown option 'prob'");
    expect(() => dropoutForward(x, { p: 0.5, mode: 'train', seed: 1, rng: new Rng(1) })).toThrow(
      'dropoutForward: give dropoutParam.seed or dropoutParam.rng, not both',
    );
    const { cache } = dropoutForward(x, { p: 0.5, mode: 'train', seed: 1 });
    expect(() => dropoutBackward(Tensor.zeros([3, 2], 'float64'), cache)).toThrow(
      'dropoutBackward: dout has shape [3,2] but the forward input was [2,3]',
    );
  });
});
