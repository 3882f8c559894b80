// Kafka away for a while under steady load: ingest must keep answering 202, RSS must stay flat, and
// after Kafka is back every acknowledged event must arrive; also measures the drain rate.
// Load: NDJSON requests of 100 events at a fixed rate (16 keep-alive connections, ack after sync).
// Phases: Kafka up for 10 s, stopped for the outage, restarted; the load stops when Kafka comes
// back and the backlog drains. Sampled every second from start to the end of the drain: events
// accepted and delivered (the daemon's /stats), RSS (/proc), spool bytes.
import { Agent, request } from 'node:http';
import type { Broker } from '../lib/kafka';
import { rssMb, setting, sleep, watchLoad, writeResult } from '../lib/run';
import { sparknginStats, startSparkngin } from '../lib/servers';

const outageSeconds = setting('BENCH_OUTAGE_SECONDS', 20, 300);
const rate = setting('BENCH_OUTAGE_RATE', 20_000, 20_000);
const BATCH = 100;

export async function outage(broker: Broker): Promise<void> {
  const topic = 'outage';
  await broker.createTopic(topic);
  // Retries capped at 2 s (as in the earlier runs), so that the drain starts soon after Kafka is back.
  const server = await startSparkngin({ kafka: broker.peer.brokers, kafkaYaml: 'retry: {initialMs: 200, maxMs: 2000}' });
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const body = `${Array.from({ length: BATCH }, (_, i) => JSON.stringify({ user: i, page: '/home', ref: 'https://example.com/x' })).join('\n')}\n`;
  const post = () =>
    new Promise<number>((resolve) => {
      const req = request(`${server.url}/v1/topics/${topic}`, { method: 'POST', agent, headers: { 'content-type': 'application/x-ndjson' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
      req.end(body);
    });
  let accepted = 0;
  let refused = 0;
  let running = true;
  const loader = (async () => {
    const perTick = Math.max(1, Math.round(rate / BATCH / 10)); // requests per 100 ms
    while (running) {
      const started = Date.now();
      const codes = await Promise.all(Array.from({ length: perTick }, post));
      for (const code of codes) if (code === 202) accepted += BATCH;
      else refused += BATCH;
      await sleep(Math.max(0, 100 - (Date.now() - started)));
    }
  })();

  const t0 = Date.now();
  let phase = 'up';
  const samples: Array<{ t: number; phase: string; accepted: number; delivered: number; rssMb: number; spoolMb: number }> = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const stats = await sparknginStats(server);
      samples.push({ t: Math.round((Date.now() - t0) / 100) / 10, phase, accepted, delivered: stats.sinks[0]!.deliveredRecords, rssMb: Math.round(rssMb(server.mainPid)), spoolMb: Math.round(stats.spool.bytes / 2 ** 20) });
      await sleep(1000);
    }
  })();
  const load = watchLoad(() => [...server.pids(), broker.peer.pid]);
  await sleep(10_000);
  phase = 'outage';
  await broker.peer.stop();
  await sleep(outageSeconds * 1000);
  running = false;
  await loader;
  const backlog = (await sparknginStats(server)).sinks[0]!.lagRecords;
  phase = 'drain';
  await broker.peer.restart();
  const drainStart = Date.now();
  let lag = backlog;
  while (lag > 0 && Date.now() - drainStart < 900_000) {
    await sleep(500);
    lag = (await sparknginStats(server)).sinks[0]!.lagRecords;
  }
  const drainSeconds = (Date.now() - drainStart) / 1000;
  // From the first delivery after the restart (the broker's start and the sink's backoff excluded).
  const firstAfter = samples.find((x) => x.phase === 'drain' && x.delivered > (samples.filter((y) => y.phase !== 'drain').at(-1)?.delivered ?? 0));
  sampling = false;
  await sampler;
  const final = await sparknginStats(server);
  const inKafka = await broker.count(topic);
  await server.stop();
  agent.destroy();
  const outageRss = samples.filter((s) => s.phase === 'outage').map((s) => s.rssMb);
  writeResult('outage', {
    outageSeconds,
    targetEventsPerSecond: rate,
    accepted,
    refused,
    backlogAtRestart: backlog,
    drainSeconds,
    drainEventsPerSecond: Math.round(backlog / drainSeconds),
    drainEventsPerSecondFromFirstDelivery: firstAfter ? Math.round((final.sinks[0]!.deliveredRecords - firstAfter.delivered) / ((Date.now() - t0) / 1000 - firstAfter.t)) : undefined,
    deliveredRecords: final.sinks[0]!.deliveredRecords,
    recordsInKafka: inKafka,
    lagAfter: lag,
    rssMbDuringOutage: { min: Math.min(...outageRss), max: Math.max(...outageRss) },
    rssMbOverall: { max: Math.max(...samples.map((s) => s.rssMb)) },
    // Where the peak is: Kafka up (delivering live), away (only retrying), and the drain after it.
    rssMbByPhase: Object.fromEntries(['up', 'outage', 'drain'].map((name) => [name, range(samples.filter((s) => s.phase === name).map((s) => s.rssMb))])),
    load: load.stop(),
    samples,
  });
}

function range(values: number[]): { min: number; max: number } | undefined {
  return values.length === 0 ? undefined : { min: Math.min(...values), max: Math.max(...values) };
}
