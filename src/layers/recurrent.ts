// src/layers/recurrent.ts: what the recurrent layers (rnn.ts, lstm.ts, gru.ts) share: the checks
// of a cell's inputs and weights, of an incoming gradient, the gemms that turn pre-activation
// gradients into input and weight gradients (one step, or all T steps at once), and the copy of
// the time-major hidden states into the batch-major output.
import { kernelsFor, type Buf } from '../kernels/index.js';
import {
  expectFloat,
  expectNdim,
  expectSameDType,
  expectShape,
  fmt,
  Tensor,
  type FloatTensor,
} from '../tensor/index.js';

/** A recurrent layer's checked arguments and sizes. */
export interface CheckedCell {
  readonly N: number;
  readonly D: number;
  readonly H: number;
  readonly x: FloatTensor;
  readonly h: FloatTensor; // prevH of a step, h0 of a sequence
  readonly Wx: FloatTensor;
  readonly Wh: FloatTensor;
  readonly b: FloatTensor;
}

/**
 * Checks a cell's arguments: x (N, D) for a step or (N, T, D) for a sequence (`layout`), h (N, H)
 * named hName, Wx (D, G·H), Wh (H, G·H), b (G·H), with G gates (1 for the RNN, 3 for the GRU,
 * 4 for the LSTM), all float of one dtype.
 */
export function checkCell(
  fn: string,
  x: Tensor,
  layout: '(N, D)' | '(N, T, D)',
  h: Tensor,
  hName: string,
  Wx: Tensor,
  Wh: Tensor,
  b: Tensor,
  G: number,
): CheckedCell {
  expectFloat(fn, 'x', x);
  expectNdim(fn, 'x', x, layout === '(N, D)' ? 2 : 3, layout);
  expectFloat(fn, hName, h);
  expectFloat(fn, 'Wx', Wx);
  expectFloat(fn, 'Wh', Wh);
  expectFloat(fn, 'b', b);
  expectSameDType(fn, { x, [hName]: h, Wx, Wh, b });
  expectNdim(fn, hName, h, 2, '(N, H)');
  const N = x.shape[0],
    D = x.shape[x.shape.length - 1],
    H = h.shape[1];
  expectShape(fn, hName, h, [N, H], `x has ${N} rows (shape ${fmt(x.shape)})`);
  const gates = G === 1 ? '' : `${G}·`;
  const [wx, wh, bias] = [[D, G * H], [H, G * H], [G * H]];
  expectShape(
    fn,
    'Wx',
    Wx,
    wx,
    `x has ${D} features and ${hName} has ${H}, so Wx must be ${fmt(wx)} (D, ${gates}H)`,
  );
  expectShape(
    fn,
    'Wh',
    Wh,
    wh,
    `${hName} has ${H} features, so Wh must be ${fmt(wh)} (H, ${gates}H)`,
  );
  expectShape(
    fn,
    'b',
    b,
    bias,
    `${hName} has ${H} features, so b must be ${fmt(bias)} (${gates}H)`,
  );
  return { N, D, H, x, h, Wx, Wh, b };
}

/** Checks the gradient arriving at a backward against the forward output's shape and dtype. */
export function checkGrad(
  fn: string,
  arg: string,
  d: Tensor,
  shape: readonly number[],
  like: Tensor,
): asserts d is FloatTensor {
  expectFloat(fn, arg, d);
  expectShape(fn, arg, d, shape, `the forward output was ${fmt(shape)}`);
  expectSameDType(fn, { x: like, [arg]: d });
}

/** h (N, T, H): the states h_1..h_T of hs (T + 1, N, H), time-major, moved to batch-major. */
export function batchMajorStates(hs: FloatTensor, N: number, T: number, H: number): FloatTensor {
  const h = Tensor.zeros([N, T, H], hs.dtype);
  kernelsFor(hs.dtype).swapOuterAxes(h.data, hs.data.subarray(N * H), T, N, H); // (T, N, H) -> (N, T, H)
  return h;
}

