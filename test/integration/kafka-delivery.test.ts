// The daemon against a real Kafka 3.9 broker (KRaft): key, payload and headers intact; a 30 s Kafka
// outage mid-stream with ingest answering 202 throughout; SIGKILL of the daemon at random moments
// during a stream of 20 000 events, after which every acknowledged event is in Kafka and each
// partition holds a request's events in order (with 1 and with 5 produce requests in flight); an event the
// broker refuses for good parked in the dead-letter file while the others are delivered; snappy
// compression read back by librdkafka (kcat), the codec checked in the broker's own log segments;
// a broker back after an outage longer than the retry backoff's cap used within seconds (probe).
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeAll } from '../peers/consume';
import { type KafkaPeer, kafkaInstall, startKafka } from '../peers/kafka';
import { outOfOrder } from '../chaos/load';
import { type DaemonProcess, postEvents, startDaemon } from './daemon-process';

let kafka: KafkaPeer;
beforeAll(async () => {
  kafka = await startKafka({ version: '3.9', partitions: 3 });
});
afterAll(async () => {
  await kafka?.close();
});

/** A daemon delivering to the test broker; short retry waits so that recovery is quick to observe. */
function kafkaDaemon(dataDir?: string, maxInFlight?: number): Promise<DaemonProcess> {
  return startDaemon({
    ...(dataDir === undefined ? {} : { dataDir }),
    config: { sinks: { file: { enabled: false }, kafka: { brokers: [kafka.brokers], retry: { initialMs: 100, maxMs: 1000 }, ...(maxInFlight === undefined ? {} : { maxInFlight }) } } },
  });
}

/** The tests that depend on how produce requests go out run with one in flight per broker and with five (sinks.kafka.maxInFlight). */
const IN_FLIGHT = [1, 5];

