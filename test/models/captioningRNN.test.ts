import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evalNumericalGradient, relError } from '../../src/gradcheck/index.js';
import { affineForward, lstmStepForward, rnnStepForward } from '../../src/layers/index.js';
import { loadModel } from '../../src/io/index.js';
import { CaptioningRNN } from '../../src/models/index.js';
import { Solver } from '../../src/solver/index.js';
import { Tensor, type FloatTensor } from '../../src/tensor/index.js';
import { fixture, fromFixture, randn64, snapshot } from '../helpers.js';

type Entry = { shape: number[]; data: number[] };
interface Case {
  params: Record<string, Entry>;
  features: Entry;
  captions: Entry;
  loss: number;
  grads: Record<string, Entry>;
  sampleFeatures: Entry;
  maxLength: number;
  greedy: Entry;
}
const fx = fixture<{ vocabulary: string[]; rnn: Case; lstm: Case }>('captioning');
const wordToIdx = Object.fromEntries(fx.vocabulary.map((w, i) => [w, i]));
const KEYS = ['W_proj', 'b_proj', 'W_embed', 'Wx', 'Wh', 'b', 'W_vocab', 'b_vocab'];

function modelFrom(c: Case, cellType: 'rnn' | 'lstm'): CaptioningRNN {
  const [D, H] = c.params.W_proj.shape,
    W = c.params.W_embed.shape[1];
  const model = new CaptioningRNN({
    wordToIdx,
    inputDim: D,
    wordvecDim: W,
    hiddenDim: H,
    cellType,
    dtype: 'float64',
    seed: 0,
  });
  for (const k of KEYS) model.params[k].data.set(c.params[k].data);
  return model;
}

for (const cellType of ['rnn', 'lstm'] as const) {
  describe(`CaptioningRNN (${cellType})`, () => {
    const c = fx[cellType];

    it('loss and every gradient match torch autograd through the whole model (float64)', () => {
      const model = modelFrom(c, cellType);
      const captions = Tensor.from(c.captions.data, c.captions.shape, 'int32');
      const { loss, grads } = model.loss(fromFixture(c.features), captions);
      expect(relError(loss, c.loss)).toBeLessThan(1e-10);
      expect(Object.keys(grads).sort()).toEqual([...KEYS].sort());
      for (const k of KEYS)
        expect(relError(grads[k], fromFixture(c.grads[k])), k).toBeLessThan(1e-9);
    });

    it('greedy captions match torch, <NULL> after <END>', () => {
      const model = modelFrom(c, cellType);
      const out = model.sample(fromFixture(c.sampleFeatures), c.maxLength);
      expect(out.dtype).toBe('int32');
      expect(out.shape).toEqual(c.greedy.shape);
      expect([...out.data]).toEqual(c.greedy.data);
    });

    it('whole-model gradients match centred differences (float64)', () => {
      const V = 6,
        words = ['<NULL>', '<START>', '<END>', 'x', 'y', 'z'];
      const model = new CaptioningRNN({
        wordToIdx: Object.fromEntries(words.map((w, i) => [w, i])),
        inputDim: 5,
        wordvecDim: 4,
        hiddenDim: 3,
        cellType,
        dtype: 'float64',
        seed: 3,
      });
      // Weights of scale 0.5 keep the gates out of saturation, so that no gradient entry is so
      // small (< 1e-4) that the centred difference's rounding error (~1e-11) dominates it.
      for (const k of KEYS) {
        const p = model.params[k];
        p.data.set(randn64(p.shape, 20 + KEYS.indexOf(k) + 1, k === 'W_embed' ? 1 : 0.5).data);
      }
      const features = randn64([2, 5], 13);
      const captions = [
        [1, 3, 4, 5, 2],
        [1, 5, 2, 0, 0],
      ];
      expect(captions.flat().every((id) => id < V)).toBe(true);
      const { grads } = model.loss(features, captions);
      for (const k of KEYS) {
        const num = evalNumericalGradient(
          () => model.loss(features, captions).loss,
          model.params[k],
        );
        expect(relError(grads[k], num), k).toBeLessThan(1e-7);
      }
    });
  });
}

