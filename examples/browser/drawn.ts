// examples/browser/drawn.ts: a digit drawn on a canvas, prepared the way MNIST's digits were
// (LeCun et al.): the ink's bounding box scaled to fit 20x20 pixels (aspect kept, by area
// averaging), then placed in a 28x28 image so that its centre of mass is at the centre.

/** RGBA pixels (W, H) of white ink on black -> (28 * 28) grey levels in [0, 1], row-major. */
export function digitToInput(rgba: ArrayLike<number>, W: number, H: number): Float32Array {
  const ink = new Float32Array(W * H);
  let x0 = W,
    x1 = -1,
    y0 = H,
    y1 = -1;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v = rgba[4 * (y * W + x)] / 255; // the red channel of grey ink
      ink[y * W + x] = v;
      if (v > 0.05) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  }
  const out = new Float32Array(28 * 28);
  if (x1 < 0) return out;
  const boxW = x1 - x0 + 1,
    boxH = y1 - y0 + 1;
  const scale = 20 / Math.max(boxW, boxH); // source pixel -> target pixel
  const w = Math.max(1, Math.round(boxW * scale)),
    h = Math.max(1, Math.round(boxH * scale));
  // area averaging: target pixel (i, j) of the w x h box takes the mean of its source cell
  const box = new Float32Array(w * h);
  for (let j = 0; j < h; j++) {
    const sy0 = y0 + Math.floor(j / scale),
      sy1 = Math.max(sy0 + 1, y0 + Math.floor((j + 1) / scale));
    for (let i = 0; i < w; i++) {
      const sx0 = x0 + Math.floor(i / scale),
        sx1 = Math.max(sx0 + 1, x0 + Math.floor((i + 1) / scale));
      let sum = 0,
        n = 0;
      for (let sy = sy0; sy < Math.min(sy1, H); sy++)
        for (let sx = sx0; sx < Math.min(sx1, W); sx++, n++) sum += ink[sy * W + sx];
      box[j * w + i] = n > 0 ? sum / n : 0;
    }
  }
  // centre of mass of the box, moved to (14, 14)
  let mass = 0,
    cx = 0,
    cy = 0;
  for (let j = 0; j < h; j++)
    for (let i = 0; i < w; i++) {
      const v = box[j * w + i];
      mass += v;
      cx += v * (i + 0.5);
      cy += v * (j + 0.5);
    }
  const left = Math.round(14 - cx / mass),
    top = Math.round(14 - cy / mass);
  for (let j = 0; j < h; j++)
    for (let i = 0; i < w; i++) {
      const tx = left + i,
        ty = top + j;
      if (tx >= 0 && tx < 28 && ty >= 0 && ty < 28) out[ty * 28 + tx] = box[j * w + i];
    }
  return out;
}
