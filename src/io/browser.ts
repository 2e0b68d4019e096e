// src/io/browser.ts: the part of `io` that runs anywhere: the byte-level codecs. safetensors to and
// from bytes, PNG encoding and decoding (with the conversion of an image into a model input), and
// the plots, which render straight to PNG bytes. The browser entry exports this as `io`; index.ts
// adds the file access (read*/write*, checkpoints) for Node.
export { encodeSafetensors, decodeSafetensors, SafetensorsError } from './safetensors.js';
export { encodeModel, decodeModel } from './checkpoint.js';
export { decodeModelInfo, type ModelInfo } from './modelInfo.js';
export type { ModelDescription } from './describe.js';
export type { SafetensorsContents, EncodeSafetensorsOptions } from './safetensors.js';
export { encodePng, decodePng, toModelInput, crc32, MAX_PNG_PIXELS, PNG_MAX_BYTES } from './png.js';
export type { PngImage, ModelInputOptions, DecodePngOptions } from './png.js';
export { linePlotPng, imageGridPng, niceTicks, formatTick, PLOT_COLOURS } from './plot.js';
export type { PlotOptions, ImageGridOptions } from './plot.js';
export { toTorchStateDict, fromTorchStateDict, torchInt64Keys } from './torchStateDict.js';
export type { FromTorchOptions, FromTorchResult } from './torchStateDict.js';
export { torchModelPy } from './torchPy.js';
export type { TorchModelPyOptions, TorchPreprocessing } from './torchPy.js';
export { VERSION } from './version.js';
export { exportOnnx } from './onnx.js';
export type { ExportOnnxOptions } from './onnx.js';
