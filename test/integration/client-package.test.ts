// `sparkngin/client` as the npm package ships it: `npm pack` of the repository (after the build and
// `npm run build:types`), unpacked where `npm install` would put it, then used from a consumer's
// ESM and CommonJS code, and type-checked by tsc under each module resolution a consumer may use.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../peers/ports';
import { startDaemon, type DaemonProcess } from './daemon-process';

const run = promisify(execFile);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const tsc = join(repo, 'node_modules/.bin/tsc');

let dir: string;
let files: string[];
let daemon: DaemonProcess;
/** The daemon's ZeroMQ ROUTER (NW1), for the client's tcp:// transport. */
let router: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparkngin-package-'));
  await run('npm', ['run', '--silent', 'build:types'], { cwd: repo });
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: repo });
  const tarball = (await readdir(dir)).find((name) => name.endsWith('.tgz'))!;
  const installed = join(dir, 'node_modules', 'sparkngin');
  await mkdir(installed, { recursive: true });
  await run('tar', ['-xzf', join(dir, tarball), '-C', installed, '--strip-components=1']);
  files = (await run('tar', ['-tzf', join(dir, tarball)])).stdout.split('\n').filter(Boolean);
  router = `tcp://127.0.0.1:${await freePort()}`;
  daemon = await startDaemon({ config: { zmq: { router, framing: 'nw1' } } });
}, 180_000);
afterAll(async () => {
  await daemon?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the sparkngin/client package', () => {
  it('ships the daemon, both bundles, their types and no source', () => {
    expect(files.sort()).toEqual(
      ['build/client/index.cjs', 'build/client/index.d.cts', 'build/client/index.d.ts', 'build/client/index.mjs', 'build/sparkngin.cjs', 'docs/client.md', 'man/sparkngin.8.md', 'package.json', 'README.md']
        .map((file) => `package/${file}`)
        .sort(),
    );
  });

  it('sends events from ESM and from CommonJS', async () => {
    await writeFile(join(dir, 'esm.mjs'), `import { createClient } from 'sparkngin/client';\nconst client = createClient({ urls: process.argv[2] });\nconst d = await client.send('pkg', { from: 'esm' });\nawait client.close();\nconsole.log(d.status);\n`);
    await writeFile(join(dir, 'cjs.cjs'), `const { createClient } = require('sparkngin/client');\nconst client = createClient({ urls: process.argv[2] });\nclient.send('pkg', { from: 'cjs' }).then(async (d) => { await client.close(); console.log(d.status); });\n`);
    for (const file of ['esm.mjs', 'cjs.cjs']) expect((await run(process.execPath, [file, daemon.url], { cwd: dir })).stdout.trim()).toBe('acked');
  });

  it('loads zeromq only for a tcp:// instance, from the consumer\'s node_modules (where npm puts the dependency)', async () => {
    // The test above sent over HTTP with no zeromq installed beside the package.
    const script = `import { createClient } from 'sparkngin/client';\nconst client = createClient({ urls: process.argv[2] });\ntry { const d = await client.send('pkg', { over: 'zmq' }); console.log(d.status, d.instance); } catch (e) { console.log(e.code); }\nawait client.close();\n`;
    await writeFile(join(dir, 'zmq.mjs'), script);
    expect((await run(process.execPath, ['zmq.mjs', router], { cwd: dir })).stdout.trim()).toBe('ZMQ_UNAVAILABLE');
    await symlink(join(repo, 'node_modules', 'zeromq'), join(dir, 'node_modules', 'zeromq'));
    expect((await run(process.execPath, ['zmq.mjs', router], { cwd: dir })).stdout.trim()).toBe(`acked ${router}`);
    await writeFile(join(dir, 'zmq.cjs'), `const { createClient } = require('sparkngin/client');\nconst client = createClient({ urls: process.argv[2] });\nclient.send('pkg', { over: 'zmq' }).then(async (d) => { await client.close(); console.log(d.status); });\n`);
    expect((await run(process.execPath, ['zmq.cjs', router], { cwd: dir })).stdout.trim()).toBe('acked');
  });

  it('type-checks in a consumer under nodenext (ESM and CommonJS), bundler and node10 resolution', async () => {
    await writeFile(
      join(dir, 'consumer.mts'),
      `import { createClient, type ClientOptions, type Delivery } from 'sparkngin/client';
const options: ClientOptions = { urls: ['http://a:1'], ack: 'sink', batch: { maxEvents: 10 }, spill: { dir: '/tmp/x' } };
const delivery: Delivery = await createClient(options).send('t', { a: 1 }, { key: 'k', headers: { a: 'b' }, time: new Date() });
const status: 'acked' | 'spilled' = delivery.status;
// @ts-expect-error: not an ack mode
createClient({ ack: 'all' });
export { status };
`,
    );
    await writeFile(
      join(dir, 'consumer.cts'),
      `import client = require('sparkngin/client');\nconst c: client.SparknginClient = client.createClient({ urls: 'http://x:1' });\nvoid c.sendRaw('t', new Uint8Array([1]), { type: 'binary' });\n// @ts-expect-error: not a type of event\nvoid c.sendRaw('t', 'x', { type: 'xml' });\n`,
    );
    // skipLibCheck keeps tsc off @types/node; types that did not resolve would still show, as an unused @ts-expect-error.
    const common = ['--noEmit', '--strict', '--skipLibCheck', '--types', 'node', '--typeRoots', join(repo, 'node_modules/@types')];
    const checks: string[][] = [
      ['--module', 'nodenext', '--moduleResolution', 'nodenext', 'consumer.mts', 'consumer.cts'],
      ['--module', 'esnext', '--moduleResolution', 'bundler', 'consumer.mts'],
      ['--module', 'commonjs', '--moduleResolution', 'node10', 'consumer.cts'],
    ];
    const results = await Promise.all(
      checks.map((args) =>
        run(tsc, [...common, '--target', 'es2022', ...args], { cwd: dir }).then(
          () => 'ok',
          (error: { stdout: string }) => `${args.join(' ')}: ${error.stdout}`,
        ),
      ),
    );
    expect(results).toEqual(['ok', 'ok', 'ok']);
  });
});
