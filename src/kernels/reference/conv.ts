// src/kernels/reference/conv.ts: the convolution kernels: the lowering of images to columns
// and back (im2col, col2im), and the direct convolution at stride 1 with its weight gradient.
import type { Buf, ConvGeometry } from '../types.js';

/**
 * cols[(c·HH + i)·WW + j, n·Hout·Wout + ho·Wout + wo] = x[n, c, ho·stride − pad + i, wo·stride − pad + j],
 * 0 off the image, for x (N, C, H, W) and cols (C·HH·WW, N·Hout·Wout).
 */
export function im2col(cols: Buf, x: Buf, g: ConvGeometry, N = 1): void {
  const { C, H, W, HH, WW, stride, pad, Hout, Wout } = g;
  const HWout = Hout * Wout;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < HH; i++) {
      for (let j = 0; j < WW; j++) {
        for (let n = 0; n < N; n++) {
          const xChan = (n * C + c) * H * W,
            colRow = (((c * HH + i) * WW + j) * N + n) * HWout;
          for (let ho = 0; ho < Hout; ho++) {
            const h = ho * stride - pad + i;
            const outOff = colRow + ho * Wout;
            if (h < 0 || h >= H) {
              cols.fill(0, outOff, outOff + Wout);
              continue;
            }
            const xRow = xChan + h * W;
            for (let wo = 0; wo < Wout; wo++) {
              const w = wo * stride - pad + j;
              cols[outOff + wo] = w >= 0 && w < W ? x[xRow + w] : 0;
            }
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: dx[n, c, h, w] = Σ of every cols entry that im2col read from x[n, c, h, w]. */
export function col2im(dx: Buf, cols: Buf, g: ConvGeometry, N = 1): void {
  const { C, H, W, HH, WW, stride, pad, Hout, Wout } = g;
  const HWout = Hout * Wout;
  dx.fill(0, 0, N * C * H * W);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < HH; i++) {
      for (let j = 0; j < WW; j++) {
        for (let n = 0; n < N; n++) {
          const xChan = (n * C + c) * H * W,
            colRow = (((c * HH + i) * WW + j) * N + n) * HWout;
          for (let ho = 0; ho < Hout; ho++) {
            const h = ho * stride - pad + i;
            if (h < 0 || h >= H) continue;
            const xRow = xChan + h * W,
              colOff = colRow + ho * Wout;
            for (let wo = 0; wo < Wout; wo++) {
              const w = wo * stride - pad + j;
              if (w >= 0 && w < W) dx[xRow + w] += cols[colOff + wo];
            }
          }
        }
      }
    }
  }
}

/**
 * Direct convolution at stride 1: out[n, f, ho, wo] = Σ over taps (c, i, j), in that order, of
 * w[f, c, i, j]·x[n, c, ho − pad + i, wo − pad + j] (taps off the image skipped), then + b[f].
 * x: (N, C, H, W), w: (F, C, HH, WW), b: (F) => out: (N, F, H + 2pad − HH + 1, W + 2pad − WW + 1).
 * Overwrites out.
 */
export function convDirect(
  out: Buf,
  x: Buf,
  w: Buf,
  b: Buf,
  N: number,
  C: number,
  H: number,
  W: number,
  F: number,
  HH: number,
  WW: number,
  pad: number,
): void {
  const Hout = H + 2 * pad - HH + 1,
    Wout = W + 2 * pad - WW + 1;
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      for (let ho = 0; ho < Hout; ho++) {
        for (let wo = 0; wo < Wout; wo++, o++) {
          let s = 0;
          for (let c = 0; c < C; c++) {
            for (let i = 0; i < HH; i++) {
              const h = ho - pad + i;
              if (h < 0 || h >= H) continue;
              for (let j = 0; j < WW; j++) {
                const col = wo - pad + j;
                if (col >= 0 && col < W)
                  s += w[((f * C + c) * HH + i) * WW + j] * x[((n * C + c) * H + h) * W + col];
              }
            }
          }
          out[o] = s + b[f];
        }
      }
    }
  }
}

/**
 * The weight and bias gradients of convDirect: dw[f, c, i, j] = Σ over n, ho, wo of
 * dout[n, f, ho, wo]·x[n, c, ho − pad + i, wo − pad + j], db[f] = Σ over n, ho, wo of dout[n, f, ho, wo].
 * Overwrites dw (F, C, HH, WW) and db (F).
 */
export function convDirectWeightGrad(
  dw: Buf,
  db: Buf,
  dout: Buf,
  x: Buf,
  N: number,
  C: number,
  H: number,
  W: number,
  F: number,
  HH: number,
  WW: number,
  pad: number,
): void {
  const Hout = H + 2 * pad - HH + 1,
    Wout = W + 2 * pad - WW + 1;
  for (let f = 0; f < F; f++) {
    let sb = 0;
    for (let n = 0; n < N; n++) {
      const plane = (n * F + f) * Hout * Wout;
      for (let k = 0; k < Hout * Wout; k++) sb += dout[plane + k];
    }
    db[f] = sb;
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < HH; i++) {
        for (let j = 0; j < WW; j++) {
          let s = 0;
          for (let n = 0; n < N; n++) {
            const plane = (n * F + f) * Hout * Wout,
              chan = (n * C + c) * H * W;
            for (let ho = Math.max(0, pad - i); ho < Math.min(Hout, H + pad - i); ho++) {
              const h = ho - pad + i;
              for (let wo = Math.max(0, pad - j); wo < Math.min(Wout, W + pad - j); wo++) {
                s += dout[plane + ho * Wout + wo] * x[chan + h * W + wo - pad + j];
              }
            }
          }
          dw[((f * C + c) * HH + i) * WW + j] = s;
        }
      }
    }
  }
}
