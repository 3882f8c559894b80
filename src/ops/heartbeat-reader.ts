// Heartbeats as they arrive in Kafka, for `sparkngin check heartbeat` and `sparkngin agent`: a
// heartbeat is an event like any other (made by the daemon every few seconds, spooled, delivered by
// the Kafka sink), so finding a recent one in Kafka proves the whole path works: ingest, spool,
// delivery, broker.
//
// What is read of a record: the Kafka timestamp, which the sink sets to the event's server time
// (when the daemon made the heartbeat), so its age is how long ago events last went end to end;
// the instance from the payload's `instanceId` (else the record key, else the `sparkngin-host`
// header); the payload itself, whether the sink writes payloads (`sinks.kafka.value: payload`) or
// whole envelopes (`envelope`, payload under `data`).
import { randomUUID } from 'node:crypto';
import { type Consumer, type IHeaders, type Kafka, type KafkaMessage } from 'kafkajs';

export interface HeartbeatRecord {
  /** Instance id (the data dir's, `DATADIR/instance-id`), or the host when the payload has none. */
  instance: string;
  host: string | undefined;
  /** When the instance made it (the record's timestamp), ms since the epoch. */
  sentMs: number;
  /** The heartbeat event's payload. */
  payload: Record<string, unknown>;
}

/** The heartbeat's topic (until the daemon's heartbeat settings name it). */
export const HEARTBEAT_TOPIC = 'sparkngin.heartbeat';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function header(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  const last = Array.isArray(value) ? value[value.length - 1] : value;
  return last === undefined ? undefined : last.toString();
}

/** One Kafka record → heartbeat, or undefined when it is not one (anything may be in a topic). */
export function readHeartbeat(message: Pick<KafkaMessage, 'key' | 'value' | 'timestamp' | 'headers'>): HeartbeatRecord | undefined {
  if (message.value === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(message.value.toString('utf8'));
  } catch {
    return undefined;
  }
  // An envelope (sinks.kafka.value: envelope) carries the payload under `data`.
  const payload = isObject(parsed) && typeof parsed.topic === 'string' && isObject(parsed.data) ? parsed.data : parsed;
  if (!isObject(payload)) return undefined;
  const host = typeof payload.host === 'string' ? payload.host : header(message.headers, 'sparkngin-host');
  const instance = typeof payload.instanceId === 'string' ? payload.instanceId : (message.key?.toString('utf8') ?? host);
  const sentMs = Number(message.timestamp);
  if (instance === undefined || instance === '' || !Number.isFinite(sentMs)) return undefined;
  return { instance, host, sentMs, payload };
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
