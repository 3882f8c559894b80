// kafkajs's produce retry as patched (patches/kafkajs+2.2.4.patch, producer/sendMessages.js), driven
// through the failovers the leader-kill chaos suite causes, on a scripted cluster: this is a unit test
// of the retry logic alone (the chaos suite, test/chaos/kafka-leader-kill.test.ts, is the proof on a
// real three-node cluster). kafkajs 2.2.4 as published fails all three: it resolves without partition 0,
// retries while a request is still in flight, and resolves without the partition it has no metadata for.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const createSendMessages = require('kafkajs/src/producer/sendMessages');
const createRetry = require('kafkajs/src/retry');
const Cluster = require('kafkajs/src/cluster');
const { KafkaJSConnectionClosedError, KafkaJSProtocolError } = require('kafkajs/src/errors');
const Lock = require('kafkajs/src/utils/lock');
const { DefaultPartitioner } = require('kafkajs/src/producer/partitioners');

const TOPIC = 't';

interface Sent {
  attempt: number;
  node: number;
  partition: number;
  firstSequence: number;
  values: string[];
}

type Behaviour = (node: number, partitions: number[]) => Promise<void>;

/**
 * Three brokers leading partitions 0, 1, 2 (nodes 2, 3, 1, as in the chaos suite's first kill). Each
 * produce request is recorded and then answered by `behaviour` (which may throw or wait); a metadata
 * refresh applies `onRefresh` (a leader moving).
 */
function scriptedCluster(behaviour: Behaviour, onRefresh: (leaders: Map<number, number>) => void, maxInFlightRequests?: number) {
  const leaders = new Map([
    [0, 2],
    [1, 3],
    [2, 1],
  ]);
  const sent: Sent[] = [];
  let attempt = 0;
  const sequences = new Map<number, number>();
  /** Requests in flight to one broker: now per node, and the most seen at any node. */
  const inFlight = { now: new Map<number, number>(), most: 0 };
  const broker = (nodeId: number) => ({
    nodeId,
    async produce({ topicData, onQueued }: { topicData: Array<{ topic: string; partitions: Array<{ partition: number; firstSequence: number; messages: Array<{ value: string }> }> }>; onQueued?: () => void }) {
      const partitions = topicData.flatMap(({ partitions }) => partitions);
      for (const { partition, firstSequence, messages } of partitions) sent.push({ attempt, node: nodeId, partition, firstSequence, values: messages.map((message) => message.value) });
      // As the connection does: queued (in the order written) before any answer.
      onQueued?.();
      const now = (inFlight.now.get(nodeId) ?? 0) + 1;
      inFlight.now.set(nodeId, now);
      inFlight.most = Math.max(inFlight.most, now);
      try {
        await behaviour(nodeId, partitions.map(({ partition }) => partition));
      } finally {
        inFlight.now.set(nodeId, inFlight.now.get(nodeId)! - 1);
      }
      return {
        topics: topicData.map(({ topic, partitions }) => ({ topicName: topic, partitions: partitions.map(({ partition }) => ({ partition, errorCode: 0, baseOffset: '0', logAppendTime: '-1', logStartOffset: '0' })) })),
      };
    },
  });
  const brokers = new Map([1, 2, 3].map((nodeId) => [nodeId, broker(nodeId)]));
  const cluster = {
    targetTopics: new Set<string>(),
    async addMultipleTargetTopics(topics: string[]) {
      for (const topic of topics) cluster.targetTopics.add(topic);
    },
    async refreshMetadataIfNecessary() {},
    async refreshMetadata() {
      onRefresh(leaders);
    },
    findTopicPartitionMetadata: () => [...leaders].map(([partitionId, leader]) => ({ partitionId, leader })),
    findLeaderForPartitions: Cluster.prototype.findLeaderForPartitions,
    async findBroker({ nodeId }: { nodeId: string }) {
      return brokers.get(Number(nodeId));
    },
    removeBroker() {},
    isConnected: () => true,
  };
  const locks = new Map<number, InstanceType<typeof Lock>>();
  const eosManager = {
    isTransactional: () => false,
    getProducerId: () => 1,
    getProducerEpoch: () => 0,
    getSequence: (_topic: string, partition: number) => sequences.get(partition) ?? 0,
    updateSequence: (_topic: string, partition: number, increment: number) => sequences.set(partition, (sequences.get(partition) ?? 0) + increment),
    // kafkajs's per-broker lock, as the idempotent producer has it
    async acquireBrokerLock({ nodeId }: { nodeId: number }) {
      if (!locks.has(nodeId)) locks.set(nodeId, new Lock({ timeout: 5_000 }));
      await locks.get(nodeId)!.acquire();
    },
    releaseBrokerLock({ nodeId }: { nodeId: number }) {
      locks.get(nodeId)!.release();
    },
  };
  const logger = { debug() {}, info() {}, warn() {}, error() {} };
  const retrier = createRetry({ retries: 3, initialRetryTime: 1, maxRetryTime: 5 });
  const sendMessages = createSendMessages({ logger, cluster, partitioner: DefaultPartitioner(), eosManager, retrier, maxInFlightRequests });
  const messages = Array.from({ length: 30 }, (_, n) => ({ key: null, value: `m${n}` }));
  return {
    sent,
    sequences,
    messages,
    inFlight,
    cluster,
    nextAttempt: () => attempt++,
    send: (batch = messages) => sendMessages({ acks: -1, timeout: 1000, topicMessages: [{ topic: TOPIC, messages: batch }] }) as Promise<Array<{ partition: number }>>,
  };
}

