// The ZeroMQ sink against real zeromq peers (the zeromq package's own PULL and SUB sockets): a PULL
// peer and a SUB peer get exactly the posted events, in raw and nw1 framing; PUSH waits while no
// worker takes messages (nothing dropped, nothing twice) and PUB drops what a full subscriber
// cannot take, counting it, without holding delivery back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pull, Subscriber } from 'zeromq';
import { readFrames } from '../../src/envelope/nw1';
import { freePort } from '../peers/ports';
import { until } from '../wait';
import { type DaemonProcess, postEvents, startDaemon } from './daemon-process';

const ports: Record<string, number> = {};
let daemon: DaemonProcess;
const endpoint = (name: string) => `tcp://127.0.0.1:${ports[name]}`;

beforeAll(async () => {
  for (const name of ['pushRaw', 'pushNw1', 'pubRaw', 'pubNw1', 'lonely', 'tap']) ports[name] = await freePort();
  daemon = await startDaemon({
    config: {
      sinks: {
        file: { enabled: false },
        'push-raw': { kind: 'zeromq', endpoint: endpoint('pushRaw'), socket: 'push', framing: 'raw', topics: ['zq.*'] },
        'push-nw1': { kind: 'zeromq', endpoint: endpoint('pushNw1'), socket: 'push', framing: 'nw1', topics: ['zq.*'] },
        'pub-raw': { kind: 'zeromq', endpoint: endpoint('pubRaw'), socket: 'pub', framing: 'raw', topics: ['zq.*'] },
        'pub-nw1': { kind: 'zeromq', endpoint: endpoint('pubNw1'), socket: 'pub', framing: 'nw1', topics: ['zq.*'] },
        // No worker connects until the test says so: backpressure.
        lonely: { kind: 'zeromq', endpoint: endpoint('lonely'), socket: 'push', sendTimeoutMs: 300, topics: ['wait.*'], batch: { maxRecords: 100 } },
        // A subscriber that never reads: drops.
        tap: { kind: 'zeromq', endpoint: endpoint('tap'), socket: 'pub', sendHighWaterMark: 10, topics: ['flood.*'] },
      },
    },
  });
}, 60_000);
afterAll(async () => {
  await daemon?.close();
});

const sinkStats = async (name: string) => ((await (await fetch(`${daemon.url}/stats`)).json()) as { sinks: any[] }).sinks.find((sink) => sink.sink === name);

/** Every message a socket receives, as frame lists. */
function collect(socket: Pull | Subscriber): Buffer[][] {
  const got: Buffer[][] = [];
  void (async () => {
    for await (const frames of socket) got.push(frames);
  })().catch(() => undefined);
  return got;
}

