// test/kernels/im2col.test.ts: im2col and col2im of every backend against the direct formula
// cols[(c·HH + i)·WW + j, ho·Wout + wo] = x[c, ho·stride − pad + i, wo·stride − pad + j] (0 off
// the image), and col2im as its adjoint, on random data with ragged geometries.
import { describe, expect, it } from 'vitest';
import {
  kernelsFor,
  reference,
  type Buf,
  type ConvGeometry,
  type Kernels,
} from '../../src/kernels/index.js';
import { Rng, Tensor, type FloatDType } from '../../src/tensor/index.js';

/** The distinct backends that run float32 or float64 (the reference, plus a fast one if selected). */
const backends: Kernels[] = [...new Set([reference, kernelsFor('float32'), kernelsFor('float64')])];

function geometry(
  C: number,
  H: number,
  W: number,
  HH: number,
  WW: number,
  stride: number,
  pad: number,
): ConvGeometry {
  const Hout = 1 + Math.floor((H + 2 * pad - HH) / stride),
    Wout = 1 + Math.floor((W + 2 * pad - WW) / stride);
  return { C, H, W, HH, WW, stride, pad, Hout, Wout };
}

/** The value im2col must put at (row, col), straight from the formula. */
function expectedCol(x: Buf, g: ConvGeometry, row: number, col: number): number {
  const j = row % g.WW,
    i = Math.floor(row / g.WW) % g.HH,
    c = Math.floor(row / (g.WW * g.HH));
  const wo = col % g.Wout,
    ho = Math.floor(col / g.Wout);
  const h = ho * g.stride - g.pad + i,
    w = wo * g.stride - g.pad + j;
  return h >= 0 && h < g.H && w >= 0 && w < g.W ? x[(c * g.H + h) * g.W + w] : 0;
}

// Ragged sizes: Wout from 1 to 20 so that vectorised inner loops hit their tails, strides 1-3,
// pads 0-2, non-square kernels, 1x1 kernels and kernels larger than the unpadded image.
function geometries(count: number, seed: number): ConvGeometry[] {
  const rng = new Rng(seed),
    out: ConvGeometry[] = [];
  const pick = (lo: number, hi: number) => lo + rng.int(hi - lo + 1);
  while (out.length < count) {
    const C = pick(1, 4),
      H = pick(1, 13),
      W = pick(1, 21),
      HH = pick(1, 6),
      WW = pick(1, 6);
    const stride = pick(1, 3),
      pad = pick(0, 2);
    if (H + 2 * pad >= HH && W + 2 * pad >= WW) out.push(geometry(C, H, W, HH, WW, stride, pad));
  }
  return out;
}