/** A node SIGKILLed under its first produce request: the connection closes before any answer. */
function dyingNode(id: number) {
  const node = {
    dead: false,
    async receive(to: number): Promise<void> {
      if (to !== id || node.dead) return;
      node.dead = true;
      throw new KafkaJSConnectionClosedError('Closed connection', { host: '127.0.0.1', port: 9000 + id });
    },
  };
  return node;
}

describe('kafkajs produce retry (patched sendMessages)', () => {
  it("sends the dead leader's partition again to its new leader, even when that broker already answered for its own", async () => {
    const leader = dyingNode(2);
    const cluster = scriptedCluster(
      (node) => leader.receive(node),
      (leaders) => {
        if (leader.dead) leaders.set(0, 3);
        cluster.nextAttempt();
      },
    );
    const answer = await cluster.send();
    expect(answer.map(({ partition }) => partition).sort()).toEqual([0, 1, 2]);
    const first = cluster.sent.find((entry) => entry.partition === 0 && entry.attempt === 0)!;
    const retried = cluster.sent.filter((entry) => entry.partition === 0 && entry.attempt === 1);
    // The same records under the same first sequence: the new leader recognises a batch it already has.
    expect(retried).toEqual([{ ...first, attempt: 1, node: 3 }]);
    // Partitions 1 and 2 were acknowledged once and not sent again.
    expect(cluster.sent.filter((entry) => entry.partition !== 0)).toHaveLength(2);
    expect([...cluster.sequences.values()].reduce((sum, next) => sum + next, 0)).toBe(cluster.messages.length);
  });

  it('starts no retry while a request of the failed attempt is still in flight', async () => {
    const leader = dyingNode(2);
    let slowAnswered = false;
    const cluster = scriptedCluster(
      async (node) => {
        await leader.receive(node);
        // Node 1 answers late: acks=all waits for the dead replica to leave the in-sync set.
        if (node === 1 && !slowAnswered) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          slowAnswered = true;
        }
      },
      (leaders) => {
        expect(slowAnswered).toBe(true);
        leaders.set(0, 1);
        cluster.nextAttempt();
      },
    );
    const answer = await cluster.send();
    expect(answer.map(({ partition }) => partition).sort()).toEqual([0, 1, 2]);
    expect(cluster.sent.filter((entry) => entry.attempt === 1).map(({ node, partition }) => [node, partition])).toEqual([[1, 0]]);
  });

  it('fails, never resolves, when a partition keeps having no metadata', async () => {
    const cluster = scriptedCluster(
      async () => {},
      () => cluster.nextAttempt(),
    );
    // A record for partition 5 of a three-partition topic: upstream skipped it and resolved.
    cluster.messages.push({ key: null, value: 'late', partition: 5 } as never);
    await expect(cluster.send()).rejects.toThrow(/No metadata for partitions 5/);
  });
});