/** Total log-probability of every caption up to maxLength, by exhaustive enumeration. */
function exhaustiveBest(
  model: CaptioningRNN,
  features: FloatTensor,
  maxLength: number,
): { words: number[]; logp: number } {
  const p = model.params,
    V = model.idxToWord.length,
    H = p.Wh.shape[0];
  let best = { words: [] as number[], logp: -Infinity };
  const visit = (
    h: FloatTensor,
    c: FloatTensor,
    word: number,
    words: number[],
    logp: number,
  ): void => {
    if (words.length === maxLength || words[words.length - 1] === model.endId) {
      if (logp > best.logp) best = { words, logp };
      return;
    }
    const x = p.W_embed.data.slice(word * p.W_embed.shape[1], (word + 1) * p.W_embed.shape[1]);
    const xt = new Tensor(x, [1, x.length]);
    const step =
      model.cellType === 'lstm'
        ? lstmStepForward(xt, h, c, p.Wx, p.Wh, p.b)
        : { nextH: rnnStepForward(xt, h, p.Wx, p.Wh, p.b).nextH, nextC: c };
    const s = [...affineForward(step.nextH, p.W_vocab, p.b_vocab).out.data];
    const max = Math.max(...s),
      lse = max + Math.log(s.reduce((a, v) => a + Math.exp(v - max), 0));
    for (let v = 0; v < V; v++) visit(step.nextH, step.nextC, v, [...words, v], logp + s[v] - lse);
  };
  visit(
    affineForward(features, p.W_proj, p.b_proj).out,
    Tensor.zeros([1, H], 'float64'),
    model.startId,
    [],
    0,
  );
  return best;
}

describe('CaptioningRNN beam search', () => {
  const words = ['<NULL>', '<START>', '<END>', 'a', 'b'];
  const make = (cellType: 'rnn' | 'lstm', seed: number) => {
    const model = new CaptioningRNN({
      wordToIdx: Object.fromEntries(words.map((w, i) => [w, i])),
      inputDim: 4,
      wordvecDim: 3,
      hiddenDim: 4,
      cellType,
      dtype: 'float64',
      seed,
    });
    for (const k of KEYS)
      model.params[k].data.set(
        randn64(model.params[k].shape, seed * 10 + KEYS.indexOf(k), 1.5).data,
      );
    return model;
  };

  it('beamSize 1 is greedy decoding', () => {
    for (const cellType of ['rnn', 'lstm'] as const) {
      const model = make(cellType, 1),
        features = randn64([5, 4], 2);
      expect([...model.sample(features, 7, { beamSize: 1 }).data]).toEqual([
        ...model.sample(features, 7).data,
      ]);
    }
  });

  it('a beam wide enough to keep every caption finds the most likely caption (exhaustive search)', () => {
    const maxLength = 3;
    let beatGreedy = 0;
    for (const cellType of ['rnn', 'lstm'] as const) {
      for (let seed = 1; seed <= 6; seed++) {
        const model = make(cellType, seed),
          features = randn64([1, 4], seed + 100);
        const best = exhaustiveBest(model, features, maxLength);
        const beam = [...model.sample(features, maxLength, { beamSize: 125 }).data];
        const padded = [
          ...best.words,
          ...new Array(maxLength - best.words.length).fill(model.nullId),
        ];
        expect(beam).toEqual(padded);
        if (beam.join() !== [...model.sample(features, maxLength).data].join()) beatGreedy++;
      }
    }
    expect(beatGreedy).toBeGreaterThan(0); // the cases include ones where greedy is not optimal
  });

  it('decodes ids to words up to <END>', () => {
    const model = make('rnn', 1);
    expect(
      model.decode([
        [3, 4, 2, 0],
        [4, 4, 4, 4],
      ]),
    ).toEqual(['a b', 'b b b b']);
  });
});

