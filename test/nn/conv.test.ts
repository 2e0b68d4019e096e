// test/nn/conv.test.ts: the Conv2d, MaxPool2d and AvgPool2d modules: they agree with the
// functional layers, their gradients match centred differences, and a LeNet-style Sequential
// built from them trains.
import { describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import {
  avgPoolForward,
  convBackward,
  convForward,
  maxPoolForward,
  softmaxLoss,
} from '../../src/layers/index.js';
import { evalNumericalGradient } from '../../src/gradcheck/index.js';
import {
  AvgPool2d,
  Conv2d,
  Flatten,
  Linear,
  MaxPool2d,
  ReLU,
  Sequential,
} from '../../src/nn/index.js';
import { Rng, Tensor, type FloatDType } from '../../src/tensor/index.js';
import { accuracy, adamSteps, numericGrad, randn64 } from '../helpers.js';

describe('Conv2d', () => {
  it('owns weight (F, C, HH, WW) and bias (F), seeded, U(-k, k) with k = 1/sqrt(C·HH·WW)', () => {
    const conv = new Conv2d(3, 6, [5, 3], { seed: 1 });
    expect(conv.params.weight.shape).toEqual([6, 3, 5, 3]);
    expect(conv.params.bias.shape).toEqual([6]);
    expect(conv.params.weight.dtype).toBe('float32');
    const k = 1 / Math.sqrt(3 * 5 * 3);
    expect(conv.params.weight.data.every((v) => Math.abs(v) <= k)).toBe(true);
    expect(new Conv2d(3, 6, [5, 3], { seed: 1 }).params.weight.data).toEqual(
      conv.params.weight.data,
    );
    expect(conv.toString()).toBe('Conv2d(3 -> 6, 5x3, stride 1, pad 0)');
    expect(Object.keys(conv.namedParams('0.'))).toEqual(['0.weight', '0.bias']);
  });

  it('forward/backward are convForward/convBackward with its params', () => {
    const conv = new Conv2d(2, 3, 3, { stride: 2, pad: 1, dtype: 'float64', seed: 2 });
    const x = randn64([2, 2, 7, 6], 3);
    const out = conv.forward(x);
    const ref = convForward(x, conv.params.weight, conv.params.bias, { stride: 2, pad: 1 });
    expect(relError(out, ref.out)).toBe(0);
    const dout = randn64(out.shape, 4);
    const dx = conv.backward(dout),
      want = convBackward(dout, ref.cache);
    expect(relError(dx, want.dx)).toBe(0);
    expect(relError(conv.grads.weight, want.dw)).toBe(0);
    expect(relError(conv.grads.bias, want.db)).toBe(0);
  });

  it('gradients match centred differences (float64, relError < 1e-7)', () => {
    const conv = new Conv2d(2, 3, [3, 2], { pad: 2, dtype: 'float64', seed: 5 });
    const x = randn64([2, 2, 4, 5], 6);
    const dout = randn64(conv.forward(x).shape, 7);
    const dx = conv.backward(dout);
    const { weight, bias } = conv.grads;
    expect(
      relError(
        dx,
        numericGrad((t) => conv.forward(t), x, dout),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        weight,
        numericGrad(() => conv.forward(x), conv.params.weight, dout),
      ),
    ).toBeLessThan(1e-7);
    expect(
      relError(
        bias,
        numericGrad(() => conv.forward(x), conv.params.bias, dout),
      ),
    ).toBeLessThan(1e-7);
  });

  it('bias: false keeps a zero bias with zero gradient', () => {
    const conv = new Conv2d(1, 2, 1, { bias: false, dtype: 'float64', seed: 0 });
    const out = conv.forward(randn64([1, 1, 2, 2], 1));
    conv.backward(randn64(out.shape, 2));
    expect(Array.from(conv.params.bias.data)).toEqual([0, 0]);
    expect(Array.from(conv.grads.bias.data)).toEqual([0, 0]);
    expect(conv.toString()).toBe('Conv2d(1 -> 2, 1x1, stride 1, pad 0, no bias)');
  });

  it('errors name the module and the argument', () => {
    expect(() => new Conv2d(3, 4, 0)).toThrow('Conv2d: kernelSize (height) must be >= 1, got 0');
    expect(() => new Conv2d(3, 4, 3, { padding: 1 } as object)).toThrow(
      "Conv2d: unknown option 'padding'",
    );
    expect(() => new Conv2d(3, 4, 3).backward(Tensor.zeros([1, 4, 1, 1]))).toThrow(
      'Conv2d.backward: call forward first',
    );
    expect(() => new Conv2d(3, 4, 3).forward(Tensor.zeros([1, 2, 5, 5]))).toThrow(
      'convForward: w has shape [4,3,3,3] but x has 2 channels',
    );
  });
});

describe('MaxPool2d and AvgPool2d', () => {
  it('stride defaults to the kernel size, as in torch; non-square kernels need a stride', () => {
    expect(new MaxPool2d(2).poolParam).toEqual({ poolHeight: 2, poolWidth: 2, stride: 2 });
    expect(new AvgPool2d([2, 3], 1).poolParam).toEqual({ poolHeight: 2, poolWidth: 3, stride: 1 });
    expect(() => new MaxPool2d([2, 3])).toThrow(
      'MaxPool2d: kernelSize [2,3] is not square, so give a stride (one stride serves H and W)',
    );
    expect(new MaxPool2d(3, 2).toString()).toBe('MaxPool2d(3x3, stride 2)');
    expect(new AvgPool2d(2).params).toEqual({});
  });

  it('forward equals the layer; backward matches centred differences (float64)', () => {
    const x = randn64([2, 3, 7, 6], 1);
    for (const pool of [new MaxPool2d(3, 2), new AvgPool2d([2, 3], 1)]) {
      const layer = pool instanceof MaxPool2d ? maxPoolForward : avgPoolForward;
      const out = pool.forward(x);
      expect(relError(out, layer(x, pool.poolParam).out)).toBe(0);
      const dout = randn64(out.shape, 2);
      // random inputs are tie-free, so max pooling is smooth at x
      expect(
        relError(
          pool.backward(dout),
          numericGrad((t) => pool.forward(t), x, dout),
        ),
      ).toBeLessThan(1e-7);
    }
    expect(() => new AvgPool2d(2).backward(Tensor.zeros([1, 1, 1, 1]))).toThrow(
      'AvgPool2d.backward: call forward first',
    );
  });
});

/** A small LeNet: conv 5x5 pad 2 - relu - max pool - conv 3x3 - relu - avg pool - linear - relu - linear. */
function leNet(dtype: FloatDType, seed: number, C = 1, S = 12): Sequential {
  const rng = new Rng(seed);
  const pooled = Math.floor((Math.floor(S / 2) - 2) / 2); // side after the second conv and pool
  return new Sequential(
    new Conv2d(C, 4, 5, { pad: 2, dtype, rng }),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(4, 6, 3, { dtype, rng }),
    new ReLU(),
    new AvgPool2d(2),
    new Flatten(),
    new Linear(6 * pooled * pooled, 16, { dtype, rng }),
    new ReLU(),
    new Linear(16, 5, { dtype, rng }),
  );
}

describe('a LeNet-style Sequential of Conv2d, ReLU, MaxPool2d, AvgPool2d, Flatten, Linear', () => {
  it('has conv weights (F, C, HH, WW) under dotted keys', () => {
    const net = leNet('float32', 0);
    expect(net.params['0.weight'].shape).toEqual([4, 1, 5, 5]);
    expect(net.params['3.weight'].shape).toEqual([6, 4, 3, 3]);
    expect(Object.keys(net.params)).toEqual([
      '0.weight',
      '0.bias',
      '3.weight',
      '3.bias',
      '7.weight',
      '7.bias',
      '9.weight',
      '9.bias',
    ]);
  });

  it('whole-network gradients match centred differences (float64; relu and max kinks, 1e-6)', () => {
    // Random inputs keep every relu input and every pooled maximum away from a kink by far more
    // than h = 1e-5, so the check is tight; reg > 0 keeps weight gradients away from 0.
    const net = leNet('float64', 1);
    const big = new Sequential(...net.modules, { reg: 0.01 });
    const X = randn64([3, 1, 12, 12], 2),
      y = [0, 4, 2];
    const { grads } = big.loss(X, y);
    // the same loss without the backward pass, to keep the ~800 x 2 evaluations fast
    const lossOnly = () => {
      let l2 = 0;
      for (const key of big.l2Keys) for (const v of big.params[key].data) l2 += v * v;
      return softmaxLoss(big.forward(X), y).loss + 0.5 * big.reg * l2;
    };
    expect(lossOnly()).toBeCloseTo(big.loss(X, y).loss, 12);
    for (const [key, param] of Object.entries(big.params)) {
      const numeric = evalNumericalGradient(lossOnly, param);
      expect(relError(grads[key], numeric), key).toBeLessThan(1e-6);
    }
  });

  it('overfits 30 samples to 100% train accuracy with full-batch Adam (float32)', () => {
    const rng = new Rng(7);
    const X = Tensor.randn([30, 1, 12, 12], { seed: 8 }),
      y = Array.from({ length: 30 }, () => rng.int(5));
    const net = leNet('float32', 9);
    const losses = adamSteps(net, X, y, 150, 1e-2);
    expect(losses[losses.length - 1]).toBeLessThan(0.05 * losses[0]);
    expect(accuracy(net.loss(X), y)).toBe(1);
  });
});
