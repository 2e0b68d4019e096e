import { describe, expect, it } from 'vitest';
import { evalNumericalGradient, relError } from '../../src/gradcheck/index.js';
import {
  gruForward,
  lstmForward,
  rnnForward,
  temporalSoftmaxLoss,
} from '../../src/layers/index.js';
import { Embedding, GRU, LSTM, RNN, TemporalLinear } from '../../src/nn/index.js';
import { Tensor, type FloatTensor } from '../../src/tensor/index.js';
import { numericGrad, randn64, snapshot } from '../helpers.js';

/** A tiny language model built from the modules: ids -> Embedding -> RNN/LSTM -> TemporalLinear. */
function languageModel(cell: 'rnn' | 'lstm' | 'gru') {
  const V = 5,
    D = 3,
    H = 4;
  const embed = new Embedding(V, D, { dtype: 'float64', seed: 2 });
  const Cell = { rnn: RNN, lstm: LSTM, gru: GRU }[cell];
  const rnn = new Cell(D, H, { dtype: 'float64', seed: 3 });
  const out = new TemporalLinear(H, V, { dtype: 'float64', seed: 4 });
  const ids = [
      [0, 3, 4, 1],
      [2, 2, 0, 1],
    ],
    targets = [
      [3, 4, 1, 2],
      [2, 0, 1, 1],
    ];
  const mask = [
    [true, true, true, false],
    [true, true, true, true],
  ];
  const h0 = randn64([2, H], 4);
  const lossOf = () =>
    temporalSoftmaxLoss(out.forward(rnn.forward(embed.forward(ids), h0)), targets, mask);
  const backward = () => {
    const { loss, dx } = lossOf();
    embed.backward(rnn.backward(out.backward(dx)));
    return loss;
  };
  return { embed, rnn, out, h0, lossOf, backward };
}

describe('recurrent modules', () => {
  for (const cell of ['rnn', 'lstm', 'gru'] as const) {
    // Tolerance 1e-6, not 1e-7: through a whole model the loss is ~6, so the centred difference
    // carries a rounding error of ~eps·6/h ≈ 6e-11 on every entry, and entries of a few 1e-5
    // then reach an elementwise relError of a few 1e-7 (measured: 3e-7 at h = 1e-5). Each layer
    // is checked at 1e-7 on its own in test/layers, and against torch at 1e-9.
    it(`train a language model end to end: every module gradient matches centred differences (${cell}, float64)`, () => {
      const m = languageModel(cell);
      m.backward();
      const dh0 = m.rnn.dh0 as FloatTensor;
      const checks: [Record<string, FloatTensor>, Record<string, FloatTensor>][] = [
        [m.embed.params, m.embed.grads],
        [m.rnn.params, m.rnn.grads],
        [m.out.params, m.out.grads],
      ];
      for (const [params, grads] of checks) {
        for (const key of Object.keys(params)) {
          expect(
            relError(
              grads[key],
              evalNumericalGradient(() => m.lossOf().loss, params[key]),
            ),
            key,
          ).toBeLessThan(1e-6);
        }
      }
      expect(
        relError(
          dh0,
          evalNumericalGradient(() => m.lossOf().loss, m.h0),
        ),
      ).toBeLessThan(1e-6);
    });
  }

  it('RNN and LSTM modules run the functional layers with their params; h0 defaults to zeros', () => {
    const x = randn64([2, 3, 4], 5);
    const rnn = new RNN(4, 3, { dtype: 'float64', seed: 1 }),
      lstm = new LSTM(4, 3, { dtype: 'float64', seed: 1 });
    const zeros = Tensor.zeros([2, 3], 'float64');
    expect(
      relError(rnn.forward(x), rnnForward(x, zeros, rnn.params.Wx, rnn.params.Wh, rnn.params.b).h),
    ).toBe(0);
    expect(
      relError(
        lstm.forward(x),
        lstmForward(x, zeros, lstm.params.Wx, lstm.params.Wh, lstm.params.b).h,
      ),
    ).toBe(0);
    const gru = new GRU(4, 3, { dtype: 'float64', seed: 1 });
    expect(
      relError(gru.forward(x), gruForward(x, zeros, gru.params.Wx, gru.params.Wh, gru.params.b).h),
    ).toBe(0);
    expect(gru.params.Wh.shape).toEqual([3, 9]);
    expect([lstm.params.Wx.shape, lstm.params.Wh.shape, lstm.params.b.shape]).toEqual([
      [4, 12],
      [3, 12],
      [12],
    ]);
    const dh = randn64([2, 3, 3], 6),
      unchanged = snapshot(x, dh);
    const dx = lstm.backward(dh);
    expect(
      relError(
        dx,
        numericGrad((t) => lstm.forward(t), x, dh),
      ),
    ).toBeLessThan(1e-7);
    expect(unchanged()).toBe(true);
    expect(lstm.namedParams('dec.')).toHaveProperty('dec.Wh');
    expect(String(lstm)).toBe('LSTM(4 -> 3)');
  });

  it('TemporalLinear and Embedding are seeded and return input gradients of the right shape', () => {
    const a = new TemporalLinear(3, 2, { seed: 9 }),
      b = new TemporalLinear(3, 2, { seed: 9 });
    expect([...a.params.weight.data]).toEqual([...b.params.weight.data]);
    const x = Tensor.randn([2, 4, 3], { seed: 1 });
    expect(a.backward((a.forward(x), Tensor.zeros([2, 4, 2]))).shape).toEqual([2, 4, 3]);
    const e = new Embedding(10, 2, { seed: 1 }),
      ids = Tensor.from([[1, 9, 9]], [1, 3], 'int32');
    const out = e.forward(ids);
    expect(out.shape).toEqual([1, 3, 2]);
    const dIds = e.backward(Tensor.full([1, 3, 2], 1));
    expect(dIds.shape).toEqual([1, 3]);
    expect([e.grads.weight.get(9, 0), e.grads.weight.get(1, 1), e.grads.weight.get(0, 0)]).toEqual([
      2, 1, 0,
    ]);
  });

  it('names the module and the shapes on misuse', () => {
    expect(() => new LSTM(3, 2).backward(Tensor.zeros([1, 1, 2]))).toThrow(
      'LSTM.backward: call forward first',
    );
    expect(() => new RNN(3, 2).forward(Tensor.zeros([1, 4, 5]))).toThrow(
      'RNN.forward: x has shape [1,4,5] but inputSize is 3',
    );
    expect(() => new RNN(3, 2).forward(Tensor.zeros([1, 4, 3]), Tensor.zeros([1, 3]))).toThrow(
      'rnnForward: Wx has shape [3,2] but x has 3 features and h0 has 3, so Wx must be [3,3] (D, H)',
    );
    expect(() => new Embedding(4, 2).forward([[0, 4]])).toThrow(
      'wordEmbeddingForward: x[0,1] = 4 is outside [0, 4)',
    );
    expect(() => new TemporalLinear(3, 2, { sed: 1 } as never)).toThrow(
      "TemporalLinear: unknown option 'sed' (did you mean 'seed'?)",
    );
  });
});
