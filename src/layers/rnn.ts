// src/layers/rnn.ts: the vanilla (Elman) recurrent layer, h_t = tanh(x_t Wx + h_{t-1} Wh + b), as a
// single step and over a whole sequence. The sequence versions run the input projection x·Wx for
// all T steps as one gemm and the weight gradients as one gemm each; only h·Wh is per step.
// Also holds the argument checks and the gradient tail that lstm.ts shares.
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

export interface RnnStepCache {
  readonly x: FloatTensor; // (N, D)
  readonly prevH: FloatTensor; // (N, H)
  readonly Wx: FloatTensor; // (D, H)
  readonly Wh: FloatTensor; // (H, H)
  readonly nextH: FloatTensor; // (N, H), tanh of the pre-activation
}

export interface RnnCache {
  readonly x: FloatTensor; // (N, T, D)
  readonly Wx: FloatTensor; // (D, H)
  readonly Wh: FloatTensor; // (H, H)
  readonly hs: FloatTensor; // (T + 1, N, H) hidden states, time-major; hs[0] = h0
}

/** A recurrent layer's checked arguments and sizes. */
export interface CheckedWeights {
  readonly N: number;
  readonly D: number;
  readonly H: number;
  readonly Wx: FloatTensor;
  readonly Wh: FloatTensor;
  readonly b: FloatTensor;
}

/**
 * Checks a cell's weights against x (N, D) and h (N, H): Wx (D, G·H), Wh (H, G·H), b (G·H),
 * with G gates (1 for the RNN, 4 for the LSTM), all float of one dtype.
 */
