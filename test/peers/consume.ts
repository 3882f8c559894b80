// An independent Kafka consumer for tests: reads a topic from the beginning and returns what it
// holds, to verify what Sparkngin produced. A kafkajs consumer in a fresh consumer group (random
// group id, no offset commits), so it never shares state with Sparkngin or another test.
import { randomUUID } from 'node:crypto';
import { type Admin, type IHeaders, Kafka, logLevel } from 'kafkajs';

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  /** The record's value (an empty Buffer for a null value). */
  value: Buffer;
  /** Headers as UTF-8 strings; a header repeated in one record keeps its last value. */
  headers: Record<string, string>;
  /** Record timestamp in ms since the epoch (string, as Kafka clients give it). */
  timestamp: string;
}

export interface ConsumeOptions {
  /** Stop once this many messages have arrived (then still read to the end of what the topic
   *  holds at that moment, so duplicates written so far are seen too). Without it: read what the
   *  topic holds when the call starts. */
  expected?: number;
  /** Count toward `expected` only messages with a value of this not seen before: where a producer
   *  may have written some twice (at-least-once), so that duplicates cannot end the wait while
   *  others are still on their way. */
  distinctBy?: (message: ConsumedMessage) => string | number;
  /** Give up after this long and return what has arrived. */
  timeoutMs: number;
}

function headerText(value: IHeaders[string]): string | undefined {
  if (value === undefined) return undefined;
  const last = Array.isArray(value) ? value[value.length - 1] : value;
  return last === undefined ? undefined : Buffer.isBuffer(last) ? last.toString('utf8') : String(last);
}

/** Waits until `topic` exists (or, unless `untilCreated`, returns false at once if it does not) and each of its partitions has a leader; false at the deadline. */
async function waitForTopic(admin: Admin, topic: string, deadline: number, untilCreated: boolean): Promise<boolean> {
  for (;;) {
    try {
      const exists = (await admin.listTopics()).includes(topic);
      if (!exists && !untilCreated) return false;
      if (exists) {
        const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
        const partitions = metadata.topics[0]?.partitions ?? [];
        if (partitions.length > 0 && partitions.every((partition) => partition.leader >= 0)) return true;
      }
    } catch {
      // not there yet, or the broker is between states: ask again
    }
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Reads `topic` from the beginning until `expected` messages have arrived (or, without `expected`,
 * until the end of what it holds at the call) or `timeoutMs` passes; returns them sorted by
 * partition and offset.
 */
export async function consumeAll(brokers: string | string[], topic: string, options: ConsumeOptions): Promise<ConsumedMessage[]> {
  const deadline = Date.now() + options.timeoutMs;
  const kafka = new Kafka({
    clientId: 'sparkngin-test-consumer',
    brokers: Array.isArray(brokers) ? brokers : brokers.split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 30 },
  });
  const messages: ConsumedMessage[] = [];
  const nextOffset = new Map<number, number>(); // per partition: last offset seen + 1
  const consumer = kafka.consumer({
    groupId: `sparkngin-test-${randomUUID()}`,
    maxWaitTimeInMs: 100,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    maxBytes: 50 * 1024 * 1024,
    allowAutoTopicCreation: false,
  });
  const admin = kafka.admin();

  /** Per partition: the end offset (high watermark) to reach; undefined while not known. */
  let target: Map<number, number> | undefined;
  let settleDeadline = Infinity;
  const reachedTarget = () =>
    target !== undefined && [...target].every(([partition, end]) => (nextOffset.get(partition) ?? 0) >= end);
  const endOffsets = async () => {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((entry) => [entry.partition, Number(entry.high)]));
  };

  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const check = () => {
    if (Date.now() >= deadline || (target !== undefined && (reachedTarget() || Date.now() >= settleDeadline))) finish();
  };

  try {
    await admin.connect();
    // Subscribing to a topic that does not exist (yet) fails at once in kafkajs. With `expected`,
    // wait for it (the producer under test may create it later); without, it holds nothing: [].
    if (!(await waitForTopic(admin, topic, deadline, options.expected !== undefined))) return [];
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    if (options.expected === undefined) {
      target = await endOffsets();
      if ([...target.values()].every((end) => end === 0)) return [];
    } else if (options.expected <= 0) {
      return [];
    }
    let snapshotting = false;
    const distinct = new Set<string | number>();
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {})) {
            const text = headerText(value);
            if (text !== undefined) headers[name] = text;
          }
          const offset = Number(message.offset);
          const consumed: ConsumedMessage = {
            topic: batch.topic,
            partition: batch.partition,
            offset,
            key: message.key === null || message.key === undefined ? null : message.key.toString('utf8'),
            value: message.value ?? Buffer.alloc(0),
            headers,
            timestamp: message.timestamp,
          };
          messages.push(consumed);
          if (options.distinctBy) distinct.add(options.distinctBy(consumed));
          nextOffset.set(batch.partition, Math.max(nextOffset.get(batch.partition) ?? 0, offset + 1));
        }
        const arrived = options.distinctBy ? distinct.size : messages.length;
        if (options.expected !== undefined && target === undefined && arrived >= options.expected && !snapshotting) {
          // Enough: read on to the end of what the topic holds now (bounded by a short grace).
          snapshotting = true;
          settleDeadline = Date.now() + 2_000;
          target = await endOffsets().catch(() => new Map<number, number>());
        }
        check();
      },
    });
    const ticker = setInterval(check, 100);
    try {
      await finished;
    } finally {
      clearInterval(ticker);
    }
  } finally {
    await consumer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
  return messages.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}
