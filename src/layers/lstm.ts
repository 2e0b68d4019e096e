// src/layers/lstm.ts: the long short-term memory layer (Hochreiter & Schmidhuber 1997, with a forget
// gate), one step and over a sequence. Gate order in Wx, Wh, b is i, f, o, g (the classic
// curriculum's; torch.nn.LSTM uses i, f, g, o). Like rnn.ts, the input projection and the weight
// gradients are one gemm each over all steps; only h·Wh runs per step.
import { kernelsFor, type Buf } from '../kernels/index.js';
import {
  expectFloat,
  expectSameDType,
  expectShape,
  fmt,
  Tensor,
  type FloatTensor,
} from '../tensor/index.js';
import { stableSigmoid } from './activations.js';
import { batchMajorStates, checkCell, checkGrad, sequenceGrads, stepGrads } from './recurrent.js';

export interface LstmStepCache {
  readonly x: FloatTensor; // (N, D)
  readonly prevH: FloatTensor; // (N, H)
  readonly prevC: FloatTensor; // (N, H)
  readonly Wx: FloatTensor; // (D, 4H)
  readonly Wh: FloatTensor; // (H, 4H)
  readonly gates: FloatTensor; // (N, 4H) activated gates [i | f | o | g]
  readonly tanhC: FloatTensor; // (N, H) tanh(nextC)
}

export interface LstmCache {
  readonly x: FloatTensor; // (N, T, D)
  readonly Wx: FloatTensor; // (D, 4H)
  readonly Wh: FloatTensor; // (H, 4H)
  readonly hs: FloatTensor; // (T + 1, N, H) hidden states, time-major; hs[0] = h0
  readonly cs: FloatTensor; // (T + 1, N, H) cell states, time-major; cs[0] = c0 = 0
  readonly gates: FloatTensor; // (T, N, 4H) activated gates [i | f | o | g] per step
  readonly tanhC: FloatTensor; // (T, N, H) tanh(c_t)
}

/**
 * The pointwise part of a step, on rows of N: a (N, 4H) holds the pre-activations and is
 * overwritten with the gates i, f, o = σ(a), g = tanh(a); then c = f⊙prevC + i⊙g, tanhC = tanh(c),
 * h = o⊙tanhC. σ is stableSigmoid, finite for any |a|.
 */
function cellForward(a: Buf, prevC: Buf, c: Buf, tanhC: Buf, h: Buf, N: number, H: number): void {
  for (let n = 0; n < N; n++) {
    const row = n * 4 * H,
      hRow = n * H;
    for (let j = 0; j < H; j++) {
      const i = stableSigmoid(a[row + j]);
      const f = stableSigmoid(a[row + H + j]);
      const o = stableSigmoid(a[row + 2 * H + j]);
      const g = Math.tanh(a[row + 3 * H + j]);
      a[row + j] = i;
      a[row + H + j] = f;
      a[row + 2 * H + j] = o;
      a[row + 3 * H + j] = g;
      const ct = f * prevC[hRow + j] + i * g,
        tc = Math.tanh(ct);
      c[hRow + j] = ct;
      tanhC[hRow + j] = tc;
      h[hRow + j] = o * tc;
    }
  }
}

/**
 * The pointwise part of a step backwards. With dh, dc the gradients reaching h and c from above,
 * dcTotal = dc + dh⊙o⊙(1 − tanhC²); di = dcTotal⊙g⊙i(1 − i), df = dcTotal⊙prevC⊙f(1 − f),
 * do = dh⊙tanhC⊙o(1 − o), dg = dcTotal⊙i⊙(1 − g²) into da (N, 4H); dprevC = dcTotal⊙f.
 * dh row n is read at dhOff + n·dhStride (so that dh can be the step-t slice of (N, T, H)), plus
 * dhExtra (N, H) when given (the gradient coming back from step t+1).
 */
