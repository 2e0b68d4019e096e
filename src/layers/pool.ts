// src/layers/pool.ts: max and average pooling over poolHeight x poolWidth windows moved by
// `stride` along H and W, without padding, per channel. Windows may overlap (stride < pool
// size); their gradients then add up at the inputs they share.
import { kernelsFor } from '../kernels/index.js';
import {
  expectFloat,
  expectNdim,
  expectNumber,
  expectOptions,
  expectSameDType,
  expectShape,
  fmt,
  ShapeError,
  Tensor,
  type FloatData,
  type FloatTensor,
} from '../tensor/index.js';

/** Pooling options; all three are required. */
export interface PoolParam {
  readonly poolHeight: number;
  readonly poolWidth: number;
  readonly stride: number;
}

/** The pooling geometry of one channel: input H x W, output Hout x Wout. */
interface PoolGeometry {
  readonly H: number;
  readonly W: number;
  readonly poolHeight: number;
  readonly poolWidth: number;
  readonly stride: number;
  readonly Hout: number; // 1 + ⌊(H − poolHeight) / stride⌋
  readonly Wout: number; // 1 + ⌊(W − poolWidth) / stride⌋
}

/** Position of a maximum inside its window, i·poolWidth + j, in the smallest array that holds it. */
export type WindowOffsets = Uint8Array | Uint16Array | Int32Array;

export interface MaxPoolCache {
  readonly x: FloatTensor; // (N, C, H, W); dx gets its shape and dtype
  readonly geometry: PoolGeometry;
  /**
   * (N, C, Hout, Wout): offset i·poolWidth + j of each window's maximum. Absent for 2x2 windows at
   * stride 2, whose backward finds each maximum again from x (kernels.maxPool2x2Backward).
   */
  readonly argmax?: WindowOffsets;
}

export interface AvgPoolCache {
  readonly x: FloatTensor; // (N, C, H, W)
  readonly geometry: PoolGeometry;
}

/** Validates x (already known to be float) and poolParam; returns the geometry. */
function poolGeometry(fn: string, x: FloatTensor, poolParam: PoolParam): PoolGeometry {
  expectNdim(fn, 'x', x, 4, '(N, C, H, W)');
  if (poolParam === null || typeof poolParam !== 'object') {
    throw new TypeError(`${fn}: poolParam must be an object { poolHeight, poolWidth, stride }`);
  }
  expectOptions(fn, poolParam, ['poolHeight', 'poolWidth', 'stride']);
  const { poolHeight, poolWidth, stride } = poolParam;
  expectNumber(fn, 'poolHeight', poolHeight, { integer: true, min: 1 });
  expectNumber(fn, 'poolWidth', poolWidth, { integer: true, min: 1 });
  expectNumber(fn, 'stride', stride, { integer: true, min: 1 });
  const [, , H, W] = x.shape;
  if (poolHeight > H || poolWidth > W) {
    throw new ShapeError(
      `${fn}: the ${poolHeight}x${poolWidth} pool window does not fit x of shape ${fmt(x.shape)}, so the output would be empty`,
    );
  }
  const Hout = 1 + Math.floor((H - poolHeight) / stride),
    Wout = 1 + Math.floor((W - poolWidth) / stride);
  return { H, W, poolHeight, poolWidth, stride, Hout, Wout };
}

function checkDout(
  fn: string,
  dout: Tensor,
  x: FloatTensor,
  g: PoolGeometry,
): asserts dout is FloatTensor {
  expectFloat(fn, 'dout', dout);
  const want = [x.shape[0], x.shape[1], g.Hout, g.Wout];
  expectShape(fn, 'dout', dout, want, `the forward output was ${fmt(want)}`);
  expectSameDType(fn, { x, dout });
}

/** Whether the windows are 2x2 at stride 2 (the kernels' case). */
const is2x2 = (g: PoolGeometry): boolean =>
  g.poolHeight === 2 && g.poolWidth === 2 && g.stride === 2;

/** An array for n window offsets below `area`: one byte each when the window has at most 256 cells. */
function windowOffsets(n: number, area: number): WindowOffsets {
  if (area <= 256) return new Uint8Array(n);
  return area <= 65536 ? new Uint16Array(n) : new Int32Array(n);
}

/** Whether v replaces the running maximum m: it is larger, or the first NaN (which then stays). */
const beats = (v: number, m: number): boolean => v > m || (v !== v && m === m);

/**
 * Offset i·poolWidth + j of the first maximum of the window whose top-left cell is xd[corner],
 * scanning in row-major order (so a tie keeps the earlier cell and the first NaN wins).
 */
function firstMax(
  xd: FloatData,
  corner: number,
  W: number,
  poolHeight: number,
  poolWidth: number,
): number {
  let best = 0,
    bestV = xd[corner];
  for (let i = 0; i < poolHeight; i++) {
    const xRow = corner + i * W;
    for (let j = 0; j < poolWidth; j++) {
      if (beats(xd[xRow + j], bestV)) {
        best = i * poolWidth + j;
        bestV = xd[xRow + j];
      }
    }
  }
  return best;
}

