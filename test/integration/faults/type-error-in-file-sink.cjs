// Preloaded into a daemon under test (NODE_OPTIONS=--require this file) to give the real file sink a
// bug on demand, with no hook in the product: while the file $FAULT_MARKER exists, opening a file
// under $FAULT_DIR throws a TypeError, as a programming error in the sink's write path would.
const fsp = require('node:fs/promises');
const { existsSync } = require('node:fs');

const marker = process.env.FAULT_MARKER;
const dir = process.env.FAULT_DIR;
const open = fsp.open;
fsp.open = async function openWithFault(path, ...rest) {
  if (String(path).startsWith(`${dir}/`) && existsSync(marker)) {
    throw new TypeError("Cannot read properties of undefined (reading 'write') [injected by the test]");
  }
  return open.call(this, path, ...rest);
};
