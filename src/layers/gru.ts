// src/layers/gru.ts: the gated recurrent unit (Cho et al. 2014, https://arxiv.org/abs/1406.1078),
// one step and over a sequence, in torch.nn.GRU's formulation and gate order r, z, n, with one
// bias b on the input side (torch's bias_hh = 0). As in rnn.ts and lstm.ts, the input projection
// and the weight gradients are one gemm each over all steps; only h·Wh runs per step.
import { kernelsFor, type Buf } from '../kernels/index.js';
import { Tensor, type FloatTensor } from '../tensor/index.js';
import { stableSigmoid } from './activations.js';
import { batchMajorStates, checkCell, checkGrad, sequenceGrads, stepGrads } from './recurrent.js';

export interface GruStepCache {
  readonly x: FloatTensor; // (N, D)
  readonly prevH: FloatTensor; // (N, H)
  readonly Wx: FloatTensor; // (D, 3H)
  readonly Wh: FloatTensor; // (H, 3H)
  readonly gates: FloatTensor; // (N, 3H) [r | z | n]
  readonly hn: FloatTensor; // (N, H) prevH·Wh_n, the part of n that r scales
}

export interface GruCache {
  readonly x: FloatTensor; // (N, T, D)
  readonly Wx: FloatTensor; // (D, 3H)
  readonly Wh: FloatTensor; // (H, 3H)
  readonly hs: FloatTensor; // (T + 1, N, H) hidden states, time-major; hs[0] = h0
  readonly gates: FloatTensor; // (T, N, 3H) [r | z | n] per step
  readonly hn: FloatTensor; // (T, N, H) h_{t−1}·Wh_n per step
}

/**
 * The pointwise part of a step for N rows. ax (N, 3H) = x·Wx + b, hh (N, 3H) = prevH·Wh:
 * r = σ(ax_r + hh_r), z = σ(ax_z + hh_z), n = tanh(ax_n + r⊙hh_n), h = (1 − z)⊙n + z⊙prevH.
 * Writes [r | z | n] to gates, hh_n to hn and h to h. ax is read at row stride axStride.
 */
function cellForward(
  ax: Buf,
  axOff: number,
  axStride: number,
  b: Buf,
  hh: Buf,
  prevH: Buf,
  gates: Buf,
  hn: Buf,
  h: Buf,
  N: number,
  H: number,
): void {
  for (let n = 0; n < N; n++) {
    const a = axOff + n * axStride,
      row = n * 3 * H,
      hRow = n * H;
    for (let j = 0; j < H; j++) {
      const r = stableSigmoid(ax[a + j] + b[j] + hh[row + j]);
      const z = stableSigmoid(ax[a + H + j] + b[H + j] + hh[row + H + j]);
      const hnj = hh[row + 2 * H + j],
        c = Math.tanh(ax[a + 2 * H + j] + b[2 * H + j] + r * hnj);
      gates[row + j] = r;
      gates[row + H + j] = z;
      gates[row + 2 * H + j] = c;
      hn[hRow + j] = hnj;
      h[hRow + j] = (1 - z) * c + z * prevH[hRow + j];
    }
  }
}

/**
 * The pointwise part backwards, from dh (the total gradient reaching h): dn = dh⊙(1 − z),
 * dz = dh⊙(prevH − n); the pre-activation gradients are dax = [dr⊙r(1 − r) | dz⊙z(1 − z) |
 * dn⊙(1 − n²)] with dr = dn⊙(1 − n²)⊙hh_n, and dah = dax except dah_n = dax_n⊙r. Writes dax and
 * dah (N, 3H) and the direct part of dprevH, dh⊙z, to dprevH. dh row n is read at
 * dhOff + n·dhStride plus dhExtra[n] when given.
 */
