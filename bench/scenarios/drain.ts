// Delivery of a spooled backlog to Kafka, against kcat (librdkafka) producing the same records
// (same values, keys and header names/sizes, idempotent, acks=all) to the same broker, runs
// alternating. Each run gets a fresh topic created beforehand with 3 partitions, so no run times
// a topic's creation; the backlog is millions of records in a full run, so start-up is noise.
// The rate is read on the broker's side (end offsets sampled every 100 ms): records / seconds from
// the first record to the last (`steady`), and records / seconds from the producer's start (`wall`).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KCAT_COMMAND, KCAT_HEADERS, kcatProduceArgs, runTimed, writeKcatInput } from '../lib/kcat';
import { type Broker, traceDelivery } from '../lib/kafka';
import { alternate, busiestThread, cpuSecondsOf, medians, runs, setting, threadTimes, watchLoad, writeResult } from '../lib/run';
import { startSparkngin } from '../lib/servers';

export const events = setting('BENCH_DRAIN_EVENTS', 200_000, 2_000_000);
const KEYS = 50;
const line = JSON.stringify({ user: 42, page: '/home', ref: 'https://example.com/some/path?x=1', ua: 'Mozilla/5.0' });
// The daemon with its defaults and with other Kafka sink settings ($BENCH_DRAIN_OTHER, YAML flow
// mapping entries; by default 5 produce requests in flight per broker against the default 1), on
// the repository's Node 22 (what the executables embed), and kcat.
const OTHER_YAML = process.env.BENCH_DRAIN_OTHER || 'maxInFlight: 5';
const OTHER = `sparkngin {${OTHER_YAML}}`;

/** A spool holding `events` for the Kafka sink. The sink is on but its broker unreachable (port 1),
 *  so that its cursor stays at the start: with no sink at all, the spool would delete what no sink
 *  needs (a first version of this kept only the last ~400 000 events). */
