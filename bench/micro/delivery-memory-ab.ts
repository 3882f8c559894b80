// A/B of the Kafka delivery thread's memory and CPU between two builds of the daemon (or one build
// with two environments), paired so that a busy machine's load falls on both alike: one spool of
// $DMA_EVENTS events (default 600,000; the outage scenario's records) is filled once, then each
// round drains a copy of it into a fresh topic with A and with B (the order alternating by round).
// Per run: the process's peak RSS (/proc, every 100 ms), the busiest thread's CPU per record (the
// delivery thread: /proc/PID/task/TID/schedstat), the whole daemon's CPU seconds per million
// records. Prints each run and the medians.
//   npx esbuild bench/micro/delivery-memory-ab.ts --bundle --platform=node --format=esm \
//     --outfile=build/bench/dma.mjs --external:kafkajs \
//     --banner:js="import{createRequire}from'module';const require=createRequire(import.meta.url);"
//   node build/bench/dma.mjs A.cjs B.cjs    ($DMA_ENV_A / $DMA_ENV_B: "K=V K=V" added to each
//   daemon's environment; $DMA_ROUNDS, default 3)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, traceDelivery } from '../lib/kafka';
import { busiestThread, cpuSecondsOf, median, rssMb, sleep, threadTimes } from '../lib/run';
import { startSparkngin } from '../lib/servers';

const [bundleA, bundleB] = process.argv.slice(2);
if (bundleA === undefined || bundleB === undefined) throw new Error('usage: dma.mjs A.cjs B.cjs');
const events = Number(process.env.DMA_EVENTS ?? 600_000);
const rounds = Number(process.env.DMA_ROUNDS ?? 3);
const envOf = (text = '') => Object.fromEntries(text.split(' ').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const variants = [
  { name: 'A', bundle: bundleA, env: envOf(process.env.DMA_ENV_A) },
  { name: 'B', bundle: bundleB, env: envOf(process.env.DMA_ENV_B) },
];
const line = JSON.stringify({ user: 42, page: '/home', ref: 'https://example.com/x' });

const broker = await startBroker('3.9');
const dir = mkdtempSync(join(tmpdir(), 'sparkngin-dma-'));
try {
  // The sink on an unreachable broker keeps its cursor at the start (else the spool deletes the records).
  const filler = await startSparkngin({ bundle: bundleA, dataDir: join(dir, 'spool'), kafka: '127.0.0.1:1' });
  const body = `${Array.from({ length: 1000 }, () => line).join('\n')}\n`;
  for (let i = 0; i < events / 1000; i++) {
    const res = await fetch(`${filler.url}/v1/topics/dma?key=k${i % 50}`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
    if (res.status !== 202) throw new Error(`filling the spool: ${res.status}`);
  }
  await filler.stop();
  const all: Array<{ name: string; peakRssMb: number; threadCpuUsPerRecord: number; cpuSecondsPerMillion: number; seconds: number }> = [];
  for (let round = 0; round < rounds; round++) {
    for (const variant of round % 2 === 0 ? variants : [...variants].reverse()) {
      const topic = `r${round}${variant.name}-dma`;
      await broker.createTopic(topic);
      const copy = join(dir, `copy-${round}-${variant.name}`);
      execFileSync('cp', ['-a', join(dir, 'spool'), copy]);
      const saved = { ...process.env };
      Object.assign(process.env, variant.env);
      const server = await startSparkngin({ bundle: variant.bundle, kafka: broker.peer.brokers, topicPrefix: `r${round}${variant.name}-`, dataDir: copy });
      process.env = saved;
      let peak = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peak = Math.max(peak, rssMb(server.mainPid));
          await sleep(100);
        }
      })();
      const since = Date.now();
      const cpuBefore = cpuSecondsOf(server.mainPid);
      const threadsBefore = threadTimes(server.mainPid);
      const trace = await traceDelivery(broker, topic, { since, expected: events, everyMs: 100, quietMs: 30_000 });
      const seconds = (Date.now() - since) / 1000;
      const thread = busiestThread(threadsBefore, threadTimes(server.mainPid), seconds);
      const cpuSeconds = cpuSecondsOf(server.mainPid) - cpuBefore;
      sampling = false;
      await sampler;
      await server.stop();
      rmSync(copy, { recursive: true, force: true });
      if (trace.delivered < events) throw new Error(`${variant.name} delivered ${trace.delivered} of ${events}`);
      const run = { name: variant.name, peakRssMb: Math.round(peak), threadCpuUsPerRecord: +((thread.cpuSeconds * 1e6) / events).toFixed(2), cpuSecondsPerMillion: +((cpuSeconds * 1e6) / events).toFixed(2), seconds: +seconds.toFixed(1) };
      all.push(run);
      console.log(JSON.stringify(run));
    }
  }
  for (const { name } of variants) {
    const mine = all.filter((run) => run.name === name);
    console.log(`${name}: median peak RSS ${median(mine.map((r) => r.peakRssMb))} MB, delivery thread ${median(mine.map((r) => r.threadCpuUsPerRecord))} µs/record, daemon ${median(mine.map((r) => r.cpuSecondsPerMillion))} CPU-s per million`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  await broker.close();
}
process.exit(0);
