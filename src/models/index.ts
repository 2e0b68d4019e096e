// src/models/index.ts: the classic models of the curriculum.
export type { Model, LossResult, ModelConfig } from '../nn/index.js';
export type { Classifier, InputGradient, TraceStep } from '../nn/index.js';
export { LinearClassifier } from './linearClassifier.js';
export type { LinearClassifierOptions } from './linearClassifier.js';
export { TwoLayerNet } from './twoLayerNet.js';
export type { TwoLayerNetOptions } from './twoLayerNet.js';
// -- issue 3 (FullyConnectedNet) --
export { FullyConnectedNet } from './fullyConnectedNet.js';
export type { FullyConnectedNetOptions, Normalization } from './fullyConnectedNet.js';
// -- issue 4 (ThreeLayerConvNet) --
export { ThreeLayerConvNet } from './threeLayerConvNet.js';
export type { ThreeLayerConvNetOptions } from './threeLayerConvNet.js';
// -- issue 7 (CaptioningRNN) --
export { CaptioningRNN } from './captioningRNN.js';
export type { CaptioningRNNOptions, CellType, SampleOptions } from './captioningRNN.js';
// -- issue 15 (DCGAN) --
export { DCGAN, DCGANGenerator, DCGANDiscriminator, judgeSamples } from './dcgan.js';
export type {
  DCGANOptions,
  DCGANGeneratorOptions,
  DCGANDiscriminatorOptions,
  GanLoss,
  GanStepResult,
  SampleJudgement,
} from './dcgan.js';
// -- issue 13 (Transformers) --
export { VisionTransformer } from './visionTransformer.js';
export type { VisionTransformerOptions } from './visionTransformer.js';
export { CaptioningTransformer } from './captioningTransformer.js';
export type { CaptioningTransformerOptions } from './captioningTransformer.js';
