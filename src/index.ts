// src/index.ts: the public surface of layerwise for Node: everything of src/browser.ts, with `data`
// and `io` extended by their file access (loaders, read*/write*, checkpoints). Anything not
// exported here is private. An explicit export takes precedence over `export *`, so the two lines
// below replace the browser entry's data and io; the rest is the browser list, unchanged.
export * from './browser.js';
export * as data from './data/index.js';
export * as io from './io/index.js';
