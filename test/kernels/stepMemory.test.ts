// test/kernels/stepMemory.test.ts: StepMemory (storage a training loop reuses every step) and the
// wasm backend's resident blocks: kernels on tensors in WASM memory run in place (no copies) and
// agree with the same kernels on ordinary arrays; outputs that overlap an input are still right;
// a Solver step with step memory trains bit for bit like one without.
import { afterAll, describe, expect, it } from 'vitest';
import { reference, setBackend, StepMemory, stepMemory } from '../../src/kernels/index.js';
import { createWasmKernels, type WasmKernels } from '../../src/kernels/wasm/index.js';
import {
  affineBackward,
  affineForward,
  convBackward,
  convForward,
  reluBackward,
  reluForward,
} from '../../src/layers/index.js';
import {
  CaptioningRNN,
  FullyConnectedNet,
  LinearClassifier,
  ThreeLayerConvNet,
  TwoLayerNet,
} from '../../src/models/index.js';
import { Solver } from '../../src/solver/index.js';
import { adam, type OptimConfig } from '../../src/optim/index.js';
import { Rng, Tensor, type FloatTensor } from '../../src/tensor/index.js';
import { allocate } from '../../src/tensor/internal.js';
import { sameBits } from '../helpers.js';

const wasm = createWasmKernels({ threads: 2 });
wasm.warmUp();
afterAll(() => {
  wasm.close();
  setBackend('auto');
});