/**
 * The input and weight gradients of one step from its pre-activation gradients da (N, G·H):
 * dx = da·Wxᵀ, dprevH = daH·Whᵀ, dWx = xᵀ·da, dWh = prevHᵀ·daH, db = Σₙ da[n, :]. daH, the
 * gradient of the h·Wh part, equals da except in the GRU (whose candidate gate scales h·Wh by r);
 * there dprevH is only the part that flows through Wh.
 */
export function stepGrads(
  da: Buf,
  x: FloatTensor,
  prevH: FloatTensor,
  Wx: FloatTensor,
  Wh: FloatTensor,
  daH: Buf = da,
): { dx: FloatTensor; dprevH: FloatTensor; dWx: FloatTensor; dWh: FloatTensor; db: FloatTensor } {
  const [N, D] = x.shape,
    [H, GH] = Wh.shape,
    dtype = x.dtype,
    k = kernelsFor(dtype);
  const dx = Tensor.zeros([N, D], dtype),
    dprevH = Tensor.zeros([N, H], dtype);
  const dWx = Tensor.zeros([D, GH], dtype),
    dWh = Tensor.zeros([H, GH], dtype),
    db = Tensor.zeros([GH], dtype);
  k.gemm(dx.data, da, Wx.data, N, GH, D, { transB: true }); // (N, GH)·(GH, D)
  k.gemm(dprevH.data, daH, Wh.data, N, GH, H, { transB: true }); // (N, GH)·(GH, H)
  k.gemm(dWx.data, x.data, da, D, N, GH, { transA: true }); // (D, N)·(N, GH)
  k.gemm(dWh.data, prevH.data, daH, H, N, GH, { transA: true }); // (H, N)·(N, GH)
  k.sumRows(db.data, da, N, GH);
  return { dx, dprevH, dWx, dWh, db };
}

/**
 * The gradients of a sequence backward from its time-major pre-activation gradients da
 * (T, N, G·H) and dnextH (N, H), what reached h_0: dh0 = dnextH, dx = da·Wxᵀ,
 * dWx = Σ_t x_tᵀ·da_t, dWh = Σ_t h_{t−1}ᵀ·daH_t, db = Σ da, each as one gemm over all steps
 * (hs (T + 1, N, H) holds h_0..h_T, so hs[0..T−1] are the h_{t−1}). daH as in stepGrads.
 */
export function sequenceGrads(
  da: Buf,
  dnextH: Buf,
  x: FloatTensor,
  Wx: FloatTensor,
  hs: FloatTensor,
  H: number,
  daH: Buf = da,
): { dx: FloatTensor; dh0: FloatTensor; dWx: FloatTensor; dWh: FloatTensor; db: FloatTensor } {
  const [N, T, D] = x.shape,
    GH = Wx.shape[1],
    dtype = x.dtype,
    k = kernelsFor(dtype);
  const dh0 = Tensor.zeros([N, H], dtype);
  dh0.data.set(dnextH);
  const daB = Tensor.zeros([N, T, GH], dtype).data; // da in the (N, T) order of x
  k.swapOuterAxes(daB, da, T, N, GH); // (T, N, GH) -> (N, T, GH)
  const dx = Tensor.zeros([N, T, D], dtype);
  const dWx = Tensor.zeros([D, GH], dtype),
    dWh = Tensor.zeros([H, GH], dtype),
    db = Tensor.zeros([GH], dtype);
  k.gemm(dx.data, daB, Wx.data, N * T, GH, D, { transB: true }); // (N·T, GH)·(GH, D)
  k.gemm(dWx.data, x.data, daB, D, N * T, GH, { transA: true }); // (D, N·T)·(N·T, GH)
  k.gemm(dWh.data, hs.data.subarray(0, T * N * H), daH, H, T * N, GH, { transA: true }); // (H, T·N)·(T·N, GH)
  k.sumRows(db.data, da, T * N, GH);
  return { dx, dh0, dWx, dWh, db };
}
