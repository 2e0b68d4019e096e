// test/layers/convTranspose.test.ts: convTransposeForward/Backward and the naive pair against
// torch's conv_transpose2d, against each other on many random geometries (and under the wasm
// backend), against centred differences, and as the adjoint of convForward.
import { afterAll, describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import { setBackend } from '../../src/kernels/index.js';
import {
  convForward,
  convTransposeBackward,
  convTransposeBackwardNaive,
  convTransposeForward,
  convTransposeForwardNaive,
  type ConvTransposeParam,
} from '../../src/layers/index.js';
import { Rng, Tensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, normwiseError, numericGrad, randn64, snapshot } from '../helpers.js';

type Entry = { shape: number[]; data: number[] };
interface Case {
  stride: number;
  pad: number;
  outputPad: number;
  x: Entry;
  w: Entry;
  b: Entry;
  dout: Entry;
  out: Entry;
  dx: Entry;
  dw: Entry;
  db: Entry;
}

const pairs = [
  ['fast', convTransposeForward, convTransposeBackward],
  ['naive', convTransposeForwardNaive, convTransposeBackwardNaive],
] as const;

afterAll(() => setBackend('auto'));

describe('convTranspose against torch.nn.functional.conv_transpose2d (float64 fixtures)', () => {
  const { convTranspose: cases, generator } = fixture<{ convTranspose: Case[] }>('generative');
  it('comes from the committed generator, with strides 1-3, pads and output padding', () => {
    expect(generator).toContain('test/fixtures/gen/generative.py');
    expect(cases.length).toBeGreaterThanOrEqual(7);
    expect(new Set(cases.map((c) => c.stride))).toEqual(new Set([1, 2, 3]));
    expect(cases.some((c) => c.outputPad > 0)).toBe(true);
  });
  for (const [name, forward, backward] of pairs) {
    it(`${name}: outputs and gradients match on every geometry`, () => {
      for (const c of cases) {
        const [x, w, b, dout] = [c.x, c.w, c.b, c.dout].map(fromFixture);
        const param = { stride: c.stride, pad: c.pad, outputPad: c.outputPad };
        const { out, cache } = forward(x, w, b, param);
        const what = `x ${fmtShape(x)} w ${fmtShape(w)} ${JSON.stringify(param)}`;
        expect(out.shape, what).toEqual(c.out.shape);
        expect(relError(out, fromFixture(c.out)), what).toBeLessThan(1e-10);
        const { dx, dw, db } = backward(dout, cache);
        expect(relError(dx, fromFixture(c.dx)), what).toBeLessThan(1e-10);
        expect(relError(dw, fromFixture(c.dw)), what).toBeLessThan(1e-10);
        expect(relError(db, fromFixture(c.db)), what).toBeLessThan(1e-10);
      }
    });
  }
});

const fmtShape = (t: Tensor) => `[${t.shape.join(',')}]`;

/** A random geometry: N 1-3, C, F 1-4, H, W 1-6, HH, WW 1-5, stride 1-3, pad 0-2, outputPad < stride. */
function randomGeometry(rng: Rng): { xs: number[]; ws: number[]; param: ConvTransposeParam } {
  const pick = (lo: number, hi: number) => lo + rng.int(hi - lo + 1);
  for (;;) {
    const [N, C, H, W, F] = [pick(1, 3), pick(1, 4), pick(1, 6), pick(1, 6), pick(1, 4)];
    const [HH, WW, stride, pad] = [pick(1, 5), pick(1, 5), pick(1, 3), pick(0, 2)];
    const outputPad = pick(0, stride - 1);
    const Hout = (H - 1) * stride - 2 * pad + HH + outputPad,
      Wout = (W - 1) * stride - 2 * pad + WW + outputPad;
    if (Hout < 1 || Wout < 1) continue; // empty output: rejected, tested below
    return { xs: [N, C, H, W], ws: [C, F, HH, WW], param: { stride, pad, outputPad } };
  }
}

describe('convTransposeForward/Backward equal the naive loops', () => {
  it('on 100 random geometries (strides 1-3, pads 0-2, output padding, N = 1, non-square), to 1e-12', () => {
    const rng = new Rng(15);
    const seen = { outputPad: 0, N1: 0, nonSquare: 0 };
    for (let trial = 0; trial < 100; trial++) {
      const { xs, ws, param } = randomGeometry(rng);
      const x = randn64(xs, 4 * trial),
        w = randn64(ws, 4 * trial + 1),
        b = randn64([ws[1]], 4 * trial + 2);
      const fast = convTransposeForward(x, w, b, param),
        naive = convTransposeForwardNaive(x, w, b, param);
      const what = `x ${xs} w ${ws} ${JSON.stringify(param)}`;
      expect(normwiseError(fast.out, naive.out), what).toBeLessThan(1e-12);
      const dout = randn64(fast.out.shape, 4 * trial + 3);
      const g1 = convTransposeBackward(dout, fast.cache),
        g2 = convTransposeBackwardNaive(dout, naive.cache);
      for (const key of ['dx', 'dw', 'db'] as const)
        expect(normwiseError(g1[key], g2[key]), `${what} ${key}`).toBeLessThan(1e-12);
      seen.outputPad += (param.outputPad ?? 0) > 0 ? 1 : 0;
      seen.N1 += xs[0] === 1 ? 1 : 0;
      seen.nonSquare += xs[2] !== xs[3] || ws[2] !== ws[3] ? 1 : 0;
    }
    // the sample really spans the cases it claims to
    expect(Math.min(seen.outputPad, seen.N1, seen.nonSquare)).toBeGreaterThan(10);
  });

  it('when the batch is lowered in several blocks (one image each), to 1e-12', () => {
    // cols: F·HH·WW = 200 rows x H·W = 324 columns = 64,800 entries an image, so the 2^16 cap of a
    // block holds one image and the 5 images take 5 blocks (dw summed over them)
    const x = randn64([5, 3, 18, 18], 1),
      w = randn64([3, 8, 5, 5], 2),
      b = randn64([8], 3);
    const param = { stride: 2, pad: 2, outputPad: 1 };
    const fast = convTransposeForward(x, w, b, param),
      naive = convTransposeForwardNaive(x, w, b, param);
    expect(normwiseError(fast.out, naive.out)).toBeLessThan(1e-12);
    const dout = randn64(fast.out.shape, 4);
    const g1 = convTransposeBackward(dout, fast.cache),
      g2 = convTransposeBackwardNaive(dout, naive.cache);
    for (const key of ['dx', 'dw', 'db'] as const)
      expect(normwiseError(g1[key], g2[key]), key).toBeLessThan(1e-12);
  });

  it('float32 under the wasm and reference backends agrees with float64 (1e-5) and keeps the dtype', () => {
    const rng = new Rng(16);
    for (let trial = 0; trial < 12; trial++) {
      const { xs, ws, param } = randomGeometry(rng);
      const [x, w, b] = [xs, ws, [ws[1]]].map((s, i) => randn64(s, 50 * trial + i));
      const dout = randn64(convTransposeForwardNaive(x, w, b, param).out.shape, 50 * trial + 9);
      const want = convTransposeForwardNaive(x, w, b, param);
      const wantGrads = convTransposeBackwardNaive(dout, want.cache);
      const f32 = (t: Tensor) => t.astype('float32');
      for (const backend of ['reference', 'wasm'] as const) {
        setBackend(backend);
        const got = convTransposeForward(f32(x), f32(w), f32(b), param);
        expect(got.out.dtype).toBe('float32');
        const what = `${backend} x ${xs} w ${ws} ${JSON.stringify(param)}`;
        expect(normwiseError(got.out, want.out), what).toBeLessThan(1e-5);
        const grads = convTransposeBackward(f32(dout), got.cache);
        for (const key of ['dx', 'dw', 'db'] as const) {
          expect(grads[key].dtype).toBe('float32');
          expect(normwiseError(grads[key], wantGrads[key]), `${what} ${key}`).toBeLessThan(1e-5);
        }
      }
    }
    setBackend('auto');
  });
});

describe('convTranspose is the adjoint of conv', () => {
  it('<convForward(u, w), v> = <u, convTransposeForward(v, w)> with w read as (C_in, F) = (F_conv, C_conv)', () => {
    // conv: (N, Cc, Hc, Wc) -> (N, Fc, H, W) with w (Fc, Cc, HH, WW); transposed conv of the same
    // w maps (N, Fc, H, W) back to (N, Cc, Hc, Wc) when outputPad makes up the rows conv skipped
    const rng = new Rng(3);
    for (let trial = 0; trial < 20; trial++) {
      const { xs, ws, param } = randomGeometry(rng);
      const [N, Cin, H, W] = xs,
        [, Fo, HH, WW] = ws;
      const v = randn64(xs, trial),
        w = randn64(ws, 100 + trial);
      const t = convTransposeForward(v, w, Tensor.zeros([Fo], 'float64'), param).out;
      const u = randn64(t.shape, 200 + trial);
      const c = convForward(u, w, Tensor.zeros([Cin], 'float64'), {
        stride: param.stride,
        pad: param.pad,
      }).out;
      expect(c.shape, `${xs} ${ws}`).toEqual([N, Cin, H, W]);
      let lhs = 0,
        rhs = 0;
      for (let i = 0; i < c.size; i++) lhs += c.data[i] * v.data[i];
      for (let i = 0; i < t.size; i++) rhs += u.data[i] * t.data[i];
      expect(Math.abs(lhs - rhs), `${xs} ${ws} ${HH}x${WW}`).toBeLessThan(
        1e-10 * (1 + Math.abs(lhs)),
      );
    }
  });
});

describe('convTranspose gradients match centred differences (float64)', () => {
  const geometries: Array<[number[], number[], ConvTransposeParam]> = [
    [[2, 3, 3, 2], [3, 2, 3, 2], { stride: 1, pad: 1 }],
    [[1, 2, 3, 3], [2, 2, 4, 4], { stride: 2, pad: 1, outputPad: 1 }],
    [[2, 1, 2, 3], [1, 3, 3, 1], { stride: 3, pad: 0, outputPad: 2 }],
  ];
  for (const [name, forward, backward] of pairs) {
    it(`${name}: dx, dw, db (relError < 1e-7; linear in each argument)`, () => {
      geometries.forEach(([xs, ws, param], i) => {
        const x = randn64(xs, 10 * i),
          w = randn64(ws, 10 * i + 1),
          b = randn64([ws[1]], 10 * i + 2);
        const { out, cache } = forward(x, w, b, param);
        const dout = randn64(out.shape, 10 * i + 3);
        const { dx, dw, db } = backward(dout, cache);
        const num = (f: (t: Tensor) => Tensor, at: Tensor) => numericGrad(f, at, dout);
        expect(
          relError(
            dx,
            num((t) => forward(t, w, b, param).out, x),
          ),
        ).toBeLessThan(1e-7);
        expect(
          relError(
            dw,
            num((t) => forward(x, t, b, param).out, w),
          ),
        ).toBeLessThan(1e-7);
        expect(
          relError(
            db,
            num((t) => forward(x, w, t, param).out, b),
          ),
        ).toBeLessThan(1e-7);
      });
    });
  }
});

describe('convTranspose: output size, edge cases and no mutation', () => {
  it('has torch output size (H − 1)·stride − 2·pad + HH + outputPad, e.g. a DCGAN 7x7 -> 14x14', () => {
    const x = Tensor.zeros([2, 8, 7, 7]),
      w = Tensor.zeros([8, 4, 4, 4]),
      b = Tensor.zeros([4]);
    expect(convTransposeForward(x, w, b, { stride: 2, pad: 1 }).out.shape).toEqual([2, 4, 14, 14]);
    expect(convTransposeForward(x, w, b, { stride: 2, pad: 1, outputPad: 1 }).out.shape).toEqual([
      2, 4, 15, 15,
    ]);
    expect(convTransposeForward(x, w, b).out.shape).toEqual([2, 4, 10, 10]);
  });

  it('a 1x1 input stamps the filter: out[n, f] = x[n, c]·w[c, f] summed over c, plus b', () => {
    const x = Tensor.from([2, -1], [1, 2, 1, 1], 'float64');
    const w = randn64([2, 3, 2, 2], 5),
      b = Tensor.from([0.5, 0, -1], [3], 'float64');
    const { out } = convTransposeForward(x, w, b);
    for (let f = 0; f < 3; f++) {
      for (let p = 0; p < 4; p++) {
        const want = 2 * w.data[f * 4 + p] - w.data[12 + f * 4 + p] + b.data[f];
        expect(out.data[f * 4 + p]).toBeCloseTo(want, 14);
      }
    }
  });

  it('output-padding rows and columns hold only the bias and get gradient only into db', () => {
    // stride 2, pad 0, 1x1 kernel, outputPad 1: out is (2H, 2W); odd rows and columns and the last
    // row/column are reached by no input pixel
    const x = randn64([1, 1, 2, 2], 1),
      w = Tensor.from([3], [1, 1, 1, 1], 'float64'),
      b = Tensor.from([0.25], [1], 'float64');
    const param = { stride: 2, outputPad: 1 };
    for (const [, forward, backward] of pairs) {
      const { out, cache } = forward(x, w, b, param);
      expect(out.shape).toEqual([1, 1, 4, 4]);
      expect(out.data[5]).toBe(0.25); // (1, 1)
      expect(out.data[15]).toBe(0.25); // (3, 3): the output-padding corner
      expect(out.data[10]).toBeCloseTo(3 * x.data[3] + 0.25, 14); // (2, 2) <- x (1, 1)
      const dout = Tensor.zeros([1, 1, 4, 4], 'float64');
      dout.data[15] = 1;
      const g = backward(dout, cache);
      expect([...g.dx.data, ...g.dw.data, ...g.db.data]).toEqual([0, 0, 0, 0, 0, 1]);
    }
  });

  it('leaves x, w, b, dout and the cache untouched', () => {
    const x = randn64([2, 2, 3, 3], 1),
      w = randn64([2, 3, 3, 3], 2),
      b = randn64([3], 3);
    for (const [, forward, backward] of pairs) {
      const unchanged = snapshot(x, w, b);
      const { out, cache } = forward(x, w, b, { stride: 2, pad: 1, outputPad: 1 });
      const dout = randn64(out.shape, 4);
      const alsoUnchanged = snapshot(dout, cache.x, cache.w);
      backward(dout, cache);
      expect(unchanged()).toBe(true);
      expect(alsoUnchanged()).toBe(true);
    }
  });
});

describe('convTranspose errors name the function, argument and shapes', () => {
  const x = Tensor.zeros([2, 4, 3, 3]),
    w = Tensor.zeros([4, 2, 3, 3]),
    b = Tensor.zeros([2]);
  it('rejects a weight whose first axis is not C_in (torch layout (C, F, HH, WW))', () => {
    expect(() => convTransposeForward(x, Tensor.zeros([2, 4, 3, 3]), Tensor.zeros([4]))).toThrow(
      'convTransposeForward: w has shape [2,4,3,3] but x has 4 channels (w is (C, F, HH, WW))',
    );
    expect(() => convTransposeForward(x, w, Tensor.zeros([4]))).toThrow(
      'convTransposeForward: b has shape [4] but w has 2 output channels',
    );
    expect(() => convTransposeForwardNaive(Tensor.zeros([4, 3, 3]), w, b)).toThrow(
      'convTransposeForwardNaive: x has shape [4,3,3] but must be 4-D (N, C, H, W)',
    );
  });
  it('rejects outputPad >= stride, bad options and an empty output', () => {
    expect(() => convTransposeForward(x, w, b, { stride: 2, outputPad: 2 })).toThrow(
      'convTransposeForward: outputPad must be smaller than stride, got 2 >= 2',
    );
    expect(() => convTransposeForward(x, w, b, { stride: 0 })).toThrow(
      'convTransposeForward: stride must be >= 1, got 0',
    );
    expect(() => convTransposeForward(x, w, b, { outputPadding: 1 } as ConvTransposeParam)).toThrow(
      "convTransposeForward: unknown option 'outputPadding' (did you mean 'outputPad'?)",
    );
    expect(() => convTransposeForward(Tensor.zeros([1, 4, 1, 1]), w, b, { pad: 2 })).toThrow(
      'convTransposeForward: x has shape [1,4,1,1] and w [4,2,3,3], which with stride 1, pad 2, outputPad 0 give an empty -1x-1 output',
    );
  });
  it('rejects a dout of the wrong shape and mixed dtypes', () => {
    const { cache } = convTransposeForward(x, w, b, { stride: 2 });
    expect(() => convTransposeBackward(Tensor.zeros([2, 2, 6, 6]), cache)).toThrow(
      'convTransposeBackward: dout has shape [2,2,6,6] but the forward output was [2,2,7,7]',
    );
    expect(() => convTransposeForward(x, w.astype('float64'), b)).toThrow(
      'convTransposeForward: w has dtype float64 but x has dtype float32',
    );
  });
});
