// src/io/version.ts: the library version written into exported files (model.py, ONNX
// producer_version, model metadata); test/io/version.test.ts keeps it equal to package.json's.
export const VERSION = '0.1.0';
