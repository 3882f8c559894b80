// Heartbeats as they arrive in Kafka, for `sparkngin check heartbeat` and `sparkngin agent`: a
// heartbeat is an event like any other (made by the daemon every few seconds, spooled, delivered by
// the Kafka sink), so finding a recent one in Kafka proves the whole path works: ingest, spool,
// delivery, broker.
//
// A record is a heartbeat when its payload (the record value with `sinks.kafka.value: payload`, the
// envelope's `data` with `envelope`) is the daemon's heartbeat event (`kind: sparkngin.heartbeat`,
// src/ops/heartbeat.ts); anything else in the topic is passed over. Its age is counted from
// `sentAt`, when the instance made it, so it is how long ago events last went end to end.
import { randomUUID } from 'node:crypto';
import { type Consumer, type Kafka, type KafkaMessage } from 'kafkajs';

export interface HeartbeatRecord {
  /** Instance id (the data dir's, `DATADIR/instance-id`). */
  instance: string;
  host: string | undefined;
  /** When the instance made it, ms since the epoch. */
  sentMs: number;
  /** The last beat of a graceful stop. */
  stopping: boolean;
  /** The heartbeat event's payload (HeartbeatEvent, format 1: src/ops/heartbeat.ts), read as untrusted JSON. */
  payload: Record<string, unknown>;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** One Kafka record → heartbeat, or undefined when it is not one (anything may be in a topic). */
export function readHeartbeat(message: Pick<KafkaMessage, 'value'>): HeartbeatRecord | undefined {
  if (message.value === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(message.value.toString('utf8'));
  } catch {
    return undefined;
  }
  // An envelope (sinks.kafka.value: envelope) carries the payload under `data`.
  const payload = isObject(parsed) && typeof parsed.topic === 'string' && isObject(parsed.data) ? parsed.data : parsed;
  if (!isObject(payload) || payload.kind !== 'sparkngin.heartbeat' || typeof payload.instance !== 'string' || payload.instance === '') return undefined;
  const sentMs = typeof payload.sentAt === 'string' ? Date.parse(payload.sentAt) : Number.NaN;
  if (!Number.isFinite(sentMs)) return undefined;
  return { instance: payload.instance, host: typeof payload.host === 'string' ? payload.host : undefined, sentMs, stopping: payload.stopping === true, payload };
}

function consumer(kafka: Kafka, purpose: string): Consumer {
  // A group of its own that commits nothing: reading never moves anyone else's offsets.
  return kafka.consumer({ groupId: `sparkngin-${purpose}-${randomUUID()}`, maxWaitTimeInMs: 250, sessionTimeout: 10_000, heartbeatInterval: 1_000, allowAutoTopicCreation: false });
}

/**
 * The newest heartbeat of each instance among the last `window` records of each partition of
 * `topic`, read until every partition's end (as it was when asked) or the signal.
 */
export async function latestHeartbeats(kafka: Kafka, topic: string, options: { window: number; signal: AbortSignal }): Promise<Map<string, HeartbeatRecord>> {
  const latest = new Map<string, HeartbeatRecord>();
  const admin = kafka.admin();
  const reader = consumer(kafka, 'check');
  try {
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic);
    const remaining = new Map(offsets.filter(({ high, low }) => Number(high) > Number(low)).map(({ partition, high }) => [partition, Number(high)]));
    if (remaining.size === 0) return latest;
    await reader.connect();
    await reader.subscribe({ topics: [topic] });
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    options.signal.addEventListener('abort', () => done(), { once: true });
    await reader.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          const heartbeat = readHeartbeat(message);
          const known = heartbeat && latest.get(heartbeat.instance);
          if (heartbeat && (known === undefined || known.sentMs < heartbeat.sentMs)) latest.set(heartbeat.instance, heartbeat);
          const end = remaining.get(batch.partition);
          if (end !== undefined && Number(message.offset) + 1 >= end) remaining.delete(batch.partition);
        }
        if (remaining.size === 0) done();
      },
    });
    for (const { partition, high, low } of offsets) {
      if (remaining.has(partition)) reader.seek({ topic, partition, offset: String(Math.max(Number(low), Number(high) - options.window)) });
    }
    await finished;
    return latest;
  } finally {
    await reader.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

/** Follows `topic` from its end, calling `onHeartbeat` for each heartbeat that arrives, until stop(). */
export async function followHeartbeats(kafka: Kafka, topic: string, onHeartbeat: (heartbeat: HeartbeatRecord) => void): Promise<{ stop(): Promise<void> }> {
  const follower = consumer(kafka, 'agent');
  await follower.connect();
  await follower.subscribe({ topics: [topic], fromBeginning: false });
  await follower.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      const heartbeat = readHeartbeat(message);
      if (heartbeat) onHeartbeat(heartbeat);
    },
  });
  return { stop: () => follower.disconnect() };
}