export async function fillSpool(dir: string): Promise<string> {
  const server = await startSparkngin({ dataDir: join(dir, 'spool'), kafka: '127.0.0.1:1' });
  const perRequest = 1000;
  const body = `${Array.from({ length: perRequest }, () => line).join('\n')}\n`;
  for (let i = 0; i < events / perRequest; i++) {
    const res = await fetch(`${server.url}/v1/topics/kbench?key=k${i % KEYS}`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
    if (res.status !== 202) throw new Error(`filling the spool: ${res.status} ${await res.text()}`);
  }
  await server.stop();
  return join(dir, 'spool');
}

export async function drain(broker: Broker): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sparkngin-drain-'));
  try {
    console.log(`bench: filling a spool with ${events} events, and kcat's input`);
    const spool = await fillSpool(dir);
    const kcatInput = join(dir, 'kcat.txt');
    // The same keys as the spool: one per request of 1 000 events.
    writeKcatInput(kcatInput, events, (i) => `k${Math.floor(i / 1000) % KEYS}\t${line}\n`);
    let serial = 0;
    const variants = ['sparkngin', OTHER, 'kcat'];
    const all = await alternate<string, { steadyPerSecond: number; wallPerSecond: number; cpuSecondsPerMillion: number; delivered: number }>(variants, runs, async (variant) => {
      const run = ++serial;
      const topic = `d${run}-kbench`;
      await broker.createTopic(topic);
      const since = Date.now();
      if (variant === 'kcat') {
        const load = watchLoad(() => [broker.peer.pid]);
        const [trace, result] = await Promise.all([traceDelivery(broker, topic, { since, expected: events, everyMs: 100, quietMs: 30_000 }), runTimed(['kcat', ...kcatProduceArgs(broker.peer.brokers, topic, kcatInput)])]);
        return { ...summary(trace, events), wallSeconds: result.wallSeconds, wallPerSecond: trace.delivered / result.wallSeconds, cpuSeconds: result.cpuSeconds, cpuSecondsPerMillion: (result.cpuSeconds * 1e6) / trace.delivered, load: load.stop() };
      }
      const copy = join(dir, `spool-${run}`);
      execFileSync('cp', ['-a', spool, copy]);
      const server = await startSparkngin({ kafka: broker.peer.brokers, topicPrefix: `d${run}-`, dataDir: copy, kafkaYaml: variant === OTHER ? OTHER_YAML : undefined });
      try {
        const load = watchLoad(() => [...server.pids(), broker.peer.pid]);
        const cpuBefore = cpuSecondsOf(server.mainPid);
        const [threadsBefore, sampledAt] = [threadTimes(server.mainPid), performance.now()];
        const trace = await traceDelivery(broker, topic, { since, expected: events, everyMs: 100, quietMs: 30_000 });
        const cpuSeconds = cpuSecondsOf(server.mainPid) - cpuBefore;
        // The delivery thread (the busiest): its sleep per record is what requests in flight overlap.
        const thread = busiestThread(threadsBefore, threadTimes(server.mainPid), (performance.now() - sampledAt) / 1000);
        const deliveryThread = { ...thread, cpuUsPerRecord: (thread.cpuSeconds * 1e6) / trace.delivered, sleptUsPerRecord: (thread.sleptSeconds * 1e6) / trace.delivered };
        return { ...summary(trace, events), wallSeconds: (trace.lastMs ?? 0) / 1000, wallPerSecond: trace.delivered / ((trace.lastMs ?? 1) / 1000), cpuSeconds, cpuSecondsPerMillion: (cpuSeconds * 1e6) / trace.delivered, deliveryThread, load: load.stop() };
      } finally {
        await server.stop();
        rmSync(copy, { recursive: true, force: true });
      }
    });
    for (const { variant, result } of all) if (result.delivered < events) throw new Error(`drain: ${variant} delivered ${result.delivered} of ${events} records`);
    const steady = medians(all, (r) => r.steadyPerSecond);
    writeResult('drain', {
      events,
      keys: KEYS,
      recordBytes: line.length,
      headers: KCAT_HEADERS,
      runsPerVariant: runs,
      kafka: broker.peer.version,
      partitions: 3,
      command: { kcat: KCAT_COMMAND, sparkngin: 'build/sparkngin.cjs start with a spool of the same events, Kafka sink on (defaults: acks=all, idempotent)', [OTHER]: `the same with sinks.kafka: {${OTHER_YAML}}` },
      runs: all,
      medianSteadyPerSecond: steady,
      medianWallPerSecond: medians(all, (r) => r.wallPerSecond),
      medianCpuSecondsPerMillion: medians(all, (r) => r.cpuSecondsPerMillion),
      // Sparkngin's delivery thread: µs asleep (waiting for the broker or the disk) per record.
      medianDeliveryThreadSleptUsPerRecord: medians(all.filter(({ variant }) => variant !== 'kcat'), (r) => (r as { deliveryThread?: { sleptUsPerRecord: number } }).deliveryThread?.sleptUsPerRecord ?? Number.NaN),
      ratioToKcat: (steady.sparkngin ?? Number.NaN) / (steady.kcat ?? Number.NaN),
      ratiosToKcat: Object.fromEntries(variants.map((variant) => [variant, (steady[variant] ?? Number.NaN) / (steady.kcat ?? Number.NaN)])),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Rate on the broker's side between the first sample that saw records and the last record. */
function summary(trace: { delivered: number; firstMs: number | undefined; lastMs: number | undefined; samples: Array<[number, number]> }, expected: number) {
  const first = trace.samples.find(([, count]) => count > 0);
  const span = first && trace.lastMs !== undefined ? (trace.lastMs - first[0]) / 1000 : 0;
  return { delivered: trace.delivered, missing: expected - trace.delivered, firstMs: trace.firstMs, lastMs: trace.lastMs, steadyPerSecond: span > 0 ? (trace.delivered - first![1]) / span : Number.NaN, samples: trace.samples };
}
