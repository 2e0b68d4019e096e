// bench/tf.ts: loads TensorFlow.js (the peer) with a chosen backend, quietly.
import type * as TF from '@tensorflow/tfjs-core';

let tfPromise: Promise<typeof TF> | null = null;

/** tfjs-core with the cpu backend registered (wasm is registered on demand). */
export async function loadTf(backend: 'cpu' | 'wasm'): Promise<typeof TF> {
  tfPromise ??= (async () => {
    const warn = console.warn,
      log = console.log;
    console.warn = console.log = () => {}; // tfjs prints an advert for tfjs-node on import
    try {
      const tf = await import('@tensorflow/tfjs-core');
      await import('@tensorflow/tfjs-backend-cpu');
      return tf;
    } finally {
      console.warn = warn;
      console.log = log;
    }
  })();
  const tf = await tfPromise;
  if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  const log = console.log,
    warn = console.warn;
  console.warn = console.log = () => {};
  try {
    if (!(await tf.setBackend(backend)))
      throw new Error(`tfjs backend '${backend}' failed to initialise`);
    await tf.ready();
  } finally {
    console.log = log;
    console.warn = warn;
  }
  return tf;
}
