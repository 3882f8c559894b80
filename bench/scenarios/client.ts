// The client library (sparkngin/client), three questions, each against real daemons:
// 1. throughput: the client (bench/client-load.mjs, its own process, batches of 100 events, 64
//    requests in flight) beside wrk on 64 connections posting 100 events per request, each against a
//    fresh daemon (spool only, as in `ingest`), runs alternating; plus the client with its defaults
//    (batches of 1000, 8 in flight). wrk posts two bodies: the 100-event NDJSON one
//    (bench/wrk/ndjson100.lua: the raw HTTP path, which issue 9's target of 0.8× is against), and
//    the NW1 body the client itself sends for those events (nw1-100: the same protocol without the
//    client, which separates what NW1 costs the daemon from what the client costs its process). The
//    daemon's CPU time per event and the client's own are recorded too: on two cores the client
//    process and the daemon share the machine, where wrk's fixed body costs it almost nothing.
//    `bash bench/run.sh client-throughput` runs this part alone (no Kafka).
// 2. failover: two daemons, the client streaming to both (round-robin); at half time one gets
//    SIGKILL. failover = from the kill until every event sent before it is acknowledged (by the
//    other: the last of those in flight at the kill); firstResent = from the kill until the first
//    event whose batch had failed is acknowledged elsewhere. Target: under 2 s.
// 3. ack=sink against ack=spool through the client, one daemon delivering to the local Kafka:
//    events/s and per-event latency (send() to its promise), p50 and p99.
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Broker } from '../lib/kafka';
import { alternate, benchDir, cpuSecondsOf, medians, runs, setting, sleep, spawnOwned, watchLoad, writeResult } from '../lib/run';
import { type Server, startSparkngin } from '../lib/servers';
import { EVENTS_PER_REQUEST, wrk } from '../lib/wrk';

const seconds = setting('BENCH_SECONDS', 5, 15);
const warmup = setting('BENCH_WARMUP', 2, 5);
const failoverSeconds = setting('BENCH_FAILOVER_SECONDS', 6, 10);

interface LoadResult {
  /** CPU time of the load generator per acknowledged event (the client's cost to an application). */
  cpuSecondsPerMillion: number;
  sent: number;
  acked: number;
  failed: number;
  eventsPerSecond: number;
  latencyMs: { p50: number | null; p90: number | null; p99: number | null; max: number | null };
  retries: number;
  requests: number[];
}

interface LoadOptions {
  urls: string[];
  topic: string;
  seconds: number;
  ack?: 'spool' | 'sink';
  batch?: number;
  maxInFlight?: number;
  trace?: string;
}

/** Runs bench/client-load.mjs; `onStart` gets its pid (for the load accounting). */
function clientLoad(options: LoadOptions, onStart?: (pid: number | undefined) => void): Promise<LoadResult> {
  const child = spawnOwned(process.execPath, [join(benchDir, 'client-load.mjs'), JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  onStart?.(child.pid);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`client-load exited ${code}: ${out.slice(-2000)}`));
      else resolve(JSON.parse(line) as LoadResult);
    }),
  );
}

type ThroughputVariant = 'wrk-ndjson100' | 'wrk-nw1-100' | 'client-batch100' | 'client-defaults';
const WRK_BODY: Partial<Record<ThroughputVariant, 'ndjson100' | 'nw1-100'>> = { 'wrk-ndjson100': 'ndjson100', 'wrk-nw1-100': 'nw1-100' };

const ratio = (a: number, b: number) => Math.round((100 * a) / b) / 100;

/** Events/s of each variant in each round of alternating runs. */
function rounds(all: Array<{ variant: ThroughputVariant; index: number; result: { eventsPerSecond: number } }>): Array<Partial<Record<ThroughputVariant, number>>> {
  const out: Array<Partial<Record<ThroughputVariant, number>>> = [];
  for (const { variant, index, result } of all) (out[index] ??= {})[variant] = result.eventsPerSecond;
  return out;
}

const perEvent = (cpuSeconds: number, events: number) => Math.round((cpuSeconds * 1e6 * 100) / Math.max(1, events)) / 100;

