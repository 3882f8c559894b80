// The Flume sink against a real Apache Flume agent (test/peers/flume.ts: HTTP source with its
// JSONHandler, file channel, file_roll sink): the agent holds every event with its headers; an
// agent stopped for 20 s delays delivery (the sink shows it down with its lag), then everything
// arrives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Flume, type FlumeEvent, startFlume } from '../peers/flume';
import { until } from '../wait';
import { type DaemonProcess, postEvents, startDaemon } from './daemon-process';

let flume: Flume;
let daemon: DaemonProcess;
beforeAll(async () => {
  flume = await startFlume();
  daemon = await startDaemon({ config: { sinks: { file: { enabled: false }, flume: { endpoint: flume.httpUrl, retry: { maxMs: 1000 } } } } });
}, 120_000);
afterAll(async () => {
  await daemon?.close();
  await flume?.close();
});

const flumeStats = async () => ((await (await fetch(`${daemon.url}/stats`)).json()) as { sinks: any[] }).sinks.find((sink) => sink.sink === 'flume');

async function eventsOf(topic: string, count: number): Promise<FlumeEvent[]> {
  let seen: FlumeEvent[] = [];
  await until(async () => (seen = (await flume.events()).filter((event) => event.headers.topic === topic)).length >= count, `Flume holds ${count} events of ${topic}`, 90_000);
  return seen;
}

describe('Flume sink', () => {
  it('the agent holds every event, with its id, topic, key and headers; binary payloads in base64', async () => {
    const events = Array.from({ length: 500 }, (_, n) => ({ n }));
    const response = await fetch(`${daemon.url}/v1/topics/flume.a?key=k1`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', 'x-sparkngin-header-origin': 'web' },
      body: `${events.map((event) => JSON.stringify(event)).join('\n')}\n`,
    });
    expect(response.status).toBe(202);
    const { ids } = (await response.json()) as { ids: string[] };
    const held = await eventsOf('flume.a', 500);
    expect(held.map((event) => JSON.parse(event.body))).toEqual(events);
    expect(held.map((event) => event.headers['sparkngin.id'])).toEqual(ids);
    expect(held[0]!.headers).toMatchObject({ key: 'k1', origin: 'web', topic: 'flume.a' });
    expect(Number(held[0]!.headers.timestamp)).toBeGreaterThan(0);

    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 13]);
    expect((await fetch(`${daemon.url}/v1/topics/flume.bin`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes })).status).toBe(202);
    const [binary] = await eventsOf('flume.bin', 1);
    expect(binary!.headers['sparkngin.encoding']).toBe('base64');
    expect(Buffer.from(binary!.body, 'base64')).toEqual(bytes);
  });

  it('an agent stopped for 20 s delays delivery, then everything arrives', async () => {
    await flume.stop();
    const stoppedAt = Date.now();
    const posted: string[] = [];
    for (let round = 0; round < 10; round++) {
      const { status, body } = await postEvents(daemon.url, 'flume.outage', Array.from({ length: 100 }, (_, n) => ({ round, n })));
      expect(status).toBe(202);
      posted.push(...body.ids);
    }
    await until(async () => {
      const stats = await flumeStats();
      return stats.health.state === 'down' && stats.lagRecords === 1000;
    }, 'the sink shows Flume down, with its lag');
    expect((await flume.events()).filter((event) => event.headers.topic === 'flume.outage')).toEqual([]);
    await new Promise((done) => setTimeout(done, Math.max(0, 20_000 - (Date.now() - stoppedAt))));
    await flume.start();
    const held = await eventsOf('flume.outage', 1000);
    expect(new Set(held.map((event) => event.headers['sparkngin.id']))).toEqual(new Set(posted));
    await until(async () => (await flumeStats()).lagRecords === 0, 'the sink caught up');
    expect((await flumeStats()).health.state).toBe('up');
    // An outage is waited out (retriable), never taken for a bug in the sink.
    expect(daemon.logs()).not.toMatch(/sink\.loop_failed|sink\.thread_failed/);
  }, 180_000);
});
