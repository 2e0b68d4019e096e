import { describe, expect, it } from 'vitest';
import {
  captionDigits,
  composeDigitCaptions,
  DIGIT_VOCABULARY,
  digitsToWords,
  digitWordToIdx,
  gatherSlotFeatures,
  scoreCaptions,
  slotFeatures,
} from '../../src/data/index.js';
import { relError } from '../../src/gradcheck/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { snapshot } from '../helpers.js';

/** 20 synthetic 28×28 "digits": image i is filled with (i + 1) / 100 and labelled i % 10. */
function synthetic() {
  const N = 20,
    X = Tensor.zeros([N, 1, 28, 28]),
    y = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    X.data.fill((i + 1) / 100, i * 784, (i + 1) * 784);
    y[i] = i % 10;
  }
  return { X, y };
}

describe('composeDigitCaptions', () => {
  it('puts each drawn digit in its slot and captions it with its words', () => {
    const { X, y } = synthetic(),
      unchanged = snapshot(X);
    const c = composeDigitCaptions(X, y, { count: 50, seed: 3 });
    expect(c.images.shape).toEqual([50, 1, 28, 112]);
    expect(c.captions.shape).toEqual([50, 6]);
    const lengths = new Set<number>();
    for (let m = 0; m < 50; m++) {
      const k = c.digits[m].length;
      lengths.add(k);
      const row = [...c.captions.data.subarray(m * 6, m * 6 + 6)];
      expect(row).toEqual([1, ...c.digits[m].map((d) => d + 3), 2, ...new Array(4 - k).fill(0)]);
      for (let j = 0; j < 4; j++) {
        const src = c.sources[m * 4 + j],
          pixel = c.images.get(m, 0, 13, j * 28 + 5);
        if (j < k) {
          expect(y[src]).toBe(c.digits[m][j]);
          expect(pixel).toBe(X.get(src, 0, 13, 5));
        } else {
          expect([src, pixel]).toEqual([-1, 0]);
        }
      }
    }
    expect([...lengths].sort()).toEqual([2, 3, 4]);
    expect(unchanged()).toBe(true);
  });

  it('is a fixed function of its seed', () => {
    const { X, y } = synthetic();
    const a = composeDigitCaptions(X, y, { count: 10, seed: 1 }),
      b = composeDigitCaptions(X, y, { count: 10, seed: 1 });
    const c = composeDigitCaptions(X, y, { count: 10, seed: 2 });
    expect(b.digits).toEqual(a.digits);
    expect([...b.images.data]).toEqual([...a.images.data]);
    expect(c.digits).not.toEqual(a.digits);
  });

  it('supports other digit counts and rejects bad input with clear messages', () => {
    const { X, y } = synthetic();
    const one = composeDigitCaptions(X, y, { count: 5, minDigits: 1, maxDigits: 1 });
    expect(one.images.shape).toEqual([5, 1, 28, 28]);
    expect(one.digits.every((d) => d.length === 1)).toBe(true);
    expect(() => composeDigitCaptions(Tensor.zeros([3, 784]), y, { count: 1 })).toThrow(
      'composeDigitCaptions: X has shape [3,784] but must be 4-D (N, 1, 28, 28)',
    );
    expect(() => composeDigitCaptions(X, y.subarray(1), { count: 1 })).toThrow(
      'composeDigitCaptions: y has 19 labels but X has 20 images',
    );
    expect(() => composeDigitCaptions(X, y, { count: 1, minDigits: 3, maxDigits: 2 })).toThrow(
      'composeDigitCaptions: maxDigits must be >= 3, got 2',
    );
    expect(() => composeDigitCaptions(X, y, { count: 1, maxDigit: 2 } as never)).toThrow(
      "composeDigitCaptions: unknown option 'maxDigit' (did you mean 'maxDigits'?)",
    );
  });
});