async function throughput(): Promise<Record<string, unknown>> {
  const all = await alternate<ThroughputVariant, { eventsPerSecond: number; p99Ms: number | null; serverCpuMicrosPerEvent: number; load: unknown; detail: unknown }>(
    ['wrk-ndjson100', 'client-batch100', 'wrk-nw1-100', 'client-defaults'],
    runs,
    async (variant) => {
      const server: Server = await startSparkngin();
      try {
        const url = `${server.url}/v1/topics/bench`;
        const body = WRK_BODY[variant];
        if (body !== undefined) {
          await wrk(body, url, warmup);
          await sleep(500);
          let pid: number | undefined;
          const watching = watchLoad(() => [...server.pids(), pid]);
          const cpu = cpuSecondsOf(server.mainPid);
          const result = await wrk(body, url, seconds, (started) => (pid = started));
          const events = ((result.requests - result.non2xx) * EVENTS_PER_REQUEST[body]) || 1;
          const serverCpuMicrosPerEvent = perEvent(cpuSecondsOf(server.mainPid) - cpu, events);
          return { eventsPerSecond: result.okPerSecond * EVENTS_PER_REQUEST[body], p99Ms: result.latencyUs.p99 / 1000, serverCpuMicrosPerEvent, load: watching.stop(), detail: result };
        }
        const tuned = variant === 'client-batch100' ? { batch: 100, maxInFlight: 64 } : { batch: 1000, maxInFlight: 8 };
        await clientLoad({ urls: [server.url], topic: 'bench', seconds: warmup, ...tuned });
        await sleep(500);
        let pid: number | undefined;
        const watching = watchLoad(() => [...server.pids(), pid]);
        const cpu = cpuSecondsOf(server.mainPid);
        const result = await clientLoad({ urls: [server.url], topic: 'bench', seconds, ...tuned }, (started) => (pid = started));
        const serverCpuMicrosPerEvent = perEvent(cpuSecondsOf(server.mainPid) - cpu, result.sent);
        return { eventsPerSecond: result.eventsPerSecond, p99Ms: result.latencyMs.p99, serverCpuMicrosPerEvent, load: watching.stop(), detail: result };
      } finally {
        await server.stop();
      }
    },
  );
  const eventsPerSecond = medians(all, (r) => r.eventsPerSecond);
  return {
    runs: all,
    medianEventsPerSecond: eventsPerSecond,
    medianP99Ms: medians(all, (r) => r.p99Ms ?? Number.NaN),
    medianServerCpuMicrosPerEvent: medians(all, (r) => r.serverCpuMicrosPerEvent),
    medianClientCpuMicrosPerEvent: medians(
      all.filter((r) => WRK_BODY[r.variant] === undefined),
      (r) => (r.detail as LoadResult).cpuSecondsPerMillion,
    ),
    clientOverWrk: ratio(eventsPerSecond['client-batch100']!, eventsPerSecond['wrk-ndjson100']!),
    clientOverWrkNw1: ratio(eventsPerSecond['client-batch100']!, eventsPerSecond['wrk-nw1-100']!),
    // The ratio per round (each round runs every variant once, back to back): its spread tells how far the machine's load moved the median.
    clientOverWrkPerRound: rounds(all).map((round) => ratio(round['client-batch100']!, round['wrk-ndjson100']!)),
    note: 'wrk p99 is per request (100 events); the client p99 is per event, from send() to its promise (batching wait included)',
  };
}

async function failover(): Promise<Record<string, unknown>> {
  const results: Array<{ failoverMs: number; firstResentMs: number | null; inFlightAtKill: number; acked: number; failed: number; retries: number }> = [];
  for (let run = 0; run < runs; run++) {
    const [a, b] = [await startSparkngin(), await startSparkngin()];
    const trace = join(tmpdir(), `sparkngin-failover-${process.pid}-${run}.json`);
    try {
      const loading = clientLoad({ urls: [a.url, b.url], topic: 'failover', seconds: failoverSeconds, batch: 100, maxInFlight: 16, trace });
      await sleep((failoverSeconds * 1000) / 2);
      const killedAt = Date.now();
      await a.kill9();
      const result = await loading;
      const rows = JSON.parse(readFileSync(trace, 'utf8')) as number[];
      let failoverMs = 0;
      let firstResentMs: number | undefined;
      let inFlightAtKill = 0;
      for (let i = 0; i < rows.length; i += 4) {
        const [sentAt, resolvedAt, instance, attempts] = [rows[i]!, rows[i + 1]!, rows[i + 2]!, rows[i + 3]!];
        if (sentAt <= killedAt && resolvedAt > killedAt) {
          inFlightAtKill++;
          failoverMs = Math.max(failoverMs, resolvedAt - killedAt);
        }
        if (attempts > 1 && instance === 1 && resolvedAt >= killedAt) firstResentMs = Math.min(firstResentMs ?? Infinity, resolvedAt - killedAt);
      }
      results.push({ failoverMs, firstResentMs: firstResentMs ?? null, inFlightAtKill, acked: result.acked, failed: result.failed, retries: result.retries });
    } finally {
      rmSync(trace, { force: true });
      await a.stop().catch(() => undefined);
      await b.stop();
    }
  }
  const pick = (key: 'failoverMs' | 'firstResentMs') => results.map((r) => r[key] ?? Number.NaN).sort((x, y) => x - y)[Math.floor(results.length / 2)];
  return { runs: results, medianFailoverMs: pick('failoverMs'), medianFirstResentMs: pick('firstResentMs'), targetMs: 2000 };
}

async function ackCost(broker: Broker): Promise<Record<string, unknown>> {
  let serial = 0;
  const all = await alternate<'spool' | 'sink', LoadResult & { load: unknown }>(['spool', 'sink'], runs, async (ack) => {
    const topic = `client-ack-${++serial}-${ack}`;
    await broker.createTopic(topic);
    await broker.createTopic(`${topic}-warm`);
    const server = await startSparkngin({ kafka: broker.peer.brokers });
    try {
      await clientLoad({ urls: [server.url], topic: `${topic}-warm`, seconds: warmup, ack, batch: 100, maxInFlight: 64 });
      await sleep(500);
      let pid: number | undefined;
      const watching = watchLoad(() => [...server.pids(), pid, broker.peer.pid]);
      const result = await clientLoad({ urls: [server.url], topic, seconds, ack, batch: 100, maxInFlight: 64 }, (started) => (pid = started));
      return { ...result, load: watching.stop() };
    } finally {
      await server.stop();
    }
  });
  return {
    runs: all,
    medianEventsPerSecond: medians(all, (r) => r.eventsPerSecond),
    medianP50Ms: medians(all, (r) => r.latencyMs.p50 ?? Number.NaN),
    medianP99Ms: medians(all, (r) => r.latencyMs.p99 ?? Number.NaN),
  };
}

/** The throughput part alone (no Kafka needed): `bash bench/run.sh client-throughput`. */
export async function clientThroughput(): Promise<void> {
  writeResult('client-throughput', { seconds, warmupSeconds: warmup, runsPerVariant: runs, throughput: await throughput() });
}

export async function client(broker: Broker): Promise<void> {
  const results = { throughput: await throughput(), failover: await failover(), ackCost: await ackCost(broker) };
  writeResult('client', { seconds, warmupSeconds: warmup, failoverSeconds, runsPerVariant: runs, ...results });
}