/** The general max pool: any window and stride, each window scanned by firstMax. */
function maxPoolGeneral(
  x: FloatTensor,
  g: PoolGeometry,
): { out: FloatTensor; argmax: WindowOffsets } {
  const { H, W, poolHeight, poolWidth, stride, Hout, Wout } = g;
  const [N, C] = x.shape;
  const out = Tensor.zeros([N, C, Hout, Wout], x.dtype);
  const argmax = windowOffsets(out.size, poolHeight * poolWidth);
  const xd = x.data,
    od = out.data;
  for (let plane = 0; plane < N * C; plane++) {
    const xPlane = plane * H * W,
      outPlane = plane * Hout * Wout;
    for (let ho = 0; ho < Hout; ho++) {
      for (let wo = 0; wo < Wout; wo++) {
        const corner = xPlane + ho * stride * W + wo * stride,
          outAt = outPlane + ho * Wout + wo;
        const best = firstMax(xd, corner, W, poolHeight, poolWidth);
        argmax[outAt] = best;
        od[outAt] = xd[corner + Math.floor(best / poolWidth) * W + (best % poolWidth)];
      }
    }
  }
  return { out, argmax };
}

/**
 * out[n, c, ho, wo] = max over the window x[n, c, ho·stride + i, wo·stride + j], 0 ≤ i < poolHeight,
 * 0 ≤ j < poolWidth. A tie goes to the first maximum in row-major window order; a NaN wins (it is
 * propagated, as torch does, so that a diverging net shows). 2x2 windows at stride 2 run on the
 * kernels (maxPool2x2Forward: the same maxima, by a branch-free tournament), everything else
 * the general loop (maxPoolGeneral).
 * x: (N, C, H, W) => out: (N, C, Hout, Wout), Hout = 1 + ⌊(H − poolHeight) / stride⌋
 */
export function maxPoolForward(
  x: Tensor,
  poolParam: PoolParam,
): { out: FloatTensor; cache: MaxPoolCache } {
  expectFloat('maxPoolForward', 'x', x);
  const g = poolGeometry('maxPoolForward', x, poolParam);
  if (is2x2(g)) {
    const [N, C] = x.shape;
    const out = Tensor.empty([N, C, g.Hout, g.Wout], x.dtype); // written in full by the kernel
    kernelsFor(x.dtype).maxPool2x2Forward(out.data, x.data, N * C, g.H, g.W);
    return { out, cache: { x, geometry: g } };
  }
  const { out, argmax } = maxPoolGeneral(x, g);
  return { out, cache: { x, geometry: g, argmax } };
}

/**
 * dx[argmax of each window] += dout of that window; every other input gets 0. Overlapping
 * windows that share a maximum both add to it.   dout: (N, C, Hout, Wout) => dx: (N, C, H, W)
 */
export function maxPoolBackward(dout: Tensor, cache: MaxPoolCache): { dx: FloatTensor } {
  const { x, geometry: g, argmax } = cache;
  checkDout('maxPoolBackward', dout, x, g);
  const { H, W, poolHeight, poolWidth, stride, Hout, Wout } = g;
  const [N, C] = x.shape;
  if (argmax === undefined) {
    if (!is2x2(g))
      throw new TypeError(
        'maxPoolBackward: cache.argmax is missing (the cache is not from maxPoolForward)',
      );
    const dx = Tensor.empty(x.shape, x.dtype); // written in full by the kernel
    kernelsFor(x.dtype).maxPool2x2Backward(dx.data, dout.data, x.data, N * C, H, W);
    return { dx };
  }
  const cellAt = new Int32Array(poolHeight * poolWidth); // window offset i·poolWidth + j => i·W + j
  for (let k = 0; k < cellAt.length; k++)
    cellAt[k] = Math.floor(k / poolWidth) * W + (k % poolWidth);
  const dx = Tensor.zeros(x.shape, x.dtype),
    dxd = dx.data,
    gd = dout.data;
  let outAt = 0; // runs over (N, C, Hout, Wout) in order
  for (let plane = 0; plane < N * C; plane++) {
    for (let ho = 0; ho < Hout; ho++) {
      const xRow = plane * H * W + ho * stride * W; // top row of this row of windows
      for (let wo = 0; wo < Wout; wo++, outAt++)
        dxd[xRow + wo * stride + cellAt[argmax[outAt]]] += gd[outAt];
    }
  }
  return { dx };
}

/**
 * out[n, c, ho, wo] = mean of the window x[n, c, ho·stride + i, wo·stride + j] (poolHeight·poolWidth values).
 * x: (N, C, H, W) => out: (N, C, Hout, Wout), Hout = 1 + ⌊(H − poolHeight) / stride⌋
 */