describe('delivery to Kafka 3.9', () => {
  it('delivers events with key, payload and headers intact', async () => {
    const daemon = await kafkaDaemon();
    try {
      const response = await fetch(`${daemon.url}/v1/topics/orders?key=customer-7&sts=1700000000123`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-sparkngin-header-origin': 'checkout' },
        body: '{"order":1001,"total":9.5}',
      });
      expect(response.status).toBe(202);
      const { ids } = (await response.json()) as { ids: string[] };
      const text = await fetch(`${daemon.url}/v1/topics/orders?ack=sink`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'plain line' });
      expect(text.status).toBe(202);

      const messages = await consumeAll(kafka.brokers, 'orders', { expected: 2, timeoutMs: 30_000 });
      expect(messages).toHaveLength(2);
      const [first, second] = messages.sort((a, b) => a.headers['sparkngin-ts']!.localeCompare(b.headers['sparkngin-ts']!));
      expect(first!.key).toBe('customer-7');
      expect(JSON.parse(first!.value.toString())).toEqual({ order: 1001, total: 9.5 });
      expect(first!.headers).toMatchObject({ origin: 'checkout', 'sparkngin-id': ids[0], 'sparkngin-sts': '1700000000123', 'sparkngin-type': 'json', 'sparkngin-ip': '127.0.0.1' });
      expect(second!.key).toBeNull();
      expect(second!.value.toString()).toBe('plain line');
      expect(second!.headers['sparkngin-type']).toBe('text');
    } finally {
      await daemon.close();
    }
  });

  it('compresses with snappy: the broker stores snappy batches, and librdkafka (kcat) reads every event back', async () => {
    const daemon = await startDaemon({ config: { sinks: { file: { enabled: false }, kafka: { brokers: [kafka.brokers], compression: 'snappy' } } } });
    try {
      const events = Array.from({ length: 500 }, (_, n) => ({ n, page: '/home', ref: 'https://example.com/'.repeat(4) }));
      for (let i = 0; i < 5; i++) expect((await postEvents(daemon.url, 'snappy', events.slice(i * 100, (i + 1) * 100), `?key=k${i}`)).status).toBe(202);
      const deadline = Date.now() + 30_000;
      let lines: string[] = [];
      while (lines.length < events.length && Date.now() < deadline) {
        try {
          const out = execFileSync('kcat', ['-C', '-b', kafka.brokers, '-t', 'snappy', '-o', 'beginning', '-e', '-q', '-f', '%k\t%s\n'], { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
          lines = out.split('\n').filter(Boolean);
        } catch {
          // the topic is not created yet: ask again
        }
        if (lines.length < events.length) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const read = lines.map((line) => ({ key: line.split('\t')[0], event: JSON.parse(line.split('\t')[1]!) }));
      expect(read.map((record) => record.event.n).sort((a, b) => a - b)).toEqual(events.map((event) => event.n));
      expect(read.every((record) => record.key === `k${Math.floor(record.event.n / 100)}`)).toBe(true);

      // What the broker wrote says which codec the batches carry.
      const partitionDirs = (await readdir(join(kafka.dir, 'data'))).filter((name) => name.startsWith('snappy-'));
      const logs = (await Promise.all(partitionDirs.map(async (name) => (await readdir(join(kafka.dir, 'data', name))).filter((file) => file.endsWith('.log')).map((file) => join(kafka.dir, 'data', name, file))))).flat();
      const dump = execFileSync('java', ['-cp', `${kafkaInstall('3.9').libs}/*`, 'kafka.tools.DumpLogSegments', '--files', logs.join(',')], { encoding: 'utf8', timeout: 60_000 });
      const codecs = new Set([...dump.matchAll(/compresscodec: (\w+)/gi)].map((match) => match[1]!.toLowerCase()));
      expect(codecs).toEqual(new Set(['snappy']));
    } finally {
      await daemon.close();
    }
  });

  it.each(IN_FLIGHT)('maxInFlight %i: parks an event Kafka refuses for good in the dead-letter file, delivers the rest, and says so to ack=sink', async (maxInFlight) => {
    const topic = `limited-${maxInFlight}`;
    // A topic whose record batches may not exceed 4 KiB: a 10 KB event is refused by the broker
    // itself (MESSAGE_TOO_LARGE), whatever the producer tries.
    const admin = new Kafka({ brokers: [kafka.brokers], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '4096' }] }] });
    await admin.disconnect();
    const daemon = await kafkaDaemon(undefined, maxInFlight);
    try {
      const big = { n: 2, pad: 'x'.repeat(10_000) };
      const mixed = await postEvents(daemon.url, topic, [{ n: 1 }, big, { n: 3 }], '?ack=sink');
      expect(mixed.status).toBe(502);
      expect(mixed.body.error.message).toMatch(/dead-letter/);
      const after = await postEvents(daemon.url, topic, [{ n: 4 }], '?ack=sink');
      expect(after.status).toBe(202);

      const messages = await consumeAll(kafka.brokers, topic, { expected: 3, timeoutMs: 30_000 });
      expect(messages.map((message) => JSON.parse(message.value.toString()).n).sort()).toEqual([1, 3, 4]);
      const parked = (await readFile(join(daemon.dataDir, 'dead-letter', 'kafka.ndjson'), 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line));
      expect(parked).toHaveLength(1);
      expect(parked[0].event.data).toEqual(big);
      expect(parked[0].event.topic).toBe(topic);
      expect(parked[0].reason).toMatch(/MESSAGE_TOO_LARGE/);
      const stats = (await (await fetch(`${daemon.url}/stats`)).json()) as { sinks: Array<{ sink: string; deadLetteredRecords: number }> };
      expect(stats.sinks.find((sink) => sink.sink === 'kafka')!.deadLetteredRecords).toBe(1);
    } finally {
      await daemon.close();
    }
  });

  it('keeps answering 202 through a 30 s Kafka outage and delivers every event after it', async () => {
    const daemon = await kafkaDaemon();
    try {
      const accepted: number[] = [];
      let n = 0;
      const postBatch = async () => {
        const batch = Array.from({ length: 50 }, () => ({ n: n++ }));
        const answer = await postEvents(daemon.url, 'outage', batch);
        expect(answer.status).toBe(202);
        accepted.push(...batch.map((event) => event.n));
      };
      for (let i = 0; i < 20; i++) await postBatch();
      await kafka.stop();
      const outageEnds = Date.now() + 30_000;
      while (Date.now() < outageEnds) {
        await postBatch();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const stats = (await (await fetch(`${daemon.url}/ready`)).json()) as { status: string };
      expect(stats.status).toBe('ready'); // a sink being down does not stop ingest
      await kafka.restart();
      for (let i = 0; i < 20; i++) await postBatch();

      const distinctBy = (message: { value: Buffer }) => JSON.parse(message.value.toString()).n as number;
      const messages = await consumeAll(kafka.brokers, 'outage', { expected: accepted.length, distinctBy, timeoutMs: 90_000 });
      const seen = new Set(messages.map((message) => JSON.parse(message.value.toString()).n as number));
      expect(accepted.filter((value) => !seen.has(value))).toEqual([]);
      console.log(`outage: ${accepted.length} events accepted during and around a 30 s Kafka outage, ${messages.length - seen.size} duplicates`);
    } finally {
      await daemon.close();
    }
  }, 240_000);

  it('uses Kafka again within seconds of its return after an outage longer than the backoff cap, not at the end of the backoff', async () => {
    // Waits of 1, 5, 25 s, then the cap (30 s, the default): the fourth failure waits 30 s.
    const retry = { initialMs: 1000, factor: 5, maxMs: 30_000, jitter: 0 };
    const daemon = await startDaemon({ config: { log: { level: 'debug' }, sinks: { file: { enabled: false }, kafka: { brokers: [kafka.brokers], retry } } } });
    try {
      expect((await postEvents(daemon.url, 'probed', [{ n: 0 }], '?ack=sink')).status).toBe(202);
      await kafka.stop();
      const outageStart = Date.now();
      expect((await postEvents(daemon.url, 'probed', [{ n: 1 }])).status).toBe(202);
      const failures = () =>
        daemon
          .logs()
          .split('\n')
          .filter((line) => line.includes('"event":"sink.send_failed"') && line.includes('"sink":"kafka"'))
          .map((line) => JSON.parse(line) as { time: string; retryInMs: number });
      // Down for longer than the cap, and the last failure waiting the whole cap.
      const deadline = Date.now() + 120_000;
      while (!(Date.now() - outageStart > retry.maxMs && failures().at(-1)?.retryInMs === retry.maxMs)) {
        if (Date.now() > deadline) throw new Error(`the backoff never reached its cap: ${JSON.stringify(failures())}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await kafka.restart();
      const backAt = Date.now();
      const messages = await consumeAll(kafka.brokers, 'probed', { expected: 2, timeoutMs: 60_000 });
      expect(messages.map((message) => JSON.parse(message.value.toString()).n).sort()).toEqual([0, 1]);
      const recovered = daemon
        .logs()
        .split('\n')
        .find((line) => line.includes('"event":"sink.recovered"') && line.includes('"sink":"kafka"'));
      expect(recovered).toBeDefined();
      const deliveredAt = Date.parse((JSON.parse(recovered!) as { time: string }).time);
      const last = failures().filter((failure) => Date.parse(failure.time) < deliveredAt).at(-1)!;
      const backoffEnd = Date.parse(last.time) + last.retryInMs;
      // Without the probe, the next try (and so the delivery) would come at backoffEnd, not before.
      expect(deliveredAt).toBeLessThan(backoffEnd);
      expect(daemon.logs()).toMatch(/"event":"sink.probe_succeeded","sink":"kafka"/);
      console.log(`probe: outage ${Math.round((backAt - outageStart) / 1000)} s; delivered ${deliveredAt - backAt} ms after the broker answered again, ${backoffEnd - deliveredAt} ms before the backoff would have ended`);
    } finally {
      await daemon.close();
    }
  }, 240_000);

  it.each(IN_FLIGHT)('maxInFlight %i: after SIGKILL at random moments during a 20 000-event stream, every acknowledged event is in Kafka, in order within each partition', async (maxInFlight) => {
    const topic = `crash-${maxInFlight}`;
    const daemon = await kafkaDaemon(undefined, maxInFlight);
    try {
      const acknowledged = new Set<number>();
      let next = 0;
      let kills = 0;
      let running = true;
      const killer = (async () => {
        while (kills < 3 || acknowledged.size < 20_000) {
          await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 1200));
          if (acknowledged.size >= 20_000 && kills >= 3) break;
          await daemon.kill();
          kills++;
          await daemon.restart();
        }
        running = false;
      })();
      // Four producers in parallel, 100 events per request; a request that fails (daemon down) was
      // not acknowledged and is simply not counted, as a client would retry it.
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (running) {
            const batch = Array.from({ length: 100 }, () => ({ n: next++, pad: 'x'.repeat(60) }));
            try {
              const answer = await postEvents(daemon.url, topic, batch);
              if (answer.status === 202) for (const event of batch) acknowledged.add(event.n);
            } catch {
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
          }
        }),
      );
      await killer;
      expect(kills).toBeGreaterThanOrEqual(3);
      expect(acknowledged.size).toBeGreaterThanOrEqual(20_000);

      // Duplicates are expected (a killed daemon redelivers past its last saved cursor): count distinct events.
      const distinctBy = (message: { value: Buffer }) => JSON.parse(message.value.toString()).n as number;
      const messages = await consumeAll(kafka.brokers, topic, { expected: acknowledged.size, distinctBy, timeoutMs: 120_000 });
      const seen = new Set(messages.map((message) => JSON.parse(message.value.toString()).n as number));
      const missing = [...acknowledged].filter((value) => !seen.has(value));
      expect(missing).toEqual([]);
      expect(outOfOrder(messages, 100).slice(0, 20)).toEqual([]);
      const duplicates = messages.length - seen.size;
      console.log(`maxInFlight ${maxInFlight}, kill -9 x${kills}: ${acknowledged.size} acknowledged, ${messages.length} in Kafka, ${duplicates} duplicates, ${seen.size - acknowledged.size} unacknowledged but delivered`);
    } finally {
      await daemon.close();
    }
  }, 300_000);
});
