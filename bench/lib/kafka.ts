// The local broker and what the benchmarks ask of it: topics created (with their partitions) before
// any timed run, so that no run times a topic's creation, and records counted on the broker's side
// (the sum of the partitions' end offsets), never by the producer's own say-so.
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { type KafkaPeer, startKafka } from '../../test/peers/kafka';
import { sleep } from './run';

export const PARTITIONS = 3;

export interface Broker {
  peer: KafkaPeer;
  admin: Admin;
  /** Creates a topic with PARTITIONS partitions and waits until every partition has a leader. */
  createTopic(topic: string): Promise<void>;
  /** Records in the topic: the sum of its partitions' end offsets (0 for a missing topic). */
  count(topic: string): Promise<number>;
  close(): Promise<void>;
}

export async function startBroker(version: '3.9' | '4' = '3.9'): Promise<Broker> {
  const peer = await startKafka({ version, partitions: PARTITIONS, config: { 'auto.create.topics.enable': false } });
  const kafka = new Kafka({ clientId: 'sparkngin-bench', brokers: [peer.brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  return {
    peer,
    admin,
    async createTopic(topic) {
      // The wait is ours: kafkajs's own (waitForLeaders) can throw UNKNOWN_TOPIC_OR_PARTITION when
      // the broker's metadata lags the creation (seen once in 12 runs of `e2e`).
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: false });
      for (let i = 0; i < 100; i++) {
        const meta = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
        const partitions = meta?.topics[0]?.partitions ?? [];
        if (partitions.length === PARTITIONS && partitions.every((p) => p.leader >= 0)) return;
        await sleep(100);
      }
      throw new Error(`topic ${topic} has no leaders after 10 s`);
    },
    async count(topic) {
      try {
        const offsets = await admin.fetchTopicOffsets(topic);
        return offsets.reduce((sum, p) => sum + Number(p.high), 0);
      } catch {
        return 0;
      }
    },
    async close() {
      await admin.disconnect().catch(() => undefined);
      await peer.close();
    },
  };
}

export interface DeliveryTrace {
  /** Records in the topic when the wait ended. */
  delivered: number;
  /** ms (from `since`) at which the first record was seen and at which the count stopped moving or reached `expected`. */
  firstMs: number | undefined;
  lastMs: number | undefined;
  /** [ms since `since`, records] every `everyMs`. */
  samples: Array<[number, number]>;
}

/** Polls the topic's record count until it reaches `expected` (a number, or a function for a target
 *  known only later), or stops moving for `quietMs` once `notBefore()` is true. */
export async function traceDelivery(broker: Broker, topic: string, opts: { since: number; expected?: number | (() => number | undefined); quietMs?: number; everyMs?: number; notBefore?: () => boolean; timeoutMs?: number }): Promise<DeliveryTrace> {
  const everyMs = opts.everyMs ?? 250;
  const quietMs = opts.quietMs ?? 5_000;
  const samples: Array<[number, number]> = [];
  let delivered = 0;
  let firstMs: number | undefined;
  let lastMs: number | undefined;
  let lastChange = Date.now();
  const deadline = Date.now() + (opts.timeoutMs ?? 900_000);
  while (Date.now() < deadline) {
    const now = await broker.count(topic);
    const at = Date.now() - opts.since;
    samples.push([at, now]);
    if (now !== delivered) {
      if (firstMs === undefined && now > 0) firstMs = at;
      delivered = now;
      lastMs = at;
      lastChange = Date.now();
    }
    const expected = typeof opts.expected === 'function' ? opts.expected() : opts.expected;
    if (expected !== undefined && delivered >= expected) break;
    if ((opts.notBefore?.() ?? true) && Date.now() - lastChange > quietMs) break;
    await sleep(everyMs);
  }
  return { delivered, firstMs, lastMs, samples };
}
