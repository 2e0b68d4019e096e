// test/browser/driver.ts: what bundle.test.ts runs inside the browser-like vm context, bundled
// together with src/browser.ts: the demo's spirals training and gradient checks. Its result goes
// out as JSON, so that the test never compares objects across realms.
import { kernels, setBackend } from '../../src/browser.js';
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
