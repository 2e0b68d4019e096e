// test/data/augment.test.ts: augmentations against a per-pixel reference written from their
// definitions (with the same Rng draws), plus edge cases and no mutation.
import { describe, expect, it } from 'vitest';
import { makeAugment, randomFlipCrop, randomShift } from '../../src/data/augment.js';
import { Rng, Tensor, type FloatTensor } from '../../src/tensor/index.js';
import { snapshot } from '../helpers.js';

/** out[n, c, h, w] = x[n, c, h - dy, w' ] with w' = (flip ? W-1-(w-dx) : w-dx), 0 outside. */
function reference(X: FloatTensor, moves: { dy: number; dx: number; flip: boolean }[]): number[] {
  const [N, C, H, W] = X.shape,
    out: number[] = [];
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let h = 0; h < H; h++) {
        for (let w = 0; w < W; w++) {
          const { dy, dx, flip } = moves[n],
            hs = h - dy,
            ws = w - dx;
          out.push(
            hs >= 0 && hs < H && ws >= 0 && ws < W ? X.get(n, c, hs, flip ? W - 1 - ws : ws) : 0,
          );
        }
      }
    }
  }
  return out;
}

describe('randomShift', () => {
  it('translates each image by its own (dy, dx) in [-maxShift, maxShift], zero fill', () => {
    const X = Tensor.randn([6, 2, 5, 4], { seed: 1 }),
      unchanged = snapshot(X);
    const out = randomShift(X, new Rng(7), 2);
    const draws = new Rng(7),
      moves = Array.from({ length: 6 }, () => ({
        dy: draws.int(5) - 2,
        dx: draws.int(5) - 2,
        flip: false,
      }));
    expect(Array.from(out.data)).toEqual(reference(X, moves).map(Math.fround));
    expect(unchanged()).toBe(true);
    expect(moves.some((m) => m.dy !== 0 || m.dx !== 0)).toBe(true);
  });
  it('maxShift 0 is a copy; the same seed gives the same batch', () => {
    const X = Tensor.randn([3, 1, 4, 4], { seed: 2 });
    const same = randomShift(X, new Rng(1), 0);
    expect(same).not.toBe(X);
    expect(same.data).toEqual(X.data);
    expect(randomShift(X, new Rng(3), 1).data).toEqual(randomShift(X, new Rng(3), 1).data);
  });
  it('names bad arguments', () => {
    expect(() => randomShift(Tensor.zeros([2, 784]), new Rng(0), 2)).toThrow(
      'randomShift: X has shape [2,784] but must be 4-D (N, C, H, W)',
    );
    expect(() => randomShift(Tensor.zeros([1, 1, 2, 2]), new Rng(0), 1.5)).toThrow(
      'randomShift: maxShift must be an integer, got 1.5',
    );
  });
});

describe('randomFlipCrop', () => {
  it('mirrors with probability 1/2, then crops the padded image at a random offset', () => {
    const X = Tensor.randn([8, 3, 4, 5], { seed: 3, dtype: 'float64' }),
      unchanged = snapshot(X);
    const out = randomFlipCrop(X, new Rng(11), 1);
    const draws = new Rng(11);
    const moves = Array.from({ length: 8 }, () => {
      const flip = draws.int(2) === 1,
        oy = draws.int(3),
        ox = draws.int(3);
      return { dy: 1 - oy, dx: 1 - ox, flip };
    });
    expect(Array.from(out.data)).toEqual(reference(X, moves));
    expect(out.dtype).toBe('float64');
    expect(unchanged()).toBe(true);
    expect(new Set(moves.map((m) => m.flip)).size).toBe(2);
  });
  it('pad 0 only flips: flipping twice gives the image back', () => {
    const X = Tensor.from([1, 2, 3, 4, 5, 6], [1, 1, 2, 3]);
    const outs = Array.from({ length: 8 }, (_, s) =>
      Array.from(randomFlipCrop(X, new Rng(s), 0).data),
    );
    expect(outs).toContainEqual([1, 2, 3, 4, 5, 6]);
    expect(outs).toContainEqual([3, 2, 1, 6, 5, 4]);
  });
});

describe('makeAugment', () => {
  it('binds the kind and amount into a Solver hook', () => {
    const X = Tensor.randn([2, 1, 6, 6], { seed: 4 });
    expect(makeAugment('shift', 2)(X, new Rng(5)).data).toEqual(randomShift(X, new Rng(5), 2).data);
    expect(makeAugment('flip-crop', 4)(X, new Rng(5)).data).toEqual(
      randomFlipCrop(X, new Rng(5), 4).data,
    );
    expect(() => makeAugment('rotate' as never, 1)).toThrow(
      "makeAugment: kind must be 'shift' or 'flip-crop', got 'rotate'",
    );
  });
});
