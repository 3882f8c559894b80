// Kafka away for a while under steady load: ingest must keep answering 202, RSS must stay flat,
// and after Kafka is back every acknowledged event must arrive. Also measures the drain rate.
//   bench/run-outage.sh [outageSeconds=300] [eventsPerSecond=20000]
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { startKafka } from '../test/peers/kafka';
import { freePort } from '../test/peers/ports';

const outageSeconds = Number(process.argv[2] ?? 300);
const rate = Number(process.argv[3] ?? 20_000);
const batch = 100;
const kafka = await startKafka({ version: '3.9', partitions: 3 });
const dir = mkdtempSync(join(tmpdir(), 'sparkngin-outage-'));
const port = await freePort();
writeFileSync(join(dir, 'c.yaml'), `listen: {host: 127.0.0.1, port: ${port}}\ndataDir: ${dir}\nsinks:\n  file: {enabled: false}\n  kafka: {brokers: ['${kafka.brokers}'], retry: {initialMs: 200, maxMs: 2000}}\n`);
const daemon = spawn(process.execPath, [join(import.meta.dirname, '..', 'sparkngin.cjs'), 'start', '--config', join(dir, 'c.yaml')], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 1500));
const agent = new Agent({ keepAlive: true, maxSockets: 16 });
const body = Array.from({ length: batch }, (_, i) => JSON.stringify({ user: i, page: '/home', ref: 'https://example.com/x' })).join('\n') + '\n';
const post = () => new Promise<number>((resolve) => {
  const req = request({ host: '127.0.0.1', port, path: '/v1/topics/outage', method: 'POST', agent, headers: { 'content-type': 'application/x-ndjson' } }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
  req.on('error', () => resolve(0));
  req.end(body);
});
const stats = async () => JSON.parse(await new Promise<string>((resolve) => request({ host: '127.0.0.1', port, path: '/stats', agent }, (res) => { let t = ''; res.on('data', (c) => (t += c)); res.on('end', () => resolve(t)); }).end()));
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${daemon.pid}/status`, 'utf8'))![1]) / 1024;

let accepted = 0, refused = 0, running = true;
const loader = (async () => {
  const perTick = rate / batch / 10; // requests per 100 ms
  while (running) {
    const started = Date.now();
    const codes = await Promise.all(Array.from({ length: Math.max(1, Math.round(perTick)) }, post));
    for (const code of codes) if (code === 202) accepted += batch; else refused += batch;
    await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - started))));
  }
})();
const samples: Array<{ t: number; rssMb: number; spoolMb: number; accepted: number }> = [];
const sample = async (t: number) => { const s = await stats(); samples.push({ t, rssMb: Math.round(rss()), spoolMb: Math.round(s.spool.bytes / 2 ** 20), accepted }); };
await new Promise((r) => setTimeout(r, 10_000));
await kafka.stop();
const t0 = Date.now();
while (Date.now() - t0 < outageSeconds * 1000) { await sample(Math.round((Date.now() - t0) / 1000)); await new Promise((r) => setTimeout(r, 5000)); }
running = false;
await loader;
const backlog = (await stats()).sinks[0].lagRecords;
await kafka.restart();
const drainStart = Date.now();
let lag = backlog;
while (lag > 0 && Date.now() - drainStart < 600_000) { await new Promise((r) => setTimeout(r, 1000)); lag = (await stats()).sinks[0].lagRecords; }
const drainSeconds = (Date.now() - drainStart) / 1000;
const final = await stats();
const rssValues = samples.map((s) => s.rssMb);
console.log(JSON.stringify({ outageSeconds, targetEventsPerSecond: rate, accepted, refused, backlogAtRestart: backlog, drainSeconds, drainEventsPerSecond: Math.round(backlog / drainSeconds), deliveredRecords: final.sinks[0].deliveredRecords, lagAfter: lag, rssMb: { min: Math.min(...rssValues), max: Math.max(...rssValues), last: rssValues.at(-1) }, samples }, null, 1));
daemon.kill('SIGTERM');
await kafka.close();
process.exit(0);
