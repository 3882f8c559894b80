// Delivery of a spooled backlog to Kafka, against kcat (librdkafka) producing the same records
// (same values, keys and header names/sizes, idempotent, acks=all) to the same broker, runs
// alternating. Each run gets a fresh topic created beforehand with 3 partitions, so no run times
// a topic's creation; the backlog is millions of records in a full run, so start-up is noise.
// The rate is read on the broker's side (end offsets sampled every 100 ms): records / seconds from
// the first record to the last (`steady`), and records / seconds from the producer's start (`wall`).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Broker, traceDelivery } from '../lib/kafka';
import { alternate, cpuSecondsOf, medians, runs, setting, watchLoad, writeResult } from '../lib/run';
import { NODE22, startSparkngin } from '../lib/servers';

const events = setting('BENCH_DRAIN_EVENTS', 200_000, 2_000_000);
const KEYS = 50;
const line = JSON.stringify({ user: 42, page: '/home', ref: 'https://example.com/some/path?x=1', ua: 'Mozilla/5.0' });
// What Sparkngin puts in each record's headers (src/sinks/kafka/record.ts), with values of the same size.
const HEADERS = ['sparkngin-id=0193a5b2-7c4e-7d3a-9f1b-2c3d4e5f6a7b', 'sparkngin-ts=1764600000000', 'sparkngin-ip=127.0.0.1', 'sparkngin-host=127.0.0.1:45678', 'sparkngin-type=json'];
// The daemon on the machine's Node 20 and on Node 22 (what the executables embed), and kcat.
type Variant = 'sparkngin' | 'sparkngin@node22' | 'kcat';

async function fillSpool(dir: string): Promise<string> {
  const server = await startSparkngin({ dataDir: join(dir, 'spool') });
  const perRequest = 1000;
  const body = `${Array.from({ length: perRequest }, () => line).join('\n')}\n`;
  for (let i = 0; i < events / perRequest; i++) {
    const res = await fetch(`${server.url}/v1/topics/kbench?key=k${i % KEYS}`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
    if (res.status !== 202) throw new Error(`filling the spool: ${res.status} ${await res.text()}`);
  }
  await server.stop();
  return join(dir, 'spool');
}

/** Runs kcat under bash to read its CPU time with `times` (children's user and system time). */
function kcat(broker: Broker, topic: string, file: string): Promise<{ wallSeconds: number; cpuSeconds: number; pid: number | undefined }> {
  const args = ['-P', '-b', broker.peer.brokers, '-t', topic, '-K', '\t', ...HEADERS.flatMap((h) => ['-H', h]), '-X', 'enable.idempotence=true', '-X', 'acks=all', '-l', file];
  const quoted = args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn('bash', ['-c', `kcat ${quoted} && times`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) => {
      const wallSeconds = (Date.now() - started) / 1000;
      const children = out.trim().split('\n').at(-1)?.match(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/);
      if (code !== 0 || !children) return reject(new Error(`kcat failed (${code}): ${out}`));
      const cpuSeconds = Number(children[1]) * 60 + Number(children[2]) + Number(children[3]) * 60 + Number(children[4]);
      resolve({ wallSeconds, cpuSeconds, pid: child.pid });
    });
  });
}

export async function drain(broker: Broker): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sparkngin-drain-'));
  try {
    console.log(`bench: filling a spool with ${events} events, and kcat's input`);
    const spool = await fillSpool(dir);
    const kcatInput = join(dir, 'kcat.txt');
    writeFileSync(kcatInput, Array.from({ length: events }, (_, i) => `k${Math.floor(i / 1000) % KEYS}\t${line}\n`).join(''));
    let serial = 0;
    const variants: Variant[] = existsSync(NODE22) ? ['sparkngin', 'sparkngin@node22', 'kcat'] : ['sparkngin', 'kcat'];
    const all = await alternate<Variant, { steadyPerSecond: number; wallPerSecond: number; cpuSecondsPerMillion: number; delivered: number }>(variants, runs, async (variant) => {
      const run = ++serial;
      const topic = `d${run}-kbench`;
      await broker.createTopic(topic);
      const since = Date.now();
      if (variant === 'kcat') {
        const load = watchLoad(() => [broker.peer.pid]);
        const [trace, result] = await Promise.all([traceDelivery(broker, topic, { since, expected: events, everyMs: 100, quietMs: 30_000 }), kcat(broker, topic, kcatInput)]);
        return { ...summary(trace, events), wallSeconds: result.wallSeconds, wallPerSecond: trace.delivered / result.wallSeconds, cpuSeconds: result.cpuSeconds, cpuSecondsPerMillion: (result.cpuSeconds * 1e6) / trace.delivered, load: load.stop() };
      }
      const copy = join(dir, `spool-${run}`);
      execFileSync('cp', ['-a', spool, copy]);
      const server = await startSparkngin({ kafka: broker.peer.brokers, topicPrefix: `d${run}-`, dataDir: copy, ...(variant === 'sparkngin@node22' ? { node: NODE22 } : {}) });
      try {
        const load = watchLoad(() => [...server.pids(), broker.peer.pid]);
        const cpuBefore = cpuSecondsOf(server.mainPid);
        const trace = await traceDelivery(broker, topic, { since, expected: events, everyMs: 100, quietMs: 30_000 });
        const cpuSeconds = cpuSecondsOf(server.mainPid) - cpuBefore;
        return { ...summary(trace, events), wallSeconds: (trace.lastMs ?? 0) / 1000, wallPerSecond: trace.delivered / ((trace.lastMs ?? 1) / 1000), cpuSeconds, cpuSecondsPerMillion: (cpuSeconds * 1e6) / trace.delivered, load: load.stop() };
      } finally {
        await server.stop();
        rmSync(copy, { recursive: true, force: true });
      }
    });
    const steady = medians(all, (r) => r.steadyPerSecond);
    writeResult('drain', {
      events,
      keys: KEYS,
      recordBytes: line.length,
      headers: HEADERS,
      runsPerVariant: runs,
      kafka: broker.peer.version,
      partitions: 3,
      command: { kcat: `kcat -P -b <broker> -t <fresh topic> -K '\\t' ${HEADERS.map((h) => `-H ${h}`).join(' ')} -X enable.idempotence=true -X acks=all -l <file of ${events} lines>`, sparkngin: 'build/sparkngin.cjs start with a spool of the same events, Kafka sink on (defaults: acks=all, idempotent)' },
      runs: all,
      medianSteadyPerSecond: steady,
      medianWallPerSecond: medians(all, (r) => r.wallPerSecond),
      medianCpuSecondsPerMillion: medians(all, (r) => r.cpuSecondsPerMillion),
      ratioToKcat: (steady.sparkngin ?? Number.NaN) / (steady.kcat ?? Number.NaN),
      ratioToKcatOnNode22: (steady['sparkngin@node22'] ?? Number.NaN) / (steady.kcat ?? Number.NaN),
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
