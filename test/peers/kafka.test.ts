// The real-Kafka test peer against both supported release lines: a broker starts and answers, a
// producer configured like Sparkngin's Kafka sink (idempotent, acks=all, one request in flight)
// delivers keyed records with headers that the independent consumer reads back exactly, and
// restart() is an outage that loses no data. Also pins down what kafkajs 2.2.4 does against
// Kafka 4.x (KIP-896 removed old protocol versions).
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CompressionTypes, Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { consumeAll } from './consume';
import { type KafkaLine, type KafkaPeer, kafkaVersionOf, startKafka } from './kafka';
import { freePort } from './ports';

function sinkLikeProducer(brokers: string): { kafka: Kafka; producer: Producer } {
  const kafka = new Kafka({
    clientId: 'peer-test',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 20 },
  });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  return { kafka, producer };
}

// Bytes that are not valid UTF-8, to prove values come back byte for byte.
const binary = (n: number) => Buffer.from([0xff, 0x00, 0xfe, n & 0xff, (n >> 8) & 0xff, 0x80]);

describe('freePort', () => {
  it('hands out distinct loopback ports that can be bound', async () => {
    const ports = await Promise.all(Array.from({ length: 5 }, () => freePort()));
    expect(new Set(ports).size).toBe(5);
    for (const port of ports) expect(port).toBeGreaterThan(0);
  });
});

