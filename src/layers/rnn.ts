// src/layers/rnn.ts: the vanilla (Elman) recurrent layer, h_t = tanh(x_t Wx + h_{t-1} Wh + b), as a
// single step and over a whole sequence. The sequence versions run the input projection x·Wx for
// all T steps as one gemm and the weight gradients as one gemm each; only h·Wh is per step.
// The checks and the gradient gemms it shares with lstm.ts and gru.ts are in recurrent.ts.
import { kernelsFor } from '../kernels/index.js';
import { Tensor, type FloatTensor } from '../tensor/index.js';
import { batchMajorStates, checkCell, checkGrad, sequenceGrads, stepGrads } from './recurrent.js';

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
  const { N, D, H, ...w } = checkCell('rnnStepForward', x, '(N, D)', prevH, 'prevH', Wx, Wh, b, 1);
  const k = kernelsFor(w.x.dtype),
    nextH = Tensor.zeros([N, H], w.x.dtype),
    hh = Tensor.zeros([N, H], w.x.dtype);
  k.gemm(nextH.data, w.x.data, w.Wx.data, N, D, H); // (N, D)·(D, H)
  k.gemm(hh.data, w.h.data, w.Wh.data, N, H, H); // (N, H)·(H, H)
  const out = nextH.data,
    hd = hh.data,
    bd = w.b.data;
  for (let n = 0; n < N; n++) {
    const row = n * H;
    for (let j = 0; j < H; j++) out[row + j] = Math.tanh(out[row + j] + hd[row + j] + bd[j]);
  }
  return { nextH, cache: { x: w.x, prevH: w.h, Wx: w.Wx, Wh: w.Wh, nextH } };
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
  const N = x.shape[0],
    H = prevH.shape[1],
    dtype = x.dtype;
  checkGrad('rnnStepBackward', 'dnextH', dnextH, [N, H], x);
  const da = Tensor.zeros([N, H], dtype).data,
    g = dnextH.data,
    hd = nextH.data;
  for (let i = 0; i < da.length; i++) da[i] = g[i] * (1 - hd[i] * hd[i]);
  return stepGrads(da, x, prevH, Wx, Wh);
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
  const { N, D, H, ...w } = checkCell('rnnForward', x, '(N, T, D)', h0, 'h0', Wx, Wh, b, 1);
  const T = w.x.shape[1],
    dtype = w.x.dtype,
    k = kernelsFor(dtype);
  const xw = Tensor.zeros([N, T, H], dtype); // x·Wx for every step at once
  k.gemm(xw.data, w.x.data, w.Wx.data, N * T, D, H); // (N·T, D)·(D, H)
  const hs = Tensor.zeros([T + 1, N, H], dtype),
    hsd = hs.data,
    xwd = xw.data,
    bd = w.b.data;
  hsd.set(w.h.data);
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
  return { h: batchMajorStates(hs, N, T, H), cache: { x: w.x, Wx: w.Wx, Wh: w.Wh, hs } };
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
  return sequenceGrads(da, dnext, x, Wx, hs, H);
}
