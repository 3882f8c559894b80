// Which partition each record goes to, decided by our code, and the delivery guard that checks
// Kafka's answer against it. A batch counts as delivered only when the producer's answer
// acknowledges every (topic, partition) the batch's records were given: kafkajs 2.2.4 resolved
// sendBatch without ever sending a partition whose leader had died (tulios/kafkajs#1303; fixed in
// patches/kafkajs+2.2.4.patch), and a client that resolves early must never again move our cursor.
//
// Keyed records go where Kafka's own default partitioner (Java's, kafkajs's DefaultPartitioner,
// librdkafka's murmur2_random) puts them: toPositive(murmur2(key bytes)) % partitions, so a key
// keeps its partition whichever client wrote it. A record without a key is hashed on its event id
// instead of taking a round-robin turn: the same record lands in the same partition on every retry,
// after a restart and with any client, so a retried batch carries exactly the records it carried
// before (what the broker's idempotence check assumes) and a redelivered event is a duplicate in
// its own partition, not somewhere else.
//
// A record whose event names its partition (Message.partition: the REST Proxy's `partition`, an NW1
// envelope's) goes there, key or not, as Kafka's own producer does. A partition the topic does not
// have is KafkaPartitionNotFoundError: never another partition in its place (sink.ts decides it is
// permanent only after fresh metadata says so too).
import type { Message, PartitionerArgs, RecordMetadata, TopicMessages } from 'kafkajs';
import { KafkaPartitionNotFoundError } from '../../errors';
import { HEADER, type KafkaRecord } from './record';

const M = 0x5bd1e995;
const SEED = 0x9747b28c;

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2): a signed 32-bit hash of the bytes (the first `length`). */
export function murmur2(data: Uint8Array, length = data.length): number {
  const tail = length & ~3;
  let h = SEED ^ length;
  for (let i = 0; i < tail; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const left = length & 3;
  if (left === 3) h ^= data[tail + 2]! << 16;
  if (left >= 2) h ^= data[tail + 1]! << 8;
  if (left >= 1) h = Math.imul(h ^ data[tail]!, M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Where a key's UTF-8 bytes are written to be hashed (no Buffer per record); a longer key gets a Buffer of its own. */
const scratch = Buffer.allocUnsafe(1024);

function hashOf(value: Buffer | string): number {
  if (typeof value !== 'string') return murmur2(value);
  if (value.length * 3 > scratch.length) return murmur2(Buffer.from(value, 'utf8'));
  return murmur2(scratch, scratch.write(value, 0, 'utf8'));
}

/** The partition of a record of `topic` among `partitions`: the one it names, else by its key, else by its event id (header `sparkngin-id`). */
export function partitionOf(message: Message, partitions: number, topic = ''): number {
  const named = message.partition;
  if (named !== undefined) {
    if (named >= partitions) throw new KafkaPartitionNotFoundError(topic, named, partitions);
    return named;
  }
  const basis = message.key ?? eventIdOf(message);
  if (basis === undefined || basis === null || Array.isArray(basis)) throw new TypeError('a Kafka record has neither a key nor a sparkngin-id header');
  return (hashOf(basis) & 0x7fffffff) % partitions;
}

/** The event id of a record: the sink's own (KafkaRecord.id), or its `sparkngin-id` header. */
export function eventIdOf(message: Message): string | Buffer | (string | Buffer)[] | undefined {
  return (message as Partial<KafkaRecord>).id ?? message.headers?.[HEADER.id];
}

/**
 * The partitioner handed to the client and the record of what it decided. The client calls it with
 * the topic's current metadata (it has just created the topic when that was needed), so the
 * partition count is the one the records are sent with; the guard reads the decisions back.
 */
export class PartitionAssignment {
  /** kafkajs's `createPartitioner` shape: a factory of `({ topic, partitionMetadata, message }) => partition`. */
  readonly createPartitioner = () => ({ topic, partitionMetadata, message }: PartitionerArgs): number => {
    const partition = partitionOf(message, partitionMetadata.length, topic);
    // Kept on the record itself (KafkaRecord.assigned): a WeakMap entry per record cost more than the hash.
    (message as Partial<KafkaRecord>).assigned = partition;
    return partition;
  };

  /** The partition a record was last given, if it was given one. */
  partitionOf(message: Message): number | undefined {
    return (message as Partial<KafkaRecord>).assigned;
  }
}

/**
 * The (topic, partition) pairs that `sent` went to and that `answer` does not acknowledge (no entry,
 * or an entry with an error code or a negative offset), as `topic[partition]` strings; records that
 * were never given a partition are reported as `topic[?]`. Empty when every record is acknowledged.
 */
export function unacknowledgedPartitions(sent: TopicMessages[], partitionOf: (message: Message) => number | undefined, answer: readonly RecordMetadata[]): string[] {
  const acknowledged = new Set<string>();
  for (const entry of answer) {
    const offset = entry.baseOffset ?? entry.offset;
    if (entry.errorCode === 0 && (offset === undefined || Number(offset) >= 0)) acknowledged.add(`${entry.topicName}[${entry.partition}]`);
  }
  const missing = new Set<string>();
  for (const { topic, messages } of sent) {
    // Each partition of a topic checked once (a record's name made only for a new partition).
    const seen = new Set<number | undefined>();
    for (const message of messages) {
      const partition = partitionOf(message);
      if (seen.has(partition)) continue;
      seen.add(partition);
      const name = `${topic}[${partition ?? '?'}]`;
      if (partition === undefined || !acknowledged.has(name)) missing.add(name);
    }
  }
  return [...missing];
}
