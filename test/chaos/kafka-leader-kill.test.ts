// Chaos: a three-node Kafka cluster (KRaft, replication factor 3, min.insync.replicas=2) while the
// daemon streams events to it. The leader of a partition is killed with SIGKILL mid-stream, twice
// (the second time whichever node leads after the first recovery), and restarted each time. The
// daemon must keep accepting, keep delivering while a node is down, dead-letter nothing, and in the
// end every acknowledged event must be in Kafka, read back by an independent consumer from every
// partition. Duplicates are allowed (at-least-once) and counted.
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeAll } from '../peers/consume';
import { javaAvailable } from '../peers/kafka';
import { type KafkaCluster, startKafkaCluster } from '../peers/kafka-cluster';
import { type DaemonProcess, startDaemon } from '../integration/daemon-process';
import { daemonStats, eventNumber, kafkaInFlight, LoadGenerator, outOfOrder, waitFor, waitForDrain } from './load';
import { tally, withRow } from './reliability';

const TOPIC = 'chaos-leader';
const PARTITIONS = 3;

let cluster: KafkaCluster;
let daemon: DaemonProcess;

beforeAll(async () => {
  if (!javaAvailable()) throw new Error('java is not installed: run `bash scripts/install-deps.sh`');
  cluster = await startKafkaCluster({ partitions: PARTITIONS });
  console.log(`Kafka ${cluster.version} cluster of ${cluster.nodeIds.length} nodes: ${cluster.brokers}`);
  const admin = new Kafka({ brokers: cluster.brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  // kafkajs's own waitForLeaders gives up on UNKNOWN_TOPIC_OR_PARTITION while a new cluster settles
  // (seen on Kafka 3.9): fullyInSync below waits for leaders and replicas instead.
  await admin.createTopics({
    topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }],
    waitForLeaders: false,
  });
  await admin.disconnect();
  await fullyInSync(60_000);
  daemon = await startDaemon({
    config: { sinks: { file: { enabled: false }, kafka: { brokers: cluster.brokers.split(','), retry: { initialMs: 100, maxMs: 1000 }, ...kafkaInFlight() } } },
  });
}, 300_000);

afterAll(async () => {
  await daemon?.close();
  await cluster?.close();
});

/** Waits until every partition of the topic has all three replicas in sync again. */
async function fullyInSync(timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        if ((await cluster.isrOf(TOPIC, partition).catch(() => [])).length < 3) return false;
      }
      return true;
    },
    timeoutMs,
    'every partition back to 3 in-sync replicas',
  );
}

async function kafkaNextSeq(): Promise<number> {
  return (await daemonStats(daemon.url)).sinks.find((sink) => sink.sink === 'kafka')!.nextSeq;
}

describe('Kafka partition leader killed mid-stream', () => {
  it('every acknowledged event is in Kafka after the leader of a partition is SIGKILLed twice and restarted', async () => {
    await withRow('kafka-cluster', 'Kafka partition leader SIGKILLed mid-stream, twice, then restarted (3 nodes, RF 3, min.insync.replicas 2)', async (row) => {
      row.unit = 'events';
      row.destination = 'kafka';
      const load = new LoadGenerator(daemon.url, TOPIC, { clients: 3, batch: 50 });
      const kills: string[] = [];
      try {
        await load.waitForMore(3_000);
        for (let round = 1; round <= 2; round++) {
          const leader = await cluster.leaderOf(TOPIC, 0);
          expect(leader).toBeGreaterThan(0);
          const spooledAtKill = (await daemonStats(daemon.url)).spool.nextSeq as number;
          await cluster.node(leader).kill();
          kills.push(`node ${leader}`);
          // With one node down the other two hold min.insync.replicas: ingest goes on, and so does
          // delivery, past what was spooled when the leader died.
          await load.waitForMore(3_000, 90_000);
          await waitFor(async () => (await kafkaNextSeq()) > spooledAtKill, 90_000, `delivery past seq ${spooledAtKill} with node ${leader} down`);
          await cluster.node(leader).restart();
          await fullyInSync(120_000);
          await load.waitForMore(2_000, 90_000);
        }
      } finally {
        await load.stop();
      }
      row.sent = load.sentEvents;
      row.acknowledged = load.acknowledged.size;
      await waitForDrain(daemon.url, 120_000);
      const stats = await daemonStats(daemon.url);
      const kafkaSink = stats.sinks.find((sink) => sink.sink === 'kafka')!;

      // The sink has caught up (lag 0): what is not readable within this bound is not there.
      const messages = await consumeAll(cluster.brokers, TOPIC, { expected: load.acknowledged.size, distinctBy: eventNumber, timeoutMs: 90_000 });
      const seen = messages.map((message) => JSON.parse(message.value.toString()).n as number);
      const counts = tally(load.acknowledged, seen);
      Object.assign(row, { delivered: counts.delivered, duplicated: counts.duplicated, lost: counts.lost });
      // How often the sink's delivery guard caught an answer missing a partition (src/sinks/kafka/partitions.ts):
      // each one a batch the Kafka client called delivered that would otherwise have been lost in part.
      const guardCatches = daemon.logs().split('\n').filter((line) => line.includes('"event":"kafka.unacknowledged"')).length;
      const disordered = outOfOrder(messages, 50);
      row.notes = `${kafkaInFlight().maxInFlight === undefined ? '' : `maxInFlight ${kafkaInFlight().maxInFlight}; `}killed ${kills.join(', ')}; ${load.failedRequests} requests failed, ${[...load.refusals].map(([status, n]) => `${n}×${status}`).join(' ') || 'none refused'}; dead-lettered ${kafkaSink.deadLetteredRecords ?? 0}; delivery guard caught ${guardCatches} partial answers`;
      console.log(`leader kill: ${row.notes}; ${row.acknowledged} acknowledged, ${messages.length} in Kafka, ${counts.duplicated} duplicates, ${counts.lost} lost`);

      expect(kills).toHaveLength(2);
      expect(counts.missing.slice(0, 20)).toEqual([]);
      expect(disordered.slice(0, 20)).toEqual([]);
      expect(kafkaSink.deadLetteredRecords ?? 0).toBe(0);
      expect(new Set(messages.map((message) => message.partition)).size).toBe(PARTITIONS);
      expect((await fetch(`${daemon.url}/health`)).status).toBe(200);
    });
  }, 900_000);
});
