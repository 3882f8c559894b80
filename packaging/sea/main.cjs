// The single executable's main script: runs the bundle (the `sparkngin.cjs` asset, the same text the
// delivery threads run) with the V8 code cache the build made of it *after* a warm start
// (packaging/sea/code-cache.cjs). Node's own `useCodeCache` caches only what V8 compiles before the
// script runs, the outer function; every function the start then calls (config parsing, YAML, the
// HTTP server, the spool) was compiled at each start. Measured: bench/RESULTS.md, start-up.
// A cache V8 refuses (another Node, other flags: a target the build could not warm) only costs that
// compilation again: the script runs all the same. Plain CommonJS: the executable's main script can
// require Node's own modules only.
'use strict';
const { getAsset } = require('node:sea');
const { Script } = require('node:vm');

// Must be the same text in code-cache.cjs: V8 checks the cache against the source.
const WRAP_HEAD = '(function (exports, require, module, __filename, __dirname) {';
const WRAP_TAIL = '\n})';

let cachedData;
try {
  cachedData = Buffer.from(getAsset('sparkngin.code-cache'));
} catch {
  // No cache for this target: compiled as it runs.
}
const source = `${WRAP_HEAD}${getAsset('sparkngin.cjs', 'utf8')}${WRAP_TAIL}`;
const script = new Script(source, { filename: 'sparkngin.cjs', cachedData });
script.runInThisContext()(exports, require, module, __filename, __dirname);
