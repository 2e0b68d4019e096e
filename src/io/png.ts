// src/io/png.ts: the PNG codec on bytes, one import for its users: the shared format pieces
// (pngFormat.ts), the encoder (pngEncode.ts), the decoder (pngDecode.ts) and the conversion of a
// decoded image into a model input (modelInput.ts). No Node imports (the browser entry uses it);
// reading a .png file is in files.ts.
export { crc32, MAX_PNG_PIXELS, PNG_MAX_BYTES } from './pngFormat.js';
export type { DecodePngOptions, PngImage } from './pngFormat.js';
export { encodePng } from './pngEncode.js';
export { decodePng } from './pngDecode.js';
export { resizeWeights, toModelInput } from './modelInput.js';
export type { ModelInputOptions } from './modelInput.js';
