// src/solver/stateEncode.ts: writes the Solver's part of a training checkpoint (format 2, see
// state.ts): the JSON state and the tensors (histories, epoch order, optimiser arrays, best copies).
import { Tensor, ValueError } from '../tensor/index.js';
import { bestTensor, optimTensor, T, type StateSnapshot } from './stateSchema.js';

/** The tensors and JSON state of a training checkpoint (format 2). */
export function encodeTrainingState(s: StateSnapshot): {
  tensors: Record<string, Tensor>;
  state: Record<string, unknown>;
} {
  const tensors: Record<string, Tensor> = {
    [T.loss]: history(s.lossHistory),
    [T.trainAcc]: history(s.trainAccHistory),
    [T.valAcc]: history(s.valAccHistory),
  };
  const optim: Record<string, { scalars: Record<string, number>; arrays: string[] }> = {};
  for (const [name, config] of Object.entries(s.optimConfigs)) {
    const scalars: Record<string, number> = {},
      arrays: string[] = [];
    for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
      if (typeof value === 'number') {
        scalars[key] = value;
      } else if (value instanceof Float32Array || value instanceof Float64Array) {
        tensors[optimTensor(name, key)] = new Tensor(value, [value.length]);
        arrays.push(key);
      } else if (value !== undefined) {
        throw new ValueError(
          `Solver.saveCheckpoint: optimiser config '${key}' of '${name}' is neither a number nor a Float32Array/Float64Array`,
        );
      }
    }
    optim[name] = { scalars, arrays };
  }
  for (const [name, t] of Object.entries(s.bestParams ?? {})) tensors[bestTensor(name)] = t;
  if (s.order !== null && s.iteration % s.iterationsPerEpoch !== 0)
    tensors[T.order] = new Tensor(s.order, [s.numTrain]);
  const state = {
    numTrain: s.numTrain,
    iteration: s.iteration,
    rng: s.rng,
    modelRng: s.modelRng,
    updateRule: s.updateRule,
    hooks: s.hooks,
    options: s.options,
    optim,
  };
  return { tensors, state };
}

/** A history as a float64 tensor: a loop, not a spread, so any length works. */
function history(values: readonly number[]): Tensor {
  const data = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = values[i];
  return new Tensor(data, [values.length]);
}