function cellBackward(
  dh: Buf,
  dhOff: number,
  dhStride: number,
  dc: Buf,
  gates: Buf,
  prevC: Buf,
  tanhC: Buf,
  da: Buf,
  dprevC: Buf,
  N: number,
  H: number,
  dhExtra?: Buf,
): void {
  for (let n = 0; n < N; n++) {
    const row = n * 4 * H,
      hRow = n * H,
      gRow = dhOff + n * dhStride;
    for (let j = 0; j < H; j++) {
      const i = gates[row + j],
        f = gates[row + H + j],
        o = gates[row + 2 * H + j],
        g = gates[row + 3 * H + j];
      const tc = tanhC[hRow + j];
      const dht = dh[gRow + j] + (dhExtra === undefined ? 0 : dhExtra[hRow + j]);
      const dct = dc[hRow + j] + dht * o * (1 - tc * tc);
      da[row + j] = dct * g * i * (1 - i);
      da[row + H + j] = dct * prevC[hRow + j] * f * (1 - f);
      da[row + 2 * H + j] = dht * tc * o * (1 - o);
      da[row + 3 * H + j] = dct * i * (1 - g * g);
      dprevC[hRow + j] = dct * f;
    }
  }
}

/**
 * One step: a = x·Wx + prevH·Wh + b split into blocks i, f, o, g (H columns each);
 * i, f, o = σ(·), g = tanh(·); nextC = f⊙prevC + i⊙g; nextH = o⊙tanh(nextC).
 * x: (N, D), prevH: (N, H), prevC: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H)  =>  nextH, nextC: (N, H)
 */
export function lstmStepForward(
  x: Tensor,
  prevH: Tensor,
  prevC: Tensor,
  Wx: Tensor,
  Wh: Tensor,
  b: Tensor,
): { nextH: FloatTensor; nextC: FloatTensor; cache: LstmStepCache } {
  const fn = 'lstmStepForward';
  const { N, D, H, ...w } = checkCell(fn, x, '(N, D)', prevH, 'prevH', Wx, Wh, b, 4);
  expectFloat(fn, 'prevC', prevC);
  expectShape(fn, 'prevC', prevC, [N, H], `prevH has shape ${fmt(prevH.shape)}`);
  expectSameDType(fn, { x, prevC });
  const dtype = w.x.dtype,
    k = kernelsFor(dtype);
  const gates = Tensor.zeros([N, 4 * H], dtype),
    hh = Tensor.zeros([N, 4 * H], dtype).data;
  k.gemm(gates.data, w.x.data, w.Wx.data, N, D, 4 * H); // (N, D)·(D, 4H)
  k.gemm(hh, w.h.data, w.Wh.data, N, H, 4 * H); // (N, H)·(H, 4H)
  addPreactivations(gates.data, hh, w.b.data, N, 4 * H);
  const nextC = Tensor.zeros([N, H], dtype),
    nextH = Tensor.zeros([N, H], dtype),
    tanhC = Tensor.zeros([N, H], dtype);
  cellForward(gates.data, prevC.data, nextC.data, tanhC.data, nextH.data, N, H);
  const cache = { x: w.x, prevH: w.h, prevC, Wx: w.Wx, Wh: w.Wh, gates, tanhC };
  return { nextH, nextC, cache };
}

/** In place: a[n, :] += hh[n, :] + b. */
function addPreactivations(a: Buf, hh: Buf, b: Buf, N: number, G: number): void {
  for (let n = 0; n < N; n++) {
    const row = n * G;
    for (let j = 0; j < G; j++) a[row + j] += hh[row + j] + b[j];
  }
}

/**
 * With da the gradient of the pre-activations (see cellBackward): dx = da·Wxᵀ, dprevH = da·Whᵀ,
 * dprevC = (dnextC + dnextH⊙o⊙(1 − tanh²(nextC)))⊙f, dWx = xᵀ·da, dWh = prevHᵀ·da, db = Σₙ da.
 * dnextH, dnextC: (N, H)
 */
export function lstmStepBackward(
  dnextH: Tensor,
  dnextC: Tensor,
  cache: LstmStepCache,
): {
  dx: FloatTensor;
  dprevH: FloatTensor;
  dprevC: FloatTensor;
  dWx: FloatTensor;
  dWh: FloatTensor;
  db: FloatTensor;
} {
  const { x, prevH, prevC, Wx, Wh, gates, tanhC } = cache;
  const N = x.shape[0],
    H = prevH.shape[1],
    dtype = x.dtype;
  checkGrad('lstmStepBackward', 'dnextH', dnextH, [N, H], x);
  checkGrad('lstmStepBackward', 'dnextC', dnextC, [N, H], x);
  const da = Tensor.zeros([N, 4 * H], dtype).data,
    dprevC = Tensor.zeros([N, H], dtype);
  cellBackward(
    dnextH.data,
    0,
    H,
    dnextC.data,
    gates.data,
    prevC.data,
    tanhC.data,
    da,
    dprevC.data,
    N,
    H,
  );
  return { dprevC, ...stepGrads(da, x, prevH, Wx, Wh) };
}