describe('CaptioningRNN options, errors and state', () => {
  const vocab = { '<NULL>': 0, '<START>': 1, '<END>': 2, cat: 3 };

  it('rejects bad options, vocabularies and inputs with clear messages', () => {
    expect(() => new CaptioningRNN({ wordToIdx: vocab, hiddenDims: 3 } as never)).toThrow(
      "CaptioningRNN: unknown option 'hiddenDims' (did you mean 'hiddenDim'?)",
    );
    expect(() => new CaptioningRNN({ wordToIdx: { '<NULL>': 0, '<START>': 1, cat: 2 } })).toThrow(
      "CaptioningRNN: wordToIdx has no '<END>' token",
    );
    expect(() => new CaptioningRNN({ wordToIdx: { ...vocab, dog: 3 } })).toThrow(
      "CaptioningRNN: wordToIdx gives id 3 to both 'cat' and 'dog'",
    );
    expect(() => new CaptioningRNN({ wordToIdx: vocab, cellType: 'gru' as never })).toThrow(
      "CaptioningRNN: cellType must be 'rnn' or 'lstm', got 'gru'",
    );
    const model = new CaptioningRNN({
      wordToIdx: vocab,
      inputDim: 3,
      wordvecDim: 2,
      hiddenDim: 2,
      seed: 1,
    });
    expect(() =>
      model.loss(Tensor.zeros([2, 4]), [
        [1, 3],
        [1, 2],
      ]),
    ).toThrow('CaptioningRNN.loss: features has shape [2,4] but the model has inputDim 3');
    expect(() =>
      model.loss(Tensor.zeros([2, 3], 'float64'), [
        [1, 3],
        [1, 2],
      ]),
    ).toThrow('CaptioningRNN.loss: features has dtype float64 but the model is float32');
    expect(() => model.loss(Tensor.zeros([2, 3]), [[1, 3, 2]])).toThrow(
      'CaptioningRNN.loss: captions has shape [1,3] but must be (N, T + 1) = [2, >= 2] for features of shape [2,3]',
    );
    expect(() => model.loss(Tensor.zeros([1, 3]), [[1, 4]])).toThrow(
      'CaptioningRNN.loss: captions[0,1] = 4 is outside [0, 4)',
    );
    expect(() => model.sample(Tensor.zeros([1, 3]), 5, { beams: 2 } as never)).toThrow(
      "CaptioningRNN.sample: unknown option 'beams' (known: beamSize)",
    );
    expect(() => model.sample(Tensor.zeros([1, 3]), 0)).toThrow(
      'CaptioningRNN.sample: maxLength must be >= 1, got 0',
    );
  });

  it('is reproducible from its seed, exposes its config and does not modify features or captions', () => {
    const opts = {
      wordToIdx: vocab,
      inputDim: 3,
      wordvecDim: 2,
      hiddenDim: 2,
      cellType: 'lstm' as const,
      seed: 7,
    };
    const a = new CaptioningRNN(opts),
      b = new CaptioningRNN(opts);
    for (const k of KEYS) expect([...a.params[k].data]).toEqual([...b.params[k].data]);
    expect(a.params.Wx.shape).toEqual([2, 8]);
    expect(a.config).toEqual({ type: 'CaptioningRNN', options: opts });
    expect(new CaptioningRNN(a.config.options as typeof opts).params.Wh.data).toEqual(
      a.params.Wh.data,
    );
    const features = Tensor.randn([2, 3], { seed: 1 }),
      captions = Tensor.from(
        [
          [1, 3, 2],
          [1, 2, 0],
        ],
        [2, 3],
        'int32',
      );
    const unchanged = snapshot(features, captions, ...Object.values(a.params));
    const r = a.loss(features, captions);
    a.sample(features, 4, { beamSize: 3 });
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(unchanged()).toBe(true);
  });

  it('a fully masked batch (every target <NULL>) has zero loss and zero gradients', () => {
    const model = new CaptioningRNN({
      wordToIdx: vocab,
      inputDim: 3,
      wordvecDim: 2,
      hiddenDim: 2,
      seed: 1,
      dtype: 'float64',
    });
    const { loss, grads } = model.loss(randn64([2, 3], 1), [
      [1, 0, 0],
      [1, 0, 0],
    ]);
    expect(loss).toBe(0);
    for (const g of Object.values(grads)) expect([...g.data].every((v) => v === 0)).toBe(true);
  });
});

