// src/nn/index.ts: stateful modules over the functional layers, and Sequential.
export { Module } from './module.js';
export type { Model, LossResult, ModelConfig } from './model.js';
// -- issue 14 (input gradients) --
export type { Classifier, InputGradient, TraceStep } from './model.js';
export { isClassifier, inputGradientOfTrace } from './model.js';
// -- issue 3 (dense and normalisation modules, Sequential) --
export { Linear } from './linear.js';
export type { LinearOptions } from './linear.js';
export { ReLU, LeakyReLU, Sigmoid, Tanh } from './activation.js';
export { BatchNorm1d, BatchNorm2d, LayerNorm } from './normalization.js';
export type { BatchNormOptions, LayerNormOptions } from './normalization.js';
export { Dropout } from './dropout.js';
export type { DropoutOptions } from './dropout.js';
export { Flatten } from './flatten.js';
export { Sequential } from './sequential.js';
export type { SequentialOptions } from './sequential.js';
// -- issue 4 (convolution and pooling modules) --
export { Conv2d } from './conv.js';
export type { Conv2dOptions } from './conv.js';
export { MaxPool2d, AvgPool2d } from './pool.js';
// -- issue 7 (recurrent modules) --
export { Embedding, RNN, LSTM, GRU, TemporalLinear } from './recurrent.js';
export type { RecurrentOptions } from './recurrent.js';
// -- issue 15 (generative modules) --
export { ConvTranspose2d } from './convTranspose.js';
export type { ConvTranspose2dOptions } from './convTranspose.js';
export { GroupNorm } from './groupnorm.js';
export type { GroupNormOptions } from './groupnorm.js';
export { Unflatten } from './unflatten.js';
// -- issue 13 (attention and Transformers) --
export { MultiHeadAttention, GELU, PositionalEncoding } from './attention.js';
export type { MultiHeadAttentionOptions, AttendGrads } from './attention.js';
export { TransformerEncoderLayer, TransformerDecoderLayer } from './transformer.js';
export type { TransformerLayerOptions, DecoderGrads } from './transformer.js';