/**
 * The LSTM over a sequence from h0 and c0 = 0: the step above for t = 1..T.
 * x: (N, T, D), h0: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H)  =>  h: (N, T, H)
 */
export function lstmForward(
  x: Tensor,
  h0: Tensor,
  Wx: Tensor,
  Wh: Tensor,
  b: Tensor,
): { h: FloatTensor; cache: LstmCache } {
  const { N, D, H, ...w } = checkCell('lstmForward', x, '(N, T, D)', h0, 'h0', Wx, Wh, b, 4);
  const T = w.x.shape[1],
    G = 4 * H,
    NH = N * H,
    dtype = w.x.dtype,
    k = kernelsFor(dtype);
  const xw = Tensor.zeros([N, T, G], dtype).data; // x·Wx for every step at once
  k.gemm(xw, w.x.data, w.Wx.data, N * T, D, G); // (N·T, D)·(D, 4H)
  const hs = Tensor.zeros([T + 1, N, H], dtype),
    cs = Tensor.zeros([T + 1, N, H], dtype);
  const gates = Tensor.zeros([T, N, G], dtype),
    tanhC = Tensor.zeros([T, N, H], dtype);
  hs.data.set(w.h.data);
  const hh = Tensor.zeros([N, G], dtype).data;
  for (let t = 0; t < T; t++) {
    k.gemm(hh, hs.data.subarray(t * NH, (t + 1) * NH), w.Wh.data, N, H, G); // h_{t−1}·Wh
    const a = gates.data.subarray(t * N * G, (t + 1) * N * G);
    for (let n = 0; n < N; n++) {
      const row = n * G,
        xRow = (n * T + t) * G;
      for (let j = 0; j < G; j++) a[row + j] = xw[xRow + j] + hh[row + j] + w.b.data[j];
    }
    const at = (s: Tensor, i: number) => s.data.subarray(i * NH, (i + 1) * NH) as Buf;
    cellForward(a, at(cs, t), at(cs, t + 1), at(tanhC, t), at(hs, t + 1), N, H);
  }
  const cache = { x: w.x, Wx: w.Wx, Wh: w.Wh, hs, cs, gates, tanhC };
  return { h: batchMajorStates(hs, N, T, H), cache };
}

/**
 * Backpropagation through time: from t = T down, the step backward above with dh_t = dh[:, t] +
 * (the gradient from step t+1) and dc_t from step t+1 (0 after the last step); then dx, dWx, dWh,
 * db as one gemm each over all steps. dh0 is what reaches h_0 (c0 is a constant).   dh: (N, T, H)
 */
export function lstmBackward(
  dh: Tensor,
  cache: LstmCache,
): { dx: FloatTensor; dh0: FloatTensor; dWx: FloatTensor; dWh: FloatTensor; db: FloatTensor } {
  const { x, Wx, Wh, hs, cs, gates, tanhC } = cache;
  const [N, T] = x.shape,
    H = Wh.shape[0],
    G = 4 * H,
    NH = N * H,
    dtype = x.dtype,
    k = kernelsFor(dtype);
  checkGrad('lstmBackward', 'dh', dh, [N, T, H], x);
  const da = Tensor.zeros([T, N, G], dtype).data; // time-major
  const dnextH = Tensor.zeros([N, H], dtype).data,
    dnextC = Tensor.zeros([N, H], dtype).data;
  const dprevC = Tensor.zeros([N, H], dtype).data;
  for (let t = T - 1; t >= 0; t--) {
    const daT = da.subarray(t * N * G, (t + 1) * N * G),
      gatesT = gates.data.subarray(t * N * G, (t + 1) * N * G);
    const prevC = cs.data.subarray(t * NH, (t + 1) * NH),
      tanhCT = tanhC.data.subarray(t * NH, (t + 1) * NH);
    cellBackward(dh.data, t * H, T * H, dnextC, gatesT, prevC, tanhCT, daT, dprevC, N, H, dnextH);
    dnextC.set(dprevC);
    k.gemm(dnextH, daT, Wh.data, N, G, H, { transB: true }); // da_t·Whᵀ
  }
  return sequenceGrads(da, dnextH, x, Wx, hs, H);
}
