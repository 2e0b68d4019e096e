// src/models/index.ts: the classic models of the curriculum.
export type { Model, LossResult, ModelConfig } from './model.js';
export { addL2 } from './model.js';
export { LinearClassifier } from './linearClassifier.js';
export type { LinearClassifierOptions } from './linearClassifier.js';
export { TwoLayerNet } from './twoLayerNet.js';
export type { TwoLayerNetOptions } from './twoLayerNet.js';
// -- issue 3 (FullyConnectedNet) --
// -- issue 4 (ThreeLayerConvNet) --
// -- issue 7 (CaptioningRNN) --
