// src/layers/softmax.ts: the one numerically stable softmax of a row, shared by the softmax losses,
// the captioning model's sampling and `layerwise predict`.

/**
 * The shift of a stable softmax over x[off .. off + n): max = maxⱼ xⱼ and
 * logSum = log Σⱼ exp(xⱼ − max), so that log softmax(x)ⱼ = xⱼ − max − logSum and
 * softmax(x)ⱼ = exp(xⱼ − max − logSum). Subtracting the max keeps every exp in (0, 1] and the
 * sum in [1, n], so logits of any size (1e4, −1e4) give finite results, never Infinity/Infinity.
 */
export function softmaxShift(
  x: ArrayLike<number>,
  off: number,
  n: number,
): { max: number; logSum: number } {
  let max = -Infinity;
  for (let j = 0; j < n; j++) max = Math.max(max, x[off + j]);
  let sumExp = 0;
  for (let j = 0; j < n; j++) sumExp += Math.exp(x[off + j] - max);
  return { max, logSum: Math.log(sumExp) };
}

/**
 * Cross-entropy of one row of logits x[off .. off + n) against `label`, returned as
 * −log softmax(x)_label = logSum − (x_label − max); writes its gradient
 * dx[off + j] = (softmax(x)ⱼ − [j = label]) / N (N, the batch size, makes it a batch mean).
 */
export function softmaxCrossEntropyRow(
  x: ArrayLike<number>,
  dx: { [j: number]: number },
  off: number,
  n: number,
  label: number,
  N: number,
): number {
  const { max, logSum } = softmaxShift(x, off, n);
  for (let j = 0; j < n; j++) dx[off + j] = Math.exp(x[off + j] - max - logSum) / N;
  dx[off + label] -= 1 / N;
  return logSum - (x[off + label] - max);
}
