// src/data/augment.ts: training-time data augmentation, drawn from an Rng the caller owns, so a
// seeded run sees the same augmented minibatches every time. Each function has the signature of
// the Solver's `augment` hook once its amount is bound (see makeAugment).
import {
  expectOneOf,
  Rng,
  Tensor,
  expectFloat,
  expectNdim,
  expectNumber,
  type FloatTensor,
} from '../tensor/index.js';

/** The Solver's augmentation hook: a fresh batch from a batch, never modifying its input. */
export type AugmentFn = (X: FloatTensor, rng: Rng) => FloatTensor;

/**
 * Copies image x (C, H, W) at xOff into out at outOff, translated by (dy, dx) and optionally
 * mirrored left-right first: out[c, h, w] = src[c, h - dy, w - dx], src = x or its mirror,
 * 0 where h - dy or w - dx falls outside the image.
 */
function placeImage(
  x: ArrayLike<number>,
  out: Float32Array | Float64Array,
  off: number,
  C: number,
  H: number,
  W: number,
  dy: number,
  dx: number,
  flip: boolean,
): void {
  const w0 = Math.max(0, dx),
    w1 = Math.min(W, W + dx); // output columns with a source pixel
  for (let c = 0; c < C; c++) {
    for (let h = 0; h < H; h++) {
      const hs = h - dy;
      if (hs < 0 || hs >= H) continue; // zero fill (out starts zeroed)
      const srcRow = off + (c * H + hs) * W,
        outRow = off + (c * H + h) * W;
      for (let w = w0; w < w1; w++) {
        const ws = w - dx;
        out[outRow + w] = x[srcRow + (flip ? W - 1 - ws : ws)];
      }
    }
  }
}

function checkImages(fn: string, X: FloatTensor): void {
  expectFloat(fn, 'X', X);
  expectNdim(fn, 'X', X, 4, '(N, C, H, W)');
}

/**
 * Random translations with zero fill: each image moves by (dy, dx), both uniform integers in
 * [-maxShift, maxShift] drawn in that order from rng (dy = rng.int(2 maxShift + 1) - maxShift).
 * X: (N, C, H, W) => out: (N, C, H, W), a new tensor (X is not modified).
 */
export function randomShift(X: FloatTensor, rng: Rng, maxShift: number): FloatTensor {
  checkImages('randomShift', X);
  expectNumber('randomShift', 'maxShift', maxShift, { min: 0, integer: true });
  if (!(rng instanceof Rng)) throw new TypeError('randomShift: rng must be an Rng');
  const [N, C, H, W] = X.shape,
    D = C * H * W;
  const out = Tensor.zeros(X.shape, X.dtype); // the zero fill around each moved image
  for (let n = 0; n < N; n++) {
    const dy = rng.int(2 * maxShift + 1) - maxShift,
      dx = rng.int(2 * maxShift + 1) - maxShift;
    placeImage(X.data, out.data, n * D, C, H, W, dy, dx, false);
  }
  return out;
}

/**
 * Random horizontal flips and random crops (the CIFAR-10 recipe): each image is mirrored
 * left-right when rng.int(2) === 1, then zero-padded by `pad` on every side and cropped back to
 * H x W at offsets (oy, ox) = (rng.int(2 pad + 1), rng.int(2 pad + 1)), i.e. shifted by
 * (pad - oy, pad - ox). X: (N, C, H, W) => out: (N, C, H, W), a new tensor.
 */
export function randomFlipCrop(X: FloatTensor, rng: Rng, pad: number): FloatTensor {
  checkImages('randomFlipCrop', X);
  expectNumber('randomFlipCrop', 'pad', pad, { min: 0, integer: true });
  if (!(rng instanceof Rng)) throw new TypeError('randomFlipCrop: rng must be an Rng');
  const [N, C, H, W] = X.shape,
    D = C * H * W;
  const out = Tensor.zeros(X.shape, X.dtype); // the zero fill around each cropped image
  for (let n = 0; n < N; n++) {
    const flip = rng.int(2) === 1;
    const oy = rng.int(2 * pad + 1),
      ox = rng.int(2 * pad + 1);
    placeImage(X.data, out.data, n * D, C, H, W, pad - oy, pad - ox, flip);
  }
  return out;
}

export type AugmentKind = 'shift' | 'flip-crop';
export const AUGMENT_KINDS: readonly AugmentKind[] = ['shift', 'flip-crop'];

/**
 * A Solver augment hook: makeAugment('shift', 2) = (X, rng) => randomShift(X, rng, 2) (digits),
 * makeAugment('flip-crop', 4) = (X, rng) => randomFlipCrop(X, rng, 4) (CIFAR-10).
 */
export function makeAugment(kind: AugmentKind, amount: number): AugmentFn {
  expectOneOf('makeAugment', 'kind', kind, AUGMENT_KINDS);
  expectNumber('makeAugment', 'amount', amount, { min: 0, integer: true });
  return kind === 'shift'
    ? (X, rng) => randomShift(X, rng, amount)
    : (X, rng) => randomFlipCrop(X, rng, amount);
}
