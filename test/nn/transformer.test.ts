import { describe, expect, it } from 'vitest';
import { relError } from '../../src/gradcheck/index.js';
import {
  GELU,
  LayerNorm,
  MultiHeadAttention,
  PositionalEncoding,
  Sequential,
  TemporalLinear,
  TransformerDecoderLayer,
  TransformerEncoderLayer,
  type Module,
} from '../../src/nn/index.js';
import { Tensor, type FloatTensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, numericGrad, randn64, snapshot } from '../helpers.js';

type T = { shape: number[]; data: number[] };
interface LayerCase {
  numHeads: number;
  dimFeedforward: number;
  activation: 'relu' | 'gelu';
  normFirst: boolean;
  causal?: boolean;
  x: T;
  memory?: T;
  dout: T;
  params: Record<string, T>;
  out: T;
  dx: T;
  dmemory?: T;
  grads: Record<string, T>;
}
const ref = fixture<{
  encoder: Record<'preGelu' | 'postRelu', LayerCase>;
  decoder: Record<'preGelu' | 'postRelu', LayerCase>;
}>('attention');

/** Copies fixture params into a module's live params, checking that the key sets are the same. */
function load(m: Module, params: Record<string, T>): void {
  expect(Object.keys(m.params).sort()).toEqual(Object.keys(params).sort());
  for (const [k, v] of Object.entries(params)) m.params[k].data.set(v.data);
}

function options(c: LayerCase) {
  return {
    dimFeedforward: c.dimFeedforward,
    activation: c.activation,
    normFirst: c.normFirst,
    dropout: 0,
    dtype: 'float64' as const,
    seed: 0,
  };
}

/** Every param's gradient against centred differences of `run` (which reads the live params). */
function checkParams(m: Module, run: () => Tensor, dout: Tensor, tol = 1e-7): void {
  for (const [key, p] of Object.entries(m.params)) {
    const num = numericGrad(() => run(), p, dout);
    if (key.endsWith('.bk')) {
      // bk shifts every score of a query row by the same amount, which softmax ignores: 0 exactly
      expect(Math.max(...m.grads[key].data.map(Math.abs)), key).toBeLessThan(1e-12);
      expect(Math.max(...num.data.map(Math.abs)), key).toBeLessThan(1e-9);
    } else expect(relError(m.grads[key], num), key).toBeLessThan(tol);
  }
}

describe('TransformerEncoderLayer', () => {
  for (const name of ['preGelu', 'postRelu'] as const) {
    const c = ref.encoder[name];
    it(`matches torch.nn.TransformerEncoderLayer (${name}, ${c.causal ? 'causal' : 'no mask'}, float64)`, () => {
      const layer = new TransformerEncoderLayer(8, c.numHeads, { ...options(c), causal: c.causal });
      load(layer, c.params);
      const [x, dout] = [c.x, c.dout].map(fromFixture);
      const out = layer.forward(x);
      expect(relError(out, c.out.data)).toBeLessThan(1e-7);
      const dx = layer.backward(dout);
      expect(relError(dx, c.dx.data)).toBeLessThan(1e-7);
      for (const [k, g] of Object.entries(c.grads)) {
        if (k.endsWith('.bk')) continue; // exactly 0 in theory; both sides are rounding noise
        expect(relError(layer.grads[k], g.data), k).toBeLessThan(1e-7);
      }
    });

    it(`backward matches centred differences for x and every param (${name}, float64)`, () => {
      const layer = new TransformerEncoderLayer(8, c.numHeads, { ...options(c), causal: c.causal });
      const x = randn64([2, 4, 8], 1),
        dout = randn64([2, 4, 8], 2);
      const unchanged = snapshot(x, dout);
      layer.forward(x);
      const dx = layer.backward(dout);
      expect(unchanged()).toBe(true);
      expect(
        relError(
          dx,
          numericGrad((t) => layer.forward(t), x, dout),
        ),
      ).toBeLessThan(1e-7);
      layer.forward(x);
      layer.backward(dout);
      checkParams(layer, () => layer.forward(x), dout);
    });
  }

  it('works inside Sequential with TemporalLinear, PositionalEncoding, GELU and LayerNorm', () => {
    const model = new Sequential(
      new TemporalLinear(3, 8, { dtype: 'float64', seed: 1 }),
      new PositionalEncoding(),
      new TransformerEncoderLayer(8, 2, { dropout: 0, dtype: 'float64', seed: 2 }),
      new MultiHeadAttention(8, 4, { causal: true, dtype: 'float64', seed: 3 }),
      new GELU('tanh'),
      new LayerNorm(8, { dtype: 'float64' }),
    );
    expect(Object.keys(model.params)).toContain('2.selfAttn.Wq');
    expect(Object.keys(model.params)).toContain('3.Wo');
    const x = randn64([2, 5, 3], 4),
      dout = randn64([2, 5, 8], 5);
    model.forward(x);
    const dx = model.backward(dout);
    expect(
      relError(
        dx,
        numericGrad((t) => model.forward(t), x, dout),
      ),
    ).toBeLessThan(1e-7);
    const W = model.params['2.linear1.weight'];
    const num = numericGrad(() => model.forward(x), W, dout);
    expect(relError(model.grads['2.linear1.weight'], num)).toBeLessThan(1e-7);
  });

  it('dropout in train mode is seeded; eval mode turns it off', () => {
    const make = () =>
      new TransformerEncoderLayer(8, 2, { dropout: 0.3, seed: 5, dtype: 'float64' });
    const x = randn64([2, 4, 8], 1);
    const a = make().forward(x),
      b = make().forward(x);
    expect(relError(a, b)).toBe(0);
    const evalOut = make().eval().forward(x);
    const noDrop = new TransformerEncoderLayer(8, 2, { dropout: 0, seed: 5, dtype: 'float64' });
    expect(relError(evalOut, noDrop.forward(x))).toBe(0);
    expect(relError(a, evalOut)).toBeGreaterThan(1e-3);
  });

  it('names the class, argument and shapes', () => {
    const layer = new TransformerEncoderLayer(8, 2);
    expect(() => layer.forward(Tensor.zeros([2, 3, 6]))).toThrow(
      'TransformerEncoderLayer.forward: x has shape [2,3,6] but must be (N, S, 8)',
    );
    expect(() => new TransformerEncoderLayer(8, 3)).toThrow(
      'MultiHeadAttention: numHeads = 3 does not divide embedDim = 8',
    );
    expect(() => new TransformerEncoderLayer(8, 2, { activation: 'tanh' as never })).toThrow(
      "TransformerEncoderLayer: activation must be 'relu' or 'gelu', got 'tanh'",
    );
  });
});

