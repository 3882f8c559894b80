// The client library over ZeroMQ (tcp://, a DEALER to the daemon's ROUTER) against the same client
// over HTTP (NW1 POSTs), in the same run on the same daemon: events per second from the first send()
// until every promise resolved acknowledged, for ack=spool and ack=sink (sinks: the file sink only,
// so ack=sink waits for it). Same batches (BATCH events), same requests in flight (WINDOW). Bounded:
// EVENTS per round, ROUNDS rounds alternating the ways.
//   npm run build && node bench/micro/client-zmq.mjs      (EVENTS=100000 BATCH=100 WINDOW=8 ROUNDS=2)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '../../build/client/index.mjs';

const EVENTS = Number(process.env.EVENTS ?? 100_000);
const BATCH = Number(process.env.BATCH ?? 100);
const WINDOW = Number(process.env.WINDOW ?? 8);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const value = (i) => ({ n: i, page: '/products/12345', user: `u-${i % 1000}`, pad: 'x'.repeat(40) });

const port = () => new Promise((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); }); });
const [http, router] = [await port(), await port()];
const dir = mkdtempSync(join(tmpdir(), 'sparkngin-client-zmq-bench-'));
const config = join(dir, 'config.yaml');
writeFileSync(config, `listen: {host: 127.0.0.1, port: ${http}}\ndataDir: ${dir}/data\ndiscovery: {enabled: false}\nlog: {level: warn}\nzmq: {router: "tcp://127.0.0.1:${router}", framing: nw1}\n`);
const daemon = spawn(process.execPath, [new URL('../../build/sparkngin.cjs', import.meta.url).pathname, 'start', '--config', config], { stdio: 'inherit' });
const urls = { http: `http://127.0.0.1:${http}`, zmq: `tcp://127.0.0.1:${router}` };
for (let i = 0; i < 200; i++) { try { await fetch(`${urls.http}/health`); break; } catch { await new Promise((r) => setTimeout(r, 100)); } }

/** Sends EVENTS events in chunks of 10 000 (each awaited: a stream, bounded memory); events per second. */
async function run(url, ack) {
  const client = createClient({ urls: url, ack, maxInFlight: WINDOW, batch: { maxEvents: BATCH, lingerMs: 1 } });
  await client.ready();
  const started = process.hrtime.bigint();
  for (let start = 0; start < EVENTS; start += 10_000) {
    const chunk = [];
    for (let i = start; i < Math.min(EVENTS, start + 10_000); i++) chunk.push(client.send('bench', value(i)));
    for (const delivery of await Promise.all(chunk)) if (delivery.status !== 'acked') throw new Error(JSON.stringify(delivery));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await client.close();
  return Math.round(EVENTS / seconds);
}

const results = {};
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const ack of ['spool', 'sink']) {
      for (const way of ['http', 'zmq']) (results[`${way} ack=${ack}`] ??= []).push(await run(urls[way], ack));
    }
  }
} finally {
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
console.log(`client events per second until acknowledged (${EVENTS} events, ${BATCH} per request, ${WINDOW} in flight), per round:`);
for (const [name, rates] of Object.entries(results)) console.log(`  ${name.padEnd(15)} ${rates.join('  ')}`);
