// The Kafka sink's partitioning and delivery guard (src/sinks/kafka/partitions.ts): murmur2 as Kafka
// computes it, the same partition as kafkajs's DefaultPartitioner for every key, and the guard fed
// with answers shaped exactly as kafkajs returns them: produce responses encoded on the wire format,
// decoded and parsed by kafkajs's own produce v7 response and its responseSerializer.
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { type Message, type PartitionMetadata, Partitioners, type RecordMetadata, type TopicMessages } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { murmur2, PartitionAssignment, partitionOf, unacknowledgedPartitions } from '../../src/sinks/kafka/partitions';
import { HEADER } from '../../src/sinks/kafka/record';
import { KafkaPartitionNotFoundError } from '../../src/errors';

const require = createRequire(import.meta.url);
const Encoder = require('kafkajs/src/protocol/encoder');
const produceV7Response = require('kafkajs/src/protocol/requests/produce/v7/response');
const responseSerializer = require('kafkajs/src/producer/responseSerializer');

function metadataOf(partitions: number): PartitionMetadata[] {
  return Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: partitionId + 1, replicas: [1, 2, 3], isr: [1, 2, 3], partitionErrorCode: 0, offlineReplicas: [] }));
}

function record(key: string | null): Message {
  return { key, value: 'v', headers: { [HEADER.id]: randomUUID() } };
}

interface PartitionAnswer {
  partition: number;
  errorCode?: number;
  baseOffset?: number;
}

/** What `producer.sendBatch` resolves with for these answers: wire bytes → kafkajs's decode and parse → its serializer. */
async function kafkajsAnswer(topics: Record<string, PartitionAnswer[]>): Promise<RecordMetadata[]> {
  const partition = ({ partition, errorCode = 0, baseOffset = 42 }: PartitionAnswer) =>
    new Encoder().writeInt32(partition).writeInt16(errorCode).writeInt64(baseOffset).writeInt64(-1).writeInt64(0);
  const topic = ([name, partitions]: [string, PartitionAnswer[]]) => new Encoder().writeString(name).writeArray(partitions.map(partition));
  const wire = new Encoder().writeArray(Object.entries(topics).map(topic)).writeInt32(0).buffer;
  return responseSerializer(await produceV7Response.parse(await produceV7Response.decode(wire)));
}

/** Gives every record of `sent` its partition through the partitioner, as kafkajs calls it. */
function assign(sent: TopicMessages[], partitions: number): PartitionAssignment {
  const assignment = new PartitionAssignment();
  const partitioner = assignment.createPartitioner();
  for (const { topic, messages } of sent) for (const message of messages) partitioner({ topic, partitionMetadata: metadataOf(partitions), message });
  return assignment;
}

describe('murmur2', () => {
  it("matches Kafka's own test vectors (UtilsTest.testMurmur2)", () => {
    const cases: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [text, hash] of cases) expect(murmur2(Buffer.from(text)), text).toBe(hash);
  });

  it("puts every key where kafkajs's DefaultPartitioner (Java's default) puts it", () => {
    const theirs = Partitioners.DefaultPartitioner();
    const keys = ['', 'a', 'ab', 'abc', 'abcd', 'user-1', 'ключ', '鍵🔑', 'k'.repeat(341), 'k'.repeat(342), 'é'.repeat(2000), ...Array.from({ length: 500 }, () => randomUUID().slice(0, Math.floor(Math.random() * 36)))];
    for (const partitions of [1, 3, 7, 64]) {
      for (const key of keys) {
        const message = record(key);
        expect(partitionOf(message, partitions), `${key} of ${partitions}`).toBe(theirs({ topic: 't', partitionMetadata: metadataOf(partitions), message }));
      }
    }
  });
});