function cellBackward(
  dh: Buf,
  dhOff: number,
  dhStride: number,
  dhExtra: Buf | undefined,
  gates: Buf,
  hn: Buf,
  prevH: Buf,
  dax: Buf,
  dah: Buf,
  dprevH: Buf,
  N: number,
  H: number,
): void {
  for (let n = 0; n < N; n++) {
    const row = n * 3 * H,
      hRow = n * H,
      gRow = dhOff + n * dhStride;
    for (let j = 0; j < H; j++) {
      const r = gates[row + j],
        z = gates[row + H + j],
        c = gates[row + 2 * H + j];
      const dht = dh[gRow + j] + (dhExtra === undefined ? 0 : dhExtra[hRow + j]);
      const dan = dht * (1 - z) * (1 - c * c);
      const dar = dan * hn[hRow + j] * r * (1 - r);
      const daz = dht * (prevH[hRow + j] - c) * z * (1 - z);
      dax[row + j] = dar;
      dax[row + H + j] = daz;
      dax[row + 2 * H + j] = dan;
      dah[row + j] = dar;
      dah[row + H + j] = daz;
      dah[row + 2 * H + j] = dan * r;
      dprevH[hRow + j] = dht * z;
    }
  }
}

/**
 * One step: with ax = x·Wx + b and hh = prevH·Wh split in blocks r, z, n (H columns each),
 * r = σ(ax_r + hh_r), z = σ(ax_z + hh_z), n = tanh(ax_n + r⊙hh_n), nextH = (1 − z)⊙n + z⊙prevH.
 * x: (N, D), prevH: (N, H), Wx: (D, 3H), Wh: (H, 3H), b: (3H)  =>  nextH: (N, H)
 */
export function gruStepForward(
  x: Tensor,
  prevH: Tensor,
  Wx: Tensor,
  Wh: Tensor,
  b: Tensor,
): { nextH: FloatTensor; cache: GruStepCache } {
  const { N, D, H, ...w } = checkCell('gruStepForward', x, '(N, D)', prevH, 'prevH', Wx, Wh, b, 3);
  const dtype = w.x.dtype,
    k = kernelsFor(dtype);
  const ax = Tensor.zeros([N, 3 * H], dtype).data,
    hh = Tensor.zeros([N, 3 * H], dtype).data;
  k.gemm(ax, w.x.data, w.Wx.data, N, D, 3 * H); // (N, D)·(D, 3H)
  k.gemm(hh, w.h.data, w.Wh.data, N, H, 3 * H); // (N, H)·(H, 3H)
  const gates = Tensor.zeros([N, 3 * H], dtype),
    hn = Tensor.zeros([N, H], dtype),
    nextH = Tensor.zeros([N, H], dtype);
  cellForward(ax, 0, 3 * H, w.b.data, hh, w.h.data, gates.data, hn.data, nextH.data, N, H);
  return { nextH, cache: { x: w.x, prevH: w.h, Wx: w.Wx, Wh: w.Wh, gates, hn } };
}

/**
 * With dax, dah the pre-activation gradients of the x and h sides (see cellBackward):
 * dx = dax·Wxᵀ, dprevH = dah·Whᵀ + dnextH⊙z, dWx = xᵀ·dax, dWh = prevHᵀ·dah, db = Σₙ dax[n, :].
 * dnextH: (N, H)
 */
export function gruStepBackward(
  dnextH: Tensor,
  cache: GruStepCache,
): { dx: FloatTensor; dprevH: FloatTensor; dWx: FloatTensor; dWh: FloatTensor; db: FloatTensor } {
  const { x, prevH, Wx, Wh, gates, hn } = cache;
  const N = x.shape[0],
    H = prevH.shape[1],
    G = 3 * H,
    dtype = x.dtype;
  checkGrad('gruStepBackward', 'dnextH', dnextH, [N, H], x);
  const dax = Tensor.zeros([N, G], dtype).data,
    dah = Tensor.zeros([N, G], dtype).data;
  const direct = Tensor.zeros([N, H], dtype).data; // dnextH⊙z, the part that skips Wh
  cellBackward(
    dnextH.data,
    0,
    H,
    undefined,
    gates.data,
    hn.data,
    prevH.data,
    dax,
    dah,
    direct,
    N,
    H,
  );
  const grads = stepGrads(dax, x, prevH, Wx, Wh, dah); // its dprevH is dah·Whᵀ
  for (let i = 0; i < N * H; i++) grads.dprevH.data[i] += direct[i];
  return grads;
}