describe('StepMemory', () => {
  it('serves float32 and int32 tensors, zeroed, from the same storage every run', () => {
    const mem = new StepMemory();
    const shapes = [[3, 5], [7], [100, 10]];
    const first = mem.run(() => shapes.map((s) => Tensor.zeros(s)));
    const reserved = mem.reservedBytes;
    for (const t of first) t.data.fill(7);
    const again = mem.run(() => [
      ...shapes.map((s) => Tensor.zeros(s)),
      Tensor.zeros([4], 'int32'),
    ]);
    for (let i = 0; i < shapes.length; i++) {
      expect(again[i].data.buffer).toBe(first[i].data.buffer);
      expect(again[i].data.byteOffset).toBe(first[i].data.byteOffset); // the same layout as the last run
      expect(again[i].data.every((v) => v === 0)).toBe(true); // reused, and zeroed again
      expect(again[i].data.byteOffset % 64).toBe(0); // cache-line aligned
    }
    expect(again[3].data).toBeInstanceOf(Int32Array);
    expect(again[3].data.buffer).toBe(first[0].data.buffer);
    expect(mem.reservedBytes).toBe(reserved); // nothing new after the first run
  });

  it('leaves float64 to the allocator outside, and restores it after the run, also when fn throws', () => {
    const mem = new StepMemory();
    const [f32, f64] = mem.run(() => [Tensor.zeros([8]), Tensor.zeros([8], 'float64')]);
    expect(f64.data.buffer).not.toBe(f32.data.buffer);
    expect(f64.data.buffer.byteLength).toBe(64);
    expect(() =>
      mem.run(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    const outside = allocate('float32', 8);
    expect(outside.buffer).not.toBe(f32.data.buffer);
    expect(outside.buffer.byteLength).toBe(32);
  });

  it('gives a tensor larger than a block a block of its own, and refuses nested runs', () => {
    const mem = new StepMemory();
    const [small, big] = mem.run(() => [Tensor.zeros([10]), Tensor.zeros([(1 << 22) + 1])]);
    expect(big.size).toBe((1 << 22) + 1);
    expect(big.data.buffer).not.toBe(small.data.buffer);
    expect(() => mem.run(() => mem.run(() => 0))).toThrow(/StepMemory.run: already running/);
    mem.release();
    expect(mem.reservedBytes).toBe(0);
  });

  it('with the wasm backend lends blocks of WASM memory, which kernels use in place', () => {
    const mem = new StepMemory(() => wasm);
    const plain = {
      a: Tensor.randn([70, 300], { seed: 1 }),
      b: Tensor.randn([300, 90], { seed: 2 }),
    };
    const want = new Float32Array(70 * 90);
    wasm.gemm(want, plain.a.data, plain.b.data, 70, 300, 90);
    const before = wasm.copiedBytes;
    const got = mem.run(() => {
      const a = Tensor.zeros([70, 300]),
        b = Tensor.zeros([300, 90]),
        out = Tensor.zeros([70, 90]);
      a.data.set(plain.a.data);
      b.data.set(plain.b.data);
      const copiedBefore = wasm.copiedBytes;
      wasm.gemm(out.data, a.data, b.data, 70, 300, 90);
      wasm.reluForward(out.data, out.data.slice()); // a plain input: copied in, the resident output written in place
      return { out, copied: wasm.copiedBytes - copiedBefore };
    });
    expect(got.copied).toBe(70 * 90 * 4); // only reluForward's plain input
    const relu = want.map((v) => Math.max(v, 0));
    expect(sameBits(got.out.data, relu)).toBe(true);
    expect(wasm.copiedBytes - before).toBe(70 * 90 * 4);
    mem.release();
  });

  it('zeroes resident tensors again on every run (with WASM memory.fill)', () => {
    const mem = new StepMemory(() => wasm);
    const first = mem.run(() => [Tensor.zeros([1000]), Tensor.zeros([37], 'int32')]);
    first[0].data.fill(3);
    first[1].data.fill(-1);
    const again = mem.run(() => [Tensor.zeros([1000]), Tensor.zeros([37], 'int32')]);
    expect(again[0].data.byteOffset).toBe(first[0].data.byteOffset);
    expect(again[0].data.every((v) => Object.is(v, 0))).toBe(true);
    expect(again[1].data.every((v) => v === 0)).toBe(true);
    mem.release();
  });

  it('keeps blocks resident when V8 hands out a new memory.buffer object (after any shared memory grew)', async () => {
    // V8 refreshes the buffer objects of every shared memory of a thread when ANY of them grows
    // (the growth is broadcast); a block made on the new object must still count as resident.
    const k = createWasmKernels({ threads: 2 }),
      other = createWasmKernels({ threads: 2 });
    k.warmUp();
    other.warmUp();
    const small = k.residentBlock(1000)!;
    k.releaseBlock(small); // to the free list: the next small block reuses it without growing k's memory
    for (let round = 0; round < 3; round++) {
      const big = k.residentBlock(1000)!;
      other.residentBlock(4_000_000 * (round + 1)); // grows the other memory
      await new Promise((resolve) => setTimeout(resolve, 5)); // the broadcast is handled
      for (let i = 0; i < 1e6; i++) Math.sqrt(i);
      const again = k.residentBlock(1000)!; // from the free list, made on today's memory.buffer object
      const before = k.copiedBytes;
      again.fill(2);
      k.addRowVector(again, big, 1, 1000); // both resident: no copy
      expect(k.copiedBytes - before).toBe(0);
      expect(again[0]).toBe(2 + big[0]);
      expect(() => k.releaseBlock(again)).not.toThrow();
      k.releaseBlock(big);
    }
    k.close();
    other.close();
  });

  it('stages an output that overlaps an input, so aliasing cannot corrupt the result', () => {
    const mem = new StepMemory(() => wasm);
    mem.run(() => {
      const block = Tensor.zeros([2 * 64 * 64]).data;
      const rng = new Rng(5);
      for (let i = 0; i < block.length; i++) block[i] = rng.normal();
      const a = block.subarray(0, 64 * 64),
        b = block.subarray(64 * 64);
      const want = new Float32Array(64 * 64);
      reference.gemm(want, a.slice(), b.slice(), 64, 64, 64);
      wasm.gemm(a, a, b, 64, 64, 64); // out is a
      let worst = 0;
      for (let i = 0; i < want.length; i++)
        worst = Math.max(worst, Math.abs(a[i] - want[i]) / (1 + Math.abs(want[i])));
      expect(worst).toBeLessThan(1e-5);
      // in place elementwise: out = x exactly, allowed and staged
      const x = Float32Array.from(b);
      wasm.reluForward(b, b);
      expect(
        sameBits(
          b,
          x.map((v) => Math.max(v, 0)),
        ),
      ).toBe(true);
    });
    mem.release();
  });

  it('layers give the same bits on resident tensors as on ordinary ones', () => {
    setBackend('wasm');
    const mem = stepMemory({ poison: true }); // what a layer leaves unwritten in an empty tensor is NaN
    const layers = () => {
      const x = Tensor.randn([6, 3, 9, 9], { seed: 1 }),
        w = Tensor.randn([5, 3, 3, 3], { seed: 2 }),
        b = Tensor.randn([5], { seed: 3 });
      const conv = convForward(x, w, b, { pad: 1 });
      const relu = reluForward(conv.out);
      const flat = relu.out.reshape([6, 5 * 81]);
      const aff = affineForward(
        flat,
        Tensor.randn([405, 7], { seed: 4 }),
        Tensor.randn([7], { seed: 5 }),
      );
      const da = affineBackward(Tensor.randn([6, 7], { seed: 6 }), aff.cache);
      const dr = reluBackward(da.dx.reshape([6, 5, 9, 9]), relu.cache);
      const dc = convBackward(dr.dx, conv.cache);
      return [aff.out, da.dx, da.dw, dc.dx, dc.dw, dc.db].map((t) => Array.from(t.data));
    };
    const want = layers();
    for (let step = 0; step < 2; step++) {
      const got = mem.run(layers);
      for (let i = 0; i < want.length; i++) expect(sameBits(got[i], want[i])).toBe(true);
    }
    mem.release();
  });
});

describe('models in step memory', () => {
  it('every built-in model gives the same loss and gradients bit for bit in poisoned step memory', () => {
    const wordToIdx = { '<NULL>': 0, '<START>': 1, '<END>': 2, a: 3, b: 4 };
    const captions = Tensor.from(
      Array.from({ length: 6 * 5 }, (_, i) => [1, 3 + (i % 2), 4, 2, 0][i % 5]),
      [6, 5],
      'int32',
    );
    const cases: Array<
      [
        string,
        () => { loss(X: Tensor, y: unknown): { loss: number; grads: Record<string, Tensor> } },
        Tensor,
        unknown,
      ]
    > = [
      [
        'ThreeLayerConvNet',
        () =>
          new ThreeLayerConvNet({
            inputDim: [3, 10, 9],
            numFilters: 5,
            filterSize: 3,
            hiddenDim: 7,
            numClasses: 4,
            normalization: 'batchnorm',
            dropout: 0.3,
            seed: 1,
          }),
        Tensor.randn([6, 3, 10, 9], { seed: 2 }),
        [0, 1, 2, 3, 0, 1],
      ],
      [
        'ThreeLayerConvNet 7x7',
        () =>
          new ThreeLayerConvNet({
            inputDim: [1, 28, 28],
            numFilters: 4,
            filterSize: 7,
            hiddenDim: 6,
            seed: 3,
          }),
        Tensor.randn([5, 1, 28, 28], { seed: 4 }),
        [1, 2, 3, 4, 5],
      ],
      [
        'FullyConnectedNet',
        () =>
          new FullyConnectedNet({
            inputDim: 12,
            hiddenDims: [9, 8],
            numClasses: 3,
            normalization: 'layernorm',
            dropout: 0.2,
            seed: 5,
          }),
        Tensor.randn([7, 12], { seed: 6 }),
        [0, 1, 2, 0, 1, 2, 0],
      ],
      [
        'TwoLayerNet',
        () => new TwoLayerNet({ inputDim: 10, hiddenDim: 6, numClasses: 3, seed: 7 }),
        Tensor.randn([4, 10], { seed: 8 }),
        [2, 1, 0, 1],
      ],
      [
        'LinearClassifier',
        () => new LinearClassifier({ inputDim: 10, numClasses: 3, loss: 'svm', seed: 9 }),
        Tensor.randn([4, 10], { seed: 10 }),
        [2, 1, 0, 1],
      ],
      [
        'CaptioningRNN lstm',
        () =>
          new CaptioningRNN({
            wordToIdx,
            inputDim: 6,
            wordvecDim: 4,
            hiddenDim: 5,
            cellType: 'lstm',
            seed: 11,
          }),
        Tensor.randn([6, 6], { seed: 12 }),
        captions,
      ],
      [
        'CaptioningRNN rnn',
        () =>
          new CaptioningRNN({
            wordToIdx,
            inputDim: 6,
            wordvecDim: 4,
            hiddenDim: 5,
            cellType: 'rnn',
            seed: 13,
          }),
        Tensor.randn([6, 6], { seed: 14 }),
        captions,
      ],
    ];
    for (const backend of ['wasm', 'reference'] as const) {
      setBackend(backend);
      for (const [name, make, X, y] of cases) {
        const plain = make(),
          inMemory = make(),
          mem = stepMemory({ poison: true });
        for (let step = 0; step < 2; step++) {
          // the second step reuses the first one's storage
          const want = plain.loss(X, y);
          const got = mem.run(() => inMemory.loss(X, y));
          expect(Object.is(got.loss, want.loss), `${name} ${backend} loss`).toBe(true);
          for (const key of Object.keys(want.grads)) {
            expect(
              sameBits(got.grads[key].data, want.grads[key].data),
              `${name} ${backend} d${key}`,
            ).toBe(true);
          }
        }
        mem.release();
      }
    }
  });
});

describe('Solver with step memory', () => {
  /** Trains with reusesStepMemory as the model says and again with it off; returns both models' params and buffers. */
  function trainTwice(
    make: () => { params: Record<string, Tensor>; buffers?: Record<string, Tensor> },
    data: ConstructorParameters<typeof Solver>[1],
    options: ConstructorParameters<typeof Solver>[2],
    beforeEach = () => {},
  ) {
    const runs = [true, false].map((reuse) => {
      beforeEach();
      const model = make() as ReturnType<typeof make> & { reusesStepMemory?: boolean };
      const m = reuse
        ? model
        : Object.assign(Object.create(Object.getPrototypeOf(model)), model, {
            reusesStepMemory: false,
          });
      new Solver(m, data, { ...options, verbose: false }).train();
      return { ...m.params, ...(m.buffers ?? {}) } as Record<string, Tensor>;
    });
    return runs;
  }

  for (const backend of ['wasm', 'reference'] as const) {
    it(`ThreeLayerConvNet with batch norm and dropout trains bit for bit the same (${backend})`, () => {
      setBackend(backend);
      const X = Tensor.randn([40, 2, 8, 8], { seed: 1 });
      const y = Array.from({ length: 40 }, (_, i) => i % 4);
      const make = () =>
        new ThreeLayerConvNet({
          inputDim: [2, 8, 8],
          numFilters: 6,
          filterSize: 3,
          hiddenDim: 12,
          numClasses: 4,
          normalization: 'batchnorm',
          dropout: 0.2,
          seed: 3,
        });
      // the update rule sees where the gradients live: in reused blocks, or each in its own array
      const buffers: Array<Set<unknown>> = [];
      const updateRule = (w: FloatTensor, dw: FloatTensor, config?: OptimConfig) => {
        buffers[buffers.length - 1].add(dw.data.buffer);
        return adam(w, dw, config);
      };
      const [reused, fresh] = trainTwice(
        make,
        { XTrain: X, yTrain: y, XVal: X, yVal: y },
        {
          updateRule,
          optimConfig: { learningRate: 1e-2 },
          batchSize: 16,
          numEpochs: 3,
          seed: 4,
        },
        () => buffers.push(new Set()),
      );
      for (const key of Object.keys(fresh))
        expect(sameBits(reused[key].data, fresh[key].data), key).toBe(true);
      expect(buffers[0].size).toBeLessThanOrEqual(2); // 9 iterations x 10 gradients in one or two blocks
      expect(buffers[1].size).toBe(9 * 10); // without step memory: a fresh array each
    });
  }

  it('gives its blocks back when training ends, so that solver after solver does not grow WASM memory', () => {
    const backend = setBackend('wasm') as WasmKernels;
    const X = Tensor.randn([64, 1, 12, 12], { seed: 1 });
    const y = Array.from({ length: 64 }, (_, i) => i % 10);
    const train = () =>
      new Solver(
        new ThreeLayerConvNet({
          inputDim: [1, 12, 12],
          numFilters: 8,
          filterSize: 3,
          hiddenDim: 20,
          seed: 2,
        }),
        { XTrain: X, yTrain: y },
        { batchSize: 32, numEpochs: 1, metric: 'none', verbose: false, seed: 3 },
      ).train();
    const first = train();
    const size = backend.memoryBytes;
    for (let i = 0; i < 5; i++) train();
    // checkAccuracy runs its batches in step memory too, and gives it back
    const accuracies = Array.from({ length: 5 }, () => first.checkAccuracy(X, y, null, 16));
    expect(backend.memoryBytes).toBe(size);
    const plain = Object.assign(Object.create(ThreeLayerConvNet.prototype), first.model, {
      reusesStepMemory: false,
    });
    const want = new Solver(
      plain,
      { XTrain: X, yTrain: y },
      { metric: 'none', verbose: false },
    ).checkAccuracy(X, y, null, 16);
    expect(accuracies).toEqual(Array(5).fill(want));
  });

  it('FullyConnectedNet (batch norm, dropout) and CaptioningRNN train bit for bit the same (wasm)', () => {
    setBackend('wasm');
    const X = Tensor.randn([30, 12], { seed: 2 });
    const y = Array.from({ length: 30 }, (_, i) => i % 3);
    const [a, b] = trainTwice(
      () =>
        new FullyConnectedNet({
          inputDim: 12,
          hiddenDims: [10, 8],
          numClasses: 3,
          normalization: 'batchnorm',
          dropout: 0.3,
          seed: 5,
        }),
      { XTrain: X, yTrain: y, XVal: X, yVal: y },
      {
        updateRule: 'sgdMomentum',
        optimConfig: { learningRate: 1e-2 },
        batchSize: 8,
        numEpochs: 2,
        seed: 6,
      },
    );
    for (const key of Object.keys(b)) expect(sameBits(a[key].data, b[key].data), key).toBe(true);

    const wordToIdx = { '<NULL>': 0, '<START>': 1, '<END>': 2, a: 3, b: 4 };
    const captions = Tensor.from(
      Array.from({ length: 10 * 5 }, (_, i) => [1, 3 + (i % 2), 4, 2, 0][i % 5]),
      [10, 5],
      'int32',
    );
    const feats = Tensor.randn([10, 6], { seed: 7 });
    const [c, d] = trainTwice(
      () =>
        new CaptioningRNN({
          wordToIdx,
          inputDim: 6,
          wordvecDim: 4,
          hiddenDim: 5,
          cellType: 'lstm',
          seed: 8,
        }),
      { XTrain: feats, yTrain: captions },
      {
        updateRule: 'adam',
        optimConfig: { learningRate: 1e-2 },
        batchSize: 4,
        numEpochs: 2,
        metric: 'none',
        seed: 9,
      },
    );
    for (const key of Object.keys(d)) expect(sameBits(c[key].data, d[key].data), key).toBe(true);
  });
});