describe('slotFeatures', () => {
  it('computes the same fixed features for a digit in any slot, from that slot only', () => {
    const { X, y } = synthetic();
    const c = composeDigitCaptions(X, y, { count: 6, seed: 5 });
    const F = slotFeatures(c.images, { slots: 4, dim: 16, seed: 1 });
    expect(F.shape).toEqual([6, 64]);
    const block = (m: number, j: number) => [
      ...F.data.subarray(m * 64 + j * 16, m * 64 + (j + 1) * 16),
    ];
    const bySource = new Map<number, number[]>();
    for (let m = 0; m < 6; m++) {
      for (let j = 0; j < 4; j++) {
        const src = c.sources[m * 4 + j],
          f = block(m, j);
        expect(f.every((v) => v >= 0)).toBe(true); // relu
        if (bySource.has(src)) expect(relError(f, bySource.get(src) ?? [])).toBeLessThan(1e-5);
        else bySource.set(src, f);
      }
    }
    expect(bySource.size).toBeGreaterThan(3); // different sources give different features
    const distinct = [...bySource.values()];
    for (let i = 1; i < distinct.length; i++)
      expect(relError(distinct[i], distinct[0])).toBeGreaterThan(1e-3);
    expect([...slotFeatures(c.images, { slots: 4, dim: 16, seed: 1 }).data]).toEqual([...F.data]);
    expect([...slotFeatures(c.images, { slots: 4, dim: 16, seed: 2 }).data]).not.toEqual([
      ...F.data,
    ]);
  });

  it('names the shapes when the slots do not fit', () => {
    expect(() => slotFeatures(Tensor.zeros([2, 1, 28, 84]), { slots: 4 })).toThrow(
      'slotFeatures: images has shape [2,1,28,84] but 4 slots need (M, 1, 28, 112)',
    );
  });
});

describe('caption scoring and vocabulary', () => {
  it('the vocabulary holds the special tokens and the ten digit words', () => {
    expect(DIGIT_VOCABULARY.slice(0, 4)).toEqual(['<NULL>', '<START>', '<END>', 'zero']);
    expect(digitWordToIdx().nine).toBe(12);
    expect(digitsToWords([7, 2, 9])).toBe('seven two nine');
  });

  it('exact-caption and per-word accuracy', () => {
    // generated: "one two <END>", "three four five <END>", "six six" (no <END>), "<END>"
    const generated = Tensor.from(
      [
        [4, 5, 2, 0],
        [6, 7, 8, 2],
        [9, 9, 0, 0],
        [2, 0, 0, 0],
      ],
      [4, 4],
      'int32',
    );
    const truth = [
      [1, 2],
      [3, 4, 9],
      [6, 6],
      [0, 1],
    ];
    const s = scoreCaptions(generated, truth);
    expect(s.predicted).toEqual([[1, 2], [3, 4, 5], [6, 6], []]);
    expect(s.exact).toBe(2 / 4);
    expect(s.perWord).toBe(6 / 9);
    expect(
      captionDigits(
        Tensor.from(
          [
            [1, 4, 5, 2, 0],
            [1, 12, 2, 0, 0],
          ],
          [2, 5],
          'int32',
        ),
      ),
    ).toEqual([[1, 2], [9]]);
    expect(() => scoreCaptions(generated, truth.slice(1))).toThrow(
      'scoreCaptions: digits has 3 rows but generated has shape [4,4]',
    );
  });
});

describe('gatherSlotFeatures', () => {
  it('equals extracting the features of every slot of the composed images', () => {
    const { X, y } = synthetic();
    const c = composeDigitCaptions(X, y, { count: 12, seed: 8 });
    const perDigit = slotFeatures(X, { slots: 1, dim: 8, seed: 4 }); // (20, 8)
    const blank = slotFeatures(Tensor.zeros([1, 1, 28, 28]), { slots: 1, dim: 8, seed: 4 });
    const gathered = gatherSlotFeatures(c, perDigit, blank);
    // float32 sums may round differently for different batch sizes under a fast backend
    expect(relError(gathered, slotFeatures(c.images, { slots: 4, dim: 8, seed: 4 }))).toBeLessThan(
      1e-5,
    );
    expect(() => gatherSlotFeatures(c, perDigit, Tensor.zeros([7]))).toThrow(
      'gatherSlotFeatures: blank has shape [7] but digitFeatures has 8 columns',
    );
  });
});