for (const k of backends) {
  for (const dtype of ['float64', 'float32'] as FloatDType[]) {
    if (!k.supports(dtype)) continue; // e.g. a float32-only SIMD backend has no float64 kernels
    describe(`${k.name} im2col/col2im (${dtype})`, () => {
      it('im2col equals the direct formula, overwriting stale contents', () => {
        geometries(60, dtype === 'float64' ? 1 : 2).forEach((g, t) => {
          const x = Tensor.randn([g.C, g.H, g.W], { seed: t, dtype }).data;
          const rows = g.C * g.HH * g.WW,
            P = g.Hout * g.Wout;
          const cols = Tensor.full([rows, P], 99, dtype).data; // stale values must be overwritten
          k.im2col(cols, x, g);
          for (let r = 0; r < rows; r++) {
            for (let p = 0; p < P; p++) {
              const want = expectedCol(x, g, r, p);
              if (cols[r * P + p] !== want) {
                expect.fail(
                  `${JSON.stringify(g)}: cols[${r}, ${p}] = ${cols[r * P + p]}, want ${want}`,
                );
              }
            }
          }
        });
      });

      it('col2im sums every column entry back at the pixel it came from', () => {
        geometries(60, dtype === 'float64' ? 3 : 4).forEach((g, t) => {
          const rows = g.C * g.HH * g.WW,
            P = g.Hout * g.Wout;
          const cols = Tensor.randn([rows, P], { seed: 100 + t, dtype }).data;
          const want = new Float64Array(g.C * g.H * g.W); // scatter by the formula, in float64
          for (let r = 0; r < rows; r++) {
            const j = r % g.WW,
              i = Math.floor(r / g.WW) % g.HH,
              c = Math.floor(r / (g.WW * g.HH));
            for (let p = 0; p < P; p++) {
              const h = Math.floor(p / g.Wout) * g.stride - g.pad + i,
                w = (p % g.Wout) * g.stride - g.pad + j;
              if (h >= 0 && h < g.H && w >= 0 && w < g.W)
                want[(c * g.H + h) * g.W + w] += cols[r * P + p];
            }
          }
          const dx = Tensor.full([g.C, g.H, g.W], 99, dtype).data; // overwritten, not accumulated
          k.col2im(dx, cols, g);
          const tol = dtype === 'float64' ? 1e-12 : 1e-5;
          for (let q = 0; q < want.length; q++) {
            if (Math.abs(dx[q] - want[q]) > tol * Math.max(1, Math.abs(want[q]))) {
              expect.fail(`${JSON.stringify(g)}: dx[${q}] = ${dx[q]}, want ${want[q]}`);
            }
          }
        });
      });

      it('col2im is the adjoint of im2col: <im2col(x), c> = <x, col2im(c)>', () => {
        geometries(20, dtype === 'float64' ? 5 : 6).forEach((g, t) => {
          const rows = g.C * g.HH * g.WW,
            P = g.Hout * g.Wout;
          const x = Tensor.randn([g.C, g.H, g.W], { seed: t, dtype }).data;
          const c = Tensor.randn([rows, P], { seed: 50 + t, dtype }).data;
          const cols = Tensor.zeros([rows, P], dtype).data,
            dx = Tensor.zeros([g.C, g.H, g.W], dtype).data;
          k.im2col(cols, x, g);
          k.col2im(dx, c, g);
          let lhs = 0,
            rhs = 0,
            scale = 0;
          for (let q = 0; q < cols.length; q++) {
            lhs += cols[q] * c[q];
            scale += Math.abs(cols[q] * c[q]);
          }
          for (let q = 0; q < dx.length; q++) rhs += x[q] * dx[q];
          expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(
            (dtype === 'float64' ? 1e-12 : 1e-5) * Math.max(1, scale),
          );
        });
      });

      it('on N images: image n fills columns n·Hout·Wout onwards of every row, exactly as alone', () => {
        geometries(20, dtype === 'float64' ? 7 : 8).forEach((g, t) => {
          const N = 1 + (t % 4),
            rows = g.C * g.HH * g.WW,
            P = g.Hout * g.Wout,
            CHW = g.C * g.H * g.W;
          const x = Tensor.randn([N, g.C, g.H, g.W], { seed: t, dtype }).data;
          const c = Tensor.randn([rows, N * P], { seed: 70 + t, dtype }).data;
          const cols = Tensor.full([rows, N * P], 99, dtype).data,
            dx = Tensor.full([N, g.C, g.H, g.W], 99, dtype).data;
          k.im2col(cols, x, g, N);
          k.col2im(dx, c, g, N);
          for (let n = 0; n < N; n++) {
            const one = Tensor.zeros([rows, P], dtype).data,
              cn = Tensor.zeros([rows, P], dtype).data;
            const dxn = Tensor.zeros([g.C, g.H, g.W], dtype).data;
            k.im2col(one, x.subarray(n * CHW, (n + 1) * CHW), g);
            for (let r = 0; r < rows; r++) {
              cn.set(c.subarray((r * N + n) * P, (r * N + n + 1) * P), r * P);
              for (let p = 0; p < P; p++) {
                if (cols[(r * N + n) * P + p] !== one[r * P + p])
                  expect.fail(`${JSON.stringify(g)} N=${N}: cols[${r}, ${n * P + p}]`);
              }
            }
            k.col2im(dxn, cn, g);
            for (let q = 0; q < CHW; q++) {
              if (dx[n * CHW + q] !== dxn[q])
                expect.fail(
                  `${JSON.stringify(g)} N=${N}: dx[${n}, ${q}] = ${dx[n * CHW + q]}, want ${dxn[q]}`,
                );
            }
          }
        });
      });
    });
  }
}
