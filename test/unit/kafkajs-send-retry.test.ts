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
const { KafkaJSConnectionClosedError } = require('kafkajs/src/errors');
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
function scriptedCluster(behaviour: Behaviour, onRefresh: (leaders: Map<number, number>) => void) {
  const leaders = new Map([
    [0, 2],
    [1, 3],
    [2, 1],
  ]);
  const sent: Sent[] = [];
  let attempt = 0;
  const sequences = new Map<number, number>();
  const broker = (nodeId: number) => ({
    nodeId,
    async produce({ topicData }: { topicData: Array<{ topic: string; partitions: Array<{ partition: number; firstSequence: number; messages: Array<{ value: string }> }> }> }) {
      const partitions = topicData.flatMap(({ partitions }) => partitions);
      for (const { partition, firstSequence, messages } of partitions) sent.push({ attempt, node: nodeId, partition, firstSequence, values: messages.map((message) => message.value) });
      await behaviour(nodeId, partitions.map(({ partition }) => partition));
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
  const eosManager = {
    isTransactional: () => false,
    getProducerId: () => 1,
    getProducerEpoch: () => 0,
    getSequence: (_topic: string, partition: number) => sequences.get(partition) ?? 0,
    updateSequence: (_topic: string, partition: number, increment: number) => sequences.set(partition, (sequences.get(partition) ?? 0) + increment),
    async acquireBrokerLock() {},
    async releaseBrokerLock() {},
  };
  const logger = { debug() {}, info() {}, warn() {}, error() {} };
  const retrier = createRetry({ retries: 3, initialRetryTime: 1, maxRetryTime: 5 });
  const sendMessages = createSendMessages({ logger, cluster, partitioner: DefaultPartitioner(), eosManager, retrier });
  const messages = Array.from({ length: 30 }, (_, n) => ({ key: null, value: `m${n}` }));
  return {
    sent,
    sequences,
    messages,
    nextAttempt: () => attempt++,
    send: () => sendMessages({ acks: -1, timeout: 1000, topicMessages: [{ topic: TOPIC, messages }] }) as Promise<Array<{ partition: number }>>,
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
