// src/io/modelInput.ts: the conversion of a decoded image (pngDecode.ts) into a model input, for
// `layerwise predict`: grey/colour conversion, alpha compositing, inversion and resizing (stretch,
// or MNIST's own digit normalisation).
import {
  expectOneOf,
  fmt,
  Tensor,
  ValueError,
  expectOptions,
  type FloatTensor,
} from '../tensor/index.js';
import type { PngImage } from './pngFormat.js';

export interface ModelInputOptions {
  /**
   * Dark-on-light detection. MNIST digits are white on black; people draw black on white. With
   * 'auto' (the default for C = 1) the image is inverted (v -> 1 - v) when the mean of its
   * one-pixel border is above 0.5, i.e. when the background is light. Default false for C = 3.
   */
  invert?: 'auto' | boolean;
  /**
   * What transparent pixels are composited on: 'auto' (default) picks the opposite of the drawn
   * pixels (white when their alpha-weighted mean grey is below 0.5, else black), so strokes on a
   * transparent canvas stay visible whatever their colour.
   */
  background?: 'auto' | 'black' | 'white';
  /**
   * How the picture is fitted into H x W. 'stretch' (default): the whole image is resized to
   * H x W. 'digit': MNIST's own normalisation, for a drawn digit: crop to the bounding box of the
   * ink (values above 0.2 of the maximum, after inversion), pad it to a square, resize it to fit
   * a (20/28 H) x (20/28 W) box and place that box so the ink's centre of mass lands on pixel
   * (H/2, W/2), where MNIST digits have theirs (zero elsewhere). An image without ink falls back
   * to 'stretch'.
   */
  fit?: 'stretch' | 'digit';
}

/** C planes of (H, W) values. */
interface Planes {
  data: Float64Array[];
  H: number;
  W: number;
}

/**
 * Turns a decoded image into a model input: out (1, C, H, W) float32 in [0, 1] for
 * shape = [C, H, W], C = 1 or 3.
 * 1. samples v / 255; colour -> grey by 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, as PIL's
 *    convert('L')), grey -> RGB by repeating it;
 * 2. alpha composited on the background (see ModelInputOptions.background): a v + (1 - a) bg;
 * 3. optional inversion (ModelInputOptions.invert);
 * 4. resize to H x W (ModelInputOptions.fit), per axis by area averaging when shrinking and
 *    bilinear interpolation (half-pixel centres) when enlarging.
 */
export function toModelInput(
  img: PngImage,
  shape: readonly [number, number, number],
  opts: ModelInputOptions = {},
): FloatTensor {
  const fn = 'toModelInput';
  expectOptions(fn, opts, ['invert', 'background', 'fit']);
  const [C, H, W] = shape;
  const sizesOk = [H, W].every((d) => Number.isInteger(d) && d >= 1);
  if (!Array.isArray(shape) || shape.length !== 3 || (C !== 1 && C !== 3) || !sizesOk) {
    throw new ValueError(
      `${fn}: shape must be [C, H, W] with C = 1 or 3, got ${fmt(shape as readonly number[])}`,
    );
  }
  const invert = opts.invert ?? (C === 1 ? 'auto' : false),
    background = opts.background ?? 'auto';
  const fit = opts.fit ?? 'stretch';
  expectOneOf(fn, 'fit', fit, ['stretch', 'digit']);
  const planes = toPlanes(img, C, background);
  if (invert === true || (invert === 'auto' && borderMean(planes) > 0.5)) {
    for (const plane of planes.data) for (let i = 0; i < plane.length; i++) plane[i] = 1 - plane[i];
  }
  const fitted = (fit === 'digit' && fitDigit(planes, H, W)) || resizePlanes(planes, H, W);
  const out = Tensor.zeros([1, C, H, W]);
  fitted.data.forEach((plane, c) => {
    for (let i = 0; i < H * W; i++) out.data[c * H * W + i] = Math.min(1, Math.max(0, plane[i]));
  });
  return out;
}

/** Steps 1 and 2 of toModelInput: C planes in [0, 1], alpha composited on the background. */
function toPlanes(img: PngImage, C: number, background: 'auto' | 'black' | 'white'): Planes {
  const { width: W, height: H, channels, data } = img;
  const hasAlpha = channels === 2 || channels === 4,
    colour = channels >= 3,
    P = W * H;
  const planes = Array.from({ length: C }, () => new Float64Array(P));
  const alpha = new Float64Array(P).fill(1);
  let drawnSum = 0,
    drawnWeight = 0;
  for (let i = 0; i < P; i++) {
    const off = i * channels;
    const r = data[off] / 255,
      g = colour ? data[off + 1] / 255 : r,
      b = colour ? data[off + 2] / 255 : r;
    if (hasAlpha) alpha[i] = data[off + channels - 1] / 255;
    const grey = colour ? 0.299 * r + 0.587 * g + 0.114 * b : r;
    drawnSum += alpha[i] * grey;
    drawnWeight += alpha[i];
    if (C === 1) planes[0][i] = grey;
    else [planes[0][i], planes[1][i], planes[2][i]] = [r, g, b];
  }
  if (hasAlpha) {
    const auto = drawnWeight > 0 && drawnSum / drawnWeight < 0.5 ? 1 : 0;
    const bg = background === 'white' ? 1 : background === 'black' ? 0 : auto;
    for (const plane of planes)
      for (let i = 0; i < P; i++) plane[i] = alpha[i] * plane[i] + (1 - alpha[i]) * bg;
  }
  return { data: planes, H, W };
}

