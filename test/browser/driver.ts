// test/browser/driver.ts: what bundle.test.ts runs inside the browser-like vm context, bundled
// together with src/browser.ts: the demo's spirals training and gradient checks. Its result goes
// out as JSON, so that the test never compares objects across realms.
import { data, io, kernels, setBackend, Tensor } from '../../src/browser.js';
import {
  accuracy,
  adamStep,
  layerGradchecks,
  spiralNet,
  spirals,
} from '../../examples/browser/toy.js';
import type { optim } from '../../src/browser.js';

/** Trains the demo's net on 3 spirals for `steps` full-batch Adam steps; reports as JSON. */
export function trainSpirals(steps: number): string {
  const k = kernels.currentBackend() as kernels.Kernels & { info?: kernels.WasmInfo };
  const train = spirals(100, 3, 1),
    test = spirals(50, 3, 2);
  const net = spiralNet(3, 32, 0);
  const configs: Record<string, optim.OptimConfig> = {};
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) losses.push(adamStep(net, configs, train.X, train.y, 0.01));
  return JSON.stringify({
    backend: k.name,
    info: k.info ?? null,
    losses,
    trainAcc: accuracy(net.loss(train.X), train.y),
    testAcc: accuracy(net.loss(test.X), test.y),
  });
}

/** layerGradchecks as JSON. */
export function gradchecks(): string {
  return JSON.stringify(layerGradchecks(0));
}

/** setBackend(name), reporting the error message instead of throwing it across realms. */
export function trySetBackend(name: kernels.BackendName): string {
  try {
    return setBackend(name).name;
  } catch (e) {
    return `error: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** The byte codecs of the browser entry, round trips and parses on hand-made bytes, as JSON. */
export function codecs(): string {
  const pixels = Uint8Array.from({ length: 18 }, (_, i) => i * 13);
  const png = io.decodePng(io.encodePng(pixels, 3, 2, 3));
  const plot = io.decodePng(
    io.linePlotPng({ series: [{ name: 'loss', y: [3, 2, 1.5, 1] }] }, { width: 160, height: 100 }),
  );
  const st = io.decodeSafetensors(
    io.encodeSafetensors({ w: Tensor.from([1, 2, 3, 4], [2, 2]) }, { note: 'yes' }),
  );
  const idx = data.parseIdx(new Uint8Array([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4]));
  const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const pad = 64 - ((10 + header.length + 1) % 64);
  const text = header + ' '.repeat(pad) + '\n';
  const npyBytes = new Uint8Array(10 + text.length + 8);
  npyBytes.set([0x93, 78, 85, 77, 80, 89, 1, 0, text.length & 0xff, text.length >> 8]);
  npyBytes.set(new TextEncoder().encode(text), 10);
  new DataView(npyBytes.buffer).setFloat32(10 + text.length, 0.5, true);
  new DataView(npyBytes.buffer).setFloat32(14 + text.length, -1, true);
  const npy = data.parseNpy(npyBytes);
  const record = new Uint8Array(3073);
  record[0] = 7;
  const cifar = data.parseCifar10(record);
  return JSON.stringify({
    png: { ...png, data: undefined, same: png.data.every((v, i) => v === pixels[i]) },
    plot: { width: plot.width, height: plot.height, channels: plot.channels },
    safetensors: {
      shape: st.tensors.w.shape,
      data: [...st.tensors.w.data],
      meta: st.metadata.note,
    },
    idx: { dtype: idx.dtype, shape: idx.shape, data: [...idx.data] },
    npy: { dtype: npy.dtype, shape: npy.shape, data: [...npy.data] },
    cifar: { shape: cifar.X.shape, label: cifar.y[0] },
  });
}