describe('TransformerDecoderLayer', () => {
  for (const name of ['preGelu', 'postRelu'] as const) {
    const c = ref.decoder[name];
    it(`matches torch.nn.TransformerDecoderLayer with a causal tgt_mask (${name}, float64)`, () => {
      const layer = new TransformerDecoderLayer(8, c.numHeads, options(c));
      load(layer, c.params);
      const [x, memory, dout] = [c.x, c.memory!, c.dout].map(fromFixture);
      expect(relError(layer.forward(x, memory), c.out.data)).toBeLessThan(1e-7);
      const { dx, dmemory } = layer.backwardWithMemory(dout);
      expect(relError(dx, c.dx.data)).toBeLessThan(1e-7);
      expect(relError(dmemory, c.dmemory!.data)).toBeLessThan(1e-7);
      for (const [k, g] of Object.entries(c.grads)) {
        if (k.endsWith('.bk')) continue; // exactly 0 in theory; both sides are rounding noise
        expect(relError(layer.grads[k], g.data), k).toBeLessThan(1e-7);
      }
    });

    it(`backward matches centred differences for x, memory and every param (${name}, float64)`, () => {
      const layer = new TransformerDecoderLayer(8, c.numHeads, options(c));
      const x = randn64([2, 3, 8], 1),
        memory = randn64([2, 4, 8], 2),
        dout = randn64([2, 3, 8], 3);
      layer.forward(x, memory);
      const { dx, dmemory } = layer.backwardWithMemory(dout);
      expect(
        relError(
          dx,
          numericGrad((t) => layer.forward(t, memory), x, dout),
        ),
      ).toBeLessThan(1e-7);
      const numMemory = numericGrad((t) => layer.forward(x, t), memory, dout);
      expect(relError(dmemory, numMemory)).toBeLessThan(1e-7);
      layer.forward(x, memory);
      layer.backwardWithMemory(dout);
      checkParams(layer, () => layer.forward(x, memory), dout);
    });
  }

  it('the self-attention is causal: later tokens do not change earlier outputs', () => {
    const layer = new TransformerDecoderLayer(8, 2, { dropout: 0, dtype: 'float64', seed: 1 });
    const x = randn64([1, 4, 8], 1),
      memory = randn64([1, 3, 8], 2);
    const a = layer.forward(x, memory);
    const y = x.clone() as FloatTensor;
    for (let j = 24; j < 32; j++) y.data[j] += 1;
    const b = layer.forward(y, memory);
    expect(relError(a.data.slice(0, 24), b.data.slice(0, 24))).toBe(0);
  });

  it('names the class and the missing memory', () => {
    const layer = new TransformerDecoderLayer(8, 2);
    expect(() => layer.forward(Tensor.zeros([1, 3, 8]))).toThrow(
      'TransformerDecoderLayer.forward: memory is required: forward(x, memory) with memory (N, T, 8)',
    );
    expect(() => layer.forward(Tensor.zeros([1, 3, 8]), Tensor.zeros([2, 3, 8]))).toThrow(
      'TransformerDecoderLayer.forward: memory has shape [2,3,8] but x has shape [1,3,8]',
    );
  });
});

describe('MultiHeadAttention module', () => {
  it('attend gives the layer gradients; backward after attend is refused with a pointer', () => {
    const mha = new MultiHeadAttention(4, 2, { dtype: 'float64', seed: 1 });
    const q = randn64([2, 3, 4], 1),
      kv = randn64([2, 5, 4], 2),
      dout = randn64([2, 3, 4], 3);
    mha.attend(q, kv, kv);
    expect(mha.weights?.shape).toEqual([2, 2, 3, 5]);
    expect(() => mha.backward(dout)).toThrow(
      'MultiHeadAttention.backward: the last call was attend(query, key, value); use backwardAttend',
    );
    const g = mha.backwardAttend(dout);
    expect(
      relError(
        g.dquery,
        numericGrad((t) => mha.attend(t, kv, kv), q, dout),
      ),
    ).toBeLessThan(1e-7);
    expect(Object.keys(mha.grads).sort()).toEqual(
      ['Wq', 'bq', 'Wk', 'bk', 'Wv', 'bv', 'Wo', 'bo'].sort(),
    );
  });
});