export function checkWeights(
  fn: string,
  x: FloatTensor,
  h: Tensor,
  hName: string,
  Wx: Tensor,
  Wh: Tensor,
  b: Tensor,
  G: number,
): CheckedWeights {
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
  expectShape(
    fn,
    'Wx',
    Wx,
    [D, G * H],
    `x has ${D} features and ${hName} has ${H}, so Wx must be ${fmt([D, G * H])} (D, ${gates}H)`,
  );
  expectShape(
    fn,
    'Wh',
    Wh,
    [H, G * H],
    `${hName} has ${H} features, so Wh must be ${fmt([H, G * H])} (H, ${gates}H)`,
  );
  expectShape(
    fn,
    'b',
    b,
    [G * H],
    `${hName} has ${H} features, so b must be ${fmt([G * H])} (${gates}H)`,
  );
  return { N, D, H, Wx, Wh, b };
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

/** out (N, T, F) = src (T, N, F) with the first two axes swapped. */
export function toBatchMajor(out: Buf, src: Buf, N: number, T: number, F: number): void {
  for (let t = 0; t < T; t++) {
    for (let n = 0; n < N; n++) {
      const from = (t * N + n) * F,
        to = (n * T + t) * F;
      for (let f = 0; f < F; f++) out[to + f] = src[from + f];
    }
  }
}

/**
 * One step: nextH = tanh(x·Wx + prevH·Wh + b).
 * x: (N, D), prevH: (N, H), Wx: (D, H), Wh: (H, H), b: (H)  =>  nextH: (N, H)
 */
export function rnnStepForward(
  x: Tensor,
  prevH: Tensor,
  Wx: Tensor,
  Wh: Tensor,
  b: Tensor,
): { nextH: FloatTensor; cache: RnnStepCache } {
  const fn = 'rnnStepForward';
  expectFloat(fn, 'x', x);
  expectNdim(fn, 'x', x, 2, '(N, D)');
  const { N, D, H, ...w } = checkWeights(fn, x, prevH, 'prevH', Wx, Wh, b, 1);
  expectFloat(fn, 'prevH', prevH);
  const k = kernelsFor(x.dtype),
    nextH = Tensor.zeros([N, H], x.dtype),
    hh = Tensor.zeros([N, H], x.dtype);
  k.gemm(nextH.data, x.data, w.Wx.data, N, D, H); // (N, D)·(D, H)
  k.gemm(hh.data, prevH.data, w.Wh.data, N, H, H); // (N, H)·(H, H)
  const out = nextH.data,
    hd = hh.data,
    bd = w.b.data;
  for (let n = 0; n < N; n++) {
    const row = n * H;
    for (let j = 0; j < H; j++) out[row + j] = Math.tanh(out[row + j] + hd[row + j] + bd[j]);
  }
  return { nextH, cache: { x, prevH, Wx: w.Wx, Wh: w.Wh, nextH } };
}

/**
 * With da = dnextH ⊙ (1 − nextH²):  dx = da·Wxᵀ,  dprevH = da·Whᵀ,  dWx = xᵀ·da,  dWh = prevHᵀ·da,
 * db = Σₙ da[n, :].   dnextH: (N, H)
 */
export function rnnStepBackward(
  dnextH: Tensor,
  cache: RnnStepCache,
): { dx: FloatTensor; dprevH: FloatTensor; dWx: FloatTensor; dWh: FloatTensor; db: FloatTensor } {
  const { x, prevH, Wx, Wh, nextH } = cache;
  const [N, D] = x.shape,
    H = prevH.shape[1],
    dtype = x.dtype;
  checkGrad('rnnStepBackward', 'dnextH', dnextH, [N, H], x);
  const da = Tensor.zeros([N, H], dtype),
    g = dnextH.data,
    hd = nextH.data;
  for (let i = 0; i < da.size; i++) da.data[i] = g[i] * (1 - hd[i] * hd[i]);
  const k = kernelsFor(dtype);
  const dx = Tensor.zeros([N, D], dtype),
    dprevH = Tensor.zeros([N, H], dtype);
  const dWx = Tensor.zeros([D, H], dtype),
    dWh = Tensor.zeros([H, H], dtype),
    db = Tensor.zeros([H], dtype);
  k.gemm(dx.data, da.data, Wx.data, N, H, D, { transB: true }); // (N, H)·(H, D)
  k.gemm(dprevH.data, da.data, Wh.data, N, H, H, { transB: true }); // (N, H)·(H, H)
  k.gemm(dWx.data, x.data, da.data, D, N, H, { transA: true }); // (D, N)·(N, H)
  k.gemm(dWh.data, prevH.data, da.data, H, N, H, { transA: true }); // (H, N)·(N, H)
  k.sumRows(db.data, da.data, N, H);
  return { dx, dprevH, dWx, dWh, db };
}

/**
 * The RNN over a sequence: h_t = tanh(x_t·Wx + h_{t−1}·Wh + b) for t = 1..T, from h0.
 * x: (N, T, D), h0: (N, H), Wx: (D, H), Wh: (H, H), b: (H)  =>  h: (N, T, H)
 */
export function rnnForward(
  x: Tensor,
  h0: Tensor,
  Wx: Tensor,
  Wh: Tensor,
  b: Tensor,
): { h: FloatTensor; cache: RnnCache } {
  const fn = 'rnnForward';
  expectFloat(fn, 'x', x);
  expectNdim(fn, 'x', x, 3, '(N, T, D)');
  const { N, D, H, ...w } = checkWeights(fn, x, h0, 'h0', Wx, Wh, b, 1);
  expectFloat(fn, 'h0', h0);
  const T = x.shape[1],
    dtype = x.dtype,
    k = kernelsFor(dtype);
  const xw = Tensor.zeros([N, T, H], dtype); // x·Wx for every step at once
  k.gemm(xw.data, x.data, w.Wx.data, N * T, D, H); // (N·T, D)·(D, H)
  const hs = Tensor.zeros([T + 1, N, H], dtype),
    hsd = hs.data,
    xwd = xw.data,
    bd = w.b.data;
  hsd.set(h0.data);
  const hh = Tensor.zeros([N, H], dtype).data;
  for (let t = 0; t < T; t++) {
    k.gemm(hh, hsd.subarray(t * N * H, (t + 1) * N * H), w.Wh.data, N, H, H); // h_{t−1}·Wh
    for (let n = 0; n < N; n++) {
      const out = (t + 1) * N * H + n * H,
        xRow = (n * T + t) * H,
        hRow = n * H;
      for (let j = 0; j < H; j++) hsd[out + j] = Math.tanh(xwd[xRow + j] + hh[hRow + j] + bd[j]);
    }
  }
  const h = Tensor.zeros([N, T, H], dtype);
  toBatchMajor(h.data, hsd.subarray(N * H), N, T, H);
  return { h, cache: { x, Wx: w.Wx, Wh: w.Wh, hs } };
}

/**
 * Backpropagation through time. Going back from t = T, the gradient reaching h_t is
 * dh[:, t] + (the gradient from step t+1); da_t = that ⊙ (1 − h_t²); it passes da_t·Whᵀ to h_{t−1}.
 * Then dx = da·Wxᵀ, dWx = Σ_t x_tᵀ·da_t, dWh = Σ_t h_{t−1}ᵀ·da_t, db = Σ da, each one gemm over
 * all steps; dh0 is what reaches h_0.   dh: (N, T, H)
 */
export function rnnBackward(
  dh: Tensor,
  cache: RnnCache,
): { dx: FloatTensor; dh0: FloatTensor; dWx: FloatTensor; dWh: FloatTensor; db: FloatTensor } {
  const { x, Wx, Wh, hs } = cache;
  const [N, T] = x.shape,
    H = Wh.shape[0],
    dtype = x.dtype,
    k = kernelsFor(dtype);
  checkGrad('rnnBackward', 'dh', dh, [N, T, H], x);
  const NH = N * H,
    dhd = dh.data,
    hsd = hs.data;
  const da = Tensor.zeros([T, N, H], dtype).data; // time-major
  const dnext = Tensor.zeros([N, H], dtype).data; // gradient reaching h_t from step t+1
  for (let t = T - 1; t >= 0; t--) {
    for (let n = 0; n < N; n++) {
      const a = t * NH + n * H,
        hRow = (t + 1) * NH + n * H,
        gRow = (n * T + t) * H,
        nRow = n * H;
      for (let j = 0; j < H; j++) {
        const ht = hsd[hRow + j];
        da[a + j] = (dhd[gRow + j] + dnext[nRow + j]) * (1 - ht * ht);
      }
    }
    k.gemm(dnext, da.subarray(t * NH, (t + 1) * NH), Wh.data, N, H, H, { transB: true }); // da_t·Whᵀ
  }
  const dh0 = Tensor.zeros([N, H], dtype);
  dh0.data.set(dnext);
  return { dh0, ...sequenceGrads(da, x, Wx, hs, H) };
}

/**
 * The input and weight gradients of a recurrent layer from its time-major pre-activation
 * gradients da (T, N, G·H): dx = da·Wxᵀ, dWx = Σ_t x_tᵀ·da_t, dWh = Σ_t h_{t−1}ᵀ·daH_t, db = Σ da,
 * each as one gemm over all steps (hs (T + 1, N, H) holds h_0..h_T, so hs[0..T−1] are the h_{t−1}).
 * daH, the gradient of the h·Wh part, equals da except in the GRU (whose candidate gate scales
 * h·Wh by r).
 */
export function sequenceGrads(
  da: Buf,
  x: FloatTensor,
  Wx: FloatTensor,
  hs: FloatTensor,
  H: number,
  daH: Buf = da,
): { dx: FloatTensor; dWx: FloatTensor; dWh: FloatTensor; db: FloatTensor } {
  const [N, T, D] = x.shape,
    GH = Wx.shape[1],
    dtype = x.dtype,
    k = kernelsFor(dtype);
  const daB = Tensor.zeros([N, T, GH], dtype).data; // da in the (N, T) order of x
  toBatchMajor(daB, da, N, T, GH);
  const dx = Tensor.zeros([N, T, D], dtype);
  const dWx = Tensor.zeros([D, GH], dtype),
    dWh = Tensor.zeros([H, GH], dtype),
    db = Tensor.zeros([GH], dtype);
  k.gemm(dx.data, daB, Wx.data, N * T, GH, D, { transB: true }); // (N·T, GH)·(GH, D)
  k.gemm(dWx.data, x.data, daB, D, N * T, GH, { transA: true }); // (D, N·T)·(N·T, GH)
  k.gemm(dWh.data, hs.data.subarray(0, T * N * H), daH, H, T * N, GH, { transA: true }); // (H, T·N)·(T·N, GH)
  k.sumRows(db.data, da, T * N, GH);
  return { dx, dWx, dWh, db };
}
