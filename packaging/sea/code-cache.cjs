// Makes the V8 code cache the single executable starts with (seaRunner, src/delivery/protocol.ts):
// runs the bundle's `start` in this process as the executable runs it (the source wrapped alike), with a fresh data dir and the
// default sinks, and once the daemon accepts a TCP connection writes `script.createCachedData()`:
// by then it holds the bytecode of every function a start compiled, not just the outer one.
// Run by the pinned Node the executable embeds, with the executable's execArgv (V8 refuses a cache
// made under other flags):  node [execArgv] code-cache.cjs <bundle> <out> <wrap head> <wrap tail>
'use strict';
const { mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { connect, createServer } = require('node:net');
const { tmpdir } = require('node:os');
const { dirname, join } = require('node:path');
const { Script } = require('node:vm');

const DEADLINE_MS = 60_000;

const [bundle, out, WRAP_HEAD, WRAP_TAIL] = process.argv.slice(2);
if (!bundle || !out || !WRAP_HEAD || !WRAP_TAIL) throw new Error('usage: code-cache.cjs <bundle> <out> <wrap head> <wrap tail>');

// A free port: bound, noted, released.
const probe = createServer().listen(0, '127.0.0.1', () => {
  const { port } = probe.address();
  probe.close(() => warm(port));
});

function warm(port) {
  const dir = mkdtempSync(join(tmpdir(), 'sparkngin-code-cache-'));
  const config = join(dir, 'sparkngin.yaml');
  writeFileSync(config, `listen: {host: 127.0.0.1, port: ${port}}\ndataDir: ${join(dir, 'data')}\n`);
  const script = new Script(`${WRAP_HEAD}${readFileSync(bundle, 'utf8')}${WRAP_TAIL}`, { filename: 'sparkngin.cjs' });
  process.argv = [process.execPath, bundle, 'start', '--config', config];
  const started = Date.now();
  const poll = () => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      writeFileSync(out, script.createCachedData());
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
    socket.once('error', () => {
      if (Date.now() - started > DEADLINE_MS) {
        rmSync(dir, { recursive: true, force: true });
        process.stderr.write(`code-cache: the daemon did not listen within ${DEADLINE_MS} ms\n`);
        process.exit(1);
      }
      setTimeout(poll, 5);
    });
  };
  const module = { exports: {} };
  script.runInThisContext()(module.exports, require, module, bundle, dirname(bundle));
  poll();
}
