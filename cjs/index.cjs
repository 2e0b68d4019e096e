// cjs/index.cjs: what `require('layerwise')` loads (package.json "exports" condition "require").
// layerwise is an ES module package; this file only says so, in place of Node's
// ERR_PACKAGE_PATH_NOT_EXPORTED, which does not.
'use strict';
const error = new Error(
  'layerwise is an ES module package and cannot be loaded with require(). Use import instead: ' +
    'import { Tensor, models } from \'layerwise\' in an ES module (a .mjs file, or "type": "module" in ' +
    "package.json), or const layerwise = await import('layerwise') from CommonJS.",
);
error.code = 'ERR_REQUIRE_ESM';
throw error;
