// Checks, for each client of the bake-off, what the Kafka sink needs, against Kafka 3.9 and 4:
// idempotent produce with headers (read back with kcat, an independent client), each compression
// codec (gzip, snappy, lz4, zstd), and a record too large for its topic in the middle of a batch
// (is the error recognisable as permanent, and do the other records of the batch go through?).
// SASL and TLS are not exercised here (the test peers' secured listeners are their own work);
// bench/RESULTS.md gives each client's documented mechanisms.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startKafka } from '../../test/peers/kafka';
import { benchDir, NODE20, writeResult } from '../lib/run';

const here = join(benchDir, 'kafka-clients');
const confluentAddon = join(benchDir, 'node_modules/@confluentinc/kafka-javascript/build/Release/confluent-kafka-javascript.node');
const clients: Record<string, { node: string; available: boolean }> = {
  kafkajs: { node: process.execPath, available: true },
  platformatic: { node: process.execPath, available: true },
  confluent: { node: NODE20, available: existsSync(confluentAddon) && existsSync(NODE20) },
  'confluent-native': { node: NODE20, available: existsSync(confluentAddon) && existsSync(NODE20) },
};
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export async function support(): Promise<void> {
  const results: Record<string, Record<string, unknown>> = {};
  for (const line of ['3.9', '4'] as const) {
    const peer = await startKafka({ version: line, partitions: 3, config: { 'auto.create.topics.enable': false } });
    const admin = new Kafka({ clientId: 'bench-support', brokers: [peer.brokers], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      for (const [client, { node, available }] of Object.entries(clients)) {
        if (!available) continue;
        const prefix = `support-${client}`;
        await admin.createTopics({
          waitForLeaders: true,
          topics: [
            ...CODECS.map((codec) => ({ topic: `${prefix}-${codec}`, numPartitions: 3, replicationFactor: 1 })),
            { topic: `${prefix}-small`, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: '1000' }] },
          ],
        });
        const run = spawnSync(node, [join(here, 'support.mjs'), client, peer.brokers, prefix], { encoding: 'utf8', timeout: 300_000 });
        const lineOut = run.stdout.split('\n').find((l) => l.startsWith('SUPPORT_JSON '));
        const outcome: Record<string, unknown> = lineOut ? JSON.parse(lineOut.slice('SUPPORT_JSON '.length)) : { failed: `${run.status} ${run.stderr.slice(-500)}` };
        // Read back what was produced uncompressed: 10 records, each with the five headers.
        const read = (topic: string) => execFileSync('kcat', ['-C', '-b', peer.brokers, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k|%h\n'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
        const plain = read(`${prefix}-none`);
        outcome.headersReadBack = plain.length === 10 && plain.every((l) => l.split(',').length === 5 && l.includes('sparkngin-id='));
        for (const codec of CODECS.slice(1)) if (outcome[codec] === 'ok') outcome[`${codec}ReadBack`] = read(`${prefix}-${codec}`).length === 10;
        const small = read(`${prefix}-small`);
        outcome.tooLargeOthersDelivered = small.length;
        results[`${client}@${peer.version}`] = outcome;
        console.log(`bench: support ${client} on Kafka ${peer.version}: ${JSON.stringify(outcome)}`);
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
      await peer.close();
    }
  }
  writeResult('clients-support', { results });
}