describe.each(['3.9', '4'] as KafkaLine[])('Kafka %s peer', (line) => {
  let kafka: KafkaPeer;
  let client: Kafka;
  let producer: Producer;

  beforeAll(async () => {
    kafka = await startKafka({ version: line, partitions: 3 });
    console.log(`Kafka ${kafka.version} answered ${kafka.startupMs} ms after launch (${kafka.brokers})`);
    ({ kafka: client, producer } = sinkLikeProducer(kafka.brokers));
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect().catch(() => {});
    await kafka?.close();
  });

  it('runs the exact version of its line on a loopback port', async () => {
    expect(kafka.version).toBe(kafkaVersionOf(line));
    expect(kafka.version.startsWith(line === '3.9' ? '3.9.' : '4.')).toBe(true);
    expect(kafka.brokers).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(kafka.pid).toBeGreaterThan(0);
    const admin = client.admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      expect(cluster.brokers).toEqual([expect.objectContaining({ nodeId: 1, host: '127.0.0.1', port: kafka.port })]);
    } finally {
      await admin.disconnect();
    }
  });

  it('delivers keyed records with headers and binary values, in order per key', async () => {
    const topic = 'keyed';
    const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
    const total = 2_000;
    for (let start = 0; start < total; start += 250) {
      const messages = Array.from({ length: 250 }, (_, i) => {
        const n = start + i;
        return {
          key: keys[n % keys.length]!,
          value: n % 10 === 0 ? binary(n) : JSON.stringify({ n }),
          headers: { 'sparkngin-id': `id-${n}`, 'sparkngin-type': n % 10 === 0 ? 'binary' : 'json', 'x-ünicode': 'ça va ✓' },
        };
      });
      const result = await producer.send({ topic, acks: -1, messages });
      expect(result.every((r) => r.errorCode === 0)).toBe(true);
    }

    const got = await consumeAll(kafka.brokers, topic, { expected: total, timeoutMs: 60_000 });
    expect(got).toHaveLength(total);
    const byId = new Map(got.map((m) => [m.headers['sparkngin-id'], m]));
    expect(byId.size).toBe(total);
    for (let n = 0; n < total; n++) {
      const m = byId.get(`id-${n}`)!;
      expect(m, `message ${n}`).toBeDefined();
      expect(m.topic).toBe(topic);
      expect(m.key).toBe(keys[n % keys.length]);
      if (n % 10 === 0) {
        expect(m.headers['sparkngin-type']).toBe('binary');
        expect(m.value.equals(binary(n))).toBe(true);
      } else {
        expect(JSON.parse(m.value.toString('utf8'))).toEqual({ n });
      }
      expect(m.headers['x-ünicode']).toBe('ça va ✓');
      expect(Number(m.timestamp)).toBeGreaterThan(Date.now() - 600_000);
    }
    // One key, one partition; within it, the order of sending (offsets ascending in the result).
    for (const key of keys) {
      const ofKey = got.filter((m) => m.key === key);
      expect(new Set(ofKey.map((m) => m.partition)).size).toBe(1);
      const ns = ofKey.map((m) => Number(m.headers['sparkngin-id']!.slice(3)));
      expect(ns).toEqual([...ns].sort((a, b) => a - b));
    }
    // The topic was auto-created with the peer's num.partitions, and keys spread over them.
    expect(new Set(got.map((m) => m.partition)).size).toBeGreaterThan(1);
    expect(Math.max(...got.map((m) => m.partition))).toBeLessThan(3);
  });

  it('moves 20 000 gzip-compressed records through and reads them back', async () => {
    const topic = 'bulk';
    const total = 20_000;
    const started = Date.now();
    for (let start = 0; start < total; start += 1_000) {
      await producer.send({
        topic,
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages: Array.from({ length: 1_000 }, (_, i) => ({ key: `k${(start + i) % 100}`, value: `event-${start + i}`, headers: { seq: String(start + i) } })),
      });
    }
    const produced = Date.now();
    const got = await consumeAll(kafka.brokers, topic, { expected: total, timeoutMs: 90_000 });
    console.log(`Kafka ${kafka.version}: produced ${total} in ${produced - started} ms, consumed in ${Date.now() - produced} ms`);
    expect(got).toHaveLength(total);
    const seqs = new Set(got.map((m) => m.headers.seq));
    expect(seqs.size).toBe(total);
    for (const m of got) expect(m.value.toString()).toBe(`event-${m.headers.seq}`);
  });

  it('consumeAll without `expected` reads exactly what the topic holds; a missing topic gives []', async () => {
    await producer.send({ topic: 'small', acks: -1, messages: [{ key: null, value: 'one' }, { key: 'k', value: 'two' }] });
    const got = await consumeAll(kafka.brokers, 'small', { timeoutMs: 30_000 });
    expect(got.map((m) => [m.key, m.value.toString()])).toEqual([
      [null, 'one'],
      ['k', 'two'],
    ]);
    // A topic that does not exist holds nothing...
    expect(await consumeAll(kafka.brokers, 'nothing-here', { timeoutMs: 30_000 })).toEqual([]);
    // ...and with `expected`, consumeAll waits for it until the timeout, then returns what came.
    const started = Date.now();
    expect(await consumeAll(kafka.brokers, 'nothing-yet', { expected: 1, timeoutMs: 2_000 })).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    // A topic created (by the producer) while consumeAll waits for it is read.
    const waiting = consumeAll(kafka.brokers, 'later', { expected: 3, timeoutMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await producer.send({ topic: 'later', acks: -1, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
    expect((await waiting).map((m) => m.value.toString()).sort()).toEqual(['a', 'b', 'c']);
  });

  it('rejects a record above message.max.bytes with MESSAGE_TOO_LARGE, and the producer goes on', async () => {
    const tooLarge = Buffer.alloc(1_100_000, 1); // broker default message.max.bytes is 1 MiB + 12
    const error = await producer
      .send({ topic: 'limits', acks: -1, messages: [{ key: 'big', value: tooLarge }] })
      .then(() => undefined, (e: unknown) => e as { type?: string; name?: string; retriable?: boolean });
    expect(error?.type).toBe('MESSAGE_TOO_LARGE');
    expect(error?.retriable).toBe(false);
    await producer.send({ topic: 'limits', acks: -1, messages: [{ key: 'small', value: 'fits' }] });
    const got = await consumeAll(kafka.brokers, 'limits', { timeoutMs: 30_000 });
    expect(got.map((m) => m.value.toString())).toEqual(['fits']);
  });

  it('kafkajs admin calls Sparkngin may use work against it', async () => {
    const admin = client.admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic: 'made', numPartitions: 2 }], waitForLeaders: true })).toBe(true);
      const metadata = await admin.fetchTopicMetadata({ topics: ['made'] });
      expect(metadata.topics[0]!.partitions).toHaveLength(2);
      expect(await admin.listTopics()).toContain('made');
      const configs = await admin.describeConfigs({ resources: [{ type: 2, name: 'made' }], includeSynonyms: false });
      expect(configs.resources[0]!.configEntries.map((entry) => entry.configName)).toContain('max.message.bytes');
      await admin.createPartitions({ topicPartitions: [{ topic: 'made', count: 3 }] });
      // The new partition's leader takes a moment on a busy machine (NOT_LEADER until then).
      await vi.waitFor(
        async () => expect((await admin.fetchTopicOffsets('made')).map((p) => p.partition).sort()).toEqual([0, 1, 2]),
        { timeout: 20_000, interval: 200 },
      );
      await admin.deleteTopics({ topics: ['made'], timeout: 10_000 });
      await vi.waitFor(async () => expect(await admin.listTopics()).not.toContain('made'), { timeout: 20_000, interval: 200 });
    } finally {
      await admin.disconnect();
    }
  });

  it('every request kafkajs would send is within the versions the broker accepts', async () => {
    // kafkajs sends min(its newest implemented version, broker's max) and never checks the
    // broker's min: a protocol version removed by the broker (KIP-896) would only fail at use.
    const require = createRequire(import.meta.url);
    const { requests } = require('kafkajs/src/protocol/requests') as { requests: Record<string, { versions: string[] }> };
    const apiKeys = require('kafkajs/src/protocol/requests/apiKeys') as Record<string, number>;
    {
      const versions = await brokerApiVersions(kafka.brokers);
      const below: string[] = [];
      for (const [name, key] of Object.entries(apiKeys)) {
        const implemented = requests[name]?.versions.map(Number) ?? [];
        if (implemented.length === 0) continue;
        const range = versions.get(key);
        if (!range) continue; // an API the broker does not offer at all (none used by Sparkngin)
        const sent = Math.min(Math.max(...implemented), range.max);
        if (sent < range.min) below.push(`${name} v${sent} < v${range.min}`);
      }
      expect(below).toEqual([]);
      // The calls the sink makes, with the versions kafkajs uses for them.
      for (const name of ['Produce', 'Metadata', 'InitProducerId', 'ApiVersions', 'Fetch', 'ListOffsets', 'JoinGroup', 'SyncGroup', 'Heartbeat', 'OffsetFetch', 'FindCoordinator']) {
        const key = apiKeys[name === 'FindCoordinator' ? 'GroupCoordinator' : name]!;
        expect(versions.get(key), name).toBeDefined();
      }
    }
  });

  it('restart() is an outage on the same address that keeps the data; the producer resumes', async () => {
    const topic = 'survives';
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 100 }, (_, i) => ({ key: `k${i % 7}`, value: `before-${i}` })) });
    const address = kafka.brokers;
    const pidBefore = kafka.pid;

    await kafka.stop();
    expect(kafka.pid).toBeUndefined();
    expect(() => process.kill(pidBefore!, 0)).toThrow(); // the JVM is gone
    // Down: nothing answers on the port.
    const probe = new Kafka({ clientId: 'probe', brokers: [address], logLevel: logLevel.NOTHING, connectionTimeout: 500, retry: { retries: 0 } }).admin();
    await expect(probe.connect()).rejects.toThrow();
    // A send during the outage does not succeed (kafkajs retries, then gives up).
    const outageProducer = new Kafka({
      clientId: 'outage',
      brokers: [address],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 500,
      retry: { retries: 1, initialRetryTime: 100 },
    }).producer({ idempotent: true, maxInFlightRequests: 1 });
    await expect(outageProducer.connect()).rejects.toThrow();

    await kafka.restart();
    expect(kafka.brokers).toBe(address);
    expect(kafka.pid).not.toBe(pidBefore);

    const before = await consumeAll(kafka.brokers, topic, { expected: 100, timeoutMs: 60_000 });
    expect(before.map((m) => m.value.toString()).sort()).toEqual(Array.from({ length: 100 }, (_, i) => `before-${i}`).sort());

    // The producer that was connected before the outage reconnects by itself.
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 7}`, value: `after-${i}` })) });
    const all = await consumeAll(kafka.brokers, topic, { expected: 150, timeoutMs: 60_000 });
    expect(all).toHaveLength(150);
    expect(new Set(all.map((m) => m.value.toString())).size).toBe(150);
    expect(all.filter((m) => m.value.toString().startsWith('after-'))).toHaveLength(50);
  });
});

/** The broker's ApiVersions answer: apiKey -> [min, max], through kafkajs' own connection code. */
async function brokerApiVersions(brokers: string): Promise<Map<number, { min: number; max: number }>> {
  const require = createRequire(import.meta.url);
  const Connection = require('kafkajs/src/network/connection') as new (options: object) => {
    connect(): Promise<void>;
    send(request: object): Promise<{ apiVersions: { apiKey: number; minVersion: number; maxVersion: number }[] }>;
    disconnect(): Promise<void>;
  };
  const socketFactory = require('kafkajs/src/network/socketFactory') as () => unknown;
  const { createLogger, LEVELS } = require('kafkajs/src/loggers') as {
    createLogger: (options: object) => unknown;
    LEVELS: { NOTHING: number };
  };
  const { requests } = require('kafkajs/src/protocol/requests') as {
    requests: { ApiVersions: { protocol: (options: { version: number }) => () => object } };
  };
  const [host, port] = brokers.split(':');
  const connection = new Connection({
    host,
    port: Number(port),
    clientId: 'api-versions-probe',
    logger: createLogger({ level: LEVELS.NOTHING, logCreator: () => () => {} }),
    socketFactory: socketFactory(),
    connectionTimeout: 5_000,
    requestTimeout: 10_000,
    enforceRequestTimeout: true,
  });
  await connection.connect();
  try {
    const answer = await connection.send(requests.ApiVersions.protocol({ version: 2 })());
    return new Map(answer.apiVersions.map((v) => [v.apiKey, { min: v.minVersion, max: v.maxVersion }]));
  } finally {
    await connection.disconnect();
  }
}
