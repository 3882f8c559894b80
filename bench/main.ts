// The benchmark's one program: `node build/bench/main.mjs <scenario...>` (bench/run.sh bundles and
// runs it). Scenarios needing Kafka share one local broker (Kafka 3.9, 3 partitions, no topic
// auto-creation: every run's topic is created before it is timed). Writes
// bench/results/<mode>/<scenario>.json and machine.json; BENCH_MODE=full for the real numbers.
import { bakeoff } from './kafka-clients/bakeoff';
import { support } from './kafka-clients/support';
import { startBroker } from './lib/kafka';
import { machineFacts } from './lib/machine';
import { mode, writeResult } from './lib/run';
import { client, clientThroughput } from './scenarios/client';
import { drain } from './scenarios/drain';
import { drainAb } from './scenarios/drain-ab';
import { e2e } from './scenarios/e2e';
import { ingest } from './scenarios/ingest';
import { kill9 } from './scenarios/kill9';
import { outage } from './scenarios/outage';
import { scaling } from './scenarios/scaling';
import { sinks } from './scenarios/sinks';
import { startup } from './scenarios/startup';

// Scenarios that start their own brokers (or need none), then those sharing one Kafka 3.9.
const withoutKafka = { ingest, scaling, startup, 'clients-support': support, 'client-throughput': clientThroughput, sinks } as const;
const withKafka = { e2e, drain, 'drain-ab': drainAb, kill9, outage, clients: bakeoff, client } as const;
const wanted = process.argv.slice(2);
// client-throughput is a part of client, to run alone: not run twice in a run of everything.
const names = wanted.length > 0 ? wanted : [...Object.keys(withoutKafka), ...Object.keys(withKafka)].filter((name) => name !== 'client-throughput' && name !== 'drain-ab');
for (const name of names) if (!(name in withoutKafka) && !(name in withKafka)) throw new Error(`unknown scenario ${name}: ${Object.keys({ ...withoutKafka, ...withKafka }).join(', ')}`);

console.log(`bench: ${mode} mode, scenarios ${names.join(' ')}`);
writeResult('machine', machineFacts());
for (const name of names) if (name in withoutKafka) await withoutKafka[name as keyof typeof withoutKafka]();
const kafkaNames = names.filter((n) => n in withKafka);
if (kafkaNames.length > 0) {
  const broker = await startBroker('3.9');
  try {
    for (const name of kafkaNames) await withKafka[name as keyof typeof withKafka](broker);
  } finally {
    await broker.close();
  }
}
process.exit(0);
