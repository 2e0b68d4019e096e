// src/layers/index.ts: the functional layers, one family per file.
export * from './affine.js';
export * from './activations.js';
export * from './losses.js';
// -- issue 3 (batchnorm, layernorm, dropout) --
export * from './batchnorm.js';
export * from './spatialBatchnorm.js';
export * from './layernorm.js';
export * from './dropout.js';
// -- issue 4 (conv, pool) --
export * from './conv.js';
export * from './pool.js';
// -- issue 7 (rnn, lstm, embedding, temporal) --
export { rnnStepForward, rnnStepBackward, rnnForward, rnnBackward } from './rnn.js';
export type { RnnStepCache, RnnCache } from './rnn.js';
export { lstmStepForward, lstmStepBackward, lstmForward, lstmBackward } from './lstm.js';
export type { LstmStepCache, LstmCache } from './lstm.js';
export { wordEmbeddingForward, wordEmbeddingBackward } from './embedding.js';
export type { WordEmbeddingCache, TokenIds } from './embedding.js';
export { temporalAffineForward, temporalAffineBackward, temporalSoftmaxLoss } from './temporal.js';
export type { TemporalAffineCache, Mask, SequenceLabels } from './temporal.js';
export { gruStepForward, gruStepBackward, gruForward, gruBackward } from './gru.js';
export type { GruStepCache, GruCache } from './gru.js';
// -- issue 15 (transposed conv, group norm; GAN losses live in losses.ts) --
export * from './convTranspose.js';
export * from './groupnorm.js';
// -- issue 13 (attention and Transformers) --
export { softmaxForward, softmaxBackward } from './softmax.js';
export type { SoftmaxCache } from './softmax.js';
export { geluForward, geluBackward } from './gelu.js';
export type { GeluCache, GeluParam, GeluApproximate } from './gelu.js';
export {
  positionalEncodingForward,
  positionalEncodingBackward,
  sinusoidalTable,
} from './positional.js';
export type { PositionalEncodingCache } from './positional.js';
export { multiHeadAttentionForward, multiHeadAttentionBackward, causalMask } from './attention.js';
export type {
  AttentionParams,
  AttentionMask,
  AttentionDropout,
  AttentionOptions,
  MultiHeadAttentionCache,
  MultiHeadAttentionGrads,
} from './attention.js';
