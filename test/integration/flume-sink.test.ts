// The Flume sink against a real Apache Flume agent (test/peers/flume.ts: an HTTP source with its
// JSONHandler and an Avro source, one file channel, a file_roll sink), through either source: the
// agent holds every event with its headers, in order; an agent stopped for 20 s delays delivery (the
// sink shows it down with its lag), then everything arrives. Avro also: an event over
// maxEventBytes is dead-lettered while the rest go on, a batch the agent answers FAILED is kept and
// retried, and peers that are no Flume (garbage, a closed connection, silence) leave the sink down
// and retrying, never the daemon hurt.
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePack } from '../../src/sinks/flume/netty-frames';
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

const sinkStats = async (of: DaemonProcess, name: string) => ((await (await fetch(`${of.url}/stats`)).json()) as { sinks: any[] }).sinks.find((sink) => sink.sink === name);

async function eventsOf(topic: string, count: number): Promise<FlumeEvent[]> {
  let seen: FlumeEvent[] = [];
  await until(async () => (seen = (await flume.events()).filter((event) => event.headers.topic === topic)).length >= count, `Flume holds ${count} events of ${topic}`, 90_000);
  return seen;
}

/** 1000 JSON events with a key and a header posted in one request: their ids, and what the agent holds of them (in the order it wrote them). */
async function keyedEvents(of: DaemonProcess, topic: string): Promise<{ events: object[]; ids: string[]; held: FlumeEvent[] }> {
  const events = Array.from({ length: 1000 }, (_, n) => ({ n }));
  const response = await fetch(`${of.url}/v1/topics/${topic}?key=k1`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', 'x-sparkngin-header-origin': 'web' },
    body: `${events.map((event) => JSON.stringify(event)).join('\n')}\n`,
  });
  expect(response.status).toBe(202);
  const { ids } = (await response.json()) as { ids: string[] };
  const held = await eventsOf(topic, events.length);
  expect(held[0]!.headers).toMatchObject({ key: 'k1', origin: 'web', topic, host: expect.any(String) });
  expect(Number(held[0]!.headers.timestamp)).toBeGreaterThan(0);
  return { events, ids, held };
}

/**
 * Stops the agent for 20 s while 1000 events are posted to `topic`: the sink shows it down with its
 * lag and nothing arrives; once the agent is back, everything does. The ids the agent holds (with
 * any sent twice: at least once), and the ids posted.
 */
async function outage(of: DaemonProcess, sink: string, topic: string): Promise<{ posted: string[]; held: string[] }> {
  await flume.stop();
  const stoppedAt = Date.now();
  const posted: string[] = [];
  for (let round = 0; round < 10; round++) {
    const { status, body } = await postEvents(of.url, topic, Array.from({ length: 100 }, (_, n) => ({ round, n })));
    expect(status).toBe(202);
    posted.push(...body.ids);
  }
  await until(async () => {
    const stats = await sinkStats(of, sink);
    return stats.health.state === 'down' && stats.lagRecords === 1000;
  }, 'the sink shows Flume down, with its lag');
  expect((await flume.events()).filter((event) => event.headers.topic === topic)).toEqual([]);
  await new Promise((done) => setTimeout(done, Math.max(0, 20_000 - (Date.now() - stoppedAt))));
  await flume.start();
  const held = (await eventsOf(topic, 1000)).map((event) => event.headers['sparkngin.id']!);
  await until(async () => (await sinkStats(of, sink)).lagRecords === 0, 'the sink caught up');
  expect((await sinkStats(of, sink)).health.state).toBe('up');
  // An outage is waited out (retriable), never taken for a bug in the sink.
  expect(of.logs()).not.toMatch(/sink\.loop_failed|sink\.thread_failed/);
  return { posted, held };
}

describe('Flume sink', () => {
  it('the agent holds every event, with its id, topic, key and headers; binary payloads in base64', async () => {
    const { events, ids, held } = await keyedEvents(daemon, 'flume.a');
    expect(held.map((event) => JSON.parse(event.body))).toEqual(events);
    expect(held.map((event) => event.headers['sparkngin.id'])).toEqual(ids);

    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 13]);
    expect((await fetch(`${daemon.url}/v1/topics/flume.bin`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes })).status).toBe(202);
    const [binary] = await eventsOf('flume.bin', 1);
    expect(binary!.headers['sparkngin.encoding']).toBe('base64');
    expect(Buffer.from(binary!.body, 'base64')).toEqual(bytes);
  });

  it('an agent stopped for 20 s delays delivery, then everything arrives', async () => {
    const { posted, held } = await outage(daemon, 'flume', 'flume.outage');
    expect(new Set(held)).toEqual(new Set(posted));
  }, 180_000);
});

/** A TCP server that is no Flume Avro source; counts the connections it took. */
async function badPeer(behave: (socket: Socket) => void): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.on('error', () => {});
    behave(socket);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, port: (server.address() as { port: number }).port, connections: () => connections };
}

