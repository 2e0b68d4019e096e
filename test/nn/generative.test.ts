// test/nn/generative.test.ts: the ConvTranspose2d, GroupNorm and Unflatten modules: they agree
// with the functional layers, their gradients match centred differences, they build from an
// architecture file's sequential spec, and a small generator of them fits a target image.
import { describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import {
  convTransposeBackward,
  convTransposeForward,
  mseLoss,
  spatialGroupnormForward,
} from '../../src/layers/index.js';
import {
  ConvTranspose2d,
  GroupNorm,
  Linear,
  ReLU,
  Sequential,
  Tanh,
  Unflatten,
} from '../../src/nn/index.js';
import { adam, type OptimConfig } from '../../src/optim/index.js';
import { buildModel } from '../../src/cli/modelSpec.js';
import { Tensor } from '../../src/tensor/index.js';
import { numericGrad, randn64 } from '../helpers.js';

describe('ConvTranspose2d', () => {
  it('owns weight (C_in, F, HH, WW) (torch layout) and bias (F), U(-k, k) with k = 1/sqrt(F·HH·WW)', () => {
    const up = new ConvTranspose2d(3, 6, [4, 2], { stride: 2, pad: 1, seed: 1 });
    expect(up.params.weight.shape).toEqual([3, 6, 4, 2]);
    expect(up.params.bias.shape).toEqual([6]);
    const k = 1 / Math.sqrt(6 * 4 * 2);
    const ws = Array.from(up.params.weight.data);
    expect(ws.every((v) => Math.abs(v) <= k)).toBe(true);
    expect(Math.max(...ws.map(Math.abs))).toBeGreaterThan(0.9 * k); // the bound is the one used
    expect(up.toString()).toBe('ConvTranspose2d(3 -> 6, 4x2, stride 2, pad 1)');
    const dcgan = new ConvTranspose2d(2, 2, 3, { weightScale: 0.02, bias: false, seed: 2 });
    expect(Array.from(dcgan.params.bias.data)).toEqual([0, 0]);
    expect(dcgan.toString()).toBe('ConvTranspose2d(2 -> 2, 3x3, stride 1, pad 0, no bias)');
  });

  it('forward/backward are convTransposeForward/Backward with its params', () => {
    const up = new ConvTranspose2d(2, 3, 3, {
      stride: 2,
      pad: 1,
      outputPad: 1,
      dtype: 'float64',
      seed: 2,
    });
    const x = randn64([2, 2, 4, 3], 3);
    const out = up.forward(x);
    expect(out.shape).toEqual([2, 3, 8, 6]);
    const ref = convTransposeForward(x, up.params.weight, up.params.bias, {
      stride: 2,
      pad: 1,
      outputPad: 1,
    });
    expect(relError(out, ref.out)).toBe(0);
    const dout = randn64(out.shape, 4);
    const dx = up.backward(dout),
      want = convTransposeBackward(dout, ref.cache);
    expect(relError(dx, want.dx)).toBe(0);
    expect(relError(up.grads.weight, want.dw)).toBe(0);
    expect(relError(up.grads.bias, want.db)).toBe(0);
  });

  it('gradients match centred differences (float64, relError < 1e-7)', () => {
    const up = new ConvTranspose2d(2, 2, [3, 2], { stride: 2, dtype: 'float64', seed: 5 });
    const x = randn64([2, 2, 3, 2], 6);
    const dout = randn64(up.forward(x).shape, 7);
    const dx = up.backward(dout);
    const f = () => up.forward(x);
    expect(
      relError(
        dx,
        numericGrad((t) => up.forward(t), x, dout),
      ),
    ).toBeLessThan(1e-7);
    expect(relError(up.grads.weight, numericGrad(f, up.params.weight, dout))).toBeLessThan(1e-7);
    expect(relError(up.grads.bias, numericGrad(f, up.params.bias, dout))).toBeLessThan(1e-7);
  });

  it('errors name the module and the argument', () => {
    expect(() => new ConvTranspose2d(3, 4, 4, { stride: 2, outputPad: 2 })).toThrow(
      'ConvTranspose2d: outputPad must be smaller than stride, got 2 >= 2',
    );
    expect(() => new ConvTranspose2d(3, 4, 4, { outputPadding: 1 } as object)).toThrow(
      "ConvTranspose2d: unknown option 'outputPadding' (did you mean 'outputPad'?)",
    );
    expect(() => new ConvTranspose2d(3, 4, 3).backward(Tensor.zeros([1, 4, 3, 3]))).toThrow(
      'ConvTranspose2d.backward: call forward first',
    );
  });
});

describe('GroupNorm', () => {
  it('is spatialGroupnormForward on images and on (N, C) features read as (N, C, 1, 1)', () => {
    const gn = new GroupNorm(2, 4, { dtype: 'float64' });
    gn.params.weight.data.set([1, 2, 3, 4]);
    const x = randn64([3, 4, 2, 2], 1);
    const ref = spatialGroupnormForward(x, gn.params.weight, gn.params.bias, { groups: 2 });
    expect(relError(gn.forward(x), ref.out)).toBe(0);
    const f = randn64([3, 4], 2);
    const out = gn.forward(f);
    expect(out.shape).toEqual([3, 4]);
    const ref2 = spatialGroupnormForward(
      f.reshape([3, 4, 1, 1]),
      gn.params.weight,
      gn.params.bias,
      {
        groups: 2,
      },
    );
    expect(relError(out, ref2.out.reshape([3, 4]))).toBe(0);
    expect(gn.eval().forward(f).data).toEqual(out.data); // no running statistics: eval = train
    expect(gn.buffers).toEqual({});
    expect(gn.toString()).toBe('GroupNorm(2, 4)');
  });

  it('gradients match centred differences on images and features (float64, relError < 1e-7)', () => {
    for (const shape of [
      [2, 6, 2, 3],
      [3, 6],
    ]) {
      // 2 groups: 3 features per group (with 2, dx is only eps's residue and cancels)
      const gn = new GroupNorm(2, 6, { dtype: 'float64' });
      gn.params.weight.data.set(randn64([6], 3).data);
      gn.params.bias.data.set(randn64([6], 4).data);
      const x = randn64(shape, 5);
      const dout = randn64(shape, 6);
      gn.forward(x);
      const dx = gn.backward(dout);
      expect(dx.shape).toEqual(shape);
      const f = () => gn.forward(x);
      expect(
        relError(
          dx,
          numericGrad((t) => gn.forward(t), x, dout),
        ),
      ).toBeLessThan(1e-7);
      expect(relError(gn.grads.weight, numericGrad(f, gn.params.weight, dout))).toBeLessThan(1e-7);
      expect(relError(gn.grads.bias, numericGrad(f, gn.params.bias, dout))).toBeLessThan(1e-7);
    }
  });

  it('errors name the module and the argument; Sequential does not decay its weight', () => {
    expect(() => new GroupNorm(4, 6)).toThrow(
      'GroupNorm: numGroups = 4 does not divide numChannels = 6',
    );
    expect(() => new GroupNorm(2, 4).forward(Tensor.zeros([2, 4, 3]))).toThrow(
      'GroupNorm.forward: x has shape [2,4,3] but must be (N, C, H, W) or (N, C)',
    );
    const net = new Sequential(new Linear(3, 4, { seed: 1 }), new GroupNorm(2, 4), { reg: 1 });
    expect(net.l2Keys).toEqual(['0.weight']);
  });
});

describe('Unflatten', () => {
  it('reads (N, D) as (N, ...shape) and gives dout back as (N, D)', () => {
    const u = new Unflatten([2, 3, 1]);
    const x = randn64([4, 6], 1);
    const out = u.forward(x);
    expect(out.shape).toEqual([4, 2, 3, 1]);
    expect(out.data).toEqual(x.data);
    const dx = u.backward(out);
    expect(dx.shape).toEqual([4, 6]);
    expect(() => u.forward(randn64([4, 5], 1))).toThrow(
      'Unflatten.forward: x has shape [4,5] but must be (N, 6) to become (N, 2, 3, 1)',
    );
    expect(() => u.backward(randn64([4, 6], 1))).toThrow(
      'Unflatten.backward: dout has shape [4,6] but the forward output was [4,2,3,1]',
    );
  });
});

describe('a small generator from the new modules', () => {
  it('builds from an architecture file spec (sequential) and has the torch shapes', () => {
    const net = buildModel(
      {
        sequential: [
          { type: 'Linear', inFeatures: 4, outFeatures: 32 },
          { type: 'Unflatten', shape: [8, 2, 2] },
          {
            type: 'ConvTranspose2d',
            inChannels: 8,
            outChannels: 4,
            kernelSize: 4,
            stride: 2,
            pad: 1,
          },
          { type: 'GroupNorm', numGroups: 2, numChannels: 4 },
          { type: 'ReLU' },
          {
            type: 'ConvTranspose2d',
            inChannels: 4,
            outChannels: 1,
            kernelSize: 4,
            stride: 2,
            pad: 1,
          },
        ],
        seed: 3,
      },
      'gen.json',
    ) as Sequential;
    expect(Object.keys(net.params)).toEqual([
      '0.weight',
      '0.bias',
      '2.weight',
      '2.bias',
      '3.weight',
      '3.bias',
      '5.weight',
      '5.bias',
    ]);
    expect(net.params['2.weight'].shape).toEqual([8, 4, 4, 4]);
    expect(net.forward(Tensor.zeros([3, 4])).shape).toEqual([3, 1, 8, 8]);
  });

  it('z (N, 4) -> linear -> unflatten -> up-conv -> group norm -> relu -> up-conv -> tanh fits 4 targets (mse < 1e-3)', () => {
    const net = new Sequential(
      new Linear(4, 32, { seed: 1 }),
      new Unflatten([8, 2, 2]),
      new ConvTranspose2d(8, 8, 4, { stride: 2, pad: 1, seed: 2 }),
      new GroupNorm(4, 8),
      new ReLU(),
      new ConvTranspose2d(8, 1, 4, { stride: 2, pad: 1, seed: 3 }),
      new Tanh(),
    );
    const z = Tensor.randn([4, 4], { seed: 4 });
    const target = Tensor.rand([4, 1, 8, 8], { seed: 5, low: -0.8, high: 0.8 });
    const configs: Record<string, OptimConfig> = {};
    const losses: number[] = [];
    for (let step = 0; step < 400; step++) {
      const { loss, dx } = mseLoss(net.forward(z), target);
      losses.push(loss);
      net.backward(dx);
      for (const [k, w] of Object.entries(net.params))
        configs[k] = adam(w, net.grads[k], configs[k] ?? { learningRate: 1e-2 });
    }
    expect(losses[0]).toBeGreaterThan(0.1);
    expect(losses[losses.length - 1]).toBeLessThan(1e-3);
  });
});