/**
 * The GRU over a sequence from h0: the step above for t = 1..T.
 * x: (N, T, D), h0: (N, H), Wx: (D, 3H), Wh: (H, 3H), b: (3H)  =>  h: (N, T, H)
 */
export function gruForward(
  x: Tensor,
  h0: Tensor,
  Wx: Tensor,
  Wh: Tensor,
  b: Tensor,
): { h: FloatTensor; cache: GruCache } {
  const { N, D, H, ...w } = checkCell('gruForward', x, '(N, T, D)', h0, 'h0', Wx, Wh, b, 3);
  const T = w.x.shape[1],
    G = 3 * H,
    NH = N * H,
    dtype = w.x.dtype,
    k = kernelsFor(dtype);
  const ax = Tensor.zeros([N, T, G], dtype).data; // x·Wx for every step at once
  k.gemm(ax, w.x.data, w.Wx.data, N * T, D, G); // (N·T, D)·(D, 3H)
  const hs = Tensor.zeros([T + 1, N, H], dtype),
    gates = Tensor.zeros([T, N, G], dtype),
    hn = Tensor.zeros([T, N, H], dtype);
  hs.data.set(w.h.data);
  const hh = Tensor.zeros([N, G], dtype).data;
  for (let t = 0; t < T; t++) {
    const prev = hs.data.subarray(t * NH, (t + 1) * NH);
    k.gemm(hh, prev, w.Wh.data, N, H, G); // h_{t−1}·Wh
    cellForward(
      ax,
      t * G,
      T * G,
      w.b.data,
      hh,
      prev,
      gates.data.subarray(t * N * G, (t + 1) * N * G),
      hn.data.subarray(t * NH, (t + 1) * NH),
      hs.data.subarray((t + 1) * NH, (t + 2) * NH),
      N,
      H,
    );
  }
  return { h: batchMajorStates(hs, N, T, H), cache: { x: w.x, Wx: w.Wx, Wh: w.Wh, hs, gates, hn } };
}

/**
 * Backpropagation through time: from t = T down, the step backward above with dh_t = dh[:, t] +
 * (the gradient from step t+1); then dx, dWx, dWh, db as one gemm each over all steps.
 * dh0 is what reaches h_0.   dh: (N, T, H)
 */
export function gruBackward(
  dh: Tensor,
  cache: GruCache,
): { dx: FloatTensor; dh0: FloatTensor; dWx: FloatTensor; dWh: FloatTensor; db: FloatTensor } {
  const { x, Wx, Wh, hs, gates, hn } = cache;
  const [N, T] = x.shape,
    H = Wh.shape[0],
    G = 3 * H,
    NH = N * H,
    dtype = x.dtype,
    k = kernelsFor(dtype);
  checkGrad('gruBackward', 'dh', dh, [N, T, H], x);
  const dax = Tensor.zeros([T, N, G], dtype).data,
    dah = Tensor.zeros([T, N, G], dtype).data; // time-major
  const dnext = Tensor.zeros([N, H], dtype).data,
    direct = Tensor.zeros([N, H], dtype).data;
  for (let t = T - 1; t >= 0; t--) {
    const daxT = dax.subarray(t * N * G, (t + 1) * N * G),
      dahT = dah.subarray(t * N * G, (t + 1) * N * G);
    cellBackward(
      dh.data,
      t * H,
      T * H,
      dnext,
      gates.data.subarray(t * N * G, (t + 1) * N * G),
      hn.data.subarray(t * NH, (t + 1) * NH),
      hs.data.subarray(t * NH, (t + 1) * NH),
      daxT,
      dahT,
      direct,
      N,
      H,
    );
    k.gemm(dnext, dahT, Wh.data, N, G, H, { transB: true }); // dah_t·Whᵀ
    for (let i = 0; i < NH; i++) dnext[i] += direct[i];
  }
  return sequenceGrads(dax, dnext, x, Wx, hs, H, dah);
}
