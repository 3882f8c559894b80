// ZeroMQ ingest into the spool against HTTP NDJSON ingest, in the same run on the same daemon:
// events per second until the spool has appended them all (GET /stats spool.appendedRecords), for
//   push    PUSH → PULL, messages of BATCH events (raw framing, topic frame + one frame per event)
//   router  DEALER → ROUTER, the same messages, WINDOW messages in flight, each answered 202
//   http    POST /v1/topics/{t} NDJSON, BATCH events per request, WINDOW requests in flight
// Sinks are off (nothing but ingest and the spool), fsync batch. Bounded: EVENTS per round, ROUNDS
// rounds alternating the three.
//   npm run build && node bench/micro/zmq-ingest.mjs      (EVENTS=200000 BATCH=100 WINDOW=16 ROUNDS=2)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';

const EVENTS = Number(process.env.EVENTS ?? 200_000);
const BATCH = Number(process.env.BATCH ?? 100);
const WINDOW = Number(process.env.WINDOW ?? 16);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const payload = (i) => `{"n":${i},"page":"/products/12345","user":"u-${i % 1000}","pad":"${'x'.repeat(40)}"}`;

const port = () => new Promise((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); }); });
const [http, pull, router] = [await port(), await port(), await port()];
const dir = mkdtempSync(join(tmpdir(), 'sparkngin-zmq-bench-'));
const config = join(dir, 'config.yaml');
writeFileSync(config, `listen: {host: 127.0.0.1, port: ${http}}\ndataDir: ${dir}/data\ndiscovery: {enabled: false}\nlog: {level: warn}\nsinks: {file: {enabled: false}}\nzmq: {pull: "tcp://127.0.0.1:${pull}", router: "tcp://127.0.0.1:${router}"}\n`);
const daemon = spawn(process.execPath, [new URL('../../build/sparkngin.cjs', import.meta.url).pathname, 'start', '--config', config], { stdio: 'inherit' });
const url = `http://127.0.0.1:${http}`;
const appended = async () => (await (await fetch(`${url}/stats`)).json()).spool.appendedRecords;
for (let i = 0; i < 200; i++) { try { await appended(); break; } catch { await new Promise((r) => setTimeout(r, 100)); } }

async function untilAppended(target) { while ((await appended()) < target) await new Promise((r) => setTimeout(r, 5)); }

const messages = EVENTS / BATCH;
const frames = (m) => ['bench', ...Array.from({ length: BATCH }, (_, i) => payload(m * BATCH + i))];
const ndjson = (m) => Array.from({ length: BATCH }, (_, i) => payload(m * BATCH + i)).join('\n');

const ways = {
  async push() {
    const socket = new zmq.Push({ sendHighWaterMark: 1000 });
    socket.connect(`tcp://127.0.0.1:${pull}`);
    for (let m = 0; m < messages; m++) await socket.send(frames(m));
    return () => socket.close();
  },
  async router() {
    const socket = new zmq.Dealer();
    socket.connect(`tcp://127.0.0.1:${router}`);
    let sent = 0;
    let answered = 0;
    while (answered < messages) {
      while (sent < messages && sent - answered < WINDOW) await socket.send(frames(sent++));
      const [reply] = await socket.receive();
      if (!reply.toString().startsWith('{"status":202')) throw new Error(reply.toString());
      answered++;
    }
    return () => socket.close();
  },
  async http() {
    let next = 0;
    const worker = async () => {
      while (next < messages) {
        const m = next++;
        const response = await fetch(`${url}/v1/topics/bench`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: ndjson(m) });
        if (response.status !== 202) throw new Error(await response.text());
        await response.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: WINDOW }, worker));
    return () => undefined;
  },
};

const results = { push: [], router: [], http: [] };
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of Object.keys(ways)) {
      const before = await appended();
      const started = process.hrtime.bigint();
      const close = await ways[name]();
      await untilAppended(before + EVENTS);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      close();
      results[name].push(Math.round(EVENTS / seconds));
    }
  }
} finally {
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
console.log(`events per second into the spool (${EVENTS} events of ~${payload(0).length} bytes, ${BATCH} per message/request, ${WINDOW} in flight), per round:`);
for (const [name, rates] of Object.entries(results)) console.log(`  ${name.padEnd(7)} ${rates.join('  ')}`);