export function avgPoolForward(
  x: Tensor,
  poolParam: PoolParam,
): { out: FloatTensor; cache: AvgPoolCache } {
  expectFloat('avgPoolForward', 'x', x);
  const g = poolGeometry('avgPoolForward', x, poolParam);
  const { H, W, poolHeight, poolWidth, stride, Hout, Wout } = g;
  const [N, C] = x.shape;
  const out = Tensor.zeros([N, C, Hout, Wout], x.dtype);
  const xd = x.data,
    od = out.data,
    area = poolHeight * poolWidth;
  for (let plane = 0; plane < N * C; plane++) {
    const xPlane = plane * H * W,
      outPlane = plane * Hout * Wout;
    for (let ho = 0; ho < Hout; ho++) {
      for (let wo = 0; wo < Wout; wo++) {
        const corner = xPlane + ho * stride * W + wo * stride;
        let s = 0;
        for (let i = 0; i < poolHeight; i++) {
          const xRow = corner + i * W;
          for (let j = 0; j < poolWidth; j++) s += xd[xRow + j];
        }
        od[outPlane + ho * Wout + wo] = s / area;
      }
    }
  }
  return { out, cache: { x, geometry: g } };
}

/**
 * Each input of a window gets dout / (poolHeight·poolWidth); overlapping windows add.
 * dout: (N, C, Hout, Wout) => dx: (N, C, H, W)
 */
export function avgPoolBackward(dout: Tensor, cache: AvgPoolCache): { dx: FloatTensor } {
  const { x, geometry: g } = cache;
  checkDout('avgPoolBackward', dout, x, g);
  const { H, W, poolHeight, poolWidth, stride, Hout, Wout } = g;
  const [N, C] = x.shape;
  const dx = Tensor.zeros(x.shape, x.dtype),
    dxd = dx.data,
    gd = dout.data,
    area = poolHeight * poolWidth;
  for (let plane = 0; plane < N * C; plane++) {
    const xPlane = plane * H * W,
      outPlane = plane * Hout * Wout;
    for (let ho = 0; ho < Hout; ho++) {
      for (let wo = 0; wo < Wout; wo++) {
        const corner = xPlane + ho * stride * W + wo * stride,
          share = gd[outPlane + ho * Wout + wo] / area;
        for (let i = 0; i < poolHeight; i++) {
          const xRow = corner + i * W;
          for (let j = 0; j < poolWidth; j++) dxd[xRow + j] += share;
        }
      }
    }
  }
  return { dx };
}

/** The cache of reluMaxPool2x2Forward: its input, the relu's input (the pooling is found again from it). */
export interface ReluMaxPoolCache {
  readonly x: FloatTensor; // (N, C, H, W)
}

/**
 * relu then 2x2 max pooling at stride 2 in one pass, the pair a CNN has after a convolution:
 * exactly maxPoolForward(reluForward(x).out, { poolHeight: 2, poolWidth: 2, stride: 2 }).out (the
 * unfused layers are the definition), without the relu's output in memory.
 * x: (N, C, H, W) => out: (N, C, ⌊H/2⌋, ⌊W/2⌋)
 */
export function reluMaxPool2x2Forward(x: Tensor): { out: FloatTensor; cache: ReluMaxPoolCache } {
  const fn = 'reluMaxPool2x2Forward';
  expectFloat(fn, 'x', x);
  const g = poolGeometry(fn, x, { poolHeight: 2, poolWidth: 2, stride: 2 });
  const [N, C] = x.shape;
  const out = Tensor.empty([N, C, g.Hout, g.Wout], x.dtype); // written in full by the kernel
  kernelsFor(x.dtype).reluMaxPool2x2Forward(out.data, x.data, N * C, g.H, g.W);
  return { out, cache: { x } };
}

/**
 * The backward of reluMaxPool2x2Forward: exactly maxPoolBackward then reluBackward, i.e. dout goes
 * to each window's first maximum of relu(x) where x is positive there, 0 everywhere else.
 * dout: (N, C, ⌊H/2⌋, ⌊W/2⌋) => dx: (N, C, H, W)
 */
export function reluMaxPool2x2Backward(dout: Tensor, cache: ReluMaxPoolCache): { dx: FloatTensor } {
  const { x } = cache;
  const [N, C, H, W] = x.shape;
  checkDout('reluMaxPool2x2Backward', dout, x, {
    H,
    W,
    poolHeight: 2,
    poolWidth: 2,
    stride: 2,
    Hout: H >> 1,
    Wout: W >> 1,
  });
  const dx = Tensor.empty(x.shape, x.dtype); // written in full by the kernel
  kernelsFor(x.dtype).reluMaxPool2x2Backward(dx.data, dout.data, x.data, N * C, H, W);
  return { dx };
}