// Several produce requests in flight per broker (`maxInFlightRequests` > 1; patches/README.md): the
// order in which sequence numbers are taken, and the fence after a failure. The proof on real
// brokers is the chaos suites run with `sinks.kafka.maxInFlight` above 1.
describe('kafkajs pipelined produce (patched sendMessages, maxInFlightRequests 5)', () => {
  const { createErrorFromCode } = require('kafkajs/src/protocol/error');
  const NOT_LEADER = 6;
  const later = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const batch = (name: string) => Array.from({ length: 30 }, (_, n) => ({ key: null, value: `${name}${n}` }));

  it('has several requests in flight to one broker, each partition taking its sequence numbers in the order sendBatch was called', async () => {
    const cluster = scriptedCluster(() => later(20), () => cluster.nextAttempt(), 5);
    // The first call is the slowest to reach its broker: it must still take the first sequences.
    let refreshes = 0;
    cluster.cluster.refreshMetadataIfNecessary = () => later(refreshes++ === 0 ? 30 : 0);
    await Promise.all(['a', 'b', 'c'].map((name) => cluster.send(batch(name))));
    expect(cluster.inFlight.most).toBeGreaterThan(1);
    for (const partition of [0, 1, 2]) {
      const requests = cluster.sent.filter((entry) => entry.partition === partition);
      expect(requests.map(({ values }) => values[0]![0])).toEqual(['a', 'b', 'c']);
      let next = 0;
      for (const { firstSequence, values } of requests) {
        expect(firstSequence).toBe(next);
        next += values.length;
      }
    }
  });

  it('after a failed request retries nothing, rewinds no sequence number and sends nothing more', async () => {
    let failed = false;
    const cluster = scriptedCluster(
      async (node) => {
        if (node === 2 && !failed) {
          failed = true;
          await later(10);
          throw createErrorFromCode(NOT_LEADER);
        }
        await later(20);
      },
      () => cluster.nextAttempt(),
      5,
    );
    const [a, b] = await Promise.allSettled([cluster.send(batch('a')), cluster.send(batch('b'))]);
    expect(a.status).toBe('rejected');
    expect((a as PromiseRejectedResult).reason.type).toBe('NOT_LEADER_FOR_PARTITION');
    // b's requests were on the wire before a's answer: their answers (here, success) stand.
    expect(b.status).toBe('fulfilled');
    const sentBefore = cluster.sent.length;
    expect(sentBefore).toBe(6);
    // Every sequence number taken stays taken (a rewound range could be reused by other records).
    expect([...cluster.sequences.values()].reduce((sum, next) => sum + next, 0)).toBe(60);
    await expect(cluster.send(batch('c'))).rejects.toThrow(/an earlier request of this producer failed/);
    expect(cluster.sent).toHaveLength(sentBefore);
  });

  it('still retries a failure before anything was sent (no metadata yet)', async () => {
    const cluster = scriptedCluster(() => later(1), () => cluster.nextAttempt(), 5);
    const metadata = cluster.cluster.findTopicPartitionMetadata;
    let asked = 0;
    cluster.cluster.findTopicPartitionMetadata = () => (asked++ === 0 ? [] : metadata());
    const answer = await cluster.send();
    expect(answer.map(({ partition }) => partition).sort()).toEqual([0, 1, 2]);
    // Sent once, by the second attempt (after the metadata refresh).
    expect(cluster.sent.map(({ attempt }) => attempt)).toEqual([1, 1, 1]);
  });
});
