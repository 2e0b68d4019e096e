// src/layers/pool.ts: max and average pooling over poolHeight x poolWidth windows moved by
// `stride` along H and W, without padding, per channel. Windows may overlap (stride < pool
// size); their gradients then add up at the inputs they share.
import {
  expectFloat, expectNdim, expectNumber, expectOptions, expectSameDType, expectShape, fmt, ShapeError, Tensor,
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

export interface MaxPoolCache {
  readonly x: FloatTensor; // (N, C, H, W); dx gets its shape and dtype
  readonly geometry: PoolGeometry;
  readonly argmax: Int32Array; // (N, C, Hout, Wout): flat index into x of each window's maximum
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
  const Hout = 1 + Math.floor((H - poolHeight) / stride), Wout = 1 + Math.floor((W - poolWidth) / stride);
  return { H, W, poolHeight, poolWidth, stride, Hout, Wout };
}

function checkDout(fn: string, dout: Tensor, x: FloatTensor, g: PoolGeometry): asserts dout is FloatTensor {
  expectFloat(fn, 'dout', dout);
  const want = [x.shape[0], x.shape[1], g.Hout, g.Wout];
  expectShape(fn, 'dout', dout, want, `the forward output was ${fmt(want)}`);
  expectSameDType(fn, { x, dout });
}

/**
 * out[n, c, ho, wo] = max over the window x[n, c, ho·stride + i, wo·stride + j], 0 ≤ i < poolHeight,
 * 0 ≤ j < poolWidth. A tie goes to the first maximum in row-major window order; a NaN wins (it is
 * propagated, as torch does, so that a diverging net shows).
 * x: (N, C, H, W) => out: (N, C, Hout, Wout), Hout = 1 + ⌊(H − poolHeight) / stride⌋
 */
export function maxPoolForward(x: Tensor, poolParam: PoolParam): { out: FloatTensor; cache: MaxPoolCache } {
  expectFloat('maxPoolForward', 'x', x);
  const g = poolGeometry('maxPoolForward', x, poolParam);
  const { H, W, poolHeight, poolWidth, stride, Hout, Wout } = g;
  const [N, C] = x.shape;
  const out = Tensor.zeros([N, C, Hout, Wout], x.dtype);
  const argmax = new Int32Array(out.size);
  const xd = x.data, od = out.data;
  for (let plane = 0; plane < N * C; plane++) {
    const xPlane = plane * H * W, outPlane = plane * Hout * Wout;
    for (let ho = 0; ho < Hout; ho++) {
      for (let wo = 0; wo < Wout; wo++) {
        const corner = xPlane + ho * stride * W + wo * stride;
        let best = corner, bestV = xd[corner];
        for (let i = 0; i < poolHeight && bestV === bestV; i++) {
          const xRow = corner + i * W;
          for (let j = 0; j < poolWidth; j++) {
            const v = xd[xRow + j];
            if (v > bestV || v !== v) {
              best = xRow + j;
              bestV = v;
              if (v !== v) break;
            }
          }
        }
        const outAt = outPlane + ho * Wout + wo;
        od[outAt] = bestV;
        argmax[outAt] = best;
      }
    }
  }
  return { out, cache: { x, geometry: g, argmax } };
}

/**
 * dx[argmax of each window] += dout of that window; every other input gets 0. Overlapping
 * windows that share a maximum both add to it.   dout: (N, C, Hout, Wout) => dx: (N, C, H, W)
 */
export function maxPoolBackward(dout: Tensor, cache: MaxPoolCache): { dx: FloatTensor } {
  const { x, geometry: g, argmax } = cache;
  checkDout('maxPoolBackward', dout, x, g);
  const dx = Tensor.zeros(x.shape, x.dtype), dxd = dx.data, gd = dout.data;
  for (let o = 0; o < argmax.length; o++) dxd[argmax[o]] += gd[o];
  return { dx };
}

/**
 * out[n, c, ho, wo] = mean of the window x[n, c, ho·stride + i, wo·stride + j] (poolHeight·poolWidth values).
 * x: (N, C, H, W) => out: (N, C, Hout, Wout), Hout = 1 + ⌊(H − poolHeight) / stride⌋
 */
export function avgPoolForward(x: Tensor, poolParam: PoolParam): { out: FloatTensor; cache: AvgPoolCache } {
  expectFloat('avgPoolForward', 'x', x);
  const g = poolGeometry('avgPoolForward', x, poolParam);
  const { H, W, poolHeight, poolWidth, stride, Hout, Wout } = g;
  const [N, C] = x.shape;
  const out = Tensor.zeros([N, C, Hout, Wout], x.dtype);
  const xd = x.data, od = out.data, area = poolHeight * poolWidth;
  for (let plane = 0; plane < N * C; plane++) {
    const xPlane = plane * H * W, outPlane = plane * Hout * Wout;
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
  const dx = Tensor.zeros(x.shape, x.dtype), dxd = dx.data, gd = dout.data, area = poolHeight * poolWidth;
  for (let plane = 0; plane < N * C; plane++) {
    const xPlane = plane * H * W, outPlane = plane * Hout * Wout;
    for (let ho = 0; ho < Hout; ho++) {
      for (let wo = 0; wo < Wout; wo++) {
        const corner = xPlane + ho * stride * W + wo * stride, share = gd[outPlane + ho * Wout + wo] / area;
        for (let i = 0; i < poolHeight; i++) {
          const xRow = corner + i * W;
          for (let j = 0; j < poolWidth; j++) dxd[xRow + j] += share;
        }
      }
    }
  }
  return { dx };
}
