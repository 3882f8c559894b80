// The Kafka client bake-off: one produce scenario (idempotent, acks=all, ~100-byte records with 5
// headers, 50 keys, a pre-created topic of 3 partitions, batches of 2 000 with up to 5 sends
// outstanding) run for each client in turn, alternating, each run in its own process and topic:
//   kafkajs (patched, on Node 22 like the daemon, and on the machine's Node 20), @platformatic/kafka,
//   @confluentinc/kafka-javascript (librdkafka, on Node 20, which its addon is built for; its
//   KafkaJS-compatible API and its lower-level produce() API), and kcat
//   (librdkafka's own C producer) as the ceiling.
// Per run: records/s (client's clock, connect and the first batch excluded), CPU seconds per million
// records (the client's whole process via bash `times`, and the timed part as the client measured
// it), the broker's CPU seconds, and the records the topic holds afterwards (end offsets).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Broker } from '../lib/kafka';
import { KCAT_COMMAND, kcatProduceArgs, runTimed, writeKcatInput } from '../lib/kcat';
import { alternate, benchDir, cpuSecondsOf, medians, NODE20, runs, setting, watchLoad, writeResult } from '../lib/run';

const records = setting('BENCH_CLIENT_RECORDS', 300_000, 3_000_000);
const BATCH = 2000;
const IN_FLIGHT = 5;
const here = join(benchDir, 'kafka-clients');

interface Client {
  command: (broker: string, topic: string, kcatInput: string) => string[];
  available: () => boolean;
}
const js = (nodeBin: string, client: string): Client['command'] => (broker, topic) => [nodeBin, join(here, 'produce.mjs'), client, broker, topic, String(records), String(BATCH), String(IN_FLIGHT)];
const confluentAddon = join(benchDir, 'node_modules/@confluentinc/kafka-javascript/build/Release/confluent-kafka-javascript.node');
const clients: Record<string, Client> = {
  kafkajs: { command: js(process.execPath, 'kafkajs'), available: () => true },
  'kafkajs@node20': { command: js(NODE20, 'kafkajs'), available: () => existsSync(NODE20) },
  platformatic: { command: js(process.execPath, 'platformatic'), available: () => true },
  confluent: { command: js(NODE20, 'confluent'), available: () => existsSync(confluentAddon) && existsSync(NODE20) },
  'confluent-native': { command: js(NODE20, 'confluent-native'), available: () => existsSync(confluentAddon) && existsSync(NODE20) },
  kcat: { command: (broker, topic, input) => ['kcat', ...kcatProduceArgs(broker, topic, input)], available: () => true },
};

interface RunResult {
  recordsPerSecond: number;
  cpuSecondsPerMillion: number;
  processCpuSecondsPerMillion: number;
  brokerCpuSecondsPerMillion: number;
  inTopic: number;
  seconds: number;
  rssMb?: number;
  /** CPU seconds by thread name (JavaScript clients), the whole process. */
  threads?: Record<string, number>;
}

export async function bakeoff(broker: Broker): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sparkngin-bakeoff-'));
  const kcatInput = join(dir, 'kcat.txt');
  const { kcatLine, RECORD_BYTES } = (await import(join(here, 'records.mjs'))) as { kcatLine: (n: number) => string; RECORD_BYTES: number };
  writeKcatInput(kcatInput, records, kcatLine);
  const only = process.env.BENCH_CLIENTS?.split(',').filter(Boolean);
  const variants = Object.keys(clients).filter((name) => {
    if (only && !only.includes(name)) return false;
    if (clients[name]!.available()) return true;
    console.log(`bench: bake-off: ${name} not available (bench/setup.sh installs and builds it), skipped`);
    return false;
  });
  let serial = 0;
  try {
    const all = await alternate(variants, runs, async (variant): Promise<RunResult & { load: unknown }> => {
      const topic = `bakeoff-${++serial}-${variant.replace(/[^a-z0-9]/g, '-')}`;
      await broker.createTopic(topic);
      const brokerCpu = cpuSecondsOf(broker.peer.pid);
      const load = watchLoad(() => [broker.peer.pid]);
      const run = await runTimed(clients[variant]!.command(broker.peer.brokers, topic, kcatInput), here);
      const loadDuring = load.stop();
      const brokerCpuSeconds = cpuSecondsOf(broker.peer.pid) - brokerCpu;
      const inTopic = await broker.count(topic);
      const line = run.out.split('\n').find((l) => l.startsWith('PRODUCE_JSON '));
      const reported = line ? (JSON.parse(line.slice('PRODUCE_JSON '.length)) as { recordsPerSecond: number; cpuSecondsPerMillion: number; seconds: number; rssMb: number; threads: Record<string, number> }) : undefined;
      // kcat reports nothing: its whole run is the timed part (start-up is noise at millions of records).
      return {
        recordsPerSecond: reported?.recordsPerSecond ?? records / run.wallSeconds,
        cpuSecondsPerMillion: reported?.cpuSecondsPerMillion ?? (run.cpuSeconds * 1e6) / records,
        processCpuSecondsPerMillion: (run.cpuSeconds * 1e6) / records,
        brokerCpuSecondsPerMillion: (brokerCpuSeconds * 1e6) / records,
        inTopic,
        seconds: reported?.seconds ?? run.wallSeconds,
        ...(reported ? { rssMb: reported.rssMb, threads: reported.threads } : {}),
        load: loadDuring,
      };
    });
    for (const { variant, result } of all) if (result.inTopic < records) throw new Error(`bake-off: ${variant} left ${result.inTopic} of ${records} records in its topic`);
    const perSecond = medians(all, (r) => r.recordsPerSecond);
    writeResult('clients', {
      records,
      recordBytes: RECORD_BYTES,
      headers: 5,
      keys: 50,
      batch: BATCH,
      inFlight: IN_FLIGHT,
      partitions: 3,
      kafka: broker.peer.version,
      runsPerVariant: runs,
      command: { js: `node bench/kafka-clients/produce.mjs <client> <broker> <topic> ${records} ${BATCH} ${IN_FLIGHT}`, kcat: KCAT_COMMAND },
      runs: all,
      medianRecordsPerSecond: perSecond,
      medianCpuSecondsPerMillion: medians(all, (r) => r.cpuSecondsPerMillion),
      medianProcessCpuSecondsPerMillion: medians(all, (r) => r.processCpuSecondsPerMillion),
      medianBrokerCpuSecondsPerMillion: medians(all, (r) => r.brokerCpuSecondsPerMillion),
      ratioToKcat: Object.fromEntries(Object.entries(perSecond).map(([k, v]) => [k, v / (perSecond.kcat ?? Number.NaN)])),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
