// Fan-out: one topic routed to Kafka, syslog (TCP), ZeroMQ (PUSH) and the file sink at once, each
// against its real peer. rsyslog stopped for 20 s delays syslog alone: the other three deliver
// everything during the outage, syslog shows down with its lag and holds the spool's disk (its
// spoolBytes), and once rsyslog is back it catches up. Nothing is missing anywhere.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pull } from 'zeromq';
import { consumeAll } from '../peers/consume';
import { type KafkaPeer, startKafka } from '../peers/kafka';
import { freePort } from '../peers/ports';
import { type Rsyslog, startRsyslog } from '../peers/rsyslog';
import { until } from '../wait';
import { type DaemonProcess, postEvents, startDaemon } from './daemon-process';

let kafka: KafkaPeer;
let syslog: Rsyslog;
let daemon: DaemonProcess;
let pull: Pull;
const pulled: string[] = [];

beforeAll(async () => {
  [kafka, syslog] = await Promise.all([startKafka(), startRsyslog()]);
  const zmqPort = await freePort();
  daemon = await startDaemon({
    config: {
      sinks: {
        kafka: { brokers: [kafka.brokers] },
        syslog: { endpoint: `tcp://127.0.0.1:${syslog.ports.tcp}`, retry: { maxMs: 1000 } },
        workers: { kind: 'zeromq', endpoint: `tcp://127.0.0.1:${zmqPort}` },
        file: {},
      },
      routes: [{ topics: ['orders'], sinks: ['kafka', 'syslog', 'workers', 'file'] }],
    },
  });
  pull = new Pull();
  pull.connect(`tcp://127.0.0.1:${zmqPort}`);
  void (async () => {
    for await (const [payload] of pull) pulled.push(payload!.toString());
  })().catch(() => undefined);
}, 180_000);
afterAll(async () => {
  pull?.close();
  await daemon?.close();
  await Promise.all([syslog?.close(), kafka?.close()]);
});

const sinks = async () => ((await (await fetch(`${daemon.url}/stats`)).json()) as { sinks: any[] }).sinks;
const sinkStats = async (name: string) => (await sinks()).find((sink) => sink.sink === name);
const fileIds = async () =>
  (await readFile(join(daemon.dataDir, 'out', 'orders.ndjson'), 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line).id as string);
const syslogIds = async () => (await syslog.records('tcp')).map((record) => /id="([^"]+)"/.exec(record.sd)![1]!);

describe('fan-out to Kafka, syslog, ZeroMQ and file', () => {
  it('rsyslog stopped for 20 s delays only syslog; afterwards nothing is missing anywhere', async () => {
    const ids: string[] = [];
    const post = async (round: number) => {
      const { status, body } = await postEvents(daemon.url, 'orders', Array.from({ length: 200 }, (_, n) => ({ round, n })));
      expect(status).toBe(202);
      ids.push(...body.ids);
    };
    await post(0);
    await until(async () => (await sinks()).every((sink) => sink.lagRecords === 0), 'every sink delivered the first round', 90_000);

    await syslog.stop();
    const stoppedAt = Date.now();
    for (let round = 1; round <= 5; round++) await post(round);
    // The others deliver everything while syslog is away.
    await until(async () => {
      const all = await sinks();
      return ['kafka', 'workers', 'file'].every((name) => all.find((sink) => sink.sink === name).lagRecords === 0);
    }, 'Kafka, ZeroMQ and file caught up during the outage', 60_000);
    const during = await sinkStats('syslog');
    expect(during.health.state).toBe('down');
    expect(during.lagRecords).toBe(1000);
    expect(during.spoolBytes).toBeGreaterThan(0);
    const others = (await sinks()).filter((sink) => sink.sink !== 'syslog');
    expect(Math.max(...others.map((sink) => sink.spoolBytes))).toBeLessThan(during.spoolBytes);
    expect(new Set(await fileIds())).toEqual(new Set(ids));
    expect(new Set(pulled.map((payload) => JSON.stringify(JSON.parse(payload))))).toHaveProperty('size', 1200);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 20_000 - (Date.now() - stoppedAt))));
    await syslog.start();
    await until(async () => (await sinkStats('syslog')).lagRecords === 0, 'syslog caught up', 90_000);
    expect(new Set(await syslogIds())).toEqual(new Set(ids));
    const consumed = await consumeAll(kafka.brokers, 'orders', { expected: ids.length, distinctBy: (message) => message.headers['sparkngin-id']!, timeoutMs: 60_000 });
    expect(new Set(consumed.map((message) => message.headers['sparkngin-id']))).toEqual(new Set(ids));
    expect((await sinkStats('syslog')).health.state).toBe('up');
  }, 240_000);
});
