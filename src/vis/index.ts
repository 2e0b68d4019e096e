// src/vis/index.ts: looking inside a trained classifier from verified gradients: saliency maps,
// fooling images, class visualisation, activations, and their pictures.
export { PixelSpace } from './pixels.js';
export type { PixelOptions } from './pixels.js';
export { saliencyMap, activations } from './gradients.js';
export { smoothGrad, gradientTimesInput } from './saliency.js';
export type { SmoothGradOptions } from './saliency.js';
export type { Activations, ActivationOptions, LayerActivation } from './gradients.js';
export { foolingImage, foolingImages } from './fooling.js';
export type { FoolingOptions, FoolingResult } from './fooling.js';
export { classVisualization, gaussianBlur, roll } from './classVisualization.js';
export type { ClassVisualization, ClassVisualizationOptions } from './classVisualization.js';
export { saliencyPng, foolingPng, classesPng, activationsPng, filtersPng } from './png.js';
export { INFERNO, DIVERGING, GREY } from './draw.js';
export type { ColourMap, PictureOptions } from './draw.js';
export type { SaliencyPictureOptions } from './png.js';
