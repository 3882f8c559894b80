// The heartbeat reaches a real Kafka (3.9, KRaft) through the spool and the Kafka sink, and an
// independent consumer reads it back: one per interval, keyed by the instance id, numbered, saying
// how the instance is; the last one of a graceful stop says so. GET /imok answers `imok` while the
// whole path works and 503 with the reason when a sink is down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeartbeatEvent } from '../../src/ops/heartbeat';
import { consumeAll } from '../peers/consume';
import { type KafkaPeer, startKafka } from '../peers/kafka';
import { freePort } from '../peers/ports';
import { type DaemonProcess, startDaemon } from './daemon-process';

const TOPIC = 'ops-heartbeat';

describe('heartbeat through Kafka', () => {
  let kafka: KafkaPeer;
  let daemon: DaemonProcess;
  beforeAll(async () => {
    kafka = await startKafka({ version: '3.9', partitions: 3 });
    daemon = await startDaemon({
      config: {
        host: 'beating-host',
        heartbeat: { enabled: true, intervalSeconds: 1, topic: TOPIC },
        sinks: { kafka: { brokers: [kafka.brokers], retry: { initialMs: 100, maxMs: 1000 } } },
      },
    });
  });
  afterAll(async () => {
    await daemon?.close();
    await kafka?.close();
  });

  it('sends one beat per interval, keyed by the instance id, that an independent consumer reads back', async () => {
    const stats: any = await (await fetch(`${daemon.url}/stats`)).json();
    const messages = await consumeAll(kafka.brokers, TOPIC, { expected: 3, timeoutMs: 60_000 });
    expect(messages.length).toBeGreaterThanOrEqual(3);
    const beats = messages.map((message) => ({ key: message.key, beat: JSON.parse(message.value.toString()) as HeartbeatEvent })).sort((a, b) => a.beat.seq - b.beat.seq);
    expect(beats.slice(0, 3).map(({ beat }) => beat.seq)).toEqual([0, 1, 2]);
    for (const { key, beat } of beats) {
      expect(key).toBe(stats.instance.id);
      expect(beat).toMatchObject({ kind: 'sparkngin.heartbeat', format: 1, instance: stats.instance.id, host: 'beating-host', version: stats.version, intervalSeconds: 1 });
      expect(beat.sinks.map((sink) => sink.sink).sort()).toEqual(['file', 'kafka']);
      expect(typeof beat.spool.bytes).toBe('number');
      expect(typeof beat.rates.acceptedEventsPerSecond).toBe('number');
    }
    // By the third beat the Kafka sink had delivered the first ones: it is up, and the instance well.
    const third = beats[2]!.beat;
    expect(third.sinks.find((sink) => sink.sink === 'kafka')).toMatchObject({ up: true });
    expect(third).toMatchObject({ healthy: true, problems: [] });
    const after: any = await (await fetch(`${daemon.url}/stats`)).json();
    expect(after.heartbeat.sent).toBeGreaterThanOrEqual(3);
    expect(after.heartbeat.failed).toBe(0);
    expect(await (await fetch(`${daemon.url}/metrics`)).text()).toMatch(/\nsparkngin_heartbeat_sent_total [1-9]/);
  });

  it('answers GET /imok with imok while the path works', async () => {
    const answer = await fetch(`${daemon.url}/imok`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await answer.text()).toBe('imok\n');
  });

  it('sends a last beat marked stopping at a graceful stop, delivered before it exits', async () => {
    expect(await daemon.stop()).toBe(0);
    const messages = await consumeAll(kafka.brokers, TOPIC, { timeoutMs: 30_000 });
    const beats = messages.map((message) => JSON.parse(message.value.toString()) as HeartbeatEvent);
    const last = beats.sort((a, b) => a.seq - b.seq).at(-1)!;
    expect(last.stopping).toBe(true);
    expect(beats.filter((beat) => beat.stopping)).toHaveLength(1);
  });
});

describe('GET /imok when a sink is down', () => {
  let daemon: DaemonProcess;
  beforeAll(async () => {
    // A Kafka sink whose broker is a closed port, and the heartbeat on: the beats go to the file sink and wait for Kafka.
    daemon = await startDaemon({ config: { heartbeat: { enabled: true, intervalSeconds: 1 }, sinks: { kafka: { brokers: [`127.0.0.1:${await freePort()}`], retry: { initialMs: 50, maxMs: 200 } } } } });
  });
  afterAll(async () => {
    await daemon?.close();
  });

  it('answers 503 naming the sink, while /health and /ready stay 200', async () => {
    let answer: Response | undefined;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 200))) {
      answer = await fetch(`${daemon.url}/imok`);
      if (answer.status === 503) break;
    }
    expect(answer!.status).toBe(503);
    expect(await answer!.text()).toMatch(/^sink kafka: down \(.+\)\n$/);
    expect((await fetch(`${daemon.url}/ready`)).status).toBe(200);
    expect((await fetch(`${daemon.url}/health`)).status).toBe(200);
  });
});
