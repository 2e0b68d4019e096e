// src/tensor/errors.ts: the error classes every layer of layerwise throws. Messages name the
// function, the argument and the numbers, e.g. "affineForward: w has shape [5,3] but x flattens to [2,4]".

/** A tensor whose shape does not fit what the function needs. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

/** A tensor of the wrong dtype, or two tensors whose dtypes do not match. */
export class DTypeError extends Error {
  override name = 'DTypeError';
}

/** A value outside its allowed range: a label >= numClasses, a negative learning rate, a NaN. */
export class ValueError extends Error {
  override name = 'ValueError';
}
