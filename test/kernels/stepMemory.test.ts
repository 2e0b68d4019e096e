// test/kernels/stepMemory.test.ts: StepMemory (storage a training loop reuses every step) and the
// wasm backend's resident blocks: kernels on tensors in WASM memory run in place (no copies) and
// agree with the same kernels on ordinary arrays; outputs that overlap an input are still right;
// a Solver step with step memory trains bit for bit like one without.
import { afterAll, describe, expect, it } from 'vitest';
import { reference, setBackend, StepMemory, stepMemory } from '../../src/kernels/index.js';
import { createWasmKernels } from '../../src/kernels/wasm/index.js';
import { affineBackward, affineForward, convBackward, convForward, reluBackward, reluForward } from '../../src/layers/index.js';
import { CaptioningRNN, FullyConnectedNet, ThreeLayerConvNet } from '../../src/models/index.js';
import { Solver } from '../../src/solver/index.js';
import { adam, type OptimConfig } from '../../src/optim/index.js';
import { allocate, Rng, Tensor, type FloatTensor } from '../../src/tensor/index.js';
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
    const again = mem.run(() => [...shapes.map((s) => Tensor.zeros(s)), Tensor.zeros([4], 'int32')]);
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
    expect(() => mem.run(() => { throw new Error('boom'); })).toThrow('boom');
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
    const plain = { a: Tensor.randn([70, 300], { seed: 1 }), b: Tensor.randn([300, 90], { seed: 2 }) };
    const want = new Float32Array(70 * 90);
    wasm.gemm(want, plain.a.data, plain.b.data, 70, 300, 90);
    const before = wasm.copiedBytes;
    const got = mem.run(() => {
      const a = Tensor.zeros([70, 300]), b = Tensor.zeros([300, 90]), out = Tensor.zeros([70, 90]);
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

  it('stages an output that overlaps an input, so aliasing cannot corrupt the result', () => {
    const mem = new StepMemory(() => wasm);
    mem.run(() => {
      const block = Tensor.zeros([2 * 64 * 64]).data;
      const rng = new Rng(5);
      for (let i = 0; i < block.length; i++) block[i] = rng.normal();
      const a = block.subarray(0, 64 * 64), b = block.subarray(64 * 64);
      const want = new Float32Array(64 * 64);
      reference.gemm(want, a.slice(), b.slice(), 64, 64, 64);
      wasm.gemm(a, a, b, 64, 64, 64); // out is a
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(a[i] - want[i]) / (1 + Math.abs(want[i])));
      expect(worst).toBeLessThan(1e-5);
      // in place elementwise: out = x exactly, allowed and staged
      const x = Float32Array.from(b);
      wasm.reluForward(b, b);
      expect(sameBits(b, x.map((v) => Math.max(v, 0)))).toBe(true);
    });
    mem.release();
  });

  it('layers give the same bits on resident tensors as on ordinary ones', () => {
    setBackend('wasm');
    const mem = stepMemory();
    const layers = () => {
      const x = Tensor.randn([6, 3, 9, 9], { seed: 1 }), w = Tensor.randn([5, 3, 3, 3], { seed: 2 }), b = Tensor.randn([5], { seed: 3 });
      const conv = convForward(x, w, b, { pad: 1 });
      const relu = reluForward(conv.out);
      const flat = relu.out.reshape([6, 5 * 81]);
      const aff = affineForward(flat, Tensor.randn([405, 7], { seed: 4 }), Tensor.randn([7], { seed: 5 }));
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
      const m = reuse ? model : Object.assign(Object.create(Object.getPrototypeOf(model)), model, { reusesStepMemory: false });
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
      const make = () => new ThreeLayerConvNet({
        inputDim: [2, 8, 8], numFilters: 6, filterSize: 3, hiddenDim: 12, numClasses: 4, normalization: 'batchnorm', dropout: 0.2, seed: 3,
      });
      // the update rule sees where the gradients live: in reused blocks, or each in its own array
      const buffers: Array<Set<unknown>> = [];
      const updateRule = (w: FloatTensor, dw: FloatTensor, config?: OptimConfig) => {
        buffers[buffers.length - 1].add(dw.data.buffer);
        return adam(w, dw, config);
      };
      const [reused, fresh] = trainTwice(make, { XTrain: X, yTrain: y, XVal: X, yVal: y }, {
        updateRule, optimConfig: { learningRate: 1e-2 }, batchSize: 16, numEpochs: 3, seed: 4,
      }, () => buffers.push(new Set()));
      for (const key of Object.keys(fresh)) expect(sameBits(reused[key].data, fresh[key].data), key).toBe(true);
      expect(buffers[0].size).toBeLessThanOrEqual(2); // 9 iterations x 10 gradients in one or two blocks
      expect(buffers[1].size).toBe(9 * 10); // without step memory: a fresh array each
    });
  }

  it('FullyConnectedNet (batch norm, dropout) and CaptioningRNN train bit for bit the same (wasm)', () => {
    setBackend('wasm');
    const X = Tensor.randn([30, 12], { seed: 2 });
    const y = Array.from({ length: 30 }, (_, i) => i % 3);
    const [a, b] = trainTwice(
      () => new FullyConnectedNet({ inputDim: 12, hiddenDims: [10, 8], numClasses: 3, normalization: 'batchnorm', dropout: 0.3, seed: 5 }),
      { XTrain: X, yTrain: y, XVal: X, yVal: y },
      { updateRule: 'sgdMomentum', optimConfig: { learningRate: 1e-2 }, batchSize: 8, numEpochs: 2, seed: 6 },
    );
    for (const key of Object.keys(b)) expect(sameBits(a[key].data, b[key].data), key).toBe(true);

    const wordToIdx = { '<NULL>': 0, '<START>': 1, '<END>': 2, a: 3, b: 4 };
    const captions = Tensor.from(Array.from({ length: 10 * 5 }, (_, i) => [1, 3 + (i % 2), 4, 2, 0][i % 5]), [10, 5], 'int32');
    const feats = Tensor.randn([10, 6], { seed: 7 });
    const [c, d] = trainTwice(
      () => new CaptioningRNN({ wordToIdx, inputDim: 6, wordvecDim: 4, hiddenDim: 5, cellType: 'lstm', seed: 8 }),
      { XTrain: feats, yTrain: captions },
      { updateRule: 'adam', optimConfig: { learningRate: 1e-2 }, batchSize: 4, numEpochs: 2, metric: 'none', seed: 9 },
    );
    for (const key of Object.keys(d)) expect(sameBits(c[key].data, d[key].data), key).toBe(true);
  });
});