describe('CaptioningRNN with the Solver', () => {
  const vocab = { '<NULL>': 0, '<START>': 1, '<END>': 2, a: 3, b: 4, c: 5 };
  /** 40 random feature rows; caption n spells the signs of its first three features. */
  function toyData() {
    const N = 40,
      D = 6,
      features = Tensor.randn([N, D], { seed: 5 });
    const rows = Array.from({ length: N }, (_, n) => {
      const words = [0, 1, 2]
        .filter((j) => j < 2 + (n % 2))
        .map((j) => (features.get(n, j) > 0 ? 3 : 4));
      return [1, ...words, 2, ...new Array(3 - words.length).fill(0)];
    });
    return { XTrain: features, yTrain: Tensor.from(rows, [N, 5], 'int32') };
  }
  const make = (seed: number) =>
    new CaptioningRNN({
      wordToIdx: vocab,
      inputDim: 6,
      wordvecDim: 4,
      hiddenDim: 16,
      cellType: 'lstm',
      seed,
    });
  const exact = (m: CaptioningRNN, X: Tensor, y: Tensor) => {
    const out = m.sample(X, 5),
      T = y.shape[1];
    let ok = 0;
    for (let n = 0; n < X.shape[0]; n++) {
      const truth = m.decode([Array.from(y.data.subarray(n * T + 1, (n + 1) * T))])[0];
      if (m.decode([Array.from(out.data.subarray(n * 5, n * 5 + 5))])[0] === truth) ok++;
    }
    return ok / X.shape[0];
  };
  const options = {
    updateRule: 'adam' as const,
    optimConfig: { learningRate: 2e-2 },
    batchSize: 10,
    numEpochs: 30,
    seed: 3,
    evaluate: exact,
  };

  it('overfits a small captioning set, reproducibly from its seeds', () => {
    const a = new Solver(make(1), toyData(), options).train();
    const b = new Solver(make(1), toyData(), options).train();
    expect(a.lossHistory).toEqual(b.lossHistory);
    expect(a.lossHistory[a.lossHistory.length - 1]).toBeLessThan(0.2 * a.lossHistory[0]);
    expect(exact(a.model, toyData().XTrain, toyData().yTrain)).toBe(1);
  });

  it('resumes from a training checkpoint bit for bit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'layerwise-captioning-'));
    try {
      const short = { ...options, numEpochs: 4 };
      const straight = new Solver(make(1), toyData(), short).train();
      const path = join(dir, 'run.safetensors');
      const first = new Solver(make(1), toyData(), {
        ...short,
        checkpoint: path,
        onProgress: (p) => {
          if (p.iteration === 13) throw new Error('interrupted');
        },
      });
      expect(() => first.train()).toThrow('interrupted');
      const resumed = Solver.resume(path, make(99), toyData(), { evaluate: exact }).train();
      expect(resumed.lossHistory).toEqual(straight.lossHistory);
      for (const k of KEYS)
        expect([...resumed.model.params[k].data]).toEqual([...straight.model.params[k].data]);
      const reloaded = loadModel<CaptioningRNN>(path); // the last epoch's checkpoint, rebuilt from model.config
      expect(reloaded).toBeInstanceOf(CaptioningRNN);
      for (const k of KEYS)
        expect([...reloaded.params[k].data]).toEqual([...straight.model.params[k].data]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