describe('Flume sink, Avro source', () => {
  let avro: DaemonProcess;
  const bad: Record<string, Awaited<ReturnType<typeof badPeer>>> = {};
  beforeAll(async () => {
    // An HTTP server's answer: not Avro's Netty framing at all.
    bad.garbage = await badPeer((socket) => socket.once('data', () => socket.write('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n')));
    // Well-framed answers (the request's serial echoed) whose bytes are no Avro handshake.
    bad.framed = await badPeer((socket) => socket.on('data', (request: Buffer) => request.length >= 4 && socket.write(encodePack({ id: request.readInt32BE(0), payload: [Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3])] }))));
    bad.closer = await badPeer((socket) => socket.destroy());
    bad.silent = await badPeer(() => {});
    const endpoint = `127.0.0.1:${flume.avroPort}`;
    const retry = { maxMs: 1000 };
    const badSinks = Object.fromEntries(Object.entries(bad).map(([name, peer]) => [name, { kind: 'flume', protocol: 'avro', endpoint: `127.0.0.1:${peer.port}`, topics: ['bad.*'], requestTimeoutMs: 2000, retry }]));
    avro = await startDaemon({
      config: {
        sinks: {
          file: { enabled: false },
          flume: { protocol: 'avro', endpoint, topics: ['avro.*'], retry },
          small: { kind: 'flume', protocol: 'avro', endpoint, topics: ['small.*'], maxEventBytes: 2048, retry },
          // Batches over the file channel's transactionCapacity (10 000), which it answers FAILED.
          huge: { kind: 'flume', protocol: 'avro', endpoint, topics: ['huge.*'], batch: { maxRecords: 12_000, maxBytes: 16 * 1024 * 1024, lingerMs: 0 }, retry },
          ...badSinks,
        },
      },
    });
  }, 60_000);
  afterAll(async () => {
    await avro?.close();
    for (const peer of Object.values(bad)) peer.server.close();
  });

  it('the agent holds every event once, in order, with its id, topic, key and headers; a binary body as its bytes', async () => {
    const { events, ids, held } = await keyedEvents(avro, 'avro.a');
    expect(held.map((event) => event.headers['sparkngin.id'])).toEqual(ids);
    expect(held.map((event) => JSON.parse(event.body))).toEqual(events);

    // Bytes the JSONHandler could not carry as they are; Avro's `bytes` does (the file_roll sink
    // writes the body as it got it).
    const bytes = Buffer.from('caf\u00e9 \u2603', 'utf8');
    expect((await fetch(`${avro.url}/v1/topics/avro.bin`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes })).status).toBe(202);
    const [binary] = await eventsOf('avro.bin', 1);
    expect(binary!.headers['sparkngin.encoding']).toBeUndefined();
    expect(Buffer.from(binary!.body, 'utf8')).toEqual(bytes);
  });

  it('an event over maxEventBytes is dead-lettered, never sent; the events around it are delivered', async () => {
    const big = 'x'.repeat(4096);
    const { status, body } = await postEvents(avro.url, 'small.t', [{ n: 0 }, { n: 1, big }, { n: 2 }]);
    expect(status).toBe(202);
    const held = await eventsOf('small.t', 2);
    await until(async () => (await sinkStats(avro, 'small')).deadLetteredRecords === 1, 'the big event dead-lettered');
    expect(held.map((event) => event.headers['sparkngin.id'])).toEqual([body.ids[0], body.ids[2]]);
    expect(avro.logs()).toMatch(/FLUME_EVENT_TOO_LARGE|over maxEventBytes/);
  });

  it('peers that are no Flume (garbage, well-framed garbage, a closed connection, silence) leave those sinks down and reconnecting; the daemon and the other sinks go on', async () => {
    const { status } = await postEvents(avro.url, 'bad.t', Array.from({ length: 10 }, (_, n) => ({ n })));
    expect(status).toBe(202);
    await until(async () => Object.values(bad).every((peer) => peer.connections() >= 3), 'each bad peer was connected to again and again', 60_000);
    for (const name of Object.keys(bad)) {
      const stats = await sinkStats(avro, name);
      expect(stats.health.state, name).toBe('down');
      expect(stats.lagRecords, name).toBe(10);
    }
    expect((await sinkStats(avro, 'garbage')).health.detail).toMatch(/FLUME_PROTOCOL|does not speak Flume's Avro protocol/);
    expect((await sinkStats(avro, 'framed')).health.detail).toMatch(/does not speak Flume's Avro protocol/);
    expect((await sinkStats(avro, 'closer')).health.detail).toMatch(/ECONNCLOSED|ECONNRESET/);
    expect((await sinkStats(avro, 'silent')).health.detail).toMatch(/ETIMEDOUT/);
    const { body } = await postEvents(avro.url, 'avro.after', [{ after: true }]);
    expect((await eventsOf('avro.after', 1))[0]!.headers['sparkngin.id']).toBe(body.ids[0]);
    expect(avro.pid()).toBeDefined();
    expect(avro.logs()).not.toMatch(/sink\.loop_failed|sink\.thread_failed|uncaught/i);
  }, 90_000);

  it('an agent stopped for 20 s delays delivery, then everything arrives, in order', async () => {
    const { posted, held } = await outage(avro, 'flume', 'avro.outage');
    // A batch whose answer was lost may come twice; first arrivals keep the order.
    expect([...new Set(held)]).toEqual(posted);
  }, 180_000);

  // Last: the sink goes on sending its refused batch for as long as the agent runs.
  it('a batch the channel refuses (FAILED: here one over its transactionCapacity) is kept and sent again, never counted delivered nor parked', async () => {
    const { status } = await postEvents(avro.url, 'huge.t', Array.from({ length: 12_000 }, (_, n) => ({ n })));
    expect(status).toBe(202);
    await until(async () => {
      const stats = await sinkStats(avro, 'huge');
      return stats.failedSends >= 3 && /answered FAILED/.test(stats.health.detail ?? '');
    }, 'the sink retries the batch the agent answered FAILED');
    const stats = await sinkStats(avro, 'huge');
    expect(stats).toMatchObject({ lagRecords: 12_000, deliveredRecords: 0, deadLetteredRecords: 0, health: { state: 'down' } });
    expect((await flume.events()).filter((event) => event.headers.topic === 'huge.t')).toEqual([]);
  }, 90_000);
});