/** Every plane resized to Hout x Wout, separably: along the width, then along the height. */
function resizePlanes(p: Planes, Hout: number, Wout: number): Planes {
  const alongW = resizeWeights(p.W, Wout),
    alongH = resizeWeights(p.H, Hout);
  const data = p.data.map((plane) => {
    const tmp = new Float64Array(p.H * Wout); // (H, Wout)
    for (let y = 0; y < p.H; y++) {
      for (let x = 0; x < Wout; x++) {
        const { idx, w } = alongW[x];
        let s = 0;
        for (let k = 0; k < idx.length; k++) s += w[k] * plane[y * p.W + idx[k]];
        tmp[y * Wout + x] = s;
      }
    }
    const out = new Float64Array(Hout * Wout); // (Hout, Wout)
    for (let y = 0; y < Hout; y++) {
      const { idx, w } = alongH[y];
      for (let x = 0; x < Wout; x++) {
        let s = 0;
        for (let k = 0; k < idx.length; k++) s += w[k] * tmp[idx[k] * Wout + x];
        out[y * Wout + x] = s;
      }
    }
    return out;
  });
  return { data, H: Hout, W: Wout };
}

/** The 'digit' fit (see ModelInputOptions.fit), or null when the image has no ink. */
function fitDigit(p: Planes, H: number, W: number): Planes | null {
  const ink = new Float64Array(p.H * p.W); // mean over the planes
  for (const plane of p.data)
    for (let i = 0; i < ink.length; i++) ink[i] += plane[i] / p.data.length;
  let max = 0;
  for (const v of ink) max = Math.max(max, v);
  if (max <= 0) return null;
  let [y0, y1, x0, x1] = [p.H, -1, p.W, -1];
  for (let y = 0; y < p.H; y++) {
    for (let x = 0; x < p.W; x++) {
      if (ink[y * p.W + x] <= 0.2 * max) continue;
      [y0, y1, x0, x1] = [Math.min(y0, y), Math.max(y1, y), Math.min(x0, x), Math.max(x1, x)];
    }
  }
  // the square crop centred on the ink's bounding box, zero outside the picture
  const S = Math.max(y1 - y0 + 1, x1 - x0 + 1),
    top = y0 - Math.floor((S - (y1 - y0 + 1)) / 2);
  const left = x0 - Math.floor((S - (x1 - x0 + 1)) / 2);
  const crop = p.data.map((plane) => {
    const out = new Float64Array(S * S);
    for (let y = 0; y < S; y++) {
      const ys = top + y;
      if (ys < 0 || ys >= p.H) continue;
      for (let x = 0; x < S; x++) {
        const xs = left + x;
        if (xs >= 0 && xs < p.W) out[y * S + x] = plane[ys * p.W + xs];
      }
    }
    return out;
  });
  const boxH = Math.max(1, Math.round((H * 20) / 28)),
    boxW = Math.max(1, Math.round((W * 20) / 28));
  const box = resizePlanes({ data: crop, H: S, W: S }, boxH, boxW);
  // centre of mass of the box's ink -> the centre of the field
  let m = 0,
    my = 0,
    mx = 0;
  for (let y = 0; y < boxH; y++) {
    for (let x = 0; x < boxW; x++) {
      let v = 0;
      for (const plane of box.data) v += plane[y * boxW + x];
      m += v;
      my += v * y;
      mx += v * x;
    }
  }
  // MNIST's digits have their centre of mass at (14, 14) of 28 x 28 (pixel indices): H/2, W/2
  const dy = Math.round(H / 2 - my / m),
    dx = Math.round(W / 2 - mx / m);
  const data = box.data.map((plane) => {
    const out = new Float64Array(H * W);
    for (let y = 0; y < boxH; y++) {
      const yo = y + dy;
      if (yo < 0 || yo >= H) continue;
      for (let x = 0; x < boxW; x++) {
        const xo = x + dx;
        if (xo >= 0 && xo < W) out[yo * W + xo] = plane[y * boxW + x];
      }
    }
    return out;
  });
  return { data, H, W };
}

/** Mean over the one-pixel border of all planes (the background of a centred drawing). */
function borderMean({ data, H, W }: Planes): number {
  let s = 0,
    n = 0;
  for (const plane of data) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        if (y === 0 || y === H - 1 || x === 0 || x === W - 1) {
          s += plane[y * W + x];
          n++;
        }
      }
    }
  }
  return s / n;
}

/**
 * Interpolation weights along one axis, in -> out samples: area averaging when out <= in (each
 * output covers [j in/out, (j+1) in/out) of the input, weights = overlap / (in/out)); bilinear
 * with half-pixel centres when out > in (source coordinate (j + 0.5) in/out - 0.5, clamped).
 */
export function resizeWeights(inSize: number, outSize: number): { idx: number[]; w: number[] }[] {
  const ratio = inSize / outSize;
  return Array.from({ length: outSize }, (_, j) => {
    if (outSize <= inSize) {
      const lo = j * ratio,
        hi = (j + 1) * ratio,
        idx: number[] = [],
        w: number[] = [];
      for (let i = Math.floor(lo); i < Math.min(inSize, Math.ceil(hi)); i++) {
        const overlap = Math.min(hi, i + 1) - Math.max(lo, i);
        if (overlap > 1e-12) {
          idx.push(i);
          w.push(overlap / ratio);
        }
      }
      return { idx, w };
    }
    const src = Math.min(inSize - 1, Math.max(0, (j + 0.5) * ratio - 0.5));
    const i0 = Math.floor(src),
      i1 = Math.min(inSize - 1, i0 + 1),
      f = src - i0;
    return i1 === i0 || f === 0 ? { idx: [i0], w: [1] } : { idx: [i0, i1], w: [1 - f, f] };
  });
}