describe('partition assignment', () => {
  it('hashes a record without a key on its event id: the same partition every time, and spread evenly', () => {
    const messages = Array.from({ length: 3000 }, () => record(null));
    const counts = [0, 0, 0];
    for (const message of messages) {
      const partition = partitionOf(message, 3);
      expect(partitionOf(message, 3)).toBe(partition);
      expect(partitionOf({ ...message, value: 'other' }, 3)).toBe(partition);
      counts[partition]!++;
    }
    for (const count of counts) expect(count).toBeGreaterThan(800);
  });

  it('sends a record that names its partition there, key or not; a partition the topic does not have is an error, never another partition', () => {
    for (const key of ['k1', null]) {
      const named = { ...record(key), partition: 2 };
      expect(partitionOf(named, 3, 't')).toBe(2);
      expect(assign([{ topic: 't', messages: [named] }], 3).partitionOf(named)).toBe(2);
      expect(() => partitionOf(named, 2, 't')).toThrow(KafkaPartitionNotFoundError);
      expect(() => partitionOf(named, 2, 't')).toThrow("partition 2 of topic 't' does not exist (the topic has 2 partitions: 0 to 1)");
    }
    expect(partitionOf({ ...record('k1'), partition: 0 }, 1)).toBe(0);
  });

  it('remembers what the partitioner decided for each record, and nothing for records it never saw', () => {
    const [first, second, unseen] = [record('k1'), record(null), record('k2')];
    const assignment = assign([{ topic: 't', messages: [first!, second!] }], 5);
    expect(assignment.partitionOf(first!)).toBe(partitionOf(first!, 5));
    expect(assignment.partitionOf(second!)).toBe(partitionOf(second!, 5));
    expect(assignment.partitionOf(unseen!)).toBeUndefined();
  });
});

describe('delivery guard', () => {
  const batch = (): TopicMessages[] => [
    { topic: 'a', messages: Array.from({ length: 60 }, () => record(null)) },
    { topic: 'b', messages: [record('only-key')] },
  ];
  const partitionsOf = (sent: TopicMessages[], assignment: PartitionAssignment, topic: string) =>
    [...new Set(sent.find((entry) => entry.topic === topic)!.messages.map((message) => assignment.partitionOf(message)!))].sort();

  it('passes an answer that acknowledges every partition the batch went to', async () => {
    const sent = batch();
    const assignment = assign(sent, 3);
    expect(partitionsOf(sent, assignment, 'a')).toEqual([0, 1, 2]);
    const answer = await kafkajsAnswer({
      a: [0, 1, 2].map((partition) => ({ partition })),
      b: partitionsOf(sent, assignment, 'b').map((partition) => ({ partition, baseOffset: 0 })),
    });
    expect(answer[0]).toMatchObject({ topicName: 'a', partition: 0, errorCode: 0, baseOffset: '42' });
    expect(unacknowledgedPartitions(sent, (message) => assignment.partitionOf(message), answer)).toEqual([]);
  });

  it("catches kafkajs#1303's answer: the dead leader's partition left out of a successful sendBatch", async () => {
    const sent = batch();
    const assignment = assign(sent, 3);
    const answer = await kafkajsAnswer({ a: [{ partition: 2 }, { partition: 1 }], b: partitionsOf(sent, assignment, 'b').map((partition) => ({ partition })) });
    expect(unacknowledgedPartitions(sent, (message) => assignment.partitionOf(message), answer)).toEqual(['a[0]']);
    const everyPartition = ['a[0]', 'a[1]', 'a[2]', `b[${partitionsOf(sent, assignment, 'b')[0]}]`];
    expect(unacknowledgedPartitions(sent, (message) => assignment.partitionOf(message), []).sort()).toEqual(everyPartition);
  });

  it('does not take an entry with an error code or a negative offset as an acknowledgement', async () => {
    const sent = [{ topic: 'a', messages: [record('x')] }];
    const assignment = assign(sent, 1);
    // kafkajs's parse throws on an error code, so such an entry can only come from a client that passes it on.
    const answer: RecordMetadata[] = [{ topicName: 'a', partition: 0, errorCode: 6, baseOffset: '10' }];
    expect(unacknowledgedPartitions(sent, (message) => assignment.partitionOf(message), answer)).toEqual(['a[0]']);
    expect(unacknowledgedPartitions(sent, (message) => assignment.partitionOf(message), [{ topicName: 'a', partition: 0, errorCode: 0, baseOffset: '-1' }])).toEqual(['a[0]']);
    expect(unacknowledgedPartitions(sent, (message) => assignment.partitionOf(message), await kafkajsAnswer({ a: [{ partition: 0 }] }))).toEqual([]);
  });

  it('fails a batch whose records the partitioner never saw, whatever the answer says', async () => {
    const sent = [{ topic: 'a', messages: [record('x'), record('y')] }];
    const answer = await kafkajsAnswer({ a: [{ partition: 0 }, { partition: 1 }, { partition: 2 }] });
    expect(unacknowledgedPartitions(sent, () => undefined, answer)).toEqual(['a[?]']);
  });
});