describe('ZeroMQ sink', () => {
  it('a PULL and a SUB peer receive exactly the posted events, raw and nw1', async () => {
    const pullRaw = new Pull();
    const pullNw1 = new Pull();
    const subRaw = new Subscriber();
    const subNw1 = new Subscriber();
    pullRaw.connect(endpoint('pushRaw'));
    pullNw1.connect(endpoint('pushNw1'));
    subRaw.connect(endpoint('pubRaw'));
    subNw1.connect(endpoint('pubNw1'));
    subRaw.subscribe('zq.a'); // a prefix: zq.a and zq.ab, not zq.b
    subNw1.subscribe();
    const got = { pullRaw: collect(pullRaw), pullNw1: collect(pullNw1), subRaw: collect(subRaw), subNw1: collect(subNw1) };
    try {
      // PUB has no history: post once both subscriptions reached the daemon.
      await until(async () => (await sinkStats('pub-raw'))?.destination?.subscriptions === 1 && (await sinkStats('pub-nw1'))?.destination?.subscriptions === 1, 'the subscribers are known');
      const posted: Array<{ topic: string; ids: string[]; events: unknown[] }> = [];
      for (const topic of ['zq.a', 'zq.ab', 'zq.b', 'other']) {
        const events = Array.from({ length: 150 }, (_, n) => ({ topic, n }));
        const { status, body } = await postEvents(daemon.url, topic, events);
        expect(status).toBe(202);
        posted.push({ topic, ids: body.ids, events });
      }
      const routed = posted.filter(({ topic }) => topic.startsWith('zq.'));
      const total = routed.reduce((sum, { ids }) => sum + ids.length, 0);
      await until(() => got.pullRaw.length >= total && got.pullNw1.length >= total && got.subNw1.length >= total && got.subRaw.length >= 300, 'every peer has its events');
      await new Promise((resolve) => setTimeout(resolve, 300)); // nothing more arrives
      // PUSH raw: one frame, the payload.
      expect(got.pullRaw.map((frames) => frames.length)).toEqual(new Array(total).fill(1));
      expect(got.pullRaw.map(([payload]) => JSON.parse(payload!.toString()))).toEqual(routed.flatMap(({ events }) => events));
      // PUSH nw1: one frame, an NW1 body with the envelope as spooled (id, topic, type, payload).
      const pushed = got.pullNw1.map(([body]) => readFrames(body!, 1, () => new Error('more than one envelope'))[0]!);
      expect(pushed.map((envelope) => envelope.id)).toEqual(routed.flatMap(({ ids }) => ids));
      expect(pushed.map((envelope) => [envelope.topic, envelope.type, JSON.parse(envelope.data.toString())])).toEqual(routed.flatMap(({ topic, events }) => events.map((event) => [topic, 'json', event])));
      // PUB raw: [topic, payload], and only what the prefix subscribed to.
      expect(got.subRaw.map(([topic]) => topic!.toString())).toEqual([...new Array(150).fill('zq.a'), ...new Array(150).fill('zq.ab')]);
      expect(got.subRaw.map(([, payload]) => JSON.parse(payload!.toString()))).toEqual(routed.slice(0, 2).flatMap(({ events }) => events));
      // PUB nw1: [topic, NW1 body].
      expect(got.subNw1.map(([topic, body]) => [topic!.toString(), readFrames(body!, 1, () => new Error('more'))[0]!.id])).toEqual(routed.flatMap(({ topic, ids }) => ids.map((id) => [topic, id])));
      expect((await sinkStats('pub-nw1')).destination.droppedMessages).toBe(0);
    } finally {
      for (const socket of [pullRaw, pullNw1, subRaw, subNw1]) socket.close();
    }
  });

  it('PUSH waits while no worker takes messages (the sink shows down), then delivers everything once', async () => {
    const events = Array.from({ length: 500 }, (_, n) => ({ n }));
    expect((await postEvents(daemon.url, 'wait.a', events)).status).toBe(202);
    await until(async () => (await sinkStats('lonely')).health.state === 'down', 'the sink shows no worker takes messages');
    const stats = await sinkStats('lonely');
    expect(stats.health.detail).toMatch(/no peer took a message within 300 ms/);
    expect(stats.deliveredRecords).toBe(0);
    const worker = new Pull();
    worker.connect(endpoint('lonely'));
    const got = collect(worker);
    try {
      await until(() => got.length >= 500, 'the worker has every event');
      await until(async () => (await sinkStats('lonely')).lagRecords === 0, 'the sink caught up');
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Each event once: a retried batch goes on where its send stopped.
      expect(got.map(([payload]) => JSON.parse(payload!.toString()))).toEqual(events);
      expect((await sinkStats('lonely')).health.state).toBe('up');
    // An outage is waited out (retriable), never taken for a bug in the sink.
    expect(daemon.logs()).not.toMatch(/sink\.loop_failed|sink\.thread_failed/);
    } finally {
      worker.close();
    }
  });

  it('PUB drops what a full subscriber cannot take, counts it, and holds no delivery back', async () => {
    const sleeper = new Subscriber({ receiveHighWaterMark: 10 });
    sleeper.connect(endpoint('tap'));
    sleeper.subscribe();
    try {
      await until(async () => (await sinkStats('tap'))?.destination?.subscriptions === 1, 'the subscriber is known');
      const payload = 'x'.repeat(20_000);
      for (let round = 0; round < 4; round++) {
        expect((await postEvents(daemon.url, 'flood.a', Array.from({ length: 250 }, (_, n) => ({ n, payload })))).status).toBe(202);
      }
      await until(async () => (await sinkStats('tap')).lagRecords === 0, 'the sink delivered everything it was given');
      const stats = await sinkStats('tap');
      expect(stats.deliveredRecords).toBe(1000);
      expect(stats.destination.droppedMessages).toBeGreaterThan(0);
      expect(stats.destination.droppedMessages).toBeLessThan(1000);
    } finally {
      sleeper.close();
    }
  });
});
